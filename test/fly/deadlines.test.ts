// Deadlines and cancel on Fly's APIs: the fake Fly behind a proxy that holds the chosen
// requests and never answers them. Every call ends by its deadline with a FLY_API error that
// says it timed out, or at once on cancel.
import { describe, expect, it } from 'vitest';
import { FlyClient } from '../../src/machine/fly/client.js';
import { manifestExists } from '../../src/machine/fly/registry.js';
import { startFakeFly, type FakeFly, type Scenario } from '../fakes/fly-server.js';
import { closeAfterEach, timed, untilHeld } from '../helpers/deadlines.js';
import { testSpec } from '../helpers/factories.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { fakeEnv, flyBackend } from './harness.js';

/**
 * Short enough for a test; the defaults (30 s an attempt, 2 min a request) are what runs use.
 * undici times an attempt with ~0.5 s resolution: room for two attempts within the deadline.
 */
const TIMEOUTS = { attemptMs: 500, deadlineMs: 2500 };

const closeLater = closeAfterEach();
let proxy: Proxy;

/** The fake Fly, reached through a proxy that holds what `hang` picks. */
async function hungFly(hang: (method: string, path: string) => boolean, scenario: Scenario = {}): Promise<{ fake: FakeFly; url: string }> {
  const fake = closeLater(await startFakeFly(scenario));
  proxy = closeLater(await startProxy({ upstream: { url: fake.url }, hang }));
  return { fake, url: proxy.url };
}

const isCreate = (method: string, path: string) => method === 'POST' && /^\/v1\/apps\/[^/]+\/machines$/.test(path);

describe('a Fly API that never answers', { timeout: 30_000 }, () => {
  it('ends a create by its deadline, retries included, with a FLY_API error that says it timed out', async () => {
    const target = await hungFly(isCreate);
    const backend = flyBackend({ ...target.fake, url: target.url }, { timeouts: TIMEOUTS });
    const { ms, error } = await timed(backend.create(testSpec()));
    expect(error).toMatchObject({
      code: 'FLY_API',
      message: expect.stringMatching(/^Fly Machines API timed out: no answer to POST \/v1\/apps\/amt-test\/machines within 2.5s \(\d attempt\(s\)\)$/),
    });
    expect(ms).toBeGreaterThanOrEqual(2400);
    expect(ms).toBeLessThan(4500);
    // Each attempt that got no answer was cut short and reconciled by a list, then retried.
    expect(proxy.held.length).toBeGreaterThanOrEqual(2);
    expect(target.fake.machines()).toEqual([]);
  });

  it('ends a hung create at once on cancel, with the cancel as the reason (deadlines far off)', async () => {
    const target = await hungFly(isCreate);
    const backend = flyBackend({ ...target.fake, url: target.url });
    const cancel = new AbortController();
    const reason = new Error('SIGINT');
    const creating = timed(backend.create(testSpec(), cancel.signal));
    await untilHeld(proxy);
    cancel.abort(reason);
    const { ms, error } = await creating;
    expect(error).toBe(reason);
    expect(ms).toBeLessThan(1000);
  });

  it('ends a destroy by its deadline', async () => {
    const target = await hungFly((method) => method === 'DELETE', { script: { lines: [], durationMs: Infinity } });
    const backend = flyBackend({ ...target.fake, url: target.url }, { timeouts: TIMEOUTS });
    const machine = await backend.create(testSpec());
    const { ms, error } = await timed(machine.destroy());
    expect(error).toMatchObject({ code: 'FLY_API', message: expect.stringMatching(/Fly Machines API timed out: no answer to DELETE \S+ within 2.5s/) });
    expect(ms).toBeLessThan(4500);
  });

  it('a hung logs API: reading ends soon after the exit, with a warning that says it timed out', async () => {
    const target = await hungFly((_method, path) => path.endsWith('/logs'), { script: { lines: ['hello', '[flaude:exit:0]'], durationMs: 200 } });
    const warnings: string[] = [];
    const backend = flyBackend({ ...target.fake, url: target.url }, { timeouts: TIMEOUTS, warn: (w) => void warnings.push(w) });
    const machine = await backend.create(testSpec());
    const reading = (async () => {
      for await (const _ of machine.logs(new AbortController().signal));
    })();
    await expect(machine.wait(new AbortController().signal)).resolves.toMatchObject({ state: 'stopped', exitCode: 0 });
    const { ms, error } = await timed(reading);
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(10_000);
    expect(warnings.join('\n')).toMatch(
      /Reading logs of machine \S+ failed, still trying: Fly logs API timed out: no answer to GET \/api\/v1\/apps\/amt-test\/logs\?instance=\S+ within 2.5s/,
    );
  });

  it('ends a registry exists-check by its deadline, and at once on cancel', async () => {
    const target = await hungFly((method) => method === 'HEAD');
    const client = new FlyClient({ token: target.fake.token, env: fakeEnv({ url: target.url }), timeouts: TIMEOUTS });
    const { ms, error } = await timed(manifestExists(client, 'amt-test', 'agent-1'));
    expect(error).toMatchObject({
      code: 'FLY_API',
      message: expect.stringMatching(/^Fly registry timed out: no answer to HEAD \/v2\/amt-test\/manifests\/agent-1 within 2.5s/),
    });
    expect(ms).toBeLessThan(4500);
    const cancel = new AbortController();
    const reason = new Error('SIGTERM');
    setTimeout(() => cancel.abort(reason), 200);
    const cut = await timed(
      manifestExists(new FlyClient({ token: target.fake.token, env: fakeEnv({ url: target.url }) }), 'amt-test', 'agent-1', cancel.signal),
    );
    expect(cut.error).toBe(reason);
    expect(cut.ms).toBeLessThan(1000);
  });
});
