// A model API that refuses the key ends the run at the first refusal, not after the retries.
import { describe, expect, it } from 'vitest';
import { watchForFatalApiError } from '../../src/agent/fatal.js';
import { emptyStats, type AgentStats } from '../../src/agent/stats.js';
import { ModelAPIError } from '../../src/errors.js';

describe('watchForFatalApiError', () => {
  it('aborts at the first 401, with a reason that makes a ModelAPIError', async () => {
    const stats: AgentStats = emptyStats();
    const watch = watchForFatalApiError(() => stats, 10);
    stats.apiErrorStatus = 529; // worth retrying: no stop
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(watch.signal.aborted).toBe(false);
    stats.apiErrorStatus = 401;
    stats.apiError = 'authentication_failed';
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(watch.signal.aborted).toBe(true);
    const error = (watch.signal.reason as (id: string, logs: string[]) => ModelAPIError)('m-1', ['Invalid API key']);
    expect(error).toBeInstanceOf(ModelAPIError);
    expect(error.message).toMatch(/^The model API answered 401 \(authentication_failed\)[^]*machine m-1 was stopped[^]*Invalid API key$/);
    watch.dispose();
  });
});
