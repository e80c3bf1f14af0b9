// The one seam between "what to run" and "where it runs". Everything above this file is
// backend-blind; each backend lives in its own folder next to it and takes its own options.
import type { ExecResult } from './exec-result.js';

export type BackendName = 'local' | 'fly';

export interface MachineSpec {
  /** Unique per run; also the reconciliation key for a create whose answer was lost. */
  name: string;
  image: string;
  /** argv override; undefined runs the image's entrypoint. */
  command?: string[];
  env: Record<string, string>;
  /** Marks the machine as ours (Docker labels / Fly metadata) so cleanup can find it. */
  labels: Record<string, string>;
  cpus: number;
  memoryMb: number;
  /**
   * The image sets up the network allowlist (nftables) before its agent starts, which needs
   * CAP_NET_ADMIN in the machine's own network namespace: `local` adds that one capability to
   * the container. A Fly Machine runs the image as root in its own VM and needs nothing.
   */
  netAdmin?: boolean;
}

/** What the platform says about a machine that has stopped (or been seen last). */
export interface MachineStatus {
  /** `stopped`, `failed`, `destroyed`, or whatever state was seen last. */
  state: string;
  /** From the platform's API; null when it did not say. */
  exitCode: number | null;
  oomKilled: boolean;
  /**
   * What the platform could not say for sure, worth showing with the exit (e.g. an engine
   * that gives no OOM evidence: "killed (exit 137), possibly out of memory (limit 256 MiB)").
   */
  note?: string;
}

/** Where a machine was made, enough for the post step to find it again from saved state. */
export interface MachineRef {
  backend: BackendName;
  id: string;
  app?: string;
}

export interface Machine {
  readonly ref: MachineRef;
  /** The last state this process observed, for timeouts and cancellations. */
  readonly lastState: string;
  /**
   * How long output may trail the exit on this platform: the run keeps reading this long
   * after `wait` resolves unless the output ends (or the exit marker arrives) first.
   */
  readonly logGraceMs: number;
  /**
   * What the machine prints, as raw chunks in order. Ends once the output is complete (the
   * backend knows when that is, from its own exit), or quietly when `stop` aborts.
   */
  logs(stop: AbortSignal): AsyncIterable<Uint8Array | string>;
  /** Resolves once the machine has exited; rejects with the abort reason when `signal` fires. */
  wait(signal: AbortSignal): Promise<MachineStatus>;
  exec(command: string[], options?: { timeoutSeconds?: number }): Promise<ExecResult>;
  /** Force-removes the machine; already gone is fine. */
  destroy(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Makes sure the image exists where machines run (build/push when missing); returns its ref. */
  prepareImage(log: (line: string) => void, signal?: AbortSignal): Promise<string>;
  /**
   * Creates and starts the machine. Every call to the platform has its own deadline; `signal`
   * (the run's cancel) rejects it at once with the signal's reason. A machine made before the
   * rejection carries `spec.labels`, so a sweep by them finds it.
   */
  create(spec: MachineSpec, signal?: AbortSignal): Promise<Machine>;
  /** Destroys a machine by ref (signals, post step); already gone is fine. */
  destroy(ref: MachineRef): Promise<void>;
  /**
   * Destroys machines carrying all these labels (at least one) that are still around, running
   * or not, and returns their ids. With `olderThanSeconds`, only those created at least that
   * long ago (a scheduled sweep must spare the runs still going).
   */
  sweep(labels: Record<string, string>, options?: SweepOptions): Promise<string[]>;
}

export interface SweepOptions {
  /** Only machines created at least this many seconds ago; absent: whatever their age. */
  olderThanSeconds?: number;
}

/** Where the image comes from when a backend must build it. */
export interface ImageSource {
  /** Undefined: the bundled agent image, by content tag. */
  image?: string;
  dockerfile: string;
  buildContext: string;
}
