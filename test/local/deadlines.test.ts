// Deadlines and cancel on every engine call of the local backend: the real Docker engine
// behind a proxy (its own unix socket, as DOCKER_HOST would name it) that holds the chosen
// call and never answers it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerApi } from '../../src/machine/local/docker-api.js';
import { LogSink } from '../../src/run/log-sink.js';
import { runMachine } from '../../src/run/run.js';
import { Session } from '../../src/session.js';
import { closeAfterEach, timed, untilHeld } from '../helpers/deadlines.js';
import { dockerUpstream, startProxy, type Proxy } from '../helpers/proxy.js';
import { cleanUp, localBackend, testRun } from './helpers.js';

const engine = DockerApi.fromEnv();
const { labels, spec } = testRun();
const closeLater = closeAfterEach();
let proxy: Proxy;
afterAll(() => cleanUp(engine, labels));

/** An api on a proxy of the engine that holds the calls `hang` picks; every deadline `timeoutMs`. */
async function hungEngine(hang: (method: string, path: string) => boolean, timeoutMs = 1000): Promise<DockerApi> {
  proxy = closeLater(await startProxy({ upstream: dockerUpstream(), unixSocket: true, hang }));
  return closeLater(new DockerApi(proxy.url, { timeoutMs, removeTimeoutMs: timeoutMs }));
}

const isCreate = (method: string, path: string) => method === 'POST' && path === '/containers/create';
const isAttach = (method: string, path: string) => method === 'POST' && /^\/containers\/[^/]+\/attach$/.test(path);
const isStart = (method: string, path: string) => method === 'POST' && /^\/containers\/[^/]+\/start$/.test(path);
/** The engine calls create() makes, each of which may be the one that hangs. */
const CREATE_CALLS = [
  ['create', isCreate],
  ['attach', isAttach],
  ['start', isStart],
] as const;

// A call that hangs fails its test in seconds, not at vitest's generous default.
describe('a Docker engine that never answers', { timeout: 30_000 }, () => {
  it.each(CREATE_CALLS)('ends create() by its deadline when %s hangs, with a DOCKER_API error that says it timed out', async (call, hang) => {
    const backend = localBackend(await hungEngine(hang, 2000));
    const { ms, error } = await timed(backend.create(spec(['sleep', '60'])));
    expect(proxy.held).toHaveLength(1);
    expect(error).toMatchObject({ code: 'DOCKER_API', message: expect.stringMatching(/timed out: no answer to POST \/containers\/\S+ within 2s/) });
    expect((error as Error).message).toContain(call === 'create' ? '/containers/create' : `/${call}`);
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(10_000);
    // A container made before the hang never ran, and is not left behind.
    expect(await engine.listContainers(labels)).toEqual([]);
  });

  it.each(CREATE_CALLS)('ends create() at once on cancel when %s hangs (deadline far off)', async (_call, hang) => {
    const backend = localBackend(await hungEngine(hang, 60_000));
    const cancel = new AbortController();
    const reason = new Error('SIGINT');
    const waiting = timed(backend.create(spec(['sleep', '60']), cancel.signal));
    // Cancel once the engine holds the call.
    await untilHeld(proxy);
    cancel.abort(reason);
    const { ms, error } = await waiting;
    expect(error).toBe(reason);
    expect(ms).toBeLessThan(10_000); // the held call is cut at once; only the quick cleanup follows
    expect(await engine.listContainers(labels)).toEqual([]);
  });

  it('SIGINT while create hangs: the run rejects with the cancel at once, no machine left', async () => {
    const backend = localBackend(await hungEngine(isCreate, 60_000));
    const dir = mkdtempSync(join(tmpdir(), 'amt-deadlines-'));
    const sink = new LogSink({ file: join(dir, 'log'), secrets: [], tailLines: 20 });
    // The action's own signal handling: the runner's SIGINT aborts the session's cancel.
    const session = new Session();
    const created: string[] = [];
    try {
      const running = timed(
        runMachine(backend, spec(['sleep', '60']), sink, {
          waitTimeoutSeconds: 3600,
          idleTimeoutSeconds: 0,
          cancel: session.cancel,
          onCreated: (ref) => void created.push(ref.id),
          onDestroyed: () => {},
          warn: () => {},
        }),
      );
      await untilHeld(proxy);
      // As Node delivers it to the listener (not process.kill: in a worker thread it would reach vitest itself).
      process.emit('SIGINT', 'SIGINT');
      const { ms, error } = await running;
      expect(error).toBe('SIGINT'); // the session aborts with the signal's name
      expect(ms).toBeLessThan(2000);
      expect(created).toEqual([]);
      expect(await engine.listContainers(labels)).toEqual([]);
    } finally {
      session.close();
      sink.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['inspect', (a: DockerApi) => a.inspectContainer('nonexistent'), 'GET', /^\/containers\/[^/]+\/json$/],
    ['list', (a: DockerApi) => a.listContainers(labels), 'GET', /^\/containers\/json$/],
    ['remove', (a: DockerApi) => a.removeContainer('nonexistent'), 'DELETE', /^\/containers\/[^/]+$/],
    ['info', (a: DockerApi) => a.hostCpus(), 'GET', /^\/info$/],
    ['pull', (a: DockerApi) => a.pullImage('amt-test-none:1', new AbortController().signal), 'POST', /^\/images\/create$/],
  ] as const)('%s ends by its deadline', async (_call, call, method, path) => {
    const hung = await hungEngine((m, p) => m === method && path.test(p), 500);
    const { ms, error } = await timed(call(hung));
    expect(error).toMatchObject({ code: 'DOCKER_API', message: expect.stringContaining('timed out') });
    expect(ms).toBeLessThan(3000);
  });

  it('wait and exec: the answer must start by the deadline, then only their own bounds apply', async () => {
    // Long enough for a real start on a busy runner, which can take most of a second.
    const backend = localBackend(await hungEngine((m, p) => m === 'POST' && /^\/(containers\/[^/]+\/wait|exec\/[^/]+\/start)$/.test(p), 3000));
    const machine = await backend.create(spec(['sleep', '60']));
    try {
      const exec = await timed(machine.exec(['echo', 'hi']));
      expect(exec.error).toMatchObject({ code: 'DOCKER_API', message: expect.stringMatching(/timed out: no answer to POST \/exec\/\S+\/start within 3s/) });
      const wait = await timed(machine.wait(new AbortController().signal));
      expect(wait.error).toMatchObject({
        code: 'DOCKER_API',
        message: expect.stringMatching(/timed out: no answer to POST \/containers\/\S+\/wait within 3s/),
      });
      expect(wait.ms).toBeLessThan(6000);
    } finally {
      await machine.destroy();
    }
  });
});
