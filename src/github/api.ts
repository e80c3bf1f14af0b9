// The GitHub REST client and the slice of the Actions event context this module reads.
import * as github from '@actions/github';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentMachineError } from '../errors.js';
import { backoffMs, DEFAULT_RETRY, isTransientStatus, retryAfterMs } from '../http/retry.js';

export type GitHub = ReturnType<typeof github.getOctokit>;

/** What planRun reads from `github.context`; tests may pass a plain object of this shape. */
export type Context = Pick<typeof github.context, 'eventName' | 'payload' | 'actor' | 'runId' | 'serverUrl' | 'apiUrl' | 'repo'>;

export interface RepoRef {
  owner: string;
  repo: string;
}

/** A GitHub REST call the run cannot go on without (permission check, PR lookup). */
export class GitHubAPIError extends AgentMachineError {
  constructor(readonly what: string, readonly status: number | undefined, detail: string) {
    super('GITHUB_API', `GitHub API (${what}) ${status ? `answered ${status}` : 'failed'}: ${detail}`);
  }
}

const RETRY = { ...DEFAULT_RETRY, maxAttempts: 4 };
/** Calls that do the same thing however often they are sent. */
const REPEATABLE = new Set(['GET', 'HEAD', 'PATCH', 'PUT', 'DELETE']);

export function createClient(token: string, ctx: Context): GitHub {
  // ctx.apiUrl is GITHUB_API_URL: api.github.com, a GHES host, or a test's fake.
  const octokit = github.getOctokit(token, { baseUrl: ctx.apiUrl });
  octokit.hook.wrap('request', async (request, options) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(options);
      } catch (err) {
        const status = statusOf(err);
        const retryAfter = (err as { response?: { headers?: Record<string, string> } }).response?.headers?.['retry-after'];
        // 429, and 403 with Retry-After (a secondary rate limit), were turned away unprocessed:
        // safe to send again. A 5xx may have done the work, so only a repeatable call is resent.
        const turnedAway = status === 429 || (status === 403 && retryAfter !== undefined);
        const again = turnedAway || (status !== undefined && isTransientStatus(status) && REPEATABLE.has(options.method));
        if (!again || attempt >= RETRY.maxAttempts) throw err;
        await sleep(Math.min(retryAfterMs(retryAfter, Date.now()) ?? backoffMs(RETRY, attempt - 1), RETRY.maxRetryAfterMs));
      }
    }
  });
  return octokit;
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** A one-line description of a failed call; Octokit already strips the token from its errors. */
export function describe(err: unknown): string {
  const status = statusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return status ? `${status} ${message}` : message;
}

/** Runs a call the plan depends on, turning its failure into a GitHubAPIError. */
export async function required<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new GitHubAPIError(what, statusOf(err), err instanceof Error ? err.message : String(err));
  }
}

/** Like required, but a 404 is an answer (no such collaborator, branch…): undefined. */
export function unlessNotFound<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  return required(what, async () => {
    try {
      return await call();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  });
}
