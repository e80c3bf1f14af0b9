// npm run bench: every benchmark, then one table and the machine it ran on.
//   --only pipeline,cold,local,throughput,fly,failures,startup,egress   run some of them
//   --quick                                      fewer repetitions and 256 MiB of output
//   --runs N                                     N repetitions of each figure
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { egressStartup } from './egress.js';
import { failureEndings } from './failures.js';
import { flyEconomy, flyExitAndOverhead } from './fly.js';
import { MB, ROOT, figure, machineInfo, table, type Figure } from './lib.js';
import { coldStart, localExitAndOverhead, localThroughput } from './local.js';
import { actionStart, agentStartup } from './startup.js';
import { runAgentPipeline, runPipeline, type PipelineResult } from './pipeline.js';

const SECTIONS = ['pipeline', 'cold', 'local', 'throughput', 'fly', 'failures', 'startup', 'egress'] as const;

async function pipelineChild(blocks: number, agent = false): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'amt-bench-pipeline-'));
  try {
    process.stdout.write(JSON.stringify(await (agent ? runAgentPipeline : runPipeline)(blocks, dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pipeline(runs: number, blocks: number, agent = false): Figure[] {
  const rate = agent
    ? figure(`in process: ${blocks} MiB of agent events through demux + LogSink (agent mode)`, 'MB/s', { op: '>=', value: 300 })
    : figure(`in process: ${blocks} MiB through demux + LogSink`, 'MB/s', { op: '>=', value: 300 });
  const memory = agent
    ? figure('in process, agent events: peak RSS (incl. the generator)', 'MB', { op: '<=', value: 150 })
    : figure('in process: peak RSS (incl. the generator)', 'MB');
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [process.argv[1], agent ? '--child-agent-pipeline' : '--child-pipeline', String(blocks)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const result = JSON.parse(out) as PipelineResult;
    rate.problems.push(...result.problems);
    if (!result.problems.length) rate.values.push(result.printed / MB / result.seconds);
    memory.values.push(result.maxRssMb);
  }
  return [rate, memory];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      'child-pipeline': { type: 'string' },
      'child-agent-pipeline': { type: 'string' },
    },
  });
  if (values['child-pipeline']) return pipelineChild(Number(values['child-pipeline']));
  if (values['child-agent-pipeline']) return pipelineChild(Number(values['child-agent-pipeline']), true);
  const only = new Set(values.only ? values.only.split(',') : SECTIONS);
  const quick = values.quick ?? false;
  const blocks = quick ? 256 : 1024;
  const runs = (normal: number, few: number) => (values.runs ? Number(values.runs) : quick ? few : normal);
  const info = await machineInfo();
  console.log(`Machine: ${info}\n`);

  const figures: Figure[] = [];
  const section = async (name: (typeof SECTIONS)[number], run: () => Figure[] | Promise<Figure[]>) => {
    if (!only.has(name)) return;
    const started = performance.now();
    process.stdout.write(`${name} … `);
    const result = await run();
    figures.push(...result);
    console.log(`${((performance.now() - started) / 1000).toFixed(0)} s`);
    for (const f of result) for (const p of f.problems.slice(0, 3)) console.log(`  ${f.name}: ${p}`);
  };
  await section('pipeline', () => [...pipeline(runs(5, 2), blocks), ...pipeline(runs(5, 2), blocks, true)]);
  await section('cold', () => coldStart(runs(10, 3)));
  await section('local', () => localExitAndOverhead(runs(10, 3)));
  await section('throughput', () => localThroughput(runs(3, 1), blocks));
  await section('fly', async () => {
    const busiest = figure('fly (fake): busiest second per machine', 'req', { op: '<=', value: 3 });
    const timing = await flyExitAndOverhead(runs(10, 3), busiest);
    const economy = await flyEconomy(3, quick ? 10 : 30, busiest);
    return [...timing, ...economy, busiest];
  });

  await section('failures', () => failureEndings(runs(3, 1)));
  await section('startup', async () => [...(await actionStart(runs(20, 5))), ...(await agentStartup(runs(3, 1)))]);
  await section('egress', () => egressStartup(runs(10, 3)));

  const text = `Machine: ${info}\n\n${table(figures)}\n`;
  console.log(`\n${text}`);
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'results.md'), text);
  if (figures.some((f) => f.problems.length)) process.exitCode = 1;
}

await main();
