import { describe, expect, it } from 'vitest';
import {
  AgentMachineError,
  CancelledError,
  EngineError,
  FlyAPIError,
  GitHubAPIError,
  ImageBuildError,
  InvalidConfigError,
  isAgentVerdict,
  withoutTail,
  MachineExitError,
  MachineTimeoutError,
  wrapEngineError,
} from '../src/errors.js';

describe('errors', () => {
  it("turns an engine's [CODE] message into an EngineError keeping that code, and anything else into ENGINE", () => {
    const wrapped = wrapEngineError(new Error('[KVM_UNAVAILABLE] no /dev/kvm here'));
    expect(wrapped).toBeInstanceOf(EngineError);
    expect(wrapped).toMatchObject({ code: 'ENGINE', engineCode: 'KVM_UNAVAILABLE', message: 'no /dev/kvm here', name: 'EngineError' });
    expect(wrapped.cause).toBeInstanceOf(Error);
    expect(wrapEngineError('socket hang up')).toMatchObject({ code: 'ENGINE', engineCode: 'ENGINE', message: 'socket hang up' });
    const own = new InvalidConfigError('backend', 'bad');
    expect(wrapEngineError(own)).toBe(own);
  });

  it('ends a machine exit message with the last 20 log lines, like the seed', () => {
    const logs = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const err = new MachineExitError('m-1', 3, 'stopped', logs);
    expect(err).toMatchObject({ code: 'MACHINE_EXIT', machineId: 'm-1', exitCode: 3, state: 'stopped', logs });
    expect(err.message.split('\n').slice(-20)).toEqual(logs.slice(-20));
    expect(err.message).not.toContain('line 10\n');
    expect(new MachineExitError('m-1', null, 'failed', []).message).toBe("Machine m-1 ended in state 'failed' with no exit code");
    expect(new MachineExitError('m-1', 137, 'failed', [], true).message).toMatch(/OOM-killed/);
  });

  it('carries what each failure needs to be handled without parsing messages', () => {
    expect(new InvalidConfigError('wait_timeout', 'too long')).toMatchObject({
      code: 'INVALID_CONFIG',
      input: 'wait_timeout',
      message: "Input 'wait_timeout': too long",
    });
    expect(new MachineTimeoutError('m-2', 60, 'started', ['stuck'])).toMatchObject({ code: 'TIMEOUT', seconds: 60, state: 'started' });
    expect(new FlyAPIError(422, 'name taken', 'req-1', 'name_taken')).toMatchObject({
      code: 'FLY_API',
      statusCode: 422,
      requestId: 'req-1',
      status: 'name_taken',
    });
    expect(new ImageBuildError(1, 'step 2 failed')).toMatchObject({ code: 'IMAGE_BUILD', exitCode: 1, stderr: 'step 2 failed' });
    expect(new GitHubAPIError('permission check', 403, 'forbidden')).toMatchObject({
      code: 'GITHUB_API',
      statusCode: 403,
      message: 'GitHub API (permission check) answered 403: forbidden',
    });
    expect(new CancelledError('m-3')).toMatchObject({ code: 'CANCELLED', machineId: 'm-3', message: expect.stringContaining('machine m-3 was destroyed') });
    expect(new CancelledError().message).toMatch(/before any machine was created/);
  });

  it("tells the agent's own verdict from a failure of the platform around it", () => {
    expect(isAgentVerdict(new MachineExitError('m', 1, 'stopped', []))).toBe(true);
    expect(isAgentVerdict(new MachineTimeoutError('m', 1, 'started', []))).toBe(true);
    for (const other of [new CancelledError(), new ImageBuildError(1, ''), new FlyAPIError(500, 'x'), new AgentMachineError('NOT_SUPPORTED', 'x')]) {
      expect(isAgentVerdict(other)).toBe(false);
    }
  });

  it('gives a message back without the log lines it ends with, and leaves other messages whole', () => {
    const err = new MachineExitError('m-4', 2, 'stopped', ['one', 'two']);
    expect(err.message).toContain('Last 2 log lines:\none\ntwo');
    expect(withoutTail(err.message)).toBe(new MachineExitError('m-4', 2, 'stopped', []).message);
    expect(withoutTail("Input 'prompt': missing")).toBe("Input 'prompt': missing");
  });
});
