// Waiting for a machine to finish: Fly's /wait blocks at most 60 s, so call it in a loop.
import type { MachineStatus } from '../machine.js';
import type { FlyClient } from './client.js';
import { exitStatus } from './exit.js';
import { getMachine, machineKey, machinePath } from './machines.js';

const SETTLED = new Set(['stopped', 'failed', 'destroyed']);

/** Resolves with the exit once the machine stops (or is gone); rejects with the abort reason. */
export async function waitForExit(client: FlyClient, app: string, id: string, signal: AbortSignal, onState: (state: string) => void): Promise<MachineStatus> {
  let observed: string;
  for (;;) {
    const answer = await client.machines.request({
      method: 'GET',
      path: `${machinePath(app, id)}/wait`,
      query: { state: 'stopped', timeout: '60' },
      paceKey: machineKey(id),
      signal,
      // Fly holds the answer up to the 60 s asked; the attempt allows that and a slow platform.
      timeoutMs: 90_000,
      accept: [404, 408],
    });
    if (answer.status === 404) {
      observed = 'destroyed';
      break;
    }
    if (answer.status !== 408) {
      observed = 'stopped';
      break;
    }
    // Still not stopped. A machine that failed to run, or was destroyed, never will be: look.
    const machine = await getMachine(client, app, id, signal);
    if (!machine) return { state: 'destroyed', exitCode: null, oomKilled: false };
    onState(machine.state);
    if (SETTLED.has(machine.state)) return exitStatus(machine, machine.state);
  }
  onState(observed);
  // The machine object carries the exit event; with auto_destroy it stays readable a while.
  const machine = await getMachine(client, app, id, signal);
  return machine ? exitStatus(machine, observed) : { state: observed, exitCode: null, oomKilled: false };
}
