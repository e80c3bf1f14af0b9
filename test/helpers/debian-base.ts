// Debian bookworm images made from Debian packages with mmdebstrap, since no registry image can
// be pulled here. Two stand-ins for the agent image's BASE_IMAGE:
// - amt-debian-slim:bookworm stands in for debian:bookworm-slim (the default): minbase with the
//   slim image's dpkg excludes, so the agent image built on it is the size it is in production;
// - amt-debian-node:bookworm adds Debian's nodejs and npm (about 300 MB more): docker/ builds on
//   it too, as a bigger base that already has node and npm.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { imageExists } from './images.js';

export const DEBIAN_NODE_IMAGE = 'amt-debian-node:bookworm';
export const DEBIAN_SLIM_IMAGE = 'amt-debian-slim:bookworm';

// The mirror apt uses on this host (/etc/apt/sources.list.d/debian.sources).
const MIRROR = 'http://deb.debian.org/debian';
const HOST_CA_DIR = '/usr/local/share/ca-certificates';
const IMAGE_CA_FILE = '/usr/local/share/ca-certificates/amt-host-extra.crt';

// What debian:*-slim leaves out (docs, man pages, translations) and its settings for builds
// (dpkg without fsync, apt without translations): mmdebstrap keeps them in the image's dpkg and
// apt configuration (99mmdebstrap), so that packages installed later follow them too.
const SLIM_APT_OPTIONS = ['Acquire::Languages "none"'];
const SLIM_DPKG_OPTIONS = [
  'force-unsafe-io',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/groff/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/lintian/*',
  'path-exclude=/usr/share/linda/*',
  'path-exclude=/usr/share/locale/*',
];

const run = promisify(execFile);

/** Makes the node base once per Docker engine (one to two and a half minutes, by the mirror's speed). */
export function ensureDebianNodeBase(): Promise<string> {
  return ensureDebianImage(DEBIAN_NODE_IMAGE, ['--include=nodejs,npm']);
}

/** Makes the slim base once per Docker engine (about a minute). */
export function ensureDebianSlimBase(): Promise<string> {
  // The merged-usr hook makes /usr merged without the usrmerge package, which would bring in
  // perl (debian:bookworm-slim has only perl-base).
  const options = [
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    ...SLIM_DPKG_OPTIONS.map((option) => `--dpkgopt=${option}`),
    ...SLIM_APT_OPTIONS.map((option) => `--aptopt=${option}`),
  ];
  return ensureDebianImage(DEBIAN_SLIM_IMAGE, options);
}

async function ensureDebianImage(name: string, options: string[]): Promise<string> {
  if (imageExists(name)) return name;
  const args = ['--quiet', '--variant=minbase', ...options];
  // `docker import` keeps no environment, so PATH is set again.
  const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  // A host that reaches npm through a proxy with its own CA: the base trusts what the host
  // trusts, or `npm install` in the image build fails on a self-signed certificate.
  if (existsSync(HOST_CA_DIR) && readdirSync(HOST_CA_DIR).some((file) => file.endsWith('.crt'))) {
    // (minbase has no ca-certificates, so the folder may not exist yet.)
    args.push(`--customize-hook=mkdir -p "$1${dirname(IMAGE_CA_FILE)}" && cat ${HOST_CA_DIR}/*.crt > "$1${IMAGE_CA_FILE}"`);
    changes.push(`ENV NODE_EXTRA_CA_CERTS=${IMAGE_CA_FILE}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'amt-debian-'));
  try {
    const tarball = join(dir, 'rootfs.tar');
    await run('mmdebstrap', [...args, 'bookworm', tarball, MIRROR]);
    await run('docker', ['import', ...changes.flatMap((change) => ['--change', change]), tarball, name]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return name;
}
