// The run loop against a scripted machine: the parts of its contract that no backend decides
// (exit-code chain, grace for late logs, timeout, cancel, destroy on every path, and no throw
// once the machine exists).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CancelledError, EngineError, MachineExitError, MachineTimeoutError } from '../../src/errors.js';
import { ExecResult } from '../../src/machine/exec-result.js';
import type { Backend, Machine, MachineRef, MachineStatus } from '../../src/machine/machine.js';
import { LogSink } from '../../src/run/log-sink.js';
import { runMachine, type RunOptions } from '../../src/run/run.js';
import { testSpec } from '../helpers/factories.js';

interface Script {
  /** Printed as is, in order (a line needs its own newline). */
  output: string[];
  /** Printed only after the exit, this long after it (like Fly's log delay). */
  late?: { afterMs: number; output: string[] };
  /** After all output the stream stays open until the reader stops it, as Fly's logs do. */
  staysOpen?: boolean;
  runMs: number;
  status?: MachineStatus;
  /** wait() fails with this instead of returning a status. */
  waitFails?: Error;
  destroyFails?: boolean;
  graceMs?: number;
}

class ScriptedMachine implements Machine {
  readonly ref: MachineRef = { backend: 'local', id: 'm-1' };
  readonly logGraceMs: number;
  lastState = 'started';
  destroyed = 0;
  private markExited!: () => void;
  private readonly exited = new Promise<void>((resolve) => (this.markExited = resolve));

  constructor(private readonly script: Script) {
    this.logGraceMs = script.graceMs ?? 1000;
  }

  async *logs(stop: AbortSignal): AsyncIterable<string> {
    yield* this.script.output;
    await this.exited;
    const late = this.script.late;
    if (!late) return;
    await sleep(late.afterMs, undefined, { signal: stop }).catch(() => {});
    if (!stop.aborted) yield* late.output;
    if (this.script.staysOpen && !stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve));
  }

  async wait(signal: AbortSignal): Promise<MachineStatus> {
    try {
      await sleep(this.script.runMs, undefined, { signal }).catch(() => {
        throw signal.reason;
      });
      if (this.script.waitFails) throw this.script.waitFails;
      this.lastState = this.script.status?.state ?? 'stopped';
      return this.script.status ?? { state: 'stopped', exitCode: 0, oomKilled: false };
    } finally {
      this.markExited();
    }
  }

  async exec(command: string[]): Promise<ExecResult> {
    return new ExecResult(command, 0, '', '');
  }

  async destroy(): Promise<void> {
    this.destroyed++;
    if (this.script.destroyFails) throw new Error('platform said no');
    this.lastState = 'destroyed';
  }
}

function backendFor(create: () => Promise<Machine>): Backend {
  return { name: 'local', prepareImage: async () => 'img', create, destroy: async () => {}, sweep: async () => [] };
}

function newSink(): LogSink {
  return new LogSink({ file: join(mkdtempSync(join(tmpdir(), 'amt-run-')), 'log'), secrets: [], tailLines: 20 });
}

async function go(script: Script, overrides: Partial<RunOptions> = {}) {
  const machine = new ScriptedMachine(script);
  const sink = newSink();
  const warnings: string[] = [];
  const events: string[] = [];
  const result = await runMachine(
    backendFor(async () => machine),
    testSpec(),
    sink,
    {
      waitTimeoutSeconds: 5,
      idleTimeoutSeconds: 0,
      cancel: new AbortController().signal,
      onCreated: (ref) => events.push(`created ${ref.id}`),
      onDestroyed: (ref) => events.push(`destroyed ${ref.id}`),
      warn: (m) => warnings.push(m),
      ...overrides,
    },
  );
  return { result, machine, sink, warnings, events };
}

const stopped = (exitCode: number | null): MachineStatus => ({ state: 'stopped', exitCode, oomKilled: false });

