// What one run came to, in the terms every reporter (outputs, summary, PR comment) speaks.
import type { AgentStats } from '../agent/stats.js';
import type { BlockedHost, EgressMode } from '../egress.js';
import { CancelledError, wrapEngineError, type AgentMachineError } from '../errors.js';
import type { BackendName } from '../machine/machine.js';
import type { ChangedFile } from '../protocol.js';
import type { FailureReason } from './failure-reason.js';

export type Conclusion = 'success' | 'failure' | 'timeout' | 'cancelled' | 'skipped';
export type ExitCodeSource = 'api' | 'log-marker' | 'none';

/** The machine's part of the outcome, as the run loop reads it. */
export interface MachineResult {
  machineId?: string;
  /** `stopped`, `destroyed`, `failed`, or the last state seen on timeout/cancel. */
  state: string;
  exitCode: number | null;
  exitCodeSource: ExitCodeSource;
  conclusion: Conclusion;
  oomKilled: boolean;
  /** Why the run failed, when it did: the agent's verdict or the platform's error. */
  failure?: AgentMachineError;
}

export interface RunOutcome extends MachineResult {
  backend: BackendName;
  image: string;
  durationSeconds: number;
  /** The last `log_tail_lines` lines, secrets already redacted. */
  logTail: string[];
  logFile?: string;
  /** From the image's `[flaude:pushed:BRANCH:SHA]` marker. */
  pushed?: { branch: string; sha: string };
  /** The pinned branch had moved on to this commit when the machine cloned it (`[flaude:head-moved:SHA]`). */
  headMoved?: string;
  /** What the pushed commit changed (`[flaude:diffstat:…]`). */
  changedFiles?: ChangedFile[];
  /**
   * What the network allowlist did, from the image's `[flaude:egress:MODE]` and
   * `[flaude:blocked:JSON]` (hosts redacted); absent when the image never said it was in force.
   */
  egress?: { mode: EgressMode; blocked: BlockedHost[] };
  /** What the agent's events said, for the bundled agent. */
  agent?: AgentStats;
  transcriptFile?: string;
  artifactUrl?: string;
  /** `failure`'s message, secrets redacted: what the summary and the comment show. */
  error?: string;
  /** Why it failed, as one word (`failure_reason`); undefined on success. */
  failureReason?: FailureReason;
}

/** Before any machine: nothing ran. */
export function notRun(backend: BackendName): RunOutcome {
  return { state: '', exitCode: null, exitCodeSource: 'none', conclusion: 'failure', oomKilled: false, backend, image: '', durationSeconds: 0, logTail: [] };
}

/** What an error thrown before the machine existed makes of the run (a cancel made it, if one came). */
export function failedBy(err: unknown, cancelled: boolean): Pick<RunOutcome, 'conclusion' | 'failure'> {
  return cancelled ? { conclusion: 'cancelled', failure: new CancelledError() } : { conclusion: 'failure', failure: wrapEngineError(err) };
}
