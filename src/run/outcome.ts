// What one run came to, in the terms every reporter (outputs, summary, PR comment) speaks.
import type { Backend } from '../config/config.js';

export type Conclusion = 'success' | 'failure' | 'timeout' | 'cancelled' | 'skipped';
export type ExitCodeSource = 'api' | 'log-marker' | 'none';

export interface RunOutcome {
  backend: Backend;
  image: string;
  machineId?: string;
  /** `stopped`, `destroyed`, `failed`, or the last state seen on timeout/cancel. */
  state: string;
  exitCode: number | null;
  exitCodeSource: ExitCodeSource;
  conclusion: Conclusion;
  durationSeconds: number;
  oomKilled: boolean;
  /** The last `log_tail_lines` lines, secrets already redacted. */
  logTail: string[];
  logFile?: string;
  /** From the image's `[flaude:pushed:BRANCH:SHA]` marker. */
  pushed?: { branch: string; sha: string };
  /** Why it failed, when it did (already redacted). */
  error?: string;
}
