// The image path: exists-check against the fake registry and a real docker-registry,
// a real build + push, and real build/login failures as ImageBuildError.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FlyAPIError, ImageBuildError } from '../../src/errors.js';
import { contentTag } from '../../src/image/tag.js';
import { FlyClient } from '../../src/machine/fly/client.js';
import { manifestExists } from '../../src/machine/fly/registry.js';
import { startLocalRegistry, type LocalRegistry } from '../helpers/registry.js';
import { startFakeFly, type FakeFly } from '../fakes/fly-server.js';
import { failure } from '../helpers/failure.js';
import { BUSYBOX_IMAGE } from '../helpers/images.js';
import { fakeEnv, flyBackend, tokenForms } from './harness.js';

const temps: string[] = [];
const fakes: FakeFly[] = [];
let dockerConfig: string;
const savedDockerConfig = process.env.DOCKER_CONFIG;

beforeAll(() => {
  // docker login writes credentials: keep them out of the user's ~/.docker.
  dockerConfig = tempDir();
  process.env.DOCKER_CONFIG = dockerConfig;
});
afterAll(() => {
  // Images these tests built are tagged for the fake or the local registry: drop them.
  const built = execFileSync('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((ref) => /^127\.0\.0\.1:\d+\/amt-test:agent-/.test(ref));
  if (built.length) execFileSync('docker', ['image', 'rm', '--force', ...built], { stdio: 'ignore' });
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
  else process.env.DOCKER_CONFIG = savedDockerConfig;
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'amt-fly-image-'));
  temps.push(dir);
  return dir;
}

/** A build context whose content (hence tag) is new on every run. */
function context(dockerfile: string): { dockerfile: string; buildContext: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  writeFileSync(join(dir, 'nonce.txt'), `${Date.now()}-${Math.random()}\n`);
  return { dockerfile: join(dir, 'Dockerfile'), buildContext: dir };
}

async function fake(images: string[] = []): Promise<FakeFly> {
  const f = await startFakeFly({ images });
  fakes.push(f);
  return f;
}

describe('registry exists-check against the fake', () => {
  it('answers true/false and sends Basic x:<bare token>', async () => {
    const f = await fake(['amt-test:agent-present']);
    const client = new FlyClient({ token: f.token, env: fakeEnv(f) });
    expect(await manifestExists(client, 'amt-test', 'agent-present')).toBe(true);
    expect(await manifestExists(client, 'amt-test', 'agent-missing')).toBe(false);
  });

  it('makes any other answer a FlyAPIError without the token', async () => {
    const f = await fake();
    const token = 'fm2_not-the-right-token-at-all';
    const client = new FlyClient({ token, env: fakeEnv(f) });
    const error = await failure<FlyAPIError>(manifestExists(client, 'amt-test', 'x'));
    expect(error).toBeInstanceOf(FlyAPIError);
    expect(error).toMatchObject({ statusCode: 401, code: 'FLY_API' });
    expect(error.message).toContain('Fly registry answered 401');
    for (const form of tokenForms(token)) expect(error.message).not.toContain(form);
  });

  it('uses an existing image as given, and the bundled image under its content tag', async () => {
    const ctx = context(`FROM ${BUSYBOX_IMAGE}\n`);
    const tag = `agent-${await contentTag(ctx.dockerfile, ctx.buildContext)}`;
    const f = await fake(['amt-test:given', `amt-test:${tag}`]);
    const host = new URL(f.url).host;
    const lines: string[] = [];
    const given = flyBackend(f, { image: `${host}/amt-test:given`, ...ctx });
    expect(await given.prepareImage((l) => lines.push(l))).toBe(`${host}/amt-test:given`);
    const bundled = flyBackend(f, ctx);
    expect(await bundled.prepareImage((l) => lines.push(l))).toBe(`${host}/amt-test:${tag}`);
    expect(lines.join('\n')).not.toMatch(/building/);
    const elsewhere = flyBackend(f, { image: 'ghcr.io/acme/agent:1', ...ctx });
    expect(await elsewhere.prepareImage(() => {})).toBe('ghcr.io/acme/agent:1');
  });

  it('turns a real docker build failure into ImageBuildError with its stderr', async () => {
    const f = await fake();
    const backend = flyBackend(f, context(`FROM ${BUSYBOX_IMAGE}\nRUN echo about-to-fail >&2 && exit 3\n`));
    const error = await failure<ImageBuildError>(backend.prepareImage(() => {}));
    expect(error).toBeInstanceOf(ImageBuildError);
    expect(error).toMatchObject({ code: 'IMAGE_BUILD' });
    expect(error.exitCode).not.toBe(0);
    expect(error.message).toMatch(/docker build failed/);
    expect(error.stderr).toMatch(/returned a non-zero code: 3|exit code: 3/);
  });

  it('turns a failed login/push into ImageBuildError without the token', async () => {
    // The fake answers the exists-check but is no registry a docker client can log in to.
    const f = await fake();
    const backend = flyBackend(f, context(`FROM ${BUSYBOX_IMAGE}\nCOPY nonce.txt /nonce.txt\n`));
    const error = await failure<ImageBuildError>(backend.prepareImage(() => {}));
    expect(error).toBeInstanceOf(ImageBuildError);
    expect(error.message).toMatch(/docker (login|push) failed/);
    for (const form of tokenForms(f.token)) expect(error.message).not.toContain(form);
  });
});

describe('a real push to a local docker-registry', () => {
  let registry: LocalRegistry;
  let registryUrl: string;

  beforeAll(async () => {
    registry = await startLocalRegistry();
    registryUrl = registry.url;
  });
  afterAll(() => registry?.stop());

  it('builds and pushes a missing image once; the exists-check then finds it', async () => {
    const ctx = context(`FROM ${BUSYBOX_IMAGE}\nCOPY nonce.txt /nonce.txt\n`);
    const target = { app: 'amt-test', token: 'fm2_local-registry-token', url: 'http://127.0.0.1:9' };
    const env = { ...fakeEnv(target), FLY_REGISTRY_URL: registryUrl };
    const backend = flyBackend(target, { ...ctx, env });
    const client = new FlyClient({ token: target.token, env });
    const tag = `agent-${await contentTag(ctx.dockerfile, ctx.buildContext)}`;
    expect(await manifestExists(client, 'amt-test', tag)).toBe(false);

    const first: string[] = [];
    const ref = await backend.prepareImage((l) => first.push(l));
    expect(ref).toBe(`${new URL(registryUrl).host}/amt-test:${tag}`);
    expect(first.join('\n')).toMatch(/not in the registry: building/);
    expect(await manifestExists(client, 'amt-test', tag)).toBe(true);
    // Logged out again: no credentials left behind.
    expect(readFileSync(join(dockerConfig, 'config.json'), 'utf8')).not.toContain(new URL(registryUrl).host);

    const second: string[] = [];
    expect(await backend.prepareImage((l) => second.push(l))).toBe(ref);
    expect(second).toEqual([`Image ${ref} is in the registry`]);
  });
});
