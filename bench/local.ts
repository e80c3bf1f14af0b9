// The local backend, end to end: dist/index.js against the real Docker engine, timed
// against the engine's own record of when each container started and died.
import { rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createServer, connect, type AddressInfo } from 'node:net';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../test/helpers/images.js';
import { runAction, tailGroup, type BenchRun } from './action.js';
import { DOCKER_SOCKET, MB, ROOT, figure, sha256File, type Figure } from './lib.js';
import { SECRETS, agentScript, expected } from './workload.js';

/** Docker's container events, kept by container id: `start` and `die` with their timeNano. */
class ContainerEvents {
  private readonly times = new Map<string, Map<string, bigint>>();
  private readonly req;

  private constructor(ready: () => void, failed: (err: Error) => void) {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start', 'die'], image: [BUSYBOX_IMAGE] }));
    this.req = request({ socketPath: DOCKER_SOCKET, path: `/events?filters=${filters}` }, (res) => {
      let pending = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          // timeNano exceeds 2^53: read it from the text, not through JSON.parse.
          const id = /"id":"([0-9a-f]+)"/.exec(line)?.[1];
          const action = /"Action":"([a-z]+)"/.exec(line)?.[1];
          const nano = /"timeNano":(\d+)/.exec(line)?.[1];
          if (!id || !action || !nano) continue;
          if (!this.times.has(id)) this.times.set(id, new Map());
          this.times.get(id)!.set(action, BigInt(nano));
        }
      });
      ready();
    });
    this.req.on('error', failed).end();
  }

  static open(): Promise<ContainerEvents> {
    return new Promise((resolve, reject) => {
      const events: ContainerEvents = new ContainerEvents(() => resolve(events), reject);
    });
  }

  /** The event's time; waits briefly, as the engine may send it a moment after the action ends. */
  async time(id: string, action: 'start' | 'die'): Promise<bigint> {
    for (let i = 0; i < 100; i++) {
      const t = this.times.get(id)?.get(action);
      if (t !== undefined) return t;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${action} event for container ${id}`);
  }

  close(): void {
    this.req.destroy();
  }
}

const sh = (script: string) => JSON.stringify(['sh', '-c', script]);

function check(f: Figure, run: BenchRun, ok: boolean, what: string): boolean {
  if (!ok) f.problems.push(`${what} (exit ${run.code}; ${run.stderr.slice(-300)}${run.stdout.slice(-300)})`);
  return ok;
}

export async function localExitAndOverhead(runs: number): Promise<Figure[]> {
  ensureBusyboxImage();
  const exit = figure('local: exit detection (die → outputs)', 'ms', { op: '<=', value: 100 });
  const overhead = figure('local: overhead (wall − agent run)', 's', { op: '<=', value: 1 });
  const events = await ContainerEvents.open();
  try {
    for (let i = 0; i < runs; i++) {
      const run = await runAction({ image: BUSYBOX_IMAGE, command: sh('echo agent starting; sleep 1; echo agent done') });
      const good = run.code === 0 && run.outputs.exit_code === '0' && run.outputs.conclusion === 'success' && run.stdout.includes('agent done');
      if (check(exit, run, good, 'run did not succeed with its output')) {
        const id = run.outputs.machine_id;
        const [started, died] = [await events.time(id, 'start'), await events.time(id, 'die')];
        exit.values.push(Number(run.outputsWrittenNs - died) / 1e6);
        overhead.values.push((run.wallMs - Number(died - started) / 1e6) / 1000);
      }
      rmSync(run.workDir, { recursive: true, force: true });
    }
  } finally {
    events.close();
  }
  return [exit, overhead];
}

/** DOCKER_HOST points at a TCP relay to the engine that notes when the first request arrives. */
export async function coldStart(runs: number): Promise<Figure[]> {
  const start = figure('cold start (spawn → first engine request)', 'ms', { op: '<=', value: 300 });
  let firstRequestAt: number | undefined;
  const relay = createServer((client) => {
    client.once('data', () => (firstRequestAt ??= performance.now()));
    const engine = connect(DOCKER_SOCKET);
    client.pipe(engine).pipe(client);
    const close = () => {
      client.destroy();
      engine.destroy();
    };
    client.on('error', close).on('close', close);
    engine.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  try {
    for (let i = 0; i < runs; i++) {
      firstRequestAt = undefined;
      const run = await runAction({ image: BUSYBOX_IMAGE, command: sh('true') }, { DOCKER_HOST: `tcp://127.0.0.1:${(relay.address() as AddressInfo).port}` });
      if (check(start, run, run.code === 0 && run.outputs.conclusion === 'success' && firstRequestAt !== undefined, 'run through the relay failed')) {
        start.values.push(firstRequestAt! - run.spawnedAt);
      }
      rmSync(run.workDir, { recursive: true, force: true });
    }
  } finally {
    relay.close();
  }
  const size = figure('bundle size (dist/index.js)', 'MB');
  size.values.push(statSync(join(ROOT, 'dist', 'index.js')).size / MB);
  return [start, size];
}

/** 1 GiB (by default) printed by a real container, through the whole action. */
export async function localThroughput(runs: number, blocks: number): Promise<Figure[]> {
  const rate = figure(`local: ${blocks} MiB agent output end to end`, 'MB/s', { op: '>=', value: 100 });
  const memory = figure('local: peak RSS of the action', 'MB', { op: '<=', value: 150 });
  const want = expected(blocks);
  for (let i = 0; i < runs; i++) {
    const run = await runAction({ image: BUSYBOX_IMAGE, command: sh(agentScript(blocks)), ...SECRETS });
    try {
      const logFile = run.outputs.log_file;
      const problems: string[] = [];
      if (run.code !== 1 || run.outputs.exit_code !== '3')
        problems.push(`expected a failed step with exit_code 3, got code ${run.code} exit_code ${run.outputs.exit_code}: ${run.stdout.slice(-500)}`);
      const size = logFile ? statSync(logFile).size : -1;
      if (size !== want.size) problems.push(`log file has ${size} bytes, expected ${want.size}`);
      else if ((await sha256File(logFile)) !== want.sha256) problems.push('log file sha256 differs from the redacted agent output');
      const tail = tailGroup(run.stdout);
      if (JSON.stringify(tail) !== JSON.stringify(want.tail))
        problems.push(`printed tail ${JSON.stringify(tail?.slice(-2))} is not the last ${want.tail.length} lines ${JSON.stringify(want.tail.slice(-2))}`);
      if (Object.values(SECRETS).some((s) => run.stdout.replace(/^::add-mask::.*$/gm, '').includes(s))) problems.push('a secret reached stdout');
      rate.problems.push(...problems);
      memory.problems.push(...problems);
      if (!problems.length) {
        rate.values.push(want.printed / MB / (run.wallMs / 1000));
        memory.values.push(run.peakRssMb);
      }
    } finally {
      rmSync(run.workDir, { recursive: true, force: true });
    }
  }
  return [rate, memory];
}