describe('runMachine', () => {
  it('takes the API exit code first and destroys the machine', async () => {
    const { result, machine, events } = await go({ output: ['hi\n', '[flaude:exit:9]\n'], runMs: 10, status: stopped(0) });
    expect(result).toEqual({ machineId: 'm-1', state: 'stopped', exitCode: 0, exitCodeSource: 'api', conclusion: 'success', oomKilled: false });
    expect(machine.destroyed).toBe(1);
    expect(events).toEqual(['created m-1', 'destroyed m-1']);
  });

  it('falls back to the last log marker, read from logs that arrive after the exit', async () => {
    const { result, sink } = await go({
      output: ['working\n'],
      late: { afterMs: 100, output: ['[flaude:exit:1]\n', 'late\n', '[flaude:exit:3]\n'] },
      runMs: 10,
      status: stopped(null),
    });
    expect(result).toMatchObject({ exitCode: 3, exitCodeSource: 'log-marker', conclusion: 'failure' });
    expect(result.failure).toBeInstanceOf(MachineExitError);
    expect(sink.tail()).toEqual(['working', '[flaude:exit:1]', 'late', '[flaude:exit:3]']);
  });

  it("gives up on late logs after the machine's grace and reports no exit code", async () => {
    const started = Date.now();
    const { result } = await go({ output: [], late: { afterMs: 60_000, output: ['never\n'] }, runMs: 10, status: stopped(null), graceMs: 300 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ exitCode: null, exitCodeSource: 'none', conclusion: 'failure' });
    expect(result.failure?.message).toMatch(/with no exit code/);
  });

  it("stops waiting for late logs at the image's exit marker, its last line, long before the grace", async () => {
    const started = Date.now();
    const { result, sink } = await go({
      output: ['working\n'],
      late: { afterMs: 50, output: ['[flaude:exit:4]\n'] },
      staysOpen: true,
      runMs: 10,
      status: stopped(null),
      graceMs: 60_000,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ exitCode: 4, exitCodeSource: 'log-marker', conclusion: 'failure' });
    expect(sink.tail()).toEqual(['working', '[flaude:exit:4]']);
  });

  it('ends the sink itself: the failure quotes a last line that has no newline', async () => {
    const { result, sink } = await go({ output: ['first\n', 'no newline at the end'], runMs: 10, status: stopped(2) });
    expect(result.failure?.message).toMatch(/exited with code 2[^]*first\nno newline at the end$/);
    expect(sink.tail()).toEqual(['first', 'no newline at the end']);
    sink.write('after the end\n'); // a closed sink takes nothing more
    expect(sink.tail()).toEqual(['first', 'no newline at the end']);
  });

  it('a failed state is a failure even with exit code 0', async () => {
    const { result } = await go({ output: [], runMs: 10, status: { state: 'failed', exitCode: 0, oomKilled: true } });
    expect(result).toMatchObject({ conclusion: 'failure', state: 'failed', oomKilled: true });
    expect(result.failure?.message).toMatch(/OOM-killed/);
  });

  it('times out, keeps the last state seen, quotes the tail, and still destroys', async () => {
    const { result, machine, events } = await go({ output: ['stuck\n'], runMs: 60_000 }, { waitTimeoutSeconds: 0.3 });
    expect(result).toMatchObject({ conclusion: 'timeout', state: 'started', exitCode: null, exitCodeSource: 'none' });
    expect(result.failure).toBeInstanceOf(MachineTimeoutError);
    expect(result.failure?.message).toMatch(/did not exit within 0.3s \(last state 'started'\)[^]*stuck/);
    expect(machine.destroyed).toBe(1);
    expect(events).toEqual(['created m-1', 'destroyed m-1']);
  });

  it('cancels on the signal and still destroys', async () => {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort('SIGINT'), 100);
    const { result, machine } = await go({ output: [], runMs: 60_000 }, { cancel: cancel.signal });
    expect(result).toMatchObject({ conclusion: 'cancelled', state: 'started' });
    expect(result.failure).toBeInstanceOf(CancelledError);
    expect(result.failure?.message).toContain('machine m-1 was destroyed');
    expect(machine.destroyed).toBe(1);
  });

  it('returns a platform error from the wait as the failure, and still destroys', async () => {
    const { result, machine } = await go({ output: [], runMs: 10, waitFails: new Error('[LOST_CONTACT] the engine went away') });
    expect(result).toMatchObject({ conclusion: 'failure', state: 'started', exitCode: null });
    expect(result.failure).toBeInstanceOf(EngineError);
    expect(result.failure).toMatchObject({ code: 'ENGINE', engineCode: 'LOST_CONTACT', message: 'the engine went away' });
    expect(machine.destroyed).toBe(1);
  });

  it('warns, naming the machine, when destroy fails', async () => {
    const { warnings, events } = await go({ output: [], runMs: 10, destroyFails: true });
    expect(warnings.join('\n')).toMatch(/Could not destroy machine m-1.*platform said no/);
    expect(events).toEqual(['created m-1']);
  });

  it('throws before any machine exists: an early cancel creates nothing, a failed create is thrown as is', async () => {
    let creates = 0;
    const noop = { waitTimeoutSeconds: 5, idleTimeoutSeconds: 0, onCreated: () => {}, onDestroyed: () => {}, warn: () => {} };
    const cancelled = AbortSignal.abort(new Error('SIGTERM'));
    await expect(
      runMachine(
        backendFor(async () => {
          creates++;
          throw new Error('unused');
        }),
        testSpec(),
        newSink(),
        { ...noop, cancel: cancelled },
      ),
    ).rejects.toThrow('SIGTERM');
    expect(creates).toBe(0);
    const refused = new Error('no capacity');
    await expect(
      runMachine(
        backendFor(async () => {
          throw refused;
        }),
        testSpec(),
        newSink(),
        { ...noop, cancel: new AbortController().signal },
      ),
    ).rejects.toBe(refused);
  });
});

