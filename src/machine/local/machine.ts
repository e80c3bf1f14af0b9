// One container on the local Docker engine, seen through the Machine interface.
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentMachineError } from '../../errors.js';
import { ExecResult } from '../exec-result.js';
import type { Machine, MachineRef, MachineStatus } from '../machine.js';
import { DockerApiError, type DockerApi } from './docker-api.js';
import { STDERR, demux, wholeLines } from './demux.js';
import type { HijackedStream } from './hijack.js';

const SIGKILL_EXIT = 137;
const OOM_EVENT_LAG_MS = 250;

/** Exit code reported for an exec cut off by its timeout, as coreutils `timeout` does. */
export const EXEC_TIMEOUT_EXIT_CODE = 124;
/** As the fly backend's exec: a command that has not finished in a minute is cut off. */
const DEFAULT_EXEC_TIMEOUT_SECONDS = 60;
const MIB = 1024 * 1024;

export class LocalMachine implements Machine {
  /** Backend-blind vocabulary: `started` once running, then `stopped`/`failed`/`destroyed`. */
  lastState = 'started';
  /** Docker's stream ends by itself once delivered, though it can trail a big output by minutes. */
  readonly logGraceMs = 10 * 60_000;
  readonly ref: MachineRef;
  private readonly createdAt = Date.now();

  /** `output`: the container's multiplexed stream, attached before it started; `memoryBytes`: its limit (0: none). */
  constructor(
    private readonly api: DockerApi,
    readonly id: string,
    private readonly output: HijackedStream,
    private readonly memoryBytes = 0,
  ) {
    this.ref = { backend: 'local', id };
  }

  /**
   * What the container prints, from its first byte, read once; each chunk is valid until
   * the next is asked for (one read buffer is reused). The engine keeps no copy and hands
   * the output over only as fast as it is read: memory stays bounded, and a container
   * whose output nobody reads stalls once the pipes are full.
   */
  async *logs(stop: AbortSignal): AsyncIterable<Uint8Array> {
    // `stop` means the reader has what it needs: end quietly.
    const close = () => this.output.destroy();
    if (stop.aborted) {
      close();
      return;
    }
    stop.addEventListener('abort', close, { once: true });
    try {
      yield* wholeLines(demux(this.output));
    } catch (err) {
      if (!stop.aborted) throw err;
    } finally {
      stop.removeEventListener('abort', close);
      // However the reader leaves (stop, its own error), the attach must not stay open:
      // an unread attach blocks the container's output until the run times out.
      close();
    }
  }

  async wait(signal: AbortSignal): Promise<MachineStatus> {
    try {
      await this.api.waitContainer(this.id, signal);
      const state = await this.api.inspectContainer(this.id);
      let note: string | undefined;
      if (state.ExitCode === SIGKILL_EXIT && !state.OOMKilled) {
        // Unknown (the engine did not say what it is): ask for the event as Docker would want.
        if (await this.api.reportsOomKills().catch(() => true)) {
          // The engine learns of an OOM kill from a separate event that can trail the exit, and
          // may then leave the flag unset: ask for the event itself before calling a SIGKILL
          // something other than out of memory.
          await sleep(OOM_EVENT_LAG_MS);
          state.OOMKilled = await this.api.oomEventSeen(this.id, (Date.now() - this.createdAt) / 1000 + 1);
        } else if (this.memoryBytes > 0) {
          // An engine that never says (Podman): the kill may or may not have been the limit.
          note = `killed (exit ${SIGKILL_EXIT}), possibly out of memory (limit ${Math.round(this.memoryBytes / MIB)} MiB)`;
        }
      }
      // A live container the engine lost (dead) or could not run (Error) did not exit normally.
      const failed = state.OOMKilled || state.Dead || state.Status === 'dead' || state.Error !== '';
      this.lastState = failed ? 'failed' : 'stopped';
      return { state: this.lastState, exitCode: state.ExitCode, oomKilled: state.OOMKilled, ...(note ? { note } : {}) };
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
    const seconds = options.timeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS;
    const signal = AbortSignal.timeout(seconds * 1000);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    try {
      for await (const { stream, data } of this.api.execStart(execId, signal)) {
        (stream === STDERR ? stderr : stdout).push(data);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
      // The engine cannot kill an exec; the command may run on until the container goes.
      stderr.push(Buffer.from(`\ntimed out after ${seconds}s`));
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
