// The fly backend, end to end: dist/index.js against the fake Machines/logs API, timed and
// counted against the fake's own record of when each machine started and stopped.
import { readFileSync, rmSync } from 'node:fs';
import { startFakeFly, type FakeFly, type Scenario } from '../test/fakes/fly-server.js';
import { runAction, type BenchRun } from './action.js';
import { figure, median, type Figure } from './lib.js';

const sh = (script: string) => JSON.stringify(['sh', '-c', script]);

async function flyRun(fake: FakeFly): Promise<BenchRun> {
  fake.addImage('amt-test:bench');
  return runAction(
    { backend: 'fly', app_name: fake.app, fly_api_token: fake.token, image: `${new URL(fake.url).host}/amt-test:bench`, command: sh('agent') },
    { FLY_FLAPS_BASE_URL: fake.url, FLY_API_BASE_URL: fake.url, FLY_REGISTRY_URL: fake.url },
  );
}

/** The fake's times (ms) of the machine's start and of its exit. */
function lifetime(fake: FakeFly, id: string): { started: number; stopped: number } {
  const events = fake.machines().find((m) => m.id === id)?.events ?? [];
  const at = (type: string) =>
    events
      .filter((e) => e.type === type)
      .map((e) => e.timestamp as number)
      .sort((a, b) => a - b)[0];
  return { started: at('start'), stopped: at('exit') };
}

function logLines(run: BenchRun): string[] {
  return run.outputs.log_file ? readFileSync(run.outputs.log_file, 'utf8').split('\n').slice(0, -1) : [];
}

export async function flyExitAndOverhead(runs: number, busiest: Figure): Promise<Figure[]> {
  const exit = figure('fly (fake): exit detection (stop → outputs)', 'ms', { op: '<=', value: 500 });
  const overhead = figure('fly (fake): overhead (wall − agent run)', 's', { op: '<=', value: 1.5 });
  const lines = ['agent starting', 'agent done', '[flaude:exit:0]'];
  for (let i = 0; i < runs; i++) {
    const fake = await startFakeFly({ script: { lines, durationMs: 1000, exit: { code: 0 } } });
    try {
      const run = await flyRun(fake);
      const id = run.outputs.machine_id;
      const good =
        run.code === 0 && run.outputs.exit_code === '0' && run.outputs.exit_code_source === 'api' && JSON.stringify(logLines(run)) === JSON.stringify(lines);
      if (!good) {
        exit.problems.push(`run failed or lost lines (exit ${run.code}): ${run.stdout.slice(-400)}`);
        continue;
      }
      const { started, stopped } = lifetime(fake, id);
      exit.values.push(Number(run.outputsWrittenNs / 1_000_000n) - stopped);
      overhead.values.push((run.wallMs - (stopped - started)) / 1000);
      busiest.values.push(fake.busiestSecond(id));
      if (fake.liveMachines().length) exit.problems.push(`machine ${id} left running`);
      rmSync(run.workDir, { recursive: true, force: true });
    } finally {
      await fake.close();
    }
  }
  return [exit, overhead];
}

/**
 * Requests per minute of machine run time: `parallel` actions at once on one fake, their
 * machines running `seconds` while printing 20 lines a second, and as many printing nothing.
 */
export async function flyEconomy(parallel: number, seconds: number, busiest: Figure): Promise<Figure[]> {
  const flowing = figure('fly (fake): requests/min of run time, logs flowing', 'req/min');
  const silent = figure('fly (fake): requests/min of run time, agent silent', 'req/min');
  const printed = [...Array.from({ length: seconds * 20 }, (_, i) => `progress line ${i + 1}`), '[flaude:exit:0]'];
  const scenarios: Array<[Figure, Scenario['script'], string[]]> = [
    [flowing, { lines: printed, durationMs: seconds * 1000, exit: { code: 0 } }, printed],
    [silent, { lines: [], durationMs: seconds * 1000, exit: { code: 0 } }, []],
  ];
  const split: string[] = [];
  await Promise.all(
    scenarios.map(async ([f, script, want]) => {
      const fake = await startFakeFly({ script });
      try {
        const runs = await Promise.all(Array.from({ length: parallel }, () => flyRun(fake)));
        const perApi = { machines: [] as number[], logs: [] as number[] };
        for (const run of runs) {
          const id = run.outputs.machine_id;
          if (run.code !== 0 || run.outputs.exit_code !== '0' || JSON.stringify(logLines(run)) !== JSON.stringify(want)) {
            f.problems.push(`run failed or lost lines (exit ${run.code}, ${logLines(run).length} lines): ${run.stdout.slice(-300)}`);
            continue;
          }
          const { started, stopped } = lifetime(fake, id);
          const during = fake.requests().filter((r) => r.machineId === id && r.at >= started && r.at <= stopped);
          const minutes = (stopped - started) / 60_000;
          f.values.push(during.length / minutes);
          perApi.machines.push(during.filter((r) => r.api === 'machines').length / minutes);
          perApi.logs.push(during.filter((r) => r.api === 'logs').length / minutes);
          busiest.values.push(fake.busiestSecond(id));
          rmSync(run.workDir, { recursive: true, force: true });
        }
        split.push(`${f.name}: Machines API ${median(perApi.machines).toFixed(1)}, logs API ${median(perApi.logs).toFixed(1)} (medians)`);
      } finally {
        await fake.close();
      }
    }),
  );
  console.log(split.sort().join('\n'));
  return [flowing, silent];
}
