// machine → result: create the machine, stream its output into the sink, wait for the exit
// (bounded by wait_timeout, cut short by a cancel), read the exit code by the contract's
// chain, and destroy the machine whatever happened. Once the machine exists nothing is
// thrown: every ending is a returned result.
import { CancelledError, MachineExitError, MachineStalledError, MachineTimeoutError, wrapEngineError, type AgentMachineError } from '../errors.js';
import type { Backend, MachineRef, MachineSpec, MachineStatus } from '../machine/machine.js';
import type { LogSink } from './log-sink.js';
import type { ExitCodeSource, MachineResult } from './outcome.js';

/** Longer than one poll of Fly's logs after an exit (250 ms). */
const QUIET_AFTER_EXIT_MARKER_MS = 300;

export interface RunOptions {
  waitTimeoutSeconds: number;
  /** Seconds without any output before the run counts as stalled; 0: never. */
  idleTimeoutSeconds: number;
  /** Aborted on SIGINT/SIGTERM: the run ends as `cancelled` and the machine is destroyed. */
  cancel: AbortSignal;
  /** Aborted to end the run at once; its reason makes the error (e.g. a model API that refuses the key). */
  stop?: AbortSignal;
  onCreated(ref: MachineRef): void;
  onDestroyed(ref: MachineRef): void;
  warn(message: string): void;
}

/** Throws only before the machine exists (a cancel, or a create that failed). */
export async function runMachine(backend: Backend, spec: MachineSpec, sink: LogSink, options: RunOptions): Promise<MachineResult> {
  options.cancel.throwIfAborted();
  const machine = await backend.create(spec, options.cancel);
  options.onCreated(machine.ref);

  const stopLogs = new AbortController();
  let lastOutputAt = Date.now();
  const pump = (async () => {
    for await (const chunk of machine.logs(stopLogs.signal)) {
      lastOutputAt = Date.now();
      sink.write(chunk);
    }
  })().catch((err: unknown) => {
    if (!stopLogs.signal.aborted) options.warn(`Reading the machine's output failed: ${(err as Error).message}`);
  });

  const timeout = AbortSignal.timeout(options.waitTimeoutSeconds * 1000);
  const idle = new AbortController();
  const idleMs = options.idleTimeoutSeconds * 1000;
  const watchdog = idleMs > 0 ? setInterval(() => Date.now() - lastOutputAt >= idleMs && idle.abort(), Math.min(1000, idleMs / 4)) : undefined;
  let status: MachineStatus | undefined;
  let ending: 'timeout' | 'cancelled' | 'stalled' | AgentMachineError | undefined;
  let stateAtEnd = '';
  try {
    status = await machine.wait(AbortSignal.any([timeout, options.cancel, idle.signal, ...(options.stop ? [options.stop] : [])]));
    // Output may trail the exit (Fly's logs by seconds): read it to its end or to the image's
    // exit marker, its last line, but no longer than the backend's grace.
    await Promise.race([pump, exitMarkerSettled(sink, () => lastOutputAt, stopLogs.signal), pause(machine.logGraceMs)]);
  } catch (err) {
    stateAtEnd = machine.lastState; // before destroy changes it: the state the run was stuck in
    if (options.cancel.aborted) ending = 'cancelled';
    else if (timeout.aborted) ending = 'timeout';
    else if (idle.signal.aborted) ending = 'stalled';
    else if (options.stop?.aborted) ending = (options.stop.reason as (id: string, logs: string[]) => AgentMachineError)(machine.ref.id, sink.tail(20));
    else ending = wrapEngineError(err);
  } finally {
    clearInterval(watchdog);
    stopLogs.abort();
    await Promise.race([pump, pause(2000)]);
    sink.end(); // the tail the errors below quote includes a last line without a newline
    try {
      await machine.destroy();
      options.onDestroyed(machine.ref);
    } catch (err) {
      options.warn(`Could not destroy machine ${machine.ref.id} (${backend.name}); remove it by hand: ${(err as Error).message}`);
    }
  }

  const machineId = machine.ref.id;
  const state = status?.state ?? stateAtEnd;
  const oomKilled = status?.oomKilled ?? false;
  const marker = sink.exitMarker();
  if (status?.exitCode != null && marker != null && status.exitCode !== marker) {
    options.warn(
      `Machine ${machineId}: the platform reported exit code ${status.exitCode}, but the image's last line says [flaude:exit:${marker}]. ` +
        `The outputs use ${status.exitCode} (exit_code_source: api), as the contract orders: the platform's code is the machine's own exit, ` +
        `which can include what happened after the image's last line, such as the VM's own shutdown or a kill.`,
    );
  }
  const exitCode = status?.exitCode ?? marker;
  const exitCodeSource: ExitCodeSource = status?.exitCode != null ? 'api' : marker != null ? 'log-marker' : 'none';
  const result = { machineId, state, exitCode, exitCodeSource, oomKilled };
  if (ending === 'cancelled') return { ...result, conclusion: 'cancelled', failure: new CancelledError(machineId) };
  if (ending === 'stalled') return { ...result, conclusion: 'timeout', failure: new MachineStalledError(machineId, options.idleTimeoutSeconds, sink.tail(20)) };
  if (ending === 'timeout')
    return { ...result, conclusion: 'timeout', failure: new MachineTimeoutError(machineId, options.waitTimeoutSeconds, state, sink.tail(20)) };
  if (ending) return { ...result, conclusion: 'failure', failure: ending };
  if (exitCode === 0 && state !== 'failed') return { ...result, conclusion: 'success' };
  return { ...result, conclusion: 'failure', failure: new MachineExitError(machineId, exitCode, state, sink.tail(20), oomKilled, status?.note) };
}

/**
 * Settles once the image's exit marker is the last line read and nothing has followed it for
 * a moment: an image that prints on after a marker has its output read like any other.
 */
async function exitMarkerSettled(sink: LogSink, lastOutputAt: () => number, stop: AbortSignal): Promise<void> {
  await sink.exitMarkerRead;
  while (!stop.aborted) {
    const quietMs = Date.now() - lastOutputAt();
    if (quietMs >= QUIET_AFTER_EXIT_MARKER_MS && sink.exitMarker() !== null) return;
    await pause(Math.max(QUIET_AFTER_EXIT_MARKER_MS - quietMs, 50));
  }
}

/** A wait whose timer never keeps the process alive once everything else is done. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
