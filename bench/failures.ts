// How fast a failing run ends, through dist/index.js with the bundled image and the real Claude
// Code CLI against the scripted fake model: from the model API's first 401 to the step's exit
// (the run must not sit through Claude Code's three minutes of retries), and from the last
// output of a run whose model stopped answering to the step's exit (idle_timeout, plus little).
import { startFakeAnthropic, type Reply } from '../test/fakes/anthropic-api.js';
import { ensureAgentImage } from '../test/helpers/agent-image.js';
import { bridgeGateway } from '../test/helpers/bridge.js';
import { runAction } from '../test/helpers/action.js';
import { figure, type Figure } from './lib.js';

const IDLE_SECONDS = 5;

interface Ending {
  /** Wall clock (ms) of the step's exit. */
  exitedAt: number;
  /** When each piece of the step's output arrived. */
  outputAt: number[];
  firstRequestAt?: number;
  outputs: Record<string, string>;
}

async function endingOf(reply: Reply, inputs: Record<string, string>): Promise<Ending> {
  const model = await startFakeAnthropic({ host: bridgeGateway(), script: () => reply });
  try {
    const outputAt: number[] = [];
    const run = await runAction({
      inputs: {
        prompt: 'Say hello',
        anthropic_api_key: 'sk-ant-api03-benchFakeKey0123456789',
        anthropic_base_url: model.url,
        upload_artifacts: 'false',
        ...inputs,
      },
      onSpawn: (child) => child.stdout?.on('data', () => outputAt.push(Date.now())),
    });
    return { exitedAt: Date.now(), outputAt, firstRequestAt: model.requests[0]?.at, outputs: run.outputs };
  } finally {
    await model.close();
  }
}

export async function failureEndings(runs: number): Promise<Figure[]> {
  await ensureAgentImage();
  const auth = figure("a refused key: the model API's first 401 to the step's end", 's', { op: '<=', value: 5 });
  const stall = figure(`a silent model: the last output to the step's end (idle_timeout ${IDLE_SECONDS} s)`, 's', { op: '<=', value: IDLE_SECONDS + 3 });
  for (let i = 0; i < runs; i++) {
    const refused = await endingOf({ status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' }, {});
    if (refused.outputs.failure_reason !== 'auth' || refused.firstRequestAt === undefined)
      auth.problems.push(`ended as ${refused.outputs.failure_reason || 'success'}`);
    else auth.values.push((refused.exitedAt - refused.firstRequestAt) / 1000);

    const silent = await endingOf({ hang: true }, { idle_timeout: String(IDLE_SECONDS) });
    // The step's own report follows the stall: count from the last output before the silence.
    const gap = silent.outputAt.findIndex((at, j) => (silent.outputAt[j + 1] ?? Infinity) - at >= (IDLE_SECONDS - 1) * 1000);
    if (silent.outputs.failure_reason !== 'stalled' || gap === -1) stall.problems.push(`ended as ${silent.outputs.failure_reason || 'success'}`);
    else stall.values.push((silent.exitedAt - silent.outputAt[gap]) / 1000);
  }
  return [auth, stall];
}
