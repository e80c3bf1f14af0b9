// prepareImage on the real engine: use what exists, build what is missing, never rebuild
// an unchanged bundled image, and turn build failures into ImageBuildError.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageBuildError } from '../../src/errors.js';
import { DockerApi } from '../../src/machine/local/docker-api.js';
import { BUNDLED_IMAGE_REPO, LocalBackend } from '../../src/machine/local/backend.js';
import { BUSYBOX_IMAGE, imageExists } from '../helpers/images.js';
import { startLocalRegistry } from '../helpers/registry.js';
import { cleanUp, localBackend, readAll, testRun } from './helpers.js';

const api = DockerApi.fromEnv();
const { labels, spec } = testRun();
const dirs: string[] = [];
const images: string[] = [];

afterAll(async () => {
  await cleanUp(api, labels);
  for (const image of images) execFileSync('docker', ['image', 'rm', '--force', image], { stdio: 'ignore' });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A build context in a temp dir with this Dockerfile (and a marker file, so tags are unique). */
function context(dockerfile: string): { dockerfile: string; buildContext: string } {
  const dir = mkdtempSync(join(tmpdir(), 'amt-local-image-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  writeFileSync(join(dir, 'unique.txt'), randomUUID());
  return { dockerfile: join(dir, 'Dockerfile'), buildContext: dir };
}

/** A backend for this image source (no `image`: the bundled one), and the lines prepareImage logged. */
function backendFor(source: { image?: string; dockerfile: string; buildContext: string }, buildTimeoutMs?: number): { backend: LocalBackend; log: string[] } {
  return { backend: localBackend(api, { image: undefined, ...source, buildTimeoutMs }), log: [] };
}

const imageId = (ref: string) => execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]).toString().trim();

describe('prepareImage (local)', () => {
  it('uses an image the engine has without building', async () => {
    // The Dockerfile does not exist: any build attempt would fail.
    const { backend, log } = backendFor({ image: BUSYBOX_IMAGE, dockerfile: '/nonexistent/Dockerfile', buildContext: '/nonexistent' });
    await expect(backend.prepareImage((line) => log.push(line))).resolves.toBe(BUSYBOX_IMAGE);
    expect(log.join('\n')).toMatch(/Using image amt-test-busybox:1/);
  });

  it('pulls a missing image from its registry instead of building it', async () => {
    const registry = await startLocalRegistry();
    try {
      const ref = `${registry.host}/amt-pull-test:${randomUUID().slice(0, 8)}`;
      execFileSync('docker', ['tag', BUSYBOX_IMAGE, ref]);
      execFileSync('docker', ['push', ref], { stdio: 'ignore' });
      execFileSync('docker', ['image', 'rm', ref], { stdio: 'ignore' });
      images.push(ref);
      const { backend, log } = backendFor({ image: ref, dockerfile: '/nonexistent/Dockerfile', buildContext: '/nonexistent' });
      await expect(backend.prepareImage((line) => log.push(line))).resolves.toBe(ref);
      expect(log).toEqual([`Pulled image ${ref}`]);
      expect(imageExists(ref)).toBe(true);
    } finally {
      registry.stop();
    }
  });

  it('builds a missing image under its name from the Dockerfile, and runs it', async () => {
    const tag = `amt-test-built:${randomUUID().slice(0, 8)}`;
    images.push(tag);
    const { backend, log } = backendFor({ image: tag, ...context(`FROM ${BUSYBOX_IMAGE}\nRUN echo built-here > /built.txt\nCMD ["cat", "/built.txt"]\n`) });
    expect(imageExists(tag)).toBe(false);
    await expect(backend.prepareImage((line) => log.push(line))).resolves.toBe(tag);
    expect(imageExists(tag)).toBe(true);
    expect(log[0]).toMatch(new RegExp(`Could not pull ${tag}`)); // no registry reachable here: the pull fails, the build follows
    expect(log[1]).toMatch(new RegExp(`Building image ${tag}`));
    expect(log.length).toBeGreaterThan(1); // the build's own lines were streamed

    const machine = await backend.create(spec(undefined, { image: tag }));
    await machine.wait(new AbortController().signal);
    expect(await readAll(machine)).toBe('built-here\n');
    await machine.destroy();
  });

  it('turns a broken Dockerfile into ImageBuildError carrying the build stderr', async () => {
    const tag = `amt-test-broken:${randomUUID().slice(0, 8)}`;
    images.push(tag);
    const { backend } = backendFor({ image: tag, ...context(`FROM ${BUSYBOX_IMAGE}\nRUN echo about-to-fail; exit 7\n`) });
    const err = await backend.prepareImage(() => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect(err).toMatchObject({ code: 'IMAGE_BUILD' });
    expect((err as ImageBuildError).exitCode).not.toBe(0);
    expect((err as ImageBuildError).stderr).toMatch(/non-zero code: 7|exit code: 7/);
    expect(imageExists(tag)).toBe(false);
  });

  it('turns a build that outlives its timeout into ImageBuildError', async () => {
    const tag = `amt-test-slow:${randomUUID().slice(0, 8)}`;
    images.push(tag);
    const { backend } = backendFor({ image: tag, ...context(`FROM ${BUSYBOX_IMAGE}\nRUN sleep 30\n`) }, 1500);
    const started = Date.now();
    const err = await backend.prepareImage(() => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect((err as ImageBuildError).stderr).toMatch(/timed out after 1.5s/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('tags the bundled image by content and builds it only once', async () => {
    const files = context(`FROM ${BUSYBOX_IMAGE}\nCOPY unique.txt /unique.txt\n`);
    const first = backendFor(files);
    const tag = await first.backend.prepareImage((line) => first.log.push(line));
    images.push(tag);
    expect(tag).toMatch(new RegExp(`^${BUNDLED_IMAGE_REPO}:[0-9a-f]{16}$`));
    expect(first.log[0]).toMatch(/^Building image/);
    const id = imageId(tag);

    const second = backendFor(files);
    await expect(second.backend.prepareImage((line) => second.log.push(line))).resolves.toBe(tag);
    expect(second.log).toEqual([`Using image ${tag} from the Docker engine`]);
    expect(imageId(tag)).toBe(id);

    writeFileSync(join(files.buildContext, 'unique.txt'), 'changed');
    const third = backendFor(files);
    const changed = await third.backend.prepareImage((line) => third.log.push(line));
    images.push(changed);
    expect(changed).not.toBe(tag);
    expect(third.log[0]).toMatch(/^Building image/);
  });
});
