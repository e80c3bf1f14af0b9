// What the deadline tests share: servers and proxies closed after each test, how long a call
// took to give up, and waiting for a proxy (./proxy.js) to hold the call a test cancels.
import { afterEach } from 'vitest';
import type { Proxy } from './proxy.js';

interface Closable {
  close(): Promise<void>;
}

/**
 * Registers an afterEach that closes what the test passed to the returned function, newest
 * first (a proxy before the server behind it); the function returns what it was given.
 */
export function closeAfterEach(): <T extends Closable>(thing: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (let thing = open.pop(); thing; thing = open.pop()) await thing.close();
  });
  return (thing) => {
    open.push(thing);
    return thing;
  };
}

/** How long `promise` takes to settle, and how it settled (error undefined when it resolved). */
export async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  return { ms: Date.now() - started, error };
}

/** Resolves once `proxy` holds a request: the moment to cancel the call it hangs. */
export async function untilHeld(proxy: Proxy): Promise<void> {
  while (!proxy.held.length) await new Promise((resolve) => setTimeout(resolve, 20));
}
