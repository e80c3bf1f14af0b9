// The bundled action on backend fly, run the way the runner runs it, against the fake Fly
// server: outputs, errors, log tail, pacing, secrets, and no machine left alive on any path.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeFly, type FakeFly, type Scenario } from '../fakes/fly-server.js';
import { runAction, type ActionOptions, type ActionRun } from '../helpers/action.js';

let fake: FakeFly | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const work = (n: number, exit?: number) => [
  ...Array.from({ length: n }, (_, i) => `agent step ${i + 1}`),
  ...(exit === undefined ? [] : [`[flaude:exit:${exit}]`]),
];

async function fly(scenario: Scenario, options: ActionOptions = {}): Promise<{ result: ActionRun; fake: FakeFly }> {
  fake = await startFakeFly({ images: ['amt-test:agent-v1'], ...scenario });
  const registry = new URL(fake.url).host;
  const result = await runAction({
    ...options,
    inputs: {
      backend: 'fly',
      app_name: fake.app,
      fly_api_token: fake.token,
      image: `${registry}/amt-test:agent-v1`,
      command: '["/agent"]',
      ...options.inputs,
    },
    env: { FLY_FLAPS_BASE_URL: fake.url, FLY_API_BASE_URL: fake.url, FLY_REGISTRY_URL: fake.url, ...options.env },
  });
  return { result, fake };
}

/** The post step after `result`'s main step, with its saved state, as the runner runs it. */
function postStep(result: ActionRun, fake: FakeFly): Promise<ActionRun> {
  return runAction({
    entry: 'post.js',
    state: result.state,
    workDir: result.workDir,
    inputs: { backend: 'fly', app_name: fake.app, fly_api_token: fake.token, command: '["/agent"]', image: 'x' },
    env: { FLY_FLAPS_BASE_URL: fake.url, FLY_API_BASE_URL: fake.url, FLY_REGISTRY_URL: fake.url },
  });
}

/** What every fly run must leave: no live machine, ≤ 3 requests a second per machine, no token anywhere. */
function expectClean(result: ActionRun, fake: FakeFly): void {
  expect(fake.liveMachines()).toEqual([]);
  expect(fake.busiestSecond()).toBeLessThanOrEqual(3);
  const bare = fake.token.replace(/^FlyV1 /, '');
  const shown =
    result.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n') +
    result.stderr +
    result.summary +
    JSON.stringify(result.outputs);
  expect(shown).not.toContain(bare);
}

describe('fly backend through dist/index.js', () => {
  it('reports a clean run from the exit event', async () => {
    const { result, fake } = await fly({ script: { lines: work(5, 0), durationMs: 500, exit: { code: 0 } } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.outputs).toMatchObject({ exit_code: '0', exit_code_source: 'api', state: 'stopped', conclusion: 'success' });
    expect(result.outputs.machine_id).toBe(fake.machines()[0].id);
    expect(fake.machines()).toHaveLength(1);
    expect(fake.machines()[0].config).toMatchObject({
      auto_destroy: true,
      restart: { policy: 'no' },
      init: { exec: ['/agent'] },
      metadata: { 'agent-machine-action': 'true' },
    });
    expect(result.stdout).toMatch(/^\d\d:\d\d:\d\d agent step 5$/m);
    expectClean(result, fake);
  });

  it('fails with the exit code from the log marker when the API has none, tail in the error', async () => {
    const { result, fake } = await fly({ script: { lines: work(30, 7), durationMs: 300, exit: { code: 7, report: 'none' } } });
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ exit_code: '7', exit_code_source: 'log-marker', conclusion: 'failure' });
    const error = result.commands.find((c) => c.command === 'error')!;
    expect(error.message).toMatch(/exited with code 7/);
    expect(error.message).toContain('agent step 30');
    expect(result.stdout).toContain('::group::Last 20 log lines');
    expectClean(result, fake);
  });

  it('says so when neither the API nor the logs know the exit code', async () => {
    const { result, fake } = await fly({ script: { lines: ['no marker'], durationMs: 200, exit: { code: 2, report: 'none' } } });
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ exit_code: '', exit_code_source: 'none', conclusion: 'failure' });
    expect(result.commands.find((c) => c.command === 'error')!.message).toMatch(/no exit code/);
    expectClean(result, fake);
  });

  it('reports an OOM kill as state failed and says out of memory', async () => {
    const { result, fake } = await fly({ script: { lines: ['allocating'], durationMs: 200, exit: { oom: true } }, waitCapMs: 400 });
    expect(result.outputs).toMatchObject({ state: 'failed', conclusion: 'failure' });
    expect(result.commands.find((c) => c.command === 'error')!.message).toMatch(/OOM/);
    expectClean(result, fake);
  });

  it('times out a run that never ends and destroys its machine', async () => {
    const { result, fake } = await fly({ script: { lines: work(3), durationMs: Infinity } }, { inputs: { wait_timeout: '2' } });
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ conclusion: 'timeout', exit_code: '' });
    expect(result.outputs.state).toBe('started');
    expect(result.commands.find((c) => c.command === 'error')!.message).toMatch(/did not exit within 2s/);
    expectClean(result, fake);
  });

  it('rides out 429 bursts, 503s and a lost create answer with one machine and a clean result', async () => {
    const { result, fake } = await fly({
      script: { lines: work(10, 0), durationMs: 800, exit: { code: 0 } },
      faults: [
        { op: 'create', answer: 'lose-answer' },
        { op: ['get', 'wait', 'logs'], times: 4, answer: { status: 429, retryAfter: '1' } },
      ],
      random503: { probability: 0.2, seed: 7 },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.outputs).toMatchObject({ exit_code: '0', conclusion: 'success' });
    expect(fake.machines()).toHaveLength(1);
    expectClean(result, fake);
  });

  it('names the machine and Fly request id when the API refuses the create', async () => {
    const { result, fake } = await fly({ faults: [{ op: 'create', answer: { status: 422, body: { error: 'invalid guest: memory_mb too low' } } }] });
    expect(result.code).toBe(1);
    const error = result.commands.find((c) => c.command === 'error')!;
    expect(error.message).toMatch(/422.*memory_mb too low/);
    expect(result.outputs).toMatchObject({ conclusion: 'failure', machine_id: '', exit_code: '' });
    expectClean(result, fake);
  });

  it('destroys the machine on SIGINT then SIGTERM, and the post step has nothing left to do', async () => {
    const { result, fake } = await fly(
      { script: { lines: ['agent-started', ...work(3)], durationMs: Infinity } },
      {
        signalWhen: 'agent-started',
        signals: [
          { afterMs: 100, signal: 'SIGINT' },
          { afterMs: 300, signal: 'SIGTERM' },
        ],
      },
    );
    expect(result.outputs.conclusion).toBe('cancelled');
    expect(fake.liveMachines()).toEqual([]);
    const post = await postStep(result, fake);
    expect(post.code).toBe(0);
    expect(post.stdout).not.toMatch(/Destroyed/);
    expectClean(result, fake);
  });

  it('the post step destroys the machine of a main step killed outright', async () => {
    const { result, fake } = await fly(
      { script: { lines: ['agent-started'], durationMs: Infinity } },
      {
        signalWhen: 'agent-started',
        signals: [{ afterMs: 100, signal: 'SIGKILL' }],
      },
    );
    expect(fake.liveMachines()).toHaveLength(1);
    const post = await postStep(result, fake);
    expect(post.code).toBe(0);
    expect(post.stdout).toMatch(/Destroyed machine/);
    expect(fake.liveMachines()).toEqual([]);
  });
});
