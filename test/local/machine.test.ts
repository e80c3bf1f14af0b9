// The local backend against the real Docker engine, with the busybox test image.
import { afterAll, describe, expect, it } from 'vitest';
import { AgentMachineError, ExecutionError } from '../../src/errors.js';
import { DockerApi, DockerApiError } from '../../src/machine/local/docker-api.js';
import { EXEC_TIMEOUT_EXIT_CODE } from '../../src/machine/local/machine.js';
import { cleanUp, localBackend, readAll, testRun } from './helpers.js';

const api = DockerApi.fromEnv();
const backend = localBackend(api);
const { labels, spec } = testRun();

afterAll(() => cleanUp(api, labels));

const never = () => new AbortController().signal;

describe('local machine lifecycle', () => {
  it('runs a command to exit 0, with its output and our labels', async () => {
    const machine = await backend.create(spec(['sh', '-c', 'echo hello from busybox']));
    expect(machine.lastState).toBe('started');
    expect(await api.listContainers(labels)).toContain(machine.ref.id);
    const output = readAll(machine);
    await expect(machine.wait(never())).resolves.toEqual({ state: 'stopped', exitCode: 0, oomKilled: false });
    expect(await output).toBe('hello from busybox\n');
    expect(machine.lastState).toBe('stopped');
    await machine.destroy();
  });

  it('reports exit 3 and delivers every stdout and stderr line', async () => {
    const script = 'seq 1 5000; seq 5001 10000 >&2; echo out-end; echo err-end >&2; exit 3';
    const machine = await backend.create(spec(['sh', '-c', script], { env: { GREETING: 'unused' } }));
    const output = readAll(machine);
    await expect(machine.wait(never())).resolves.toEqual({ state: 'stopped', exitCode: 3, oomKilled: false });
    const lines = (await output).trimEnd().split('\n');
    const expected = [...Array.from({ length: 10000 }, (_, i) => String(i + 1)), 'out-end', 'err-end'];
    expect(lines.sort()).toEqual(expected.sort());
    await machine.destroy();
  });

  it('passes env to the container and reads logs after it has exited', async () => {
    const machine = await backend.create(spec(['sh', '-c', 'echo "$GREETING"'], { env: { GREETING: 'hi there' } }));
    await machine.wait(never());
    expect(await readAll(machine)).toBe('hi there\n');
    await machine.destroy();
  });

  it('reports an OOM-killed container as failed', async () => {
    // dd as PID 1 fills a 64 MiB buffer inside a 16 MiB limit.
    const machine = await backend.create(spec(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], { memoryMb: 16 }));
    await expect(machine.wait(never())).resolves.toEqual({ state: 'failed', exitCode: 137, oomKilled: true });
    expect(machine.lastState).toBe('failed');
    await machine.destroy();
  });

  it("tells an OOM kill from any other SIGKILL by the engine's own oom event", async () => {
    const oom = await backend.create(spec(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], { memoryMb: 16 }));
    // PID 1 ignores its own SIGKILL: a child is killed and its 137 passed on.
    const killed = await backend.create(spec(['sh', '-c', "sh -c 'kill -9 $$'; exit $?"]));
    await oom.wait(never());
    await expect(killed.wait(never())).resolves.toEqual({ state: 'stopped', exitCode: 137, oomKilled: false });
    expect(await api.oomEventSeen(oom.ref.id, 60)).toBe(true);
    expect(await api.oomEventSeen(killed.ref.id, 60)).toBe(false);
    await Promise.all([oom.destroy(), killed.destroy()]);
  });

  it('asks for no more CPUs than the host has', async () => {
    const machine = await backend.create(spec(['true'], { cpus: 64, memoryMb: 64 }));
    await expect(machine.wait(never())).resolves.toMatchObject({ exitCode: 0 });
    await machine.destroy();
  });

  it('rejects wait with the abort reason, promptly, and the container keeps running', async () => {
    const machine = await backend.create(spec(['sleep', '60']));
    const controller = new AbortController();
    const reason = new Error('time is up');
    setTimeout(() => controller.abort(reason), 300);
    const started = Date.now();
    await expect(machine.wait(controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(machine.lastState).toBe('started');
    expect((await api.inspectContainer(machine.ref.id)).Status).toBe('running');
    await machine.destroy();
  });

  it('ends the log stream quietly when the reader stops it', async () => {
    const machine = await backend.create(spec(['sh', '-c', 'echo first; sleep 60']));
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const chunk of machine.logs(stop.signal)) {
      seen.push(Buffer.from(chunk).toString());
      stop.abort();
    }
    expect(seen).toEqual(['first\n']);
    await machine.destroy();
  });

  it('destroys a running container; twice, and by ref, is fine', async () => {
    const machine = await backend.create(spec(['sleep', '60']));
    await machine.destroy();
    const gone = await api.inspectContainer(machine.ref.id).catch((err: unknown) => err);
    expect(gone).toBeInstanceOf(DockerApiError);
    expect((gone as DockerApiError).statusCode).toBe(404);
    await machine.destroy();
    await backend.destroy(machine.ref);
    expect(machine.ref).toEqual({ backend: 'local', id: machine.ref.id });
  });

  it('waits on a container that was destroyed meanwhile as destroyed', async () => {
    const machine = await backend.create(spec(['sleep', '60']));
    await backend.destroy(machine.ref);
    await expect(machine.wait(never())).resolves.toEqual({ state: 'destroyed', exitCode: null, oomKilled: false });
  });
});

