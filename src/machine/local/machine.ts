// One container on the local Docker engine, seen through the Machine interface.
import { AgentMachineError } from '../../errors.js';
import { ExecResult } from '../exec-result.js';
import type { LogControl, Machine, MachineStatus } from '../machine.js';
import { DockerApiError, type DockerApi } from './docker-api.js';
import { STDERR } from './demux.js';

/** Exit code reported for an exec cut off by its timeout, as coreutils `timeout` does. */
export const EXEC_TIMEOUT_EXIT_CODE = 124;

export class LocalMachine implements Machine {
  /** Backend-blind vocabulary: `started` once running, then `stopped`/`failed`/`destroyed`. */
  lastState = 'started';

  constructor(private readonly api: DockerApi, readonly id: string) {}

  /** The container's logs from its first byte (they are kept until destroy), so nothing is missed. */
  async *logs(control: LogControl): AsyncIterable<Uint8Array> {
    try {
      for await (const { data } of this.api.containerLogs(this.id, control.stop)) yield data;
    } catch (err) {
      // `stop` means the reader has what it needs: end quietly.
      if (!control.stop.aborted) throw err;
    }
  }

  async wait(signal: AbortSignal): Promise<MachineStatus> {
    try {
      await this.api.waitContainer(this.id, signal);
      const state = await this.api.inspectContainer(this.id);
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
    await this.api.removeContainer(this.id);
  }
}

function text(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString('utf8');
}
