// A small JSON-over-HTTP client for one origin (undici Pool): auth and other fixed headers,
// pacing per key, bounded retries with jittered backoff for transient failures, and a
// deadline on every attempt and on every request as a whole, so a hung server ends in an error.
// Written here rather than with undici's RetryAgent because every attempt must pass the
// pacer, and a non-idempotent request (a create) must be reconciled between attempts.
import { Pool, type Dispatcher } from 'undici';
import { realClock as clock } from './clock.js';
import type { Pacer } from './pacer.js';
import { backoffMs, classifyTransportError, DEFAULT_RETRY, isRejectedUnprocessed, isTransientStatus, retryAfterMs, type RetryPolicy } from './retry.js';

export interface HttpAnswer<T> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export interface FailedAnswer {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface NoAnswer {
  method: string;
  path: string;
  cause: unknown;
  attempts: number;
  /** Set when the request's deadline ended it (after this many ms, retries included). */
  timedOutAfterMs?: number;
}

/** How long one request may take; see the defaults below for why those values. */
export interface HttpTimeouts {
  /** One attempt, from sending to the last byte of the answer. */
  attemptMs?: number;
  /** The whole request: every attempt, pacing, backoff and Retry-After waits. */
  deadlineMs?: number;
}

export interface HttpClientOptions {
  baseUrl: string;
  headers?: Record<string, string>;
  pacer?: Pacer;
  retry?: Partial<RetryPolicy>;
  timeouts?: HttpTimeouts;
  /** The error for an answer that is neither 2xx nor accepted, once retries are spent. */
  statusError: (answer: FailedAnswer) => Error;
  /** The error for a request that got no answer, once retries are spent. */
  transportError: (failure: NoAnswer) => Error;
}

export interface HttpRequest<T> {
  method: Dispatcher.HttpMethod;
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  headers?: Record<string, string>;
  /** Rate-limit bucket for this request; none means unpaced. */
  paceKey?: string;
  signal?: AbortSignal;
  /** Non-2xx statuses that are answers rather than errors (404 on a destroy, 408 on a wait). */
  accept?: number[];
  /** Longest wait for one attempt's answer, when it may take longer than the client's default. */
  timeoutMs?: number;
  /** Longest time for the whole request, retries included; default: the client's, and never less than `timeoutMs`. */
  deadlineMs?: number;
  /**
   * For a non-idempotent request whose answer may have been lost (408/5xx, connection
   * dropped after sending): finds what the request made, if it made anything. Without it
   * such a failure is final, since resending could do the work twice.
   */
  reconcile?: (signal: AbortSignal) => Promise<T | undefined>;
}

/**
 * Fly's APIs answer an ordinary call in well under a second; an attempt silent for 30 s is a
 * hung connection, worth cutting and retrying while the deadline leaves room. Long calls
 * (the 60 s /wait long-poll, exec) ask for more with `timeoutMs`.
 */
const DEFAULT_ATTEMPT_MS = 30_000;
/**
 * The retry policy's worst case without Retry-After (6 attempts, under 8 s of backoff in all)
 * fits with room for slow answers, as does one Retry-After of up to a minute. A platform that has not
 * answered in 2 minutes is down for this run: better a clear error than a step that waits.
 */
const DEFAULT_DEADLINE_MS = 120_000;

type Attempt = { kind: 'answer'; status: number; headers: Record<string, string>; text: string } | { kind: 'no-answer'; cause: unknown };

export class HttpClient {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly retry: RetryPolicy;
  private readonly attemptMs: number;
  private readonly deadlineMs: number;

  constructor(private readonly options: HttpClientOptions) {
    const base = new URL(options.baseUrl);
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.attemptMs = options.timeouts?.attemptMs ?? DEFAULT_ATTEMPT_MS;
    this.deadlineMs = options.timeouts?.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.pool = new Pool(base.origin, { connections: 8, headersTimeout: this.attemptMs, bodyTimeout: this.attemptMs });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /**
   * Rejects with the caller's abort reason when `req.signal` fires, and with the
   * transportError (`timedOutAfterMs` set) when the request's deadline passes first.
   */
  async request<T>(req: HttpRequest<T>): Promise<HttpAnswer<T>> {
    const path = this.prefix + req.path + queryString(req.query);
    const deadlineMs = req.deadlineMs ?? Math.max(this.deadlineMs, req.timeoutMs ?? 0);
    const deadline = AbortSignal.timeout(deadlineMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
    const progress = { attempts: 0 };
    try {
      return await this.attempts(req, path, signal, progress);
    } catch (err) {
      if (!deadline.aborted || req.signal?.aborted) throw err;
      throw this.options.transportError({ method: req.method, path, cause: err, attempts: progress.attempts, timedOutAfterMs: deadlineMs });
    }
  }

  private async attempts<T>(req: HttpRequest<T>, path: string, signal: AbortSignal, progress: { attempts: number }): Promise<HttpAnswer<T>> {
    const idempotent = !['POST', 'PATCH'].includes(req.method);
    for (let attempt = 1; ; attempt++) {
      if (req.paceKey && this.options.pacer) await this.options.pacer.take(req.paceKey, signal);
      progress.attempts = attempt;
      const result = await this.send(req, path, signal);
      let transient: boolean;
      let ambiguous: boolean;
      let delay: number;
      let fail: () => Error;
      if (result.kind === 'answer') {
        const { status, headers, text } = result;
        if ((status >= 200 && status < 300) || req.accept?.includes(status)) return { status, headers, body: parseBody(text) as T };
        fail = () => this.options.statusError({ method: req.method, path, status, headers, text });
        transient = isTransientStatus(status);
        ambiguous = transient && !idempotent && !isRejectedUnprocessed(status);
        const asked = retryAfterMs(headers['retry-after'], clock.now());
        delay = asked === undefined ? this.backoff(attempt) : Math.min(asked, this.retry.maxRetryAfterMs);
      } else {
        const failure = classifyTransportError(result.cause);
        fail = () => this.options.transportError({ method: req.method, path, cause: result.cause, attempts: attempt });
        transient = failure !== undefined;
        ambiguous = !idempotent && failure === 'after-send';
        delay = this.backoff(attempt);
      }
      const again = transient && attempt < this.retry.maxAttempts;
      if (ambiguous && req.reconcile) {
        // Look even when giving up: a request that did its work must not be orphaned.
        await clock.sleep(delay, signal);
        const found = await req.reconcile(signal);
        if (found !== undefined) return { status: 200, headers: {}, body: found };
        if (!again) throw fail();
        continue;
      }
      if (!again || ambiguous) throw fail();
      await clock.sleep(delay, signal);
    }
  }

  private backoff(attempt: number): number {
    return backoffMs(this.retry, attempt - 1);
  }

  private async send<T>(req: HttpRequest<T>, path: string, signal: AbortSignal): Promise<Attempt> {
    const headers: Record<string, string> = { ...this.options.headers, ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    try {
      const timeouts = req.timeoutMs ? { headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs } : {};
      const res = await this.pool.request({ method: req.method, path, headers, body, signal, ...timeouts });
      const text = await res.body.text();
      return { kind: 'answer', status: res.statusCode, headers: flattenHeaders(res.headers), text };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      return { kind: 'no-answer', cause: err };
    }
  }
}

function queryString(query: HttpRequest<unknown>['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.append(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (value !== undefined) flat[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}
