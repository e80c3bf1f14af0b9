// One container on the local Docker engine, seen through the Machine interface.
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentMachineError } from '../../errors.js';
import { ExecResult } from '../exec-result.js';
import type { LogControl, Machine, MachineStatus } from '../machine.js';
import { DockerApiError, type DockerApi } from './docker-api.js';
import { STDERR, demux, wholeLines } from './demux.js';
import type { HijackedStream } from './hijack.js';

const SIGKILL_EXIT = 137;
const OOM_EVENT_LAG_MS = 250;

/** Exit code reported for an exec cut off by its timeout, as coreutils `timeout` does. */
export const EXEC_TIMEOUT_EXIT_CODE = 124;

export class LocalMachine implements Machine {
  /** Backend-blind vocabulary: `started` once running, then `stopped`/`failed`/`destroyed`. */
  lastState = 'started';

  /** `output`: the container's multiplexed stream, attached before it started. */
  private readonly createdAt = Date.now();

  constructor(private readonly api: DockerApi, readonly id: string, private readonly output: HijackedStream) {}

  /**
   * What the container prints, from its first byte, read once; each chunk is valid until
   * the next is asked for (one read buffer is reused). The engine keeps no copy and hands
   * the output over only as fast as it is read: memory stays bounded, and a container
   * whose output nobody reads stalls once the pipes are full.
   */
  async *logs(control: LogControl): AsyncIterable<Uint8Array> {
    // `stop` means the reader has what it needs: end quietly.
    const stop = () => this.output.destroy();
    if (control.stop.aborted) {
      stop();
      return;
    }
    control.stop.addEventListener('abort', stop, { once: true });
    try {
      yield* wholeLines(demux(this.output));
    } catch (err) {
      if (!control.stop.aborted) throw err;
    } finally {
      control.stop.removeEventListener('abort', stop);
      // However the reader leaves (stop, its own error), the attach must not stay open:
      // an unread attach blocks the container's output until the run times out.
      stop();
    }
  }

  async wait(signal: AbortSignal): Promise<MachineStatus> {
    try {
      await this.api.waitContainer(this.id, signal);
      const state = await this.api.inspectContainer(this.id);
      if (state.ExitCode === SIGKILL_EXIT && !state.OOMKilled) {
        // The engine learns of an OOM kill from a separate event that can trail the exit, and
        // may then leave the flag unset: ask for the event itself before calling a SIGKILL
        // something other than out of memory.
        await sleep(OOM_EVENT_LAG_MS);
        state.OOMKilled = await this.api.oomEventSeen(this.id, (Date.now() - this.createdAt) / 1000 + 1);
      }
      // A live container the engine lost (dead) or could not run (Error) did not exit normally.
      const failed = state.OOMKilled || state.Dead || state.Status === 'dead' || state.Error !== '';
      this.lastState = failed ? 'failed' : 'stopped';
      return { state: this.lastState, exitCode: state.ExitCode, oomKilled: state.OOMKilled };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err instanceof DockerApiError && err.statusCode === 404) {
        this.lastState = 'destroyed';
        return { state: this.lastState, exitCode: null, oomKilled: false };
      }
      throw err;
    }
  }

  async exec(command: string[], options: { timeoutSeconds?: number } = {}): Promise<ExecResult> {
    const execId = await this.api.execCreate(this.id, command);
    const signal = options.timeoutSeconds ? AbortSignal.timeout(options.timeoutSeconds * 1000) : undefined;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    try {
      for await (const { stream, data } of this.api.execStart(execId, signal)) {
        (stream === STDERR ? stderr : stdout).push(data);
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
      // The engine cannot kill an exec; the command may run on until the container goes.
      stderr.push(Buffer.from(`\ntimed out after ${options.timeoutSeconds}s`));
      return new ExecResult(command, EXEC_TIMEOUT_EXIT_CODE, text(stdout), text(stderr));
    }
    const exitCode = await this.api.execExitCode(execId);
    if (exitCode === null) throw new AgentMachineError('DOCKER_API', `exec ${JSON.stringify(command)} in ${this.id} ended without an exit code`);
    return new ExecResult(command, exitCode, text(stdout), text(stderr));
  }

  async destroy(): Promise<void> {
    this.output.destroy();
    await this.api.removeContainer(this.id);
  }
}

function text(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString('utf8');
}
