// Test images are made here, from Debian's busybox-static: no registry is reachable.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX_IMAGE = 'amt-test-busybox:1';

const APPLETS = [
  'sh',
  'echo',
  'cat',
  'sleep',
  'seq',
  'head',
  'yes',
  'dd',
  'true',
  'false',
  'env',
  'printf',
  'tr',
  'ls',
  'kill',
  'wc',
  'grep',
  'sed',
  'mkdir',
  'rm',
  'tail',
  'tee',
  'date',
  'awk',
];

export function imageExists(ref: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A tiny image with busybox's shell and tools; built once per machine. */
export function ensureBusyboxImage(): string {
  if (imageExists(BUSYBOX_IMAGE)) return BUSYBOX_IMAGE;
  const root = mkdtempSync(join(tmpdir(), 'amt-busybox-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 << 20 });
    execFileSync('docker', ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', '-', BUSYBOX_IMAGE], {
      input: tar,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return BUSYBOX_IMAGE;
}
