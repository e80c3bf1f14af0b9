// The per-machine pacer: Fly's 1 request/s with a burst of 3, on a clock that moves only when asked.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/http/clock.js';
import { Pacer } from '../../src/http/pacer.js';

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
