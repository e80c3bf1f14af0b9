// Retry timing: backoff, Retry-After, and which failed requests may be sent again.
import { describe, expect, it } from 'vitest';
import { backoffMs, classifyTransportError, DEFAULT_RETRY, retryAfterMs } from '../../src/http/retry.js';

describe('retry timing', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(DEFAULT_RETRY, 0, () => 0)).toBe(125);
    expect(backoffMs(DEFAULT_RETRY, 0, () => 1)).toBe(250);
    expect(backoffMs(DEFAULT_RETRY, 3, () => 0.5)).toBe(1500);
    expect(backoffMs(DEFAULT_RETRY, 20, () => 1)).toBe(8000);
  });

  it('reads Retry-After as seconds or a date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it('tells a connection that never carried the request from one that may have', () => {
    const err = (code: string) => Object.assign(new Error('x'), { code });
    expect(classifyTransportError(err('ECONNREFUSED'))).toBe('before-send');
    expect(classifyTransportError(err('UND_ERR_SOCKET'))).toBe('after-send');
    expect(classifyTransportError(new Error('outer', { cause: err('ECONNRESET') }))).toBe('after-send');
    expect(classifyTransportError(new TypeError('bug'))).toBeUndefined();
  });
});
