// docker/Dockerfile really builds and its entrypoint runs in a container. The base stands in for
// debian:bookworm-slim, made from Debian packages (no registry image can be pulled here); Claude
// Code's binary comes from the npm registry. Cold: about 2 minutes (base 1, build 1); warm, the
// layer cache makes it seconds.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureDebianSlimBase } from '../helpers/debian-base.js';
import { Sandbox } from './sandbox.js';

const DOCKER_DIR = resolve(import.meta.dirname, '../../docker');
const IMAGE = 'amt-agent-image:test';
const CLAUDE_CODE_VERSION = /^ARG CLAUDE_CODE_VERSION=(\S+)$/m.exec(readFileSync(join(DOCKER_DIR, 'Dockerfile'), 'utf8'))![1];

const exec = promisify(execFile);

interface DockerRun {
  code: number;
  output: string;
}

/** `docker run --rm ARGS`; stdout and stderr together, since the entrypoint writes only stdout. */
async function dockerRun(...args: string[]): Promise<DockerRun> {
  try {
    const { stdout, stderr } = await exec('docker', ['run', '--rm', ...args]);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

const sandbox = new Sandbox();

beforeAll(async () => {
  const base = await ensureDebianSlimBase();
  await exec('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', IMAGE, DOCKER_DIR], { maxBuffer: 16 << 20 });
}, 900_000);

afterAll(() => sandbox.cleanup());

it('installs the pinned Claude Code, and it runs on this base', async () => {
  const run = await dockerRun('--entrypoint', 'claude', IMAGE, '--version');
  expect(run.output.trim()).toBe(`${CLAUDE_CODE_VERSION} (Claude Code)`);
  expect(run.code).toBe(0);
});

it('holds one Claude Code binary and what the entrypoint needs, and nothing heavier', async () => {
  // Every file over 50 MB (the binary is ~380 MB): a second copy, npm's wrapper package or
  // another platform's build would show here.
  const big = await dockerRun('--entrypoint', 'find', IMAGE, '/', '-xdev', '-type', 'f', '-size', '+50M');
  expect(big.output.trim().split('\n')).toEqual(['/usr/local/bin/claude']);
  const tools = await dockerRun(
    '--entrypoint',
    'bash',
    IMAGE,
    '-c',
    'for tool in bash git node setpriv useradd; do command -v "$tool" >/dev/null || echo "missing $tool"; done; command -v npm || true',
  );
  expect(tools.output).toBe('');
  // Besides the binary, the base and apt's layer: ~260 MB on debian:bookworm-slim (bench/RESULTS.md).
  const [size, binary] = await Promise.all([
    exec('docker', ['image', 'inspect', '--format', '{{.Size}}', IMAGE]).then(({ stdout }) => Number(stdout)),
    dockerRun('--entrypoint', 'stat', IMAGE, '-c', '%s', '/usr/local/bin/claude').then(({ output }) => Number(output)),
  ]);
  expect(binary).toBeGreaterThan(100e6);
  expect(size - binary).toBeLessThan(275e6);
});

it('runs AGENT_COMMAND through the entrypoint and ends with its exit marker', async () => {
  const run = await dockerRun('-e', 'AGENT_COMMAND=["sh","-c","echo hello; exit 7"]', IMAGE);
  expect(run.output).toMatch(/\nhello\n\[flaude\] agent exited with 7\n\[flaude:exit:7\]\n$/);
  expect(run.code).toBe(7);
});

it('refuses to start without a prompt', async () => {
  const run = await dockerRun(IMAGE);
  expect(run.output).toMatch(/\[flaude:error\] FLAUDE_PROMPT is empty.*\n\[flaude:exit:2\]\n$/);
  expect(run.code).toBe(2);
});

it('drops to the agent user, clones, and pushes the work back to the remote', async () => {
  const bare = new URL(sandbox.remote('app')).pathname;
  // Root clones and pushes (the privileged phase), so the mounted remote stays root's.
  const remotes = dirname(bare);
  const run = await dockerRun(
    '-v',
    `${remotes}:/remotes`,
    '-e',
    'FLAUDE_REPOS=[{"url":"file:///remotes/app.git"}]',
    '-e',
    'FLAUDE_PUSH_BRANCH=agent/in-container',
    '-e',
    'AGENT_COMMAND=["sh","-c","echo \\"user $(id -un) in $PWD\\"; echo fixed > fix.txt"]',
    IMAGE,
  );
  expect(run.output).toContain('user agent in /workspace/app\n');
  const sha = sandbox.git(bare, 'rev-parse', 'refs/heads/agent/in-container');
  expect(run.output).toMatch(new RegExp(`\\[flaude:pushed:agent/in-container:${sha}\\]\n\\[flaude:exit:0\\]\n$`));
  expect(sandbox.git(bare, 'show', `${sha}:fix.txt`)).toBe('fixed');
  expect(run.code).toBe(0);
});
