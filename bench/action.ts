// Runs dist/index.js the way the runner does (INPUT_* variables, file commands), timing it
// from spawn to exit and sampling its peak memory (VmHWM) while it runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFileCommand } from '../test/helpers/action.js';
import { ROOT } from './lib.js';

export interface BenchRun {
  code: number | null;
  /** Spawn to exit, by the monotonic clock. */
  wallMs: number;
  /** performance.now() at spawn, for times measured against it. */
  spawnedAt: number;
  outputs: Record<string, string>;
  /** When GITHUB_OUTPUT was last written (the outputs), wall clock in ns. */
  outputsWrittenNs: bigint;
  peakRssMb: number;
  stdout: string;
  stderr: string;
  workDir: string;
}

let runIds = 0;

export function runAction(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<BenchRun> {
  const workDir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'amt-bench-'));
  const files = {
    GITHUB_OUTPUT: join(workDir, 'output'),
    GITHUB_STATE: join(workDir, 'state'),
    GITHUB_STEP_SUMMARY: join(workDir, 'summary'),
    GITHUB_EVENT_PATH: join(workDir, 'event.json'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  writeFileSync(files.GITHUB_EVENT_PATH, '{}');
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    // For profiling the action itself, e.g. BENCH_NODE_OPTIONS=--cpu-prof.
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    RUNNER_TEMP: workDir,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_REPOSITORY: 'octo-org/octo-repo',
    GITHUB_RUN_ID: `bench${process.pid}x${++runIds}`,
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_SHA: '0000000000000000000000000000000000000000',
    GITHUB_REF: 'refs/heads/main',
    ...files,
    ...env,
  };
  for (const [name, value] of Object.entries({ comment: 'never', ...inputs })) childEnv[`INPUT_${name.toUpperCase()}`] = value;

  return new Promise((resolvePromise, reject) => {
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'index.js')], { env: childEnv, cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    // VmHWM only grows: the last sample before exit is the peak, give or take the last 20 ms.
    let peakKb = 0;
    const sample = setInterval(() => {
      try {
        const kb = Number(/VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
        peakKb = Math.max(peakKb, kb);
      } catch {
        // gone already
      }
    }, 20);
    child.on('error', reject);
    let exitedAt = 0;
    child.on('exit', () => {
      exitedAt = performance.now();
      clearInterval(sample);
    });
    child.on('close', (code) => {
      const wallMs = exitedAt - spawnedAt;
      resolvePromise({
        code,
        wallMs,
        spawnedAt,
        outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        outputsWrittenNs: statSync(files.GITHUB_OUTPUT, { bigint: true }).mtimeNs,
        peakRssMb: peakKb / 1024,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        workDir,
      });
    });
  });
}

/** The lines of the "Last N log lines" group the action prints for a failed run. */
export function tailGroup(stdout: string): string[] | undefined {
  const start = /^::group::Last \d+ log lines$/m.exec(stdout);
  if (!start) return undefined;
  const rest = stdout.slice(start.index + start[0].length + 1);
  return rest.slice(0, rest.indexOf('::endgroup::')).split('\n').slice(0, -1);
}
