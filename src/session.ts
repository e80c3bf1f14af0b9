// What the action's own process contributes to a run: the cancel a SIGINT/SIGTERM from the
// runner means, warnings and notices held until workflow commands are back, and the run's clock.
import * as core from '@actions/core';
import type { Secrets } from './secrets.js';

export class Session {
  private readonly abort = new AbortController();
  private readonly startedAt = performance.now();
  // Annotations raised while workflow commands are paused (image build, agent output) would
  // print as plain text: they are kept and issued once commands are back.
  private readonly held: { level: 'warning' | 'notice'; message: string }[] = [];

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get cancel(): AbortSignal {
    return this.abort.signal;
  }

  readonly warn = (message: string): void => {
    this.held.push({ level: 'warning', message });
  };

  readonly notice = (message: string): void => {
    this.held.push({ level: 'notice', message });
  };

  elapsedSeconds(): number {
    return Math.round((performance.now() - this.startedAt) / 100) / 10;
  }

  issueHeld(secrets: Secrets): void {
    for (const { level, message } of this.held.splice(0)) core[level](secrets.redact(message));
  }

  close(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    // The runner sends SIGINT, then SIGTERM 7.5 s later: both only hasten the cleanup.
    if (!this.abort.signal.aborted) {
      core.info(`${signal} received: destroying the machine before exiting`);
      this.warn(`The run was cancelled (${signal}); its machine was destroyed before the step ended`);
    }
    this.abort.abort(signal);
  };
}

/**
 * Ends the process once what it printed has reached the runner: a bare process.exit() can drop
 * the last lines (the `::error::` among them) while a slow pipe still holds them. Exiting at
 * all matters: idle keep-alive sockets and timers must not keep the step alive.
 */
export async function exitWhenFlushed(): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit();
}