describe('local exec', () => {
  it('returns stdout, stderr and exit code; assertSuccess throws ExecutionError on failure', async () => {
    const machine = await backend.create(spec(['sleep', '60']));
    try {
      const ok = await machine.exec(['sh', '-c', 'echo out; echo err >&2']);
      expect([ok.success, ok.exitCode, ok.stdout, ok.stderr]).toEqual([true, 0, 'out\n', 'err\n']);
      expect(ok.assertSuccess()).toBe(ok);

      const bad = await machine.exec(['sh', '-c', 'echo partial; echo broken >&2; exit 5']);
      expect([bad.success, bad.exitCode, bad.stdout, bad.stderr]).toEqual([false, 5, 'partial\n', 'broken\n']);
      let thrown: unknown;
      try {
        bad.assertSuccess();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ExecutionError);
      expect(thrown).toMatchObject({ code: 'COMMAND_FAILED', exitCode: 5, stderr: 'broken\n', command: ['sh', '-c', 'echo partial; echo broken >&2; exit 5'] });
    } finally {
      await machine.destroy();
    }
  });

  it('gives up after the timeout with exit code 124', async () => {
    const machine = await backend.create(spec(['sleep', '60']));
    try {
      const started = Date.now();
      const result = await machine.exec(['sh', '-c', 'echo before; sleep 30'], { timeoutSeconds: 1 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.exitCode).toBe(EXEC_TIMEOUT_EXIT_CODE);
      expect(result.stdout).toBe('before\n');
      expect(result.stderr).toMatch(/timed out after 1s/);
    } finally {
      await machine.destroy();
    }
  });
});

describe('local backend', () => {
  it('sweeps containers by label and leaves others alone', async () => {
    const mine = testRun();
    const other = testRun();
    const a = await backend.create(mine.spec(['sleep', '60']));
    const b = await backend.create(mine.spec(['true']));
    const c = await backend.create(other.spec(['sleep', '60']));
    try {
      expect((await backend.sweep(mine.labels)).sort()).toEqual([a.ref.id, b.ref.id].sort());
      expect(await api.listContainers(mine.labels)).toEqual([]);
      expect(await api.listContainers(other.labels)).toEqual([c.ref.id]);
      expect(await backend.sweep(mine.labels)).toEqual([]);
    } finally {
      await c.destroy();
    }
  });

  it('refuses to sweep with no label', async () => {
    await expect(backend.sweep({})).rejects.toThrow(/at least one label/);
  });

  it('says clearly when the image is missing', async () => {
    const err = await backend.create(spec(['true'], { image: 'amt-test-no-such-image:404' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentMachineError);
    expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND', message: expect.stringContaining('amt-test-no-such-image:404') });
  });

  it('removes a container whose command cannot start and reports the engine message', async () => {
    const run = testRun();
    const err = await backend.create(run.spec(['/no/such/program'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect((err as DockerApiError).message).toMatch(/no such file or directory|not found/);
    expect(await api.listContainers(run.labels)).toEqual([]);
  });
});

describe('no Docker engine', () => {
  it.each([
    ['a missing socket', 'unix:///tmp/amt-no-such-docker.sock', /ENOENT/],
    ['a closed tcp port', 'tcp://127.0.0.1:9', /ECONNREFUSED/],
  ])('%s gives DOCKER_UNAVAILABLE naming DOCKER_HOST', async (_, host, cause) => {
    const offline = localBackend(DockerApi.fromEnv({ DOCKER_HOST: host }));
    const err = await offline.create(spec(['true'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentMachineError);
    expect(err).toMatchObject({ code: 'DOCKER_UNAVAILABLE' });
    expect((err as Error).message).toContain(`DOCKER_HOST=${host}`);
    expect((err as Error).message).toMatch(/Is Docker running on this runner/);
    expect((err as Error).message).toMatch(cause);
  });

  it('refuses a DOCKER_HOST scheme it cannot speak', () => {
    expect(() => DockerApi.fromEnv({ DOCKER_HOST: 'ssh://me@host' })).toThrow(expect.objectContaining({ code: 'DOCKER_UNAVAILABLE' }));
  });
});
