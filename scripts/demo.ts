// The demo's step: the action's main step on `local`, run the way the runner runs it
// (test/helpers/action.ts), with the bundled image and the real Claude Code CLI in it. Its model
// is the tests' scripted fake of Anthropic's Messages API on the Docker bridge, so no account or
// network is needed: the model has the agent run a command, write a file and answer. `fail`:
// `max_turns: 1` stops the agent after its first turn, and the step fails the way users see it.
import { startFakeAnthropic, type TurnReply } from '../test/fakes/anthropic-api.js';
import { runAction } from '../test/helpers/action.js';
import { ensureAgentImage } from '../test/helpers/agent-image.js';
import { bridgeGateway } from '../test/helpers/bridge.js';

const fail = process.argv[2] === 'fail';
// One turn of two tool calls (the CLI runs both), then the answer.
const script: TurnReply[] = [
  {
    text: 'Let me see what is in the workspace, then leave a note.',
    tools: [
      { name: 'Bash', input: { command: 'uname -a && id && ls -la', description: 'look around' } },
      { name: 'Write', input: { file_path: '/workspace/NOTES.md', content: '# Notes\n\nWritten by the demo agent.\n' } },
    ],
    usage: { input_tokens: 2100, output_tokens: 105, cache_read_input_tokens: 1800 },
  },
  { text: 'I looked around the machine and wrote NOTES.md.', usage: { input_tokens: 2400, output_tokens: 25 } },
];

console.log('── the bundled agent image (built here the first time: a few minutes)');
console.log(`   ${await ensureAgentImage()}`);
const model = await startFakeAnthropic({ host: bridgeGateway(), script });
try {
  const run = await runAction({
    passThrough: true,
    env: { GITHUB_RUN_ID: '1' },
    inputs: {
      prompt: 'Look around the machine and leave a note',
      anthropic_api_key: 'sk-ant-api03-demo-not-a-real-key-0123456789',
      anthropic_base_url: model.url,
      wait_timeout: '300',
      log_tail_lines: '10',
      ...(fail ? { max_turns: '1' } : {}),
    },
  });
  console.log(`\n── step exit code: ${run.code}`);
  console.log(`── outputs (${run.files.GITHUB_OUTPUT}):`);
  for (const [name, value] of Object.entries(run.outputs)) console.log(`   ${name.padEnd(20)} ${value.split('\n')[0]}`);
  console.log(`── job summary (Markdown and HTML): ${run.files.GITHUB_STEP_SUMMARY}`);
} finally {
  await model.close();
}
