// The bundled image on a fresh runner: the engine's copy, else the release workflow's prebuilt
// image pulled from a real registry (Debian's docker-registry on 127.0.0.1 standing in for
// ghcr.io), else a build; a pull that fails is a notice and the build goes on.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageBuildError } from '../../src/errors.js';
import { bundledContentTag, isBundledContext, prebuiltSource, type PrebuiltSource } from '../../src/image/prebuilt.js';
import { contentTag } from '../../src/image/tag.js';
import { BUNDLED_IMAGE_REPO, LocalBackend } from '../../src/machine/local/backend.js';
import { DockerApi } from '../../src/machine/local/docker-api.js';
import { BUSYBOX_IMAGE, imageExists } from '../helpers/images.js';
import { startLocalRegistry, type LocalRegistry } from '../helpers/registry.js';

const ROOT = resolve(import.meta.dirname, '../..');
const api = DockerApi.fromEnv();
const dirs: string[] = [];
const images: string[] = [];
let registry: LocalRegistry;

beforeAll(async () => {
  registry = await startLocalRegistry();
});

afterAll(async () => {
  registry?.stop();
  for (const image of images) execFileSync('docker', ['image', 'rm', '--force', image], { stdio: 'ignore' });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await api.close();
});

const imageId = (ref: string) => execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]).toString().trim();

/** A build context of its own (unique content, so a unique tag) with this Dockerfile. */
async function bundled(dockerfile: string): Promise<{ dockerfile: string; buildContext: string; tag: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'amt-prebuilt-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'Dockerfile'), `${dockerfile}\n# ${randomUUID()}\n`);
  const tag = `${BUNDLED_IMAGE_REPO}:${await contentTag(join(dir, 'Dockerfile'), dir)}`;
  images.push(tag);
  return { dockerfile: join(dir, 'Dockerfile'), buildContext: dir, tag };
}

/** The action's repository as the runner names it: capitals and all. */
const actionEnv = (registryHost: string) => ({
  GITHUB_ACTION_REPOSITORY: 'Octo-Org/Agent-Machine-Action',
  GITHUB_ACTION_REF: 'v1',
  AGENT_IMAGE_REGISTRY: registryHost,
});

/** prepareImage with the lines it logged and the notices it gave. */
async function prepare(files: { dockerfile: string; buildContext: string }, prebuilt: PrebuiltSource, pullTimeoutMs?: number) {
  const log: string[] = [];
  const notices: string[] = [];
  const backend = new LocalBackend({ image: undefined, ...files, api, prebuilt, pullTimeoutMs, notice: (message) => notices.push(message) });
  const image = await backend.prepareImage((line) => log.push(line));
  return { image, log, notices };
}

/** A TCP server that takes connections and never answers: a registry that hangs. */
async function silentServer(): Promise<{ host: string; close(): void }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('where the prebuilt image is', () => {
  it('is the action repository lowercased, on ghcr.io unless AGENT_IMAGE_REGISTRY says otherwise', () => {
    expect(prebuiltSource({ GITHUB_ACTION_REPOSITORY: 'Octo-Org/Agent-Machine-Action', GITHUB_ACTION_REF: 'v1.2.0' })).toEqual({
      repository: 'ghcr.io/octo-org/agent-machine-action',
      action: 'Octo-Org/Agent-Machine-Action@v1.2.0',
    });
    expect(prebuiltSource({ GITHUB_ACTION_REPOSITORY: 'o/a', AGENT_IMAGE_REGISTRY: '127.0.0.1:5000/' })?.repository).toBe('127.0.0.1:5000/o/a');
    // `uses: ./`: the runner gives no repository, so there is nothing to pull.
    expect(prebuiltSource({ GITHUB_ACTION_REPOSITORY: '', GITHUB_ACTION_REF: '' })).toBeUndefined();
  });

  it('has the tag the release workflow computes with scripts/agent-image-tag.mjs', async () => {
    const printed = execFileSync(process.execPath, [join(ROOT, 'scripts', 'agent-image-tag.mjs')], { encoding: 'utf8' });
    expect(printed).toBe(`${await bundledContentTag(ROOT)}\n`);
    expect(printed).toMatch(/^[0-9a-f]{16}\n$/);
  });

  it("is looked for only for the action's own docker/", () => {
    const root = ROOT;
    expect(isBundledContext(join(root, 'docker', 'Dockerfile'), join(root, 'docker'))).toBe(true);
    expect(isBundledContext(join(root, 'docker', 'Dockerfile'), root)).toBe(false);
    expect(isBundledContext('/work/app/Dockerfile', join(root, 'docker'))).toBe(false);
  });
});

