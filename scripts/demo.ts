// The demo's step: the action's main step on the local backend, run the way the runner runs it
// (test/helpers/action.ts), its output shown as it comes, then what it left for the workflow.
// scripts/demo.sh builds the stand-in agent's base image and runs this.
import { join } from 'node:path';
import { ROOT, runAction } from '../test/helpers/action.js';

const demo = join(ROOT, 'examples', 'demo');
const run = await runAction({
  passThrough: true,
  env: { GITHUB_RUN_ID: '1' },
  inputs: {
    backend: 'local',
    image: 'amt-demo:1',
    dockerfile: join(demo, 'Dockerfile'),
    build_context: demo,
    prompt: 'Run the test suite and fix any failures',
    env: `DEMO_EXIT=${process.argv[2] ?? 0}`,
    wait_timeout: '120',
    log_tail_lines: '10',
  },
});
console.log(`\n── step exit code: ${run.code}`);
console.log(`── outputs (${run.files.GITHUB_OUTPUT}):`);
for (const [name, value] of Object.entries(run.outputs)) console.log(`   ${name.padEnd(20)} ${value}`);
console.log(`── job summary: ${run.files.GITHUB_STEP_SUMMARY}`);
