// Exit 137 under a memory limit on an engine that never reports OOM kills (Podman's
// Docker-compatible API): the status says it was possibly out of memory, with the limit.
// Always: the real Docker engine behind a proxy that says it is Podman (GET /version as
// Podman 4.3.1 answers it). When `podman` is installed: the real Podman service too.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerApi } from '../../src/machine/local/docker-api.js';
import { BUSYBOX_IMAGE } from '../helpers/images.js';
import { dockerUpstream, startProxy, type Proxy } from '../helpers/proxy.js';
import { cleanUp, localBackend, readAll, testRun } from './helpers.js';

const never = () => new AbortController().signal;
/** PID 1 survives its own SIGKILL: a child is killed and its 137 passed on. Not out of memory. */
const KILLED = ['sh', '-c', "sh -c 'kill -9 $$'; exit $?"];
/** dd as PID 1 fills a 64 MiB buffer inside a 16 MiB limit. */
const OOM = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'];

/** The parts of Podman 4.3.1's GET /version that tell it from Docker (recorded from `podman system service`). */
const PODMAN_VERSION = {
  Platform: { Name: 'linux/amd64/debian-12' },
  Components: [
    { Name: 'Podman Engine', Version: '4.3.1', Details: { APIVersion: '4.3.1', MinAPIVersion: '4.0.0', Os: 'linux', Arch: 'amd64' } },
    { Name: 'Conmon', Version: 'conmon version 2.1.6, commit: unknown' },
    { Name: 'OCI Runtime (runc)', Version: 'runc version 1.1.5+ds1' },
  ],
  Version: '4.3.1',
  ApiVersion: '1.41',
  MinAPIVersion: '1.24',
  Os: 'linux',
  Arch: 'amd64',
};

describe('an engine that says it is Podman (Docker behind a proxy)', () => {
  const { labels, spec } = testRun();
  const docker = DockerApi.fromEnv();
  let proxy: Proxy;
  let api: DockerApi;

  beforeAll(async () => {
    proxy = await startProxy({
      upstream: dockerUpstream(),
      unixSocket: true,
      answer: (method, path) => (method === 'GET' && path === '/version' ? { status: 200, body: PODMAN_VERSION } : undefined),
    });
    api = new DockerApi(proxy.url);
  });
  afterAll(async () => {
    await api.close();
    await proxy.close();
    await cleanUp(docker, labels);
  });

  it('is asked what it is once, and is taken at its word', async () => {
    expect(await api.reportsOomKills()).toBe(false);
    expect(await api.reportsOomKills()).toBe(false);
    expect(proxy.seen.filter((r) => r.startsWith('GET /version'))).toHaveLength(1);
    expect(await docker.reportsOomKills()).toBe(true);
  });

  it('notes a SIGKILL under a memory limit as possibly out of memory, with the limit', async () => {
    const machine = await localBackend(api).create(spec(KILLED, { memoryMb: 256 }));
    await expect(machine.wait(never())).resolves.toEqual({
      state: 'stopped',
      exitCode: 137,
      oomKilled: false,
      note: 'killed (exit 137), possibly out of memory (limit 256 MiB)',
    });
    await machine.destroy();
  });

  it('says nothing more of an exit that is not a kill', async () => {
    const machine = await localBackend(api).create(spec(['sh', '-c', 'exit 3'], { memoryMb: 256 }));
    const status = await machine.wait(never());
    expect(status).toEqual({ state: 'stopped', exitCode: 3, oomKilled: false });
    expect(status).not.toHaveProperty('note');
    await machine.destroy();
  });

  it('Docker itself, which reports OOM kills, gets no such note for the same kill', async () => {
    const machine = await localBackend(docker).create(spec(KILLED, { memoryMb: 256 }));
    const status = await machine.wait(never());
    expect(status).toEqual({ state: 'stopped', exitCode: 137, oomKilled: false });
    expect(status).not.toHaveProperty('note');
    await machine.destroy();
  });
});

const podmanInstalled = (() => {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!podmanInstalled)('the real Podman service (podman system service)', () => {
  const { labels, spec } = testRun();
  const dir = mkdtempSync(join(tmpdir(), 'amt-podman-'));
  const socket = join(dir, 'podman.sock');
  let service: ChildProcess;
  let api: DockerApi;

  beforeAll(async () => {
    // Podman raises the container's open-files and process limits to values a sandboxed
    // runner may not grant (runc: "error setting rlimits … operation not permitted"): ask for modest ones.
    writeFileSync(join(dir, 'containers.conf'), '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n');
    const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') };
    // The busybox test image, from Docker (no registry is reachable).
    execFileSync('sh', ['-c', `docker save ${BUSYBOX_IMAGE} | podman load`], { env, stdio: 'ignore' });
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { env, stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(100);
    api = new DockerApi(`unix://${socket}`);
  });
  afterAll(async () => {
    await cleanUp(api, labels);
    service.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a container through the Docker API calls the backend makes, output included', async () => {
    const machine = await localBackend(api).create(spec(['sh', '-c', 'echo hello from podman; exit 4']));
    const output = readAll(machine);
    await expect(machine.wait(never())).resolves.toEqual({ state: 'stopped', exitCode: 4, oomKilled: false });
    expect(await output).toBe('hello from podman\n');
    await machine.destroy();
  });

  it('reports an OOM kill as a plain 137, so the status notes it as possibly out of memory', async () => {
    expect(await api.reportsOomKills()).toBe(false);
    const machine = await localBackend(api).create(spec(OOM, { memoryMb: 16 }));
    const status = await machine.wait(never());
    expect(status).toEqual({ state: 'stopped', exitCode: 137, oomKilled: false, note: 'killed (exit 137), possibly out of memory (limit 16 MiB)' });
    await machine.destroy();
  });
});
