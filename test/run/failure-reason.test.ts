// failure_reason: one word for why, from the error, the agent's events and the image's exit codes.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../src/agent/stats.js';
import {
  CancelledError,
  FlyAPIError,
  ImageBuildError,
  InvalidConfigError,
  MachineExitError,
  MachineStalledError,
  MachineTimeoutError,
  ModelAPIError,
} from '../../src/errors.js';
import { failureReason } from '../../src/run/failure-reason.js';

const exit = (code: number | null, oom = false) => new MachineExitError('m', code, oom ? 'failed' : 'stopped', [], oom);

describe('failureReason', () => {
  it.each([
    ['success', { conclusion: 'success' as const }, undefined],
    ['skipped', { conclusion: 'skipped' as const }, undefined],
    ['cancelled', { conclusion: 'cancelled' as const, failure: new CancelledError('m') }, 'cancelled'],
    ['timeout', { conclusion: 'timeout' as const, failure: new MachineTimeoutError('m', 60, 'started', []) }, 'timeout'],
    ['stalled', { conclusion: 'timeout' as const, failure: new MachineStalledError('m', 60, []) }, 'stalled'],
    ['bad input', { conclusion: 'failure' as const, failure: new InvalidConfigError('env', 'bad') }, 'bad_input'],
    ['image build', { conclusion: 'failure' as const, failure: new ImageBuildError(1, 'no') }, 'image_build'],
    ['platform', { conclusion: 'failure' as const, failure: new FlyAPIError(503, 'down') }, 'platform_error'],
    ['oom', { conclusion: 'failure' as const, failure: exit(137, true) }, 'oom'],
    ['clone', { conclusion: 'failure' as const, failure: exit(3) }, 'clone_failed'],
    ['push', { conclusion: 'failure' as const, failure: exit(4) }, 'push_failed'],
    ['image bad input', { conclusion: 'failure' as const, failure: exit(2) }, 'bad_input'],
    ['firewall not set up', { conclusion: 'failure' as const, failure: exit(5) }, 'egress_setup'],
    ['agent', { conclusion: 'failure' as const, failure: exit(1) }, 'agent_error'],
  ])('%s', (_name, input, reason) => {
    expect(failureReason({ ...input, bundledImage: true })).toBe(reason);
  });

  it("another image's exit codes are its own", () => {
    expect(failureReason({ conclusion: 'failure', failure: exit(3), bundledImage: false })).toBe('agent_error');
    expect(failureReason({ conclusion: 'failure', failure: exit(5), bundledImage: false })).toBe('agent_error');
  });

  it.each([
    [{ apiErrorStatus: 401 }, 'auth'],
    [{ apiError: 'authentication_failed' }, 'auth'],
    [{ apiErrorStatus: 429 }, 'rate_limited'],
    [{ apiErrorStatus: 529 }, 'overloaded'],
    [{ subtype: 'error_max_turns' }, 'max_turns'],
  ])('the agent events %j say %s', (stats, reason) => {
    const agent = { ...emptyStats(), ...stats };
    expect(failureReason({ conclusion: 'failure', failure: exit(1), agent, bundledImage: true })).toBe(reason);
    expect(failureReason({ conclusion: 'failure', failure: new ModelAPIError('m', 401, 'x', []), agent, bundledImage: true })).toBe(reason);
  });
});
