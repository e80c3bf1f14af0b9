// FlyBackend/FlyMachine against the fake, one fault at a time, through the action's own run
// loop. Each run must leave no machine alive, stay within 3 requests per machine in any
// second, and never show the token in an error, warning or the log.
import { afterAll, describe, expect, it } from 'vitest';
import { AgentMachineError, CancelledError, FlyAPIError, MachineExitError, MachineTimeoutError, NotSupportedError } from '../../src/errors.js';
import { CREATE_KEY } from '../../src/machine/fly/machines.js';
import { startFakeFly, type FakeFly, type Scenario } from '../fakes/fly-server.js';
import { TEST_LABEL, testSpec } from '../helpers/factories.js';
import { failure } from '../helpers/failure.js';
import { flyBackend, runOnFake, tokenForms, type FlyRun, type FlyRunOptions } from './harness.js';

// Each test has its own fake and backend (so its own pacer): they run concurrently.
const fakes: FakeFly[] = [];
afterAll(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function run(scenario: Scenario, options?: FlyRunOptions): Promise<FlyRun> {
  const outcome = await runOnFake(scenario, options);
  fakes.push(outcome.fake);
  return outcome;
}

async function fake(scenario?: Scenario): Promise<FakeFly> {
  const f = await startFakeFly(scenario);
  fakes.push(f);
  return f;
}

function expectClean(o: FlyRun): void {
  expect(o.fake.liveMachines().map((m) => m.id)).toEqual([]);
  expect(o.fake.busiestSecond()).toBeLessThanOrEqual(3);
  if (o.ref) expect(o.events).toEqual([`created ${o.ref.id}`, `destroyed ${o.ref.id}`]);
  const shown = [o.error?.message ?? '', String(o.error?.stack ?? ''), o.result?.failure?.message ?? '', o.log, ...o.warnings].join('\n');
  for (const form of tokenForms(o.fake.token)) expect(shown).not.toContain(form);
}

/** Faults ridden out: the run ended well on one machine, its whole log read when `logLines` says how long it was. */
function expectRodeOut(o: FlyRun, logLines?: number): void {
  expect(o.error).toBeUndefined();
  expect(o.result).toMatchObject({ ...stopped(0), conclusion: 'success' });
  if (logLines !== undefined) expect(o.log).toBe(text(lines(logLines)));
  expect(o.fake.machines()).toHaveLength(1);
  expectClean(o);
}

const lines = (n: number, code = 0) => [...Array.from({ length: n }, (_, i) => `line ${i + 1}`), `[flaude:exit:${code}]`];
const text = (l: string[]) => `${l.join('\n')}\n`;
const stopped = (exitCode: number | null) => ({ state: 'stopped', exitCode, oomKilled: false });

describe.concurrent('FlyBackend against the fake Fly', () => {
  it('runs a clean exit: exit event without exit_code is 0, state stopped, logs in order', async () => {
    const labels = { [TEST_LABEL]: 'true', amt_run: 'run-1' };
    const o = await run(
      { script: { lines: lines(5), durationMs: 300, exit: { code: 0 } } },
      { spec: { image: 'registry.fly.io/amt-test:agent-1', env: { FLAUDE_PROMPT: 'fix it' }, labels } },
    );
    expect(o.error).toBeUndefined();
    expect(o.result).toEqual({ machineId: o.ref?.id, ...stopped(0), exitCodeSource: 'api', conclusion: 'success' });
    expect(o.log).toBe(text(lines(5)));
    expectClean(o);
    const create = o.fake.machines()[0];
    expect(create.config).toMatchObject({
      image: 'registry.fly.io/amt-test:agent-1',
      env: { FLAUDE_PROMPT: 'fix it' },
      guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 256 },
      auto_destroy: true,
      restart: { policy: 'no' },
      metadata: labels,
    });
    expect(create.config.metadata[CREATE_KEY]).toMatch(/^[0-9a-f-]{36}$/);
    expect(create.config.init).toBeUndefined();
  });

  it('passes a command as init.exec (the whole argv)', async () => {
    const o = await run({}, { spec: { command: ['bash', '-c', 'make fix'] } });
    expect(o.fake.machines()[0].config.init).toEqual({ exec: ['bash', '-c', 'make fix'] });
    expectClean(o);
  });

  it.each([
    ['event', 3],
    ['monitor', 4],
    ['legacy', 5],
    ['top-level', 6],
  ] as const)('reads a non-zero exit reported as %s', async (report, code) => {
    const o = await run({ script: { lines: lines(2, code), durationMs: 200, exit: { code, report } } });
    expect(o.result).toMatchObject({ ...stopped(code), exitCodeSource: 'api', conclusion: 'failure' });
    expect(o.result?.failure).toBeInstanceOf(MachineExitError);
    expectClean(o);
  });

  it('falls back to the log marker when the API has no exit code', async () => {
    const o = await run({ script: { lines: lines(3, 7), durationMs: 200, exit: { code: 7, report: 'none' } } });
    expect(o.result).toMatchObject({ ...stopped(7), exitCodeSource: 'log-marker', conclusion: 'failure' });
    expect(o.result?.failure?.message).toMatch(/exited with code 7[^]*line 3/);
    expectClean(o);
  });

  it('has nothing at all when neither the API nor the logs say', async () => {
    const o = await run({ script: { lines: ['no marker here'], durationMs: 200, exit: { code: 2, report: 'none' } } });
    expect(o.result).toMatchObject({ ...stopped(null), exitCodeSource: 'none', conclusion: 'failure' });
    expect(o.result?.failure?.message).toMatch(/with no exit code[^]*no marker here/);
    expectClean(o);
  });

  it('surfaces an OOM kill as state failed, oomKilled', async () => {
    // /wait?state=stopped never returns for a failed machine: its 408 leads to a GET that sees it.
    const o = await run({ script: { lines: ['allocating'], durationMs: 200, exit: { oom: true } }, waitCapMs: 400 });
    expect(o.result).toMatchObject({ state: 'failed', exitCode: 137, oomKilled: true, conclusion: 'failure' });
    expect(o.result?.failure?.message).toMatch(/OOM-killed/);
    expectClean(o);
  });

  it('waits again on 408 until the machine stops', async () => {
    const o = await run({ script: { lines: lines(3), durationMs: 1500 }, waitCapMs: 300 });
    expect(o.result).toMatchObject({ ...stopped(0), conclusion: 'success' });
    const waits = o.fake.requests().filter((r) => r.op === 'wait');
    expect(waits.filter((r) => r.outcome === 408).length).toBeGreaterThanOrEqual(2);
    expectClean(o);
  });

  it('treats 404 after auto-destroy as destroyed, exit code left to the log marker', async () => {
    const o = await run({ script: { lines: lines(2, 0), durationMs: 200 }, autoDestroyMs: 0, keepDestroyedMs: 0, waitCapMs: 300 });
    // The wait may have caught `stopped` just before the machine vanished; either way nothing is readable.
    expect(o.result).toMatchObject({ exitCode: 0, exitCodeSource: 'log-marker', conclusion: 'success' });
    expect(['stopped', 'destroyed']).toContain(o.result?.state);
    expect(o.warnings).toEqual([]); // destroy of a gone machine is fine
    expectClean(o);
  });

  it('reads the exit from the still-readable machine when /wait finds it gone (404)', async () => {
    const o = await run({
      script: { lines: lines(1, 9), durationMs: 100, exit: { code: 9 } },
      autoDestroyMs: 0,
      bootMs: 0,
      faults: [{ op: 'wait', answer: 'drop' }], // the first wait is lost; by the retry the machine is gone
    });
    // It ran to a recorded exit before the cleanup: that is stopped, not vanished.
    expect(o.result).toMatchObject({ ...stopped(9), exitCodeSource: 'api' });
    expectClean(o);
  });

  it.each([
    ['with Retry-After', '1'],
    ['without Retry-After', undefined],
  ])('rides out a 429 burst %s', async (_, retryAfter) => {
    const o = await run({
      script: { lines: lines(3), durationMs: 300 },
      faults: [{ op: ['create', 'wait', 'get', 'destroy'], times: 4, answer: { status: 429, retryAfter, body: { error: 'rate limit exceeded' } } }],
    });
    expect(o.fake.requests().filter((r) => r.outcome === 429)).toHaveLength(4);
    if (retryAfter) {
      const times = o.fake
        .requests()
        .filter((r) => r.api === 'machines')
        .map((r) => r.at);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
    }
    expectRodeOut(o);
  });

  it('rides out random 503s everywhere, never making a second machine', async () => {
    const o = await run({ script: { lines: lines(40), durationMs: 1500 }, random503: { probability: 0.3, seed: 7 }, waitCapMs: 400 });
    expect(o.fake.requests().some((r) => r.outcome === 503)).toBe(true);
    expectRodeOut(o, 40);
  });

  it('rides out dropped connections on every kind of request', async () => {
    const o = await run({
      script: { lines: lines(10), durationMs: 600 },
      faults: [
        { op: 'create', answer: 'drop' },
        { op: 'wait', answer: 'drop' },
        { op: 'logs', times: 2, skip: 1, answer: 'drop' },
        { op: 'get', answer: 'drop' },
        { op: 'destroy', answer: 'drop' },
      ],
    });
    expect(o.fake.requests().filter((r) => r.outcome === 'dropped')).toHaveLength(6);
    expectRodeOut(o, 10);
  });

  it('reconciles a create whose answer was lost instead of making a second machine', async () => {
    const o = await run({ script: { lines: lines(2), durationMs: 300 }, faults: [{ op: 'create', answer: 'lose-answer' }] });
    expect(o.fake.requests().filter((r) => r.op === 'create')).toHaveLength(1);
    const lookup = o.fake.requests().find((r) => r.op === 'list')!;
    expect(lookup.path).toContain(`metadata.${CREATE_KEY}=`);
    expect(o.ref?.id).toBe(o.fake.machines()[0]?.id);
    expectRodeOut(o);
  });

  it('adopts its own machine when the resent create meets the name the lost one took', async () => {
    // The lookup after the lost answer comes back empty (the list lags): the resend gets 422 name_taken.
    const o = await run({
      script: { lines: lines(2), durationMs: 300 },
      faults: [
        { op: 'create', answer: 'lose-answer' },
        { op: 'list', answer: { status: 200, body: [] } },
      ],
    });
    expect(o.error).toBeUndefined();
    expect(
      o.fake
        .requests()
        .filter((r) => r.op === 'create')
        .map((r) => r.outcome),
    ).toEqual(['lost', 422]);
    expect(o.fake.machines()).toHaveLength(1);
    expect(o.ref?.id).toBe(o.fake.machines()[0].id);
    expectClean(o);
  });

  it('reconciles a create answered 503 after the machine was made, even on the last attempt', async () => {
    // Lost answers on every attempt: the first made a machine, later ones must not.
    const o = await run({ faults: [{ op: 'create', times: 10, answer: 'lose-answer' }] }, { backend: { retry: { maxAttempts: 2, baseDelayMs: 20 } } });
    expect(o.fake.machines()).toHaveLength(1);
    expect(o.error).toBeUndefined();
    expectClean(o);
  });

  it('fails a create with a bounded number of attempts and a FlyAPIError carrying the request id', async () => {
    const o = await run(
      { faults: [{ op: 'create', times: 100, answer: { status: 500, body: { error: 'internal error', message: 'capacity' } } }] },
      { backend: { retry: { baseDelayMs: 20 } } },
    );
    // Before any machine exists the run loop throws: there is nothing to destroy.
    expect(o.error).toBeInstanceOf(FlyAPIError);
    expect(o.result).toBeUndefined();
    expect(o.events).toEqual([]);
    const error = o.error as FlyAPIError;
    expect(error.code).toBe('FLY_API');
    expect(error.statusCode).toBe(500);
    expect(error.detail).toContain('internal error: capacity');
    expect(error.requestId).toMatch(/^[0-9a-f]{20}$/);
    expect(error.message).toContain(`fly-request-id ${error.requestId}`);
    const creates = o.fake.requests().filter((r) => r.op === 'create');
    expect(creates).toHaveLength(6);
    // A 500 on create is ambiguous: each retry is preceded by a lookup of the create key.
    expect(o.fake.requests().filter((r) => r.op === 'list')).toHaveLength(6);
    expect(o.fake.machines()).toHaveLength(0);
    expectClean(o);
  });

  it("does not retry a 422 and shows Fly's error and status", async () => {
    const o = await run({ faults: [{ op: 'create', answer: { status: 422, body: { error: 'invalid image', status: 'invalid_config' } } }] });
    expect(o.error).toBeInstanceOf(FlyAPIError);
    expect(o.error).toMatchObject({ status: 'invalid_config' });
    expect((o.error as FlyAPIError).detail).toContain('invalid image [invalid_config]');
    expect(o.fake.requests().filter((r) => r.op === 'create')).toHaveLength(1);
    expectClean(o);
  });

  it('gives up on an unreachable API with a FLY_API error naming the cause', async () => {
    const closed = await startFakeFly();
    await closed.close();
    const error = await failure<AgentMachineError>(flyBackend(closed, { retry: { maxAttempts: 2, baseDelayMs: 10 } }).create(testSpec()));
    expect(error).toBeInstanceOf(AgentMachineError);
    expect(error).toMatchObject({ code: 'FLY_API' });
    expect(error.message).toMatch(/did not answer POST .* after 2 attempt\(s\): .*ECONNREFUSED/);
  });

  it('answers 401 for a wrong token without showing it', async () => {
    const f = await fake();
    const wrong = 'fm2_wrong-secret-token-value';
    const error = await failure<FlyAPIError>(flyBackend(f, { token: wrong }).create(testSpec()));
    expect(error).toBeInstanceOf(FlyAPIError);
    expect(error.statusCode).toBe(401);
    expect(error.message).not.toContain(wrong);
  });

  it('reads huge logs completely and in order', async () => {
    const big = Array.from({ length: 20_000 }, (_, i) => `${String(i).padStart(6, '0')} ${'x'.repeat(150)}`);
    const o = await run({ script: { lines: [...big, '[flaude:exit:0]'], durationMs: 1000 } });
    const got = o.log.split('\n');
    expect(got).toHaveLength(20_002);
    expect(got[0].startsWith('000000 ')).toBe(true);
    expect(got[19_999].startsWith('019999 ')).toBe(true);
    expect(got[20_000]).toBe('[flaude:exit:0]');
    expectClean(o);
  });

  it('keeps reading logs that arrive late, until the exit marker', async () => {
    const o = await run({ script: { lines: lines(5), durationMs: 300 }, logDelayMs: 1000 });
    expect(o.log).toBe(text(lines(5)));
    expectClean(o);
  });

  it('keeps reading late logs without a marker until a page comes back empty once exit has settled', async () => {
    const printed = ['late 1', 'late 2'];
    const started = Date.now();
    const o = await run({ script: { lines: printed, durationMs: 300, exit: { code: 0 } }, logDelayMs: 1000 });
    // Well inside the machine's 10 s grace: the poller knew the exit, it was not cut off.
    expect(Date.now() - started).toBeLessThan(8000);
    expect(o.log).toBe(text(printed));
    expect(o.result).toMatchObject({ ...stopped(0), exitCodeSource: 'api' });
    expectClean(o);
  });

  it('stops reading logs with a warning on 404', async () => {
    const o = await run({
      script: { lines: lines(3), durationMs: 300 },
      faults: [{ op: 'logs', times: 100, answer: { status: 404, body: { error: 'app not found' } } }],
    });
    expect(o.result).toMatchObject({ ...stopped(0), conclusion: 'success' });
    expect(o.warnings.join('\n')).toMatch(/Stopped reading logs of machine .*404/);
    expect(o.fake.requests().filter((r) => r.op === 'logs')).toHaveLength(1);
    expectClean(o);
  });

  it('times out a run that never ends, in the state it was stuck in, and destroys it', async () => {
    const o = await run({ script: { lines: ['working...'], durationMs: Infinity }, waitCapMs: 500 }, { waitTimeoutSeconds: 1.5 });
    expect(o.result).toMatchObject({ conclusion: 'timeout', state: 'started', exitCode: null, exitCodeSource: 'none' });
    expect(o.result?.failure).toBeInstanceOf(MachineTimeoutError);
    expect(o.result?.failure?.message).toMatch(/did not exit within 1.5s[^]*working\.\.\./);
    expect(o.fake.machines()[0].state).toBe('destroyed');
    expect(o.log).toContain('working...');
    expectClean(o);
  });

  it('cancels a running machine and destroys it', async () => {
    const o = await run({ script: { lines: ['working...'], durationMs: Infinity }, waitCapMs: 500 }, { cancelAfterMs: 1000 });
    expect(o.result).toMatchObject({ conclusion: 'cancelled', state: 'started', exitCode: null });
    expect(o.result?.failure).toBeInstanceOf(CancelledError);
    expect(o.fake.machines()[0].state).toBe('destroyed');
    expectClean(o);
  });

  it('keeps to 3 requests per machine per second while logs stream and waits time out fast', async () => {
    const o = await run({ script: { lines: lines(100), durationMs: 4000 }, waitCapMs: 50 });
    expect(o.result).toMatchObject({ ...stopped(0), conclusion: 'success' });
    const machineCalls = o.fake.requests().filter((r) => r.api === 'machines' && r.machineId === o.ref!.id);
    expect(machineCalls.length).toBeGreaterThan(6); // the pacer, not a lack of requests, kept it under
    expectClean(o);
  });

  it('runs exec and reports its exit code', async () => {
    const f = await fake({ script: { lines: ['up'], durationMs: Infinity } });
    const machine = await flyBackend(f).create(testSpec());
    await new Promise((r) => setTimeout(r, 100));
    const ok = await machine.exec(['echo', 'hi']);
    expect([ok.exitCode, ok.stdout]).toEqual([0, 'hi\n']);
    expect((await machine.exec(['false'])).exitCode).toBe(1);
    await machine.destroy();
    expect(f.liveMachines()).toHaveLength(0);
  });

  it('destroys by ref (already gone is fine) and sweeps by labels', async () => {
    const f = await fake({ script: { lines: ['up'], durationMs: Infinity } });
    const warnings: string[] = [];
    const backend = flyBackend(f, { warn: (w) => warnings.push(w) });
    const mine = { [TEST_LABEL]: 'true', amt_run: 'run-1' };
    const ours = [await backend.create(testSpec({ labels: mine })), await backend.create(testSpec({ labels: mine }))];
    const other = await backend.create(testSpec({ labels: { ...mine, amt_run: 'run-2' } }));
    expect(other.ref).toEqual({ backend: 'fly', id: f.machines()[2].id, app: f.app });
    const swept = await backend.sweep(mine);
    expect(swept.sort()).toEqual(ours.map((m) => m.ref.id).sort());
    expect(f.liveMachines().map((m) => m.id)).toEqual([other.ref.id]);
    await backend.destroy(other.ref);
    await backend.destroy(other.ref);
    expect(f.liveMachines()).toHaveLength(0);
    expect(await backend.sweep({ amt_run: 'run-1' })).toEqual([]);
    await expect(backend.destroy({ backend: 'local', id: 'abc' })).rejects.toBeInstanceOf(NotSupportedError);
    expect(warnings).toEqual([]);
  });
});
