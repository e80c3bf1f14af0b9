// The error catalogue. Every error the action raises carries a machine-readable `code` from
// one closed list, so callers branch on `err.code` (or instanceof), never on message text.
// Shapes follow the two seeds; field names are the same across classes (machineId, exitCode,
// state, logs, statusCode, detail).
//
// Boundary policy (applied in report/failure.ts):
// - the agent's own verdict (MachineExitError, MachineTimeoutError, MachineStalledError,
//   ModelAPIError) fails the step, or is a warning when raise_on_failure is false;
// - every other error that ends the run (bad input, image build, platform API, cancel) fails
//   the step whatever raise_on_failure says;
// - reporting side effects (PR comment, opened pull request, job summary) never fail the
//   step: they are warnings, since the run itself already happened.

export type ErrorCode =
  | 'INVALID_CONFIG'
  | 'NOT_SUPPORTED'
  | 'COMMAND_FAILED'
  | 'MACHINE_EXIT'
  | 'TIMEOUT'
  | 'STALLED'
  | 'MODEL_API'
  | 'CANCELLED'
  | 'IMAGE_BUILD'
  | 'IMAGE_NOT_FOUND'
  | 'FLY_API'
  | 'DOCKER_API'
  | 'DOCKER_UNAVAILABLE'
  | 'GITHUB_API'
  /** Anything else an engine threw; EngineError keeps the engine's own code. */
  | 'ENGINE';

export class AgentMachineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A bad or missing input, raised before any image or machine is touched. */
export class InvalidConfigError extends AgentMachineError {
  constructor(
    readonly input: string,
    problem: string,
  ) {
    super('INVALID_CONFIG', `Input '${input}': ${problem}`);
  }
}

export class NotSupportedError extends AgentMachineError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message);
  }
}

export class ExecutionError extends AgentMachineError {
  constructor(
    readonly command: string[],
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super('COMMAND_FAILED', `Command ${JSON.stringify(command)} exited with ${exitCode}${stderr ? `: ${lastLines(stderr, 5)}` : ''}`);
  }
}

/** Non-zero exit or state `failed`; the message ends with the log tail so it diagnoses itself. */
export class MachineExitError extends AgentMachineError {
  constructor(
    readonly machineId: string,
    readonly exitCode: number | null,
    readonly state: string,
    readonly logs: string[],
    readonly oomKilled = false,
    /** What the platform adds, e.g. an engine that can't tell an OOM kill from another SIGKILL. */
    readonly note?: string,
  ) {
    const how = exitCode === null ? `ended in state '${state}' with no exit code` : `exited with code ${exitCode} (state '${state}')`;
    const why = oomKilled ? ' (out of memory: the machine was OOM-killed)' : note ? `: ${note}` : '';
    super('MACHINE_EXIT', `Machine ${machineId} ${how}${why}${tailBlock(logs)}`);
  }
}

/** No exit within `wait_timeout`; the machine is destroyed anyway. */
export class MachineTimeoutError extends AgentMachineError {
  constructor(
    readonly machineId: string,
    readonly seconds: number,
    readonly state: string,
    readonly logs: string[],
  ) {
    super('TIMEOUT', `Machine ${machineId} did not exit within ${seconds}s (last state '${state}')${tailBlock(logs)}`);
  }
}

/** No output and no agent event for `idle_timeout` seconds: the machine is stopped early. */
export class MachineStalledError extends AgentMachineError {
  constructor(
    readonly machineId: string,
    readonly seconds: number,
    readonly logs: string[],
  ) {
    super('STALLED', `Machine ${machineId} printed nothing for ${seconds}s (idle_timeout), so it was stopped${tailBlock(logs)}`);
  }
}

/** The model API refused in a way retrying can't fix (a bad key): the run is ended at once. */
export class ModelAPIError extends AgentMachineError {
  constructor(
    readonly machineId: string,
    readonly statusCode: number,
    readonly detail: string,
    readonly logs: string[],
  ) {
    super('MODEL_API', `The model API answered ${statusCode} (${detail}); retrying can't fix that, so machine ${machineId} was stopped${tailBlock(logs)}`);
  }
}

/** SIGINT/SIGTERM from the runner: the machine, if any, was destroyed. */
export class CancelledError extends AgentMachineError {
  constructor(readonly machineId?: string) {
    super('CANCELLED', machineId ? `The run was cancelled; machine ${machineId} was destroyed` : 'The run was cancelled before any machine was created');
  }
}

/** Fly answered ≥ 400 after retries. `status` is Fly's own error status (`name_taken`, …), kept as data. */
export class FlyAPIError extends AgentMachineError {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
    readonly requestId?: string,
    readonly status?: string,
    what = 'Fly API',
  ) {
    super('FLY_API', `${what} answered ${statusCode}: ${detail}${requestId ? ` (fly-request-id ${requestId})` : ''}`);
  }
}

/** A GitHub REST call the run cannot go on without (permission check, PR lookup). */
export class GitHubAPIError extends AgentMachineError {
  constructor(
    readonly what: string,
    readonly statusCode: number | undefined,
    detail: string,
  ) {
    super('GITHUB_API', `GitHub API (${what}) ${statusCode ? `answered ${statusCode}` : 'failed'}: ${detail}`);
  }
}

export class ImageBuildError extends AgentMachineError {
  constructor(
    readonly exitCode: number | null,
    readonly stderr: string,
    what = 'docker build',
  ) {
    super('IMAGE_BUILD', `${what} failed${exitCode === null ? '' : ` with exit code ${exitCode}`}${stderr ? `:\n${lastLines(stderr, 20)}` : ''}`);
  }
}

/** An engine's `[CODE] message` error (the SDK seed's form); `engineCode` is the engine's own code. */
export class EngineError extends AgentMachineError {
  constructor(
    readonly engineCode: string,
    message: string,
  ) {
    super('ENGINE', message);
  }
}

/** Turns anything thrown by an engine into an AgentMachineError, keeping an engine's `[CODE]`. */
export function wrapEngineError(err: unknown): AgentMachineError {
  if (err instanceof AgentMachineError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const match = /^\s*\[([A-Z][A-Z0-9_]*)\]\s*([\s\S]*)$/.exec(text);
  const wrapped = match ? new EngineError(match[1], match[2]) : new EngineError('ENGINE', text);
  if (err instanceof Error) wrapped.cause = err;
  return wrapped;
}

/** The agent's own verdict, as opposed to a failure of the platform around it. */
export function isAgentVerdict(err: AgentMachineError): boolean {
  return err instanceof MachineExitError || err instanceof MachineTimeoutError || err instanceof MachineStalledError || err instanceof ModelAPIError;
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

const TAIL_HEADING = /\nLast \d+ log lines:\n/;

function tailBlock(logs: string[]): string {
  const tail = logs.slice(-20);
  return tail.length ? `\nLast ${tail.length} log lines:\n${tail.join('\n')}` : '';
}

/** An error's message without the log lines it ends with: for a report that shows the tail anyway. */
export function withoutTail(message: string): string {
  const heading = TAIL_HEADING.exec(message);
  return heading ? message.slice(0, heading.index) : message;
}
