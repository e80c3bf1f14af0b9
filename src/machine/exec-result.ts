import { ExecutionError } from '../errors.js';

/** The outcome of a command run inside a machine; check it without throwing, or assert. */
export class ExecResult {
  constructor(
    readonly command: string[],
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {}

  get success(): boolean {
    return this.exitCode === 0;
  }

  assertSuccess(): this {
    if (!this.success) throw new ExecutionError(this.command, this.exitCode, this.stdout, this.stderr);
    return this;
  }
}
