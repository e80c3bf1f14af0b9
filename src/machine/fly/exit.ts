// Where Fly keeps a machine's exit code, in the order the contract reads it.
import type { MachineStatus } from '../machine.js';
import type { FlyExitEvent, FlyMachineObject } from './machines.js';

export interface FlyExit {
  exitCode: number | null;
  oomKilled: boolean;
}

/**
 * The newest exit event (`request.MonitorEvent.exit_event`, then `request.exit_event`),
 * then the legacy `events[].status.exit_code` and top-level `status.exit_code`.
 */
export function readExit(machine: FlyMachineObject): FlyExit {
  const events = machine.events ?? [];
  for (const event of events) {
    const exit = event.request?.MonitorEvent?.exit_event ?? event.request?.exit_event;
    if (exit) return { exitCode: exitCodeOf(exit), oomKilled: exit.oom_killed === true };
  }
  for (const event of events) {
    if (typeof event.status === 'object' && typeof event.status.exit_code === 'number') return { exitCode: event.status.exit_code, oomKilled: false };
  }
  if (typeof machine.status?.exit_code === 'number') return { exitCode: machine.status.exit_code, oomKilled: false };
  return { exitCode: null, oomKilled: false };
}

/**
 * `observed` is what waiting saw. A machine auto-destroyed after a recorded exit ran to its
 * end: that is `stopped`, however fast the cleanup that followed; `destroyed` is left for a
 * machine that vanished without telling how it ended.
 */
export function exitStatus(machine: FlyMachineObject, observed: string): MachineStatus {
  const { exitCode, oomKilled } = readExit(machine);
  if (machine.state === 'failed' || oomKilled) return { state: 'failed', exitCode, oomKilled };
  return { state: observed === 'destroyed' && exitCode !== null ? 'stopped' : observed, exitCode, oomKilled };
}

// Fly omits exit_code when it is 0 (omitempty), so a bare exit event is a clean exit,
// unless a signal or the OOM killer ended the process: then report it as a shell would.
function exitCodeOf(exit: FlyExitEvent): number {
  if (typeof exit.exit_code === 'number') return exit.exit_code;
  const signal = [exit.signal, exit.guest_signal].find((s) => typeof s === 'number' && s > 0);
  if (signal !== undefined) return 128 + signal;
  return exit.oom_killed ? 137 : 0;
}
