// The exit-code chain, read from the machine objects Fly has answered with over time.
import { describe, expect, it } from 'vitest';
import { exitStatus, readExit } from '../../src/machine/fly/exit.js';
import type { FlyMachineObject } from '../../src/machine/fly/machines.js';

describe('exit-code chain', () => {
  const machine = (m: Partial<FlyMachineObject>): FlyMachineObject => ({ id: 'm1', state: 'stopped', ...m });
  const exitEvent = (exit: object, where: 'exit_event' | 'MonitorEvent' = 'exit_event') => ({
    type: 'exit',
    status: 'stopped',
    request: where === 'exit_event' ? { exit_event: exit } : { MonitorEvent: { exit_event: exit } },
  });

  it('takes the newest exit event, MonitorEvent before exit_event', () => {
    expect(readExit(machine({ events: [exitEvent({ exit_code: 2 }), exitEvent({ exit_code: 1 })] })).exitCode).toBe(2);
    expect(
      readExit(machine({ events: [{ type: 'exit', request: { MonitorEvent: { exit_event: { exit_code: 5 } }, exit_event: { exit_code: 6 } } }] })).exitCode,
    ).toBe(5);
  });

  it('reads an exit event without exit_code as 0, unless a signal or the OOM killer ended it', () => {
    expect(readExit(machine({ events: [exitEvent({ signal: -1, guest_signal: -1 })] })).exitCode).toBe(0);
    expect(readExit(machine({ events: [exitEvent({ signal: 9 })] })).exitCode).toBe(137);
    expect(readExit(machine({ events: [exitEvent({ oom_killed: true }, 'MonitorEvent')] }))).toEqual({ exitCode: 137, oomKilled: true });
  });

  it('falls back to the legacy paths, then to nothing', () => {
    expect(readExit(machine({ events: [{ type: 'exit', status: { exit_code: 4 } }] })).exitCode).toBe(4);
    expect(readExit(machine({ events: [{ type: 'exit', status: 'stopped' }], status: { exit_code: 8 } })).exitCode).toBe(8);
    expect(readExit(machine({ events: [{ type: 'start', status: 'started' }] })).exitCode).toBeNull();
  });

  it('maps to a MachineStatus: failed on OOM or state failed, stopped after a recorded exit', () => {
    expect(exitStatus(machine({ state: 'failed' }), 'failed')).toEqual({ state: 'failed', exitCode: null, oomKilled: false });
    expect(exitStatus(machine({ events: [exitEvent({ oom_killed: true, exit_code: 137 })] }), 'stopped').state).toBe('failed');
    expect(exitStatus(machine({ state: 'destroyed', events: [exitEvent({ exit_code: 1 })] }), 'destroyed')).toEqual({
      state: 'stopped',
      exitCode: 1,
      oomKilled: false,
    });
    expect(exitStatus(machine({ state: 'destroyed' }), 'destroyed').state).toBe('destroyed');
  });
});
