// machine → result: create the machine, stream its output into the sink, wait for the exit
// (bounded by wait_timeout, cut short by a cancel), read the exit code by the contract's
// chain, and destroy the machine whatever happened.
import type { BackendDriver, MachineRef, MachineSpec, MachineStatus } from '../machine/machine.js';
import type { LogSink } from './log-sink.js';
import type { Conclusion, ExitCodeSource } from './outcome.js';

export interface RunOptions {
  waitTimeoutSeconds: number;
  /** Aborted on SIGINT/SIGTERM: the run ends as `cancelled` and the machine is destroyed. */
  cancel: AbortSignal;
  /** How long to keep reading output after the exit when the exit marker has not arrived. */
  logGraceMs: number;
  onCreated(ref: MachineRef): void;
  onDestroyed(ref: MachineRef): void;
  warn(message: string): void;
}

export interface MachineResult {
  machineId: string;
  state: string;
  exitCode: number | null;
  exitCodeSource: ExitCodeSource;
  conclusion: Exclude<Conclusion, 'skipped'>;
  oomKilled: boolean;
}

export async function runMachine(driver: BackendDriver, spec: MachineSpec, sink: LogSink, options: RunOptions): Promise<MachineResult> {
  options.cancel.throwIfAborted();
  const machine = await driver.create(spec);
  const ref = driver.ref(machine);
  options.onCreated(ref);

  const stopLogs = new AbortController();
  let markExited!: () => void;
  const exited = new Promise<void>((resolve) => (markExited = resolve));
  const pump = (async () => {
    for await (const chunk of machine.logs({ stop: stopLogs.signal, exited })) sink.write(chunk);
  })().catch((err: unknown) => {
    if (!stopLogs.signal.aborted) options.warn(`Reading the machine's output failed: ${(err as Error).message}`);
  });

  const timeout = AbortSignal.timeout(options.waitTimeoutSeconds * 1000);
  let status: MachineStatus | undefined;
  let ending: 'timeout' | 'cancelled' | undefined;
  let stateAtEnd = '';
  try {
    status = await machine.wait(AbortSignal.any([timeout, options.cancel]));
    markExited();
    // Logs may trail the exit (Fly delivers them seconds late): read until the exit marker
    // or the end of the stream, but no longer than the grace.
    await Promise.race([pump, sink.markerSeen('exit'), pause(options.logGraceMs)]);
  } catch (err) {
    stateAtEnd = machine.lastState; // before destroy changes it: the state the run was stuck in
    if (options.cancel.aborted) ending = 'cancelled';
    else if (timeout.aborted) ending = 'timeout';
    else throw err;
  } finally {
    stopLogs.abort();
    markExited();
    await Promise.race([pump, pause(2000)]);
    try {
      await machine.destroy();
      options.onDestroyed(ref);
    } catch (err) {
      options.warn(`Could not destroy machine ${machine.id} (${driver.name}); remove it by hand: ${(err as Error).message}`);
    }
  }

  const exitMarker = sink.markers.get('exit'); // the sink keeps only numeric exit markers
  const marker = exitMarker === undefined ? null : Number(exitMarker);
  const exitCode = status?.exitCode ?? marker;
  const exitCodeSource: ExitCodeSource = status?.exitCode != null ? 'api' : marker != null ? 'log-marker' : 'none';
  const state = status?.state ?? stateAtEnd;
  let conclusion: MachineResult['conclusion'];
  if (ending) conclusion = ending;
  else conclusion = exitCode === 0 && state !== 'failed' ? 'success' : 'failure';
  return { machineId: machine.id, state, exitCode, exitCodeSource, conclusion, oomKilled: status?.oomKilled ?? false };
}

/** A wait whose timer never keeps the process alive once everything else is done. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
