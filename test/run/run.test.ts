// The run loop against a scripted machine: the parts of its contract that no backend decides
// (exit-code chain, grace for late logs, timeout, cancel, destroy on every path).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ExecResult } from '../../src/machine/exec-result.js';
import type { BackendDriver, LogControl, Machine, MachineSpec, MachineStatus } from '../../src/machine/machine.js';
import { LogSink } from '../../src/run/log-sink.js';
import { runMachine, type RunOptions } from '../../src/run/run.js';

interface Script {
  lines: string[];
  /** Lines that arrive only after the exit, this long after it (like Fly's log delay). */
  lateLines?: { afterMs: number; lines: string[] };
  runMs: number;
  status?: MachineStatus;
  destroyFails?: boolean;
}

class ScriptedMachine implements Machine {
  readonly id = 'm-1';
  lastState = 'started';
  destroyed = 0;
  constructor(private readonly script: Script) {}
  async *logs(control: LogControl): AsyncIterable<string> {
    for (const line of this.script.lines) yield `${line}\n`;
    await control.exited;
    const late = this.script.lateLines;
    if (!late) return;
    await sleep(late.afterMs, undefined, { signal: control.stop }).catch(() => {});
    if (control.stop.aborted) return;
    for (const line of late.lines) yield `${line}\n`;
  }
  async wait(signal: AbortSignal): Promise<MachineStatus> {
    await sleep(this.script.runMs, undefined, { signal }).catch(() => { throw signal.reason; });
    this.lastState = this.script.status?.state ?? 'stopped';
    return this.script.status ?? { state: 'stopped', exitCode: 0, oomKilled: false };
  }
  async exec(command: string[]): Promise<ExecResult> {
    return new ExecResult(command, 0, '', '');
  }
  async destroy(): Promise<void> {
    this.destroyed++;
    if (this.script.destroyFails) throw new Error('platform said no');
  }
}

function driverFor(machine: ScriptedMachine): BackendDriver {
  return {
    name: 'local',
    prepareImage: async () => 'img',
    create: async () => machine,
    destroy: async () => {},
    sweep: async () => [],
    ref: (m) => ({ backend: 'local', id: m.id }),
  };
}

const spec: MachineSpec = { name: 'n', image: 'img', env: {}, labels: {}, guest: { cpus: 1, memoryMb: 256, cpuKind: 'shared' }, region: 'iad' };

async function go(script: Script, overrides: Partial<RunOptions> = {}) {
  const machine = new ScriptedMachine(script);
  const sink = new LogSink({ file: join(mkdtempSync(join(tmpdir(), 'amt-run-')), 'log'), secrets: [], tailLines: 20 });
  const warnings: string[] = [];
  const events: string[] = [];
  const result = await runMachine(driverFor(machine), spec, sink, {
    waitTimeoutSeconds: 5, cancel: new AbortController().signal, logGraceMs: 1000,
    onCreated: (ref) => events.push(`created ${ref.id}`), onDestroyed: (ref) => events.push(`destroyed ${ref.id}`),
    warn: (m) => warnings.push(m), ...overrides,
  });
  sink.end();
  return { result, machine, sink, warnings, events };
}

describe('runMachine', () => {
  it('takes the API exit code first and destroys the machine', async () => {
    const { result, machine, events } = await go({ lines: ['hi', '[flaude:exit:9]'], runMs: 10, status: { state: 'stopped', exitCode: 0, oomKilled: false } });
    expect(result).toMatchObject({ exitCode: 0, exitCodeSource: 'api', conclusion: 'success', state: 'stopped' });
    expect(machine.destroyed).toBe(1);
    expect(events).toEqual(['created m-1', 'destroyed m-1']);
  });

  it('falls back to the last log marker, read from logs that arrive after the exit', async () => {
    const { result, sink } = await go({ lines: ['working'], lateLines: { afterMs: 100, lines: ['[flaude:exit:1]', 'late', '[flaude:exit:3]'] }, runMs: 10, status: { state: 'stopped', exitCode: null, oomKilled: false } });
    expect(result).toMatchObject({ exitCode: 3, exitCodeSource: 'log-marker', conclusion: 'failure' });
    expect(sink.tail()).toEqual(['working', '[flaude:exit:1]', 'late', '[flaude:exit:3]']);
  });

  it('gives up on late logs after the grace and reports no exit code', async () => {
    const started = Date.now();
    const { result } = await go({ lines: [], lateLines: { afterMs: 60_000, lines: ['never'] }, runMs: 10, status: { state: 'stopped', exitCode: null, oomKilled: false } }, { logGraceMs: 300 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ exitCode: null, exitCodeSource: 'none', conclusion: 'failure' });
  });

  it('a failed state is a failure even with exit code 0', async () => {
    const { result } = await go({ lines: [], runMs: 10, status: { state: 'failed', exitCode: 0, oomKilled: true } });
    expect(result).toMatchObject({ conclusion: 'failure', state: 'failed', oomKilled: true });
  });

  it('times out, keeps the last state seen, and still destroys', async () => {
    const { result, machine } = await go({ lines: ['stuck'], runMs: 60_000 }, { waitTimeoutSeconds: 0.3 });
    expect(result).toMatchObject({ conclusion: 'timeout', state: 'started', exitCode: null });
    expect(machine.destroyed).toBe(1);
  });

  it('cancels on the signal and still destroys', async () => {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort('SIGINT'), 100);
    const { result, machine } = await go({ lines: [], runMs: 60_000 }, { cancel: cancel.signal });
    expect(result.conclusion).toBe('cancelled');
    expect(machine.destroyed).toBe(1);
  });

  it('warns, naming the machine, when destroy fails', async () => {
    const { warnings, events } = await go({ lines: [], runMs: 10, destroyFails: true });
    expect(warnings.join('\n')).toMatch(/Could not destroy machine m-1.*platform said no/);
    expect(events).toEqual(['created m-1']);
  });
});
