// Which failures are worth another attempt, and how long to wait before it.

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this much. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

/** 408, 429 and 5xx: the platform is busy or slow, not telling us we are wrong. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** 429 means the request was turned away unprocessed; 408/5xx may have done the work. */
export function isRejectedUnprocessed(status: number): boolean {
  return status === 429;
}

// The connection never carried the request, so even a non-idempotent one can be resent.
const BEFORE_SEND = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH']);
// The connection broke after the request may have been sent: safe to resend only if idempotent.
const AFTER_SEND = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export type TransportFailure = 'before-send' | 'after-send' | undefined;

export function classifyTransportError(err: unknown): TransportFailure {
  const code = errorCode(err);
  if (code && BEFORE_SEND.has(code)) return 'before-send';
  if (code && AFTER_SEND.has(code)) return 'after-send';
  return undefined;
}

export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Exponential with "equal jitter": half fixed, half random, so clients spread out but never retry at once. */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
