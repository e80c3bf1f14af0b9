// What every benchmark shares: figures and their table, the machine it ran on, clocks.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';

/** The repository root (the launcher passes it; the bundle lives in bench/out/). */
export const ROOT = process.env.BENCH_ROOT ?? resolve(import.meta.dirname, '..', '..');

export interface Target {
  op: '<=' | '>=';
  value: number;
}

export interface Figure {
  name: string;
  unit: string;
  values: number[];
  target?: Target;
  /** Correctness problems seen while measuring: any one fails the figure, however fast. */
  problems: string[];
}

export function figure(name: string, unit: string, target?: Target): Figure {
  return { name, unit, values: [], target, problems: [] };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A figure meets its target when its median does and nothing in it was wrong. */
function verdict(f: Figure): string {
  if (f.problems.length) return 'NO (wrong result)';
  if (!f.values.length) return 'NO (not measured)';
  if (!f.target) return '-';
  const m = median(f.values);
  return (f.target.op === '<=' ? m <= f.target.value : m >= f.target.value) ? 'yes' : 'NO';
}

function num(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) >= 100) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** One markdown table: it reads as well in a terminal as in RESULTS.md. */
export function table(figures: Figure[]): string {
  const rows = [['figure', 'n', 'median', 'min', 'max', 'target', 'met']];
  for (const f of figures) {
    const v = f.values;
    const cell = (x: number) => (v.length ? `${num(x)} ${f.unit}` : '-');
    rows.push([
      f.name,
      String(v.length),
      cell(median(v)),
      cell(Math.min(...v)),
      cell(Math.max(...v)),
      f.target ? `${f.target.op === '<=' ? '≤' : '≥'} ${num(f.target.value)} ${f.unit}` : '-',
      verdict(f),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export async function machineInfo(): Promise<string> {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const docker = await dockerVersion().catch((err: Error) => `unreachable (${err.message})`);
  return `CPU ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, node ${process.version}, Docker engine ${docker}`;
}

async function dockerVersion(): Promise<string> {
  const v = JSON.parse(await dockerGet('/version')) as { Version: string; ApiVersion: string };
  return `${v.Version} (API ${v.ApiVersion})`;
}

export const DOCKER_SOCKET = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');

function dockerGet(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    request({ socketPath: DOCKER_SOCKET, path }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (text += c))
        .on('end', () => resolvePromise(text));
    })
      .on('error', reject)
      .end();
  });
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

export const MB = 1e6;
