// Logs come from a different service (api.fly.io) by polling: at once after a full page
// (a backlog), a second after a partial one, doubling from 64 ms to ~4 s while idle. Not
// paced per machine: the Machines API limit does not cover it, and a backlog must drain
// fast after exit.
import { realClock as clock } from '../../http/clock.js';
import { FlyAPIError } from '../../errors.js';
import type { FlyClient } from './client.js';

interface LogsPage {
  data?: { id?: string; attributes?: { timestamp?: string; message?: string } }[];
  meta?: { next_token?: string };
}

const MIN_DELAY_MS = 64;
/** A page this long means more is waiting; a shorter one, that we are caught up. */
const FULL_PAGE = 100;
const CAUGHT_UP_DELAY_MS = 1000;
const MAX_DELAY_MS = 4096;
/** Pause between empty pages once the machine has exited: prompt, but not a busy loop. */
const AFTER_EXIT_POLL_MS = 250;
/**
 * Fly's logs lag the machine by a second or two, so a page that is empty right at exit
 * proves nothing: only an empty page asked for this long after exit ends the stream.
 */
const SETTLE_MS = 2000;

export interface LogControl {
  /** Aborted by the reader when it has read enough. */
  stop: AbortSignal;
  /** Settles when the machine has exited: from then on, read until caught up. */
  exited: Promise<void>;
}

/** Each entry's message and a newline, in order; ends on stop, or at an empty page once exit has settled. */
export async function* pollLogs(client: FlyClient, app: string, id: string, control: LogControl, warn: (message: string) => void): AsyncGenerator<string> {
  let exitedAt: number | undefined;
  const exit = new AbortController();
  const onExit = () => {
    exitedAt = clock.now();
    exit.abort();
  };
  control.exited.then(onExit, onExit);
  // Before exit an idle nap ends early when the machine exits.
  const nap = AbortSignal.any([control.stop, exit.signal]);
  let nextToken: string | undefined;
  let delay = MIN_DELAY_MS;
  let warned = false;
  while (!control.stop.aborted) {
    const settled = exitedAt !== undefined && clock.now() - exitedAt >= SETTLE_MS;
    let page: LogsPage | undefined;
    try {
      ({ body: page } = await client.logs.request<LogsPage>({
        method: 'GET',
        path: `/api/v1/apps/${encodeURIComponent(app)}/logs`,
        query: { instance: id, next_token: nextToken },
        signal: control.stop,
      }));
    } catch (err) {
      if (control.stop.aborted) return;
      if (err instanceof FlyAPIError && (err.statusCode === 401 || err.statusCode === 404)) {
        warn(`Stopped reading logs of machine ${id}: ${err.message}`);
        return;
      }
      if (!warned) warn(`Reading logs of machine ${id} failed, still trying: ${(err as Error).message}`);
      warned = true;
      if (settled) return;
    }
    const entries = page?.data ?? [];
    for (const entry of entries) yield `${entry.attributes?.message ?? ''}\n`;
    if (page?.meta?.next_token) nextToken = page.meta.next_token;
    if (entries.length === 0 && settled && page) return;
    delay = entries.length >= FULL_PAGE ? MIN_DELAY_MS : entries.length ? CAUGHT_UP_DELAY_MS : Math.min(delay * 2, MAX_DELAY_MS);
    if (exitedAt === undefined) await clock.sleep(delay, nap).catch(() => {});
    else if (!entries.length) await clock.sleep(AFTER_EXIT_POLL_MS, control.stop).catch(() => {});
  }
}
