// A Debian bookworm image with Debian's own nodejs and npm, made from Debian packages with
// mmdebstrap: it stands in for node:22-bookworm-slim as the agent image's BASE_IMAGE, since no
// registry image can be pulled here.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { imageExists } from './images.js';

export const DEBIAN_NODE_IMAGE = 'amt-debian-node:bookworm';

// The mirror apt uses on this host (/etc/apt/sources.list.d/debian.sources).
const MIRROR = 'http://deb.debian.org/debian';
const HOST_CA_DIR = '/usr/local/share/ca-certificates';
const IMAGE_CA_FILE = '/usr/local/share/ca-certificates/amt-host-extra.crt';

const run = promisify(execFile);

/** Makes the base once per Docker engine (one to two and a half minutes, by the mirror's speed). */
export async function ensureDebianNodeBase(): Promise<string> {
  if (imageExists(DEBIAN_NODE_IMAGE)) return DEBIAN_NODE_IMAGE;
  const args = ['--quiet', '--variant=minbase', '--include=nodejs,npm'];
  // `docker import` keeps no environment, so PATH is set again.
  const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  // A host that reaches npm through a proxy with its own CA: the base trusts what the host
  // trusts, or `npm install` in the image build fails on a self-signed certificate.
  if (existsSync(HOST_CA_DIR) && readdirSync(HOST_CA_DIR).some((name) => name.endsWith('.crt'))) {
    args.push(`--customize-hook=cat ${HOST_CA_DIR}/*.crt > "$1${IMAGE_CA_FILE}"`);
    changes.push(`ENV NODE_EXTRA_CA_CERTS=${IMAGE_CA_FILE}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'amt-debian-'));
  try {
    const tarball = join(dir, 'rootfs.tar');
    await run('mmdebstrap', [...args, 'bookworm', tarball, MIRROR]);
    await run('docker', ['import', ...changes.flatMap((change) => ['--change', change]), tarball, DEBIAN_NODE_IMAGE]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return DEBIAN_NODE_IMAGE;
}