describe('prepareImage (local) for the bundled image', () => {
  it('pulls the prebuilt image and tags it with the local name, without building', async () => {
    // The Dockerfile cannot build: a build would fail the test.
    const files = await bundled('FROM amt-no-such-base:1\nRUN exit 9');
    const prebuilt = prebuiltSource(actionEnv(registry.host))!;
    const pushed = `${prebuilt.repository}:${files.tag.split(':')[1]}`;
    images.push(pushed);
    execFileSync('docker', ['tag', BUSYBOX_IMAGE, pushed]);
    execFileSync('docker', ['push', pushed], { stdio: 'ignore' });
    execFileSync('docker', ['image', 'rm', pushed], { stdio: 'ignore' });
    expect(imageExists(pushed)).toBe(false);

    const { image, log, notices } = await prepare(files, prebuilt);
    expect(image).toBe(files.tag);
    expect(imageId(files.tag)).toBe(imageId(BUSYBOX_IMAGE));
    expect(log).toEqual([expect.stringMatching(new RegExp(`^Pulled prebuilt image ${pushed} in \\d+\\.\\d s$`))]);
    expect(notices).toEqual([]);

    // The next run on this engine finds it under the local name and asks no registry.
    const again = await prepare(files, prebuiltSource(actionEnv('127.0.0.1:9'))!);
    expect(again.log).toEqual([`Using image ${files.tag} from the Docker engine`]);
  });

  it('builds when the registry does not have it, and says so in a notice', async () => {
    const files = await bundled(`FROM ${BUSYBOX_IMAGE}\nRUN echo built-here > /built.txt`);
    const { image, log, notices } = await prepare(files, prebuiltSource(actionEnv(registry.host))!);
    expect(image).toBe(files.tag);
    expect(execFileSync('docker', ['run', '--rm', image, 'cat', '/built.txt']).toString()).toBe('built-here\n');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      new RegExp(
        `^No prebuilt agent image for Octo-Org/Agent-Machine-Action@v1: pulling ${registry.host}/octo-org/agent-machine-action:[0-9a-f]{16} failed \\(.*(not found|unknown).*\\)\\. Building it from ${files.dockerfile} instead`,
      ),
    );
    expect(log.indexOf(notices[0])).toBeGreaterThanOrEqual(0);
    expect(log.indexOf(`Building image ${files.tag} from ${files.dockerfile}`)).toBeGreaterThan(log.indexOf(notices[0]));
  });

  it('builds when the registry cannot be reached: a notice, not an error', async () => {
    const closed = await silentServer();
    closed.close(); // a port nothing listens on any more
    const files = await bundled(`FROM ${BUSYBOX_IMAGE}\nRUN echo offline > /built.txt`);
    const { image, log, notices } = await prepare(files, prebuiltSource(actionEnv(closed.host))!);
    expect(image).toBe(files.tag);
    expect(imageExists(files.tag)).toBe(true);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/failed \(.*(connection refused|connect).*\)\. Building it/);
    expect(log).toContain(`Building image ${files.tag} from ${files.dockerfile}`);
  });

  it('gives up on a registry that does not answer at the pull deadline, and builds', async () => {
    const silent = await silentServer();
    try {
      const files = await bundled(`FROM ${BUSYBOX_IMAGE}\nRUN echo patient > /built.txt`);
      const started = Date.now();
      const { image, notices } = await prepare(files, prebuiltSource(actionEnv(silent.host))!, 1500);
      expect(image).toBe(files.tag);
      expect(notices).toEqual([expect.stringMatching(/failed \(no answer within 1\.5 s\)\. Building it/)]);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      silent.close();
    }
  });

  it('still fails the run when the build after a failed pull fails', async () => {
    const files = await bundled(`FROM ${BUSYBOX_IMAGE}\nRUN exit 7`);
    const err = await prepare(files, prebuiltSource(actionEnv(registry.host))!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBuildError);
  });
});
