import { describe, expect, it } from 'vitest';
import { AgentMachineError, FlyAPIError, ImageBuildError, InvalidConfigError, MachineExitError, MachineTimeoutError, wrapEngineError } from '../src/errors.js';

describe('errors', () => {
  it('turns an engine\'s [CODE] message into an error with that code, and anything else into ENGINE', () => {
    const wrapped = wrapEngineError(new Error('[KVM_UNAVAILABLE] no /dev/kvm here'));
    expect(wrapped).toBeInstanceOf(AgentMachineError);
    expect(wrapped).toMatchObject({ code: 'KVM_UNAVAILABLE', message: 'no /dev/kvm here' });
    expect(wrapped.cause).toBeInstanceOf(Error);
    expect(wrapEngineError('socket hang up')).toMatchObject({ code: 'ENGINE', message: 'socket hang up' });
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
  });

  it('carries what each failure needs to be handled without parsing messages', () => {
    expect(new MachineTimeoutError('m-2', 60, 'started', ['stuck'])).toMatchObject({ code: 'TIMEOUT', seconds: 60, state: 'started' });
    expect(new FlyAPIError(422, 'name taken', 'req-1')).toMatchObject({ code: 'FLY_API', statusCode: 422, requestId: 'req-1' });
    expect(new ImageBuildError(1, 'step 2 failed')).toMatchObject({ code: 'IMAGE_BUILD', returncode: 1, stderr: 'step 2 failed' });
  });
});