describe('runMachine ending early', () => {
  it('a machine silent for idle_timeout is stopped as stalled, whatever wait_timeout says', async () => {
    const started = Date.now();
    const { result, machine } = await go({ output: ['one line, then nothing\n'], runMs: 60_000 }, { waitTimeoutSeconds: 300, idleTimeoutSeconds: 0.5 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toMatchObject({ conclusion: 'timeout', exitCode: null });
    expect(result.failure?.code).toBe('STALLED');
    expect(result.failure?.message).toMatch(/printed nothing for 0.5s[^]*one line, then nothing/);
    expect(machine.destroyed).toBe(1);
  });

  it('output keeps a run alive past idle_timeout', async () => {
    const ticks = Array.from({ length: 8 }, (_, i) => `tick ${i}\n`);
    const machine = new ScriptedMachine({ output: [], runMs: 1000 });
    machine.logs = async function* (stop: AbortSignal) {
      for (const tick of ticks) {
        if (stop.aborted) return;
        yield tick;
        await sleep(100);
      }
    };
    const result = await runMachine(
      backendFor(async () => machine),
      testSpec(),
      newSink(),
      {
        waitTimeoutSeconds: 5,
        idleTimeoutSeconds: 0.4,
        cancel: new AbortController().signal,
        onCreated: () => {},
        onDestroyed: () => {},
        warn: () => {},
      },
    );
    expect(result.conclusion).toBe('success');
  });

  it('a stop signal ends the run at once with the error its reason makes', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort((id: string, logs: string[]) => new EngineError('X', `stopped ${id} after ${logs.length} lines`)), 100);
    const started = Date.now();
    const { result, machine } = await go({ output: ['a\n'], runMs: 60_000 }, { stop: stop.signal });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toMatchObject({ conclusion: 'failure' });
    expect(result.failure?.message).toBe('stopped m-1 after 1 lines');
    expect(machine.destroyed).toBe(1);
  });
});
