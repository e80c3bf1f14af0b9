// Client-side rate limiting per key (Fly: per machine, or per app for create/list).
// A token bucket alone (1/s, burst 3) lets a 4th request go exactly 1 s after a burst of
// 3, which a server clock a few ms off counts as 4 in one second; so each key also keeps
// its last `burst` send times and waits until the oldest is more than a window (plus a
// margin) old. Together: sustained `ratePerSecond`, never more than `burst` in any window.
import { realClock, type Clock } from './clock.js';

export interface PacerOptions {
  ratePerSecond?: number;
  burst?: number;
  /** Slack added to the 1 s window for clock skew and transit-time jitter. */
  marginMs?: number;
  clock?: Clock;
}

interface KeyState {
  tokens: number;
  refilledAt: number;
  /** Send times of the last `burst` requests, oldest first. */
  recent: number[];
  /** Waiters are served in order, one at a time. */
  queue: Promise<void>;
}

export class Pacer {
  private readonly rate: number;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly clock: Clock;
  private readonly keys = new Map<string, KeyState>();

  constructor(options: PacerOptions = {}) {
    this.rate = options.ratePerSecond ?? 1;
    this.burst = options.burst ?? 3;
    this.windowMs = 1000 + (options.marginMs ?? 100);
    this.clock = options.clock ?? realClock;
  }

  /** Waits until a request for `key` may be sent, and counts it as sent. */
  take(key: string, signal?: AbortSignal): Promise<void> {
    const state = this.state(key);
    const turn = state.queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted();
        const wait = this.waitMs(state);
        if (wait <= 0) break;
        await this.clock.sleep(wait, signal);
      }
      this.charge(state);
    });
    // A waiter that gave up (abort) must not block the ones behind it.
    state.queue = turn.catch(() => {});
    return turn;
  }

  /** Counts a request sent under another key against this one too (a create, for its new machine). */
  record(key: string): void {
    this.charge(this.state(key));
  }

  private state(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      state = { tokens: this.burst, refilledAt: this.clock.now(), recent: [], queue: Promise.resolve() };
      this.keys.set(key, state);
    }
    return state;
  }

  private refill(state: KeyState): void {
    const now = this.clock.now();
    state.tokens = Math.min(this.burst, state.tokens + ((now - state.refilledAt) * this.rate) / 1000);
    state.refilledAt = now;
  }

  private waitMs(state: KeyState): number {
    this.refill(state);
    const bucketWait = state.tokens >= 1 ? 0 : ((1 - state.tokens) * 1000) / this.rate;
    const windowWait = state.recent.length < this.burst ? 0 : state.recent[0] + this.windowMs - this.clock.now();
    return Math.ceil(Math.max(bucketWait, windowWait));
  }

  private charge(state: KeyState): void {
    this.refill(state);
    state.tokens -= 1;
    state.recent.push(this.clock.now());
    if (state.recent.length > this.burst) state.recent.shift();
  }
}
