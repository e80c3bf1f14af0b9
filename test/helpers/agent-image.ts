// The bundled agent image under the name the action looks for (its content tag), built here on
// the Debian base made from Debian packages, since no registry image can be pulled.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { actionRoot } from '../../src/config/action-root.js';
import { BUNDLED_IMAGE_REPO } from '../../src/machine/local/backend.js';
import { contentTag } from '../../src/image/tag.js';
import { ensureDebianNodeBase } from './debian-base.js';

// From the action's root, not this file: the demo runs it compiled elsewhere.
export const DOCKER_DIR = join(actionRoot(), 'docker');

const exec = promisify(execFile);

/** Builds (or finds in Docker's layer cache) the bundled image; returns its tag. */
export async function ensureAgentImage(): Promise<string> {
  const base = await ensureDebianNodeBase();
  const tag = `${BUNDLED_IMAGE_REPO}:${await contentTag(join(DOCKER_DIR, 'Dockerfile'), DOCKER_DIR)}`;
  await exec('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', tag, DOCKER_DIR], { maxBuffer: 16 << 20 });
  return tag;
}
