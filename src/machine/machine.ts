// The one seam between "what to run" and "where it runs". Everything above this file is
// backend-blind; each backend lives in its own folder next to it.
import type { Config } from '../config/config.js';
import type { ExecResult } from './exec-result.js';

export interface MachineSpec {
  /** Unique per run; also the reconciliation key for a create whose answer was lost. */
  name: string;
  image: string;
  /** argv override; undefined runs the image's entrypoint. */
  command?: string[];
  env: Record<string, string>;
  /** Marks the machine as ours (Docker labels / Fly metadata) so cleanup can find it. */
  labels: Record<string, string>;
  guest: { cpus: number; memoryMb: number; cpuKind: string };
  region: string;
}

/** What the platform says about a machine that has stopped (or been seen last). */
export interface MachineStatus {
  /** `stopped`, `failed`, `destroyed`, or whatever state was seen last. */
  state: string;
  /** From the platform's API; null when it did not say. */
  exitCode: number | null;
  oomKilled: boolean;
}

export interface LogControl {
  /** Aborted by the runner when it has read enough (exit marker seen, or the grace passed). */
  stop: AbortSignal;
  /** Resolves when the machine has exited; a polling backend then reads until caught up. */
  exited: Promise<void>;
}

export interface Machine {
  readonly id: string;
  /** The last state this process observed, for timeouts and cancellations. */
  readonly lastState: string;
  /** What the agent prints, as raw chunks in order; ends when the output is complete. */
  logs(control: LogControl): AsyncIterable<Uint8Array | string>;
  /** Resolves once the machine has exited; rejects with the abort reason when `signal` fires. */
  wait(signal: AbortSignal): Promise<MachineStatus>;
  exec(command: string[], options?: { timeoutSeconds?: number }): Promise<ExecResult>;
  /** Force-removes the machine; already gone is fine. */
  destroy(): Promise<void>;
}

/** Where a machine was made, enough for the post step to find it again from saved state. */
export interface MachineRef {
  backend: Config['backend'];
  id: string;
  app?: string;
}

export interface BackendDriver {
  readonly name: Config['backend'];
  /** Makes sure the image exists where machines run (build/push when missing); returns its ref. */
  prepareImage(log: (line: string) => void, signal?: AbortSignal): Promise<string>;
  create(spec: MachineSpec): Promise<Machine>;
  /** Destroys a machine by ref (signals, post step); already gone is fine. */
  destroy(ref: MachineRef): Promise<void>;
  /** Destroys machines carrying these labels that are still around (post-step sweep); returns their ids. */
  sweep(labels: Record<string, string>): Promise<string[]>;
  ref(machine: Machine): MachineRef;
}
