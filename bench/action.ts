// Runs dist/index.js the way the runner does (the tests' runAction), timing it from spawn to
// exit and sampling its peak memory (VmHWM) while it runs.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction as runStep, type ActionRun } from '../test/helpers/action.js';

export { tailGroup } from '../test/helpers/action.js';

export interface BenchRun extends ActionRun {
  /** Spawn to exit, by the monotonic clock. */
  wallMs: number;
  /** performance.now() at spawn, for times measured against it. */
  spawnedAt: number;
  /** When GITHUB_OUTPUT was last written (the outputs), wall clock in ns. */
  outputsWrittenNs: bigint;
  peakRssMb: number;
}

let runIds = 0;

export async function runAction(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<BenchRun> {
  let spawnedAt = 0;
  let exitedAt = 0;
  let peakKb = 0;
  // VmHWM only grows: the last sample before exit is the peak, give or take the last 20 ms.
  const watch = (child: ChildProcess) => {
    spawnedAt = performance.now();
    const sample = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, Number(/VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0));
      } catch {
        // gone already
      }
    }, 20);
    child.on('exit', () => {
      exitedAt = performance.now();
      clearInterval(sample);
    });
  };
  const run = await runStep({
    workDir: mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'amt-bench-')),
    inputs: { comment: 'never', ...inputs },
    env: {
      GITHUB_RUN_ID: `bench${process.pid}x${++runIds}`,
      // For profiling the action itself, e.g. BENCH_NODE_OPTIONS=--cpu-prof.
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      ...env,
    },
    onSpawn: watch,
  });
  return {
    ...run,
    wallMs: exitedAt - spawnedAt,
    spawnedAt,
    outputsWrittenNs: statSync(run.files.GITHUB_OUTPUT, { bigint: true }).mtimeNs,
    peakRssMb: peakKb / 1024,
  };
}
