// A small JSON-over-HTTP client for one origin (undici Pool): auth and other fixed headers,
// pacing per key, and bounded retries with jittered backoff for transient failures.
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
}

export interface HttpClientOptions {
  baseUrl: string;
  headers?: Record<string, string>;
  pacer?: Pacer;
  retry?: Partial<RetryPolicy>;
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
  /** Longest wait for this answer, when it may take longer than the default 90 s. */
  timeoutMs?: number;
  /**
   * For a non-idempotent request whose answer may have been lost (408/5xx, connection
   * dropped after sending): finds what the request made, if it made anything. Without it
   * such a failure is final, since resending could do the work twice.
   */
  reconcile?: () => Promise<T | undefined>;
}

/** Room for a 60 s long-poll (Fly's /wait) and a slow platform on top. */
const DEFAULT_TIMEOUT_MS = 90_000;

type Attempt = { kind: 'answer'; status: number; headers: Record<string, string>; text: string } | { kind: 'no-answer'; cause: unknown };

export class HttpClient {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: HttpClientOptions) {
    const base = new URL(options.baseUrl);
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, { connections: 8, headersTimeout: DEFAULT_TIMEOUT_MS, bodyTimeout: DEFAULT_TIMEOUT_MS });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  async request<T>(req: HttpRequest<T>): Promise<HttpAnswer<T>> {
    const idempotent = !['POST', 'PATCH'].includes(req.method);
    const path = this.prefix + req.path + queryString(req.query);
    for (let attempt = 1; ; attempt++) {
      if (req.paceKey && this.options.pacer) await this.options.pacer.take(req.paceKey, req.signal);
      const result = await this.send(req, path);
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
        await clock.sleep(delay, req.signal);
        const found = await req.reconcile();
        if (found !== undefined) return { status: 200, headers: {}, body: found };
        if (!again) throw fail();
        continue;
      }
      if (!again || ambiguous) throw fail();
      await clock.sleep(delay, req.signal);
    }
  }

  private backoff(attempt: number): number {
    return backoffMs(this.retry, attempt - 1);
  }

  private async send<T>(req: HttpRequest<T>, path: string): Promise<Attempt> {
    const headers: Record<string, string> = { ...this.options.headers, ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    try {
      const timeouts = req.timeoutMs ? { headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs } : {};
      const res = await this.pool.request({ method: req.method, path, headers, body, signal: req.signal, ...timeouts });
      const text = await res.body.text();
      return { kind: 'answer', status: res.statusCode, headers: flattenHeaders(res.headers), text };
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
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
