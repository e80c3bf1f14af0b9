// One Fly Machine, seen through the Machine interface.
import { ExecResult } from '../exec-result.js';
import type { Machine, MachineRef, MachineStatus } from '../machine.js';
import type { FlyClient } from './client.js';
import { pollLogs } from './logs.js';
import { destroyMachine, execMachine, getMachine } from './machines.js';
import { waitForExit } from './wait.js';

export class FlyMachine implements Machine {
  /** Fly's logs arrive seconds late and never say they are complete. */
  readonly logGraceMs = 10_000;
  readonly ref: MachineRef;
  /** Settles once waiting ends, however: the log poller then reads until it has caught up. */
  private readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(
    private readonly client: FlyClient,
    readonly app: string,
    readonly id: string,
    public lastState: string,
    private readonly warn: (message: string) => void,
  ) {
    this.ref = { backend: 'fly', id, app };
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  logs(stop: AbortSignal): AsyncIterable<string> {
    return pollLogs(this.client, this.app, this.id, { stop, exited: this.exited }, this.warn);
  }

  async wait(signal: AbortSignal): Promise<MachineStatus> {
    try {
      const status = await waitForExit(this.client, this.app, this.id, signal, (state) => {
        this.lastState = state;
      });
      this.lastState = status.state;
      return status;
    } catch (err) {
      // Cut short (timeout, cancel) before a /wait came back, the last state seen is the
      // create's `created`: ask once what it is now, so the outputs say where it was stuck.
      if (signal.aborted) {
        const now = await getMachine(this.client, this.app, this.id, AbortSignal.timeout(5000)).catch(() => undefined);
        if (now) this.lastState = now.state;
      }
      throw err;
    } finally {
      this.markExited();
    }
  }

  async exec(command: string[], options: { timeoutSeconds?: number } = {}): Promise<ExecResult> {
    const answer = await execMachine(this.client, this.app, this.id, command, options.timeoutSeconds ?? 60);
    // exit_code is omitted when 0; a signal-killed command reports as a shell would.
    const exitCode = answer.exit_code ?? (answer.exit_signal && answer.exit_signal > 0 ? 128 + answer.exit_signal : 0);
    return new ExecResult(command, exitCode, answer.stdout ?? '', answer.stderr ?? '');
  }

  async destroy(): Promise<void> {
    this.markExited();
    await destroyMachine(this.client, this.app, this.id);
    this.lastState = 'destroyed';
  }
}
