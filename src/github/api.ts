// The GitHub REST client and the slice of the Actions event context this module reads.
import type * as github from '@actions/github';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { GitHubAPIError } from '../errors.js';
import { backoffMs, DEFAULT_RETRY, isTransientStatus, retryAfterMs } from '../http/retry.js';

export type GitHub = ReturnType<typeof github.getOctokit>;

/** What planRun reads from `github.context`; tests may pass a plain object of this shape. */
export type Context = Pick<typeof github.context, 'eventName' | 'payload' | 'actor' | 'runId' | 'serverUrl' | 'apiUrl' | 'repo'>;

/**
 * The event context, read from the runner's environment as @actions/github's Context reads it,
 * without loading its REST client: that import costs most of the action's start (bench: startup).
 */
export function readContext(env: NodeJS.ProcessEnv = process.env): Context {
  const path = env.GITHUB_EVENT_PATH;
  const payload = path && existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Context['payload']) : {};
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    payload,
    actor: env.GITHUB_ACTOR ?? '',
    runId: Number.parseInt(env.GITHUB_RUN_ID ?? '', 10),
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    get repo() {
      const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
      if (owner && repo) return { owner, repo };
      const named = payload.repository;
      if (named) return { owner: named.owner.login, repo: named.name };
      throw new Error("the event names no repository: GITHUB_REPOSITORY is not set to 'owner/repo'");
    },
  };
}

export interface RepoRef {
  owner: string;
  repo: string;
}

const RETRY = { ...DEFAULT_RETRY, maxAttempts: 4 };
/** Calls that do the same thing however often they are sent. */
const REPEATABLE = new Set(['GET', 'HEAD', 'PATCH', 'PUT', 'DELETE']);

export interface ClientTimeouts {
  /** One attempt, from sending to the answer's last byte. */
  attemptMs?: number;
  /** The whole call: attempts, backoff and Retry-After waits. */
  deadlineMs?: number;
}

/**
 * GitHub itself ends a REST request it has not answered in 10 s (a timeout answer, per its
 * REST troubleshooting docs): an attempt silent for 30 s is a hung connection, not a slow one.
 */
const ATTEMPT_MS = 30_000;
/** Every call ends within 2 minutes: room for the retries and one Retry-After of up to a minute. */
const DEADLINE_MS = 120_000;

/** A call that got no answer in time; `required` turns it into a GitHubAPIError (GITHUB_API). */
export class GitHubTimeoutError extends Error {
  constructor(
    method: string,
    url: string,
    readonly seconds: number,
    attempts: number,
  ) {
    super(`timed out: no answer to ${method} ${url} within ${seconds}s (${attempts} attempt(s))`);
    this.name = 'GitHubTimeoutError';
  }
}

/** A caller's `request: { signal }` still cancels a call: it rejects with the signal's reason. */
export async function createClient(token: string, ctx: Pick<Context, 'apiUrl'>, timeouts: ClientTimeouts = {}): Promise<GitHub> {
  const github = await import('@actions/github');
  const attemptMs = timeouts.attemptMs ?? ATTEMPT_MS;
  const deadlineMs = timeouts.deadlineMs ?? DEADLINE_MS;
  // ctx.apiUrl is GITHUB_API_URL: api.github.com, a GHES host, or a test's fake.
  const octokit = github.getOctokit(token, { baseUrl: ctx.apiUrl });
  octokit.hook.wrap('request', async (request, options) => {
    const base = options.request;
    const caller = base?.signal as AbortSignal | undefined;
    const ends = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      // One controller per attempt, fired by its own timer or by the caller.
      const cut = new AbortController();
      const timer = setTimeout(() => cut.abort(), Math.max(0, Math.min(attemptMs, ends - Date.now())));
      const onCancel = () => cut.abort(caller!.reason);
      caller?.addEventListener('abort', onCancel, { once: true });
      try {
        // In place: the hooks inside this one were bound to this very options object.
        options.request = { ...base, signal: cut.signal };
        return await request(options);
      } catch (err) {
        if (caller?.aborted) throw caller.reason;
        if (cut.signal.aborted) {
          const pastDeadline = Date.now() >= ends;
          // A repeatable call may try again while the deadline lasts; another may have done its work.
          if (pastDeadline || !REPEATABLE.has(options.method) || attempt >= RETRY.maxAttempts) {
            throw new GitHubTimeoutError(options.method, options.url, (pastDeadline ? deadlineMs : attemptMs) / 1000, attempt);
          }
          continue;
        }
        const status = statusOf(err);
        const retryAfter = (err as { response?: { headers?: Record<string, string> } }).response?.headers?.['retry-after'];
        // 429, and 403 with Retry-After (a secondary rate limit), were turned away unprocessed:
        // safe to send again. A 5xx may have done the work, so only a repeatable call is resent.
        const turnedAway = status === 429 || (status === 403 && retryAfter !== undefined);
        const again = turnedAway || (status !== undefined && isTransientStatus(status) && REPEATABLE.has(options.method));
        const delay = Math.min(retryAfterMs(retryAfter, Date.now()) ?? backoffMs(RETRY, attempt - 1), RETRY.maxRetryAfterMs);
        // Past the deadline before the next attempt could start: GitHub's own answer is the error.
        if (!again || attempt >= RETRY.maxAttempts || Date.now() + delay >= ends) throw err;
        await sleep(delay, undefined, caller ? { signal: caller } : undefined).catch(() => {
          throw caller!.reason;
        });
      } finally {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onCancel);
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
