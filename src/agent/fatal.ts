// Model API answers that retrying can't fix: a key the API refuses. Claude Code retries them
// for about three minutes before it gives up; the run ends at the first one instead.
import { ModelAPIError, type AgentMachineError } from '../errors.js';
import type { AgentStats } from './stats.js';

const FATAL_STATUSES = new Set([401, 403]);

export interface FatalWatch {
  /** Aborted at the first fatal answer; its reason makes the run's error (see RunOptions.stop). */
  signal: AbortSignal;
  dispose(): void;
}

/** Looks at the agent's figures every `everyMs` for a fatal model API status. */
export function watchForFatalApiError(stats: () => AgentStats | undefined, everyMs = 250): FatalWatch {
  const stop = new AbortController();
  const timer = setInterval(() => {
    const now = stats();
    const status = now?.apiErrorStatus;
    if (status === undefined || !FATAL_STATUSES.has(status)) return;
    const detail = now?.apiError ?? 'authentication failed';
    stop.abort((machineId: string, logs: string[]): AgentMachineError => new ModelAPIError(machineId, status, detail, logs));
    clearInterval(timer);
  }, everyMs);
  return { signal: stop.signal, dispose: () => clearInterval(timer) };
}
