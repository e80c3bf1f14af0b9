// The pieces with no server: pacing, retry timing, auth forms, the exit-code chain.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/http/clock.js';
import { Pacer } from '../../src/http/pacer.js';
import { backoffMs, classifyTransportError, DEFAULT_RETRY, retryAfterMs } from '../../src/http/retry.js';
import { authorization, bareToken, flyEndpoints } from '../../src/machine/fly/client.js';
import { exitStatus, readExit } from '../../src/machine/fly/exit.js';
import { parseImageRef } from '../../src/image/ref.js';
import type { FlyMachineObject } from '../../src/machine/fly/machines.js';

/** Time that moves only when someone sleeps. */
class FakeClock implements Clock {
  t = 1_000_000;
  now = () => this.t;
  sleep = async (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted();
    this.t += ms;
  };
}

function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) best = Math.max(best, times.filter((t) => t >= times[i] && t - times[i] < windowMs).length);
  return best;
}

describe('Pacer', () => {
  it('allows a burst of 3, then 1 per second, never 4 in any second (with margin)', async () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const start = clock.now();
    const sent: number[] = [];
    await Promise.all(Array.from({ length: 12 }, () => pacer.take('machine:a').then(() => sent.push(clock.now()))));
    expect(sent.slice(0, 3)).toEqual([start, start, start]);
    expect(maxInWindow(sent, 1100)).toBe(3);
    expect(sent[11] - sent[0]).toBeGreaterThanOrEqual(9000); // 9 more after the burst, 1/s
  });

  it('paces keys independently and counts a recorded request', async () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ clock });
    const start = clock.now();
    for (let i = 0; i < 3; i++) await pacer.take('machine:a');
    for (let i = 0; i < 3; i++) await pacer.take('machine:b');
    expect(clock.now()).toBe(start);
    pacer.record('machine:c');
    await pacer.take('machine:c');
    await pacer.take('machine:c');
    expect(clock.now()).toBe(start);
    await pacer.take('machine:c');
    expect(clock.now()).toBeGreaterThan(start);
  });

  it('lets an aborted waiter go without blocking the next', async () => {
    const pacer = new Pacer(); // real clock: the 4th waits ~1 s
    for (let i = 0; i < 3; i++) await pacer.take('k');
    const gaveUp = new AbortController();
    const abandoned = pacer.take('k', gaveUp.signal);
    gaveUp.abort(new Error('cancelled'));
    await expect(abandoned).rejects.toThrow('cancelled');
    const t0 = Date.now();
    await pacer.take('k');
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

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

describe('Fly client basics', () => {
  it('chooses FlyV1 or Bearer by the token form', () => {
    expect(authorization('FlyV1 fm2_abc,fm2_def')).toBe('FlyV1 fm2_abc,fm2_def');
    expect(authorization('fm2_abc')).toBe('FlyV1 fm2_abc');
    expect(authorization('fm1r_abc')).toBe('FlyV1 fm1r_abc');
    expect(authorization('fm1a_abc')).toBe('FlyV1 fm1a_abc');
    expect(authorization('personal-token')).toBe('Bearer personal-token');
    expect(bareToken('FlyV1 fm2_abc,fm2_def')).toBe('fm2_abc,fm2_def');
  });

  it("defaults to Fly's real endpoints", () => {
    expect(flyEndpoints({})).toEqual({ flaps: 'https://api.machines.dev', api: 'https://api.fly.io', registry: 'https://registry.fly.io' });
    expect(flyEndpoints({ FLY_FLAPS_BASE_URL: 'http://127.0.0.1:1' }).flaps).toBe('http://127.0.0.1:1');
  });

  it('splits image references as docker does', () => {
    expect(parseImageRef('registry.fly.io/app:agent-1')).toEqual({ host: 'registry.fly.io', repository: 'app', reference: 'agent-1' });
    expect(parseImageRef('127.0.0.1:5000/app')).toEqual({ host: '127.0.0.1:5000', repository: 'app', reference: 'latest' });
    expect(parseImageRef('registry.fly.io/app@sha256:ab')).toEqual({ host: 'registry.fly.io', repository: 'app', reference: 'sha256:ab' });
    expect(parseImageRef('ubuntu:24.04').host).toBe('docker.io');
  });
});

describe('exit-code chain', () => {
  const machine = (m: Partial<FlyMachineObject>): FlyMachineObject => ({ id: 'm1', state: 'stopped', ...m });
  const exitEvent = (exit: object, where: 'exit_event' | 'MonitorEvent' = 'exit_event') => ({
    type: 'exit', status: 'stopped', request: where === 'exit_event' ? { exit_event: exit } : { MonitorEvent: { exit_event: exit } },
  });

  it('takes the newest exit event, MonitorEvent before exit_event', () => {
    expect(readExit(machine({ events: [exitEvent({ exit_code: 2 }), exitEvent({ exit_code: 1 })] })).exitCode).toBe(2);
    expect(readExit(machine({ events: [{ type: 'exit', request: { MonitorEvent: { exit_event: { exit_code: 5 } }, exit_event: { exit_code: 6 } } }] })).exitCode).toBe(5);
  });

  it('reads an exit event without exit_code as 0, unless a signal or the OOM killer ended it', () => {
    expect(readExit(machine({ events: [exitEvent({ signal: -1, guest_signal: -1 })] })).exitCode).toBe(0);
    expect(readExit(machine({ events: [exitEvent({ signal: 9 })] })).exitCode).toBe(137);
    expect(readExit(machine({ events: [exitEvent({ oom_killed: true }, 'MonitorEvent')] }))).toEqual({ exitCode: 137, oomKilled: true });
  });

  it('falls back to the legacy paths, then to nothing', () => {
    expect(readExit(machine({ events: [{ type: 'exit', status: { exit_code: 4 } }] })).exitCode).toBe(4);
    expect(readExit(machine({ events: [{ type: 'exit', status: 'stopped' }], status: { exit_code: 8 } })).exitCode).toBe(8);
    expect(readExit(machine({ events: [{ type: 'start', status: 'started' }] })).exitCode).toBeNull();
  });

  it('maps to a MachineStatus: failed on OOM or state failed, stopped after a recorded exit', () => {
    expect(exitStatus(machine({ state: 'failed' }), 'failed')).toEqual({ state: 'failed', exitCode: null, oomKilled: false });
    expect(exitStatus(machine({ events: [exitEvent({ oom_killed: true, exit_code: 137 })] }), 'stopped').state).toBe('failed');
    expect(exitStatus(machine({ state: 'destroyed', events: [exitEvent({ exit_code: 1 })] }), 'destroyed')).toEqual({ state: 'stopped', exitCode: 1, oomKilled: false });
    expect(exitStatus(machine({ state: 'destroyed' }), 'destroyed').state).toBe('destroyed');
  });
});
