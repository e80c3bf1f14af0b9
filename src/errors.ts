// Every error the action raises carries a machine-readable `code`, so callers branch on
// `err.code` (or instanceof) instead of parsing messages. Shapes follow the two seeds.

export class AgentMachineError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A bad or missing input, raised before any image or machine is touched. */
export class InvalidConfigError extends AgentMachineError {
  constructor(readonly input: string, problem: string) {
    super('INVALID_CONFIG', `Input '${input}': ${problem}`);
  }
}

export class NotSupportedError extends AgentMachineError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message);
  }
}

export class ExecutionError extends AgentMachineError {
  constructor(readonly command: string[], readonly exitCode: number, readonly stdout: string, readonly stderr: string) {
    super('COMMAND_FAILED', `Command ${JSON.stringify(command)} exited with ${exitCode}${stderr ? `: ${lastLines(stderr, 5)}` : ''}`);
  }
}

/** Non-zero exit or state `failed`; the message ends with the log tail so it diagnoses itself. */
export class MachineExitError extends AgentMachineError {
  constructor(readonly machineId: string, readonly exitCode: number | null, readonly state: string, readonly logs: string[], detail = '') {
    const how = exitCode === null ? `ended in state '${state}' with no exit code` : `exited with code ${exitCode} (state '${state}')`;
    super('MACHINE_EXIT', `Machine ${machineId} ${how}${detail}${tailBlock(logs)}`);
  }
}

export class FlyAPIError extends AgentMachineError {
  constructor(readonly statusCode: number, readonly detail: string, readonly requestId?: string, what = 'Fly API') {
    super('FLY_API', `${what} answered ${statusCode}: ${detail}${requestId ? ` (fly-request-id ${requestId})` : ''}`);
  }
}

export class ImageBuildError extends AgentMachineError {
  constructor(readonly returncode: number | null, readonly stderr: string, what = 'docker build') {
    super('IMAGE_BUILD', `${what} failed${returncode === null ? '' : ` with exit code ${returncode}`}${stderr ? `:\n${lastLines(stderr, 20)}` : ''}`);
  }
}

/** No exit within `wait_timeout`; the machine is destroyed anyway. */
export class MachineTimeoutError extends AgentMachineError {
  constructor(readonly machineId: string, readonly seconds: number, readonly state: string, readonly logs: string[]) {
    super('TIMEOUT', `Machine ${machineId} did not exit within ${seconds}s (last state '${state}')${tailBlock(logs)}`);
  }
}

/** Turns an engine's `[CODE] message` text (or error) into an AgentMachineError with that code. */
export function wrapEngineError(err: unknown): AgentMachineError {
  if (err instanceof AgentMachineError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const match = /^\s*\[([A-Z][A-Z0-9_]*)\]\s*([\s\S]*)$/.exec(text);
  const wrapped = match ? new AgentMachineError(match[1], match[2]) : new AgentMachineError('ENGINE', text);
  if (err instanceof Error) wrapped.cause = err;
  return wrapped;
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

function tailBlock(logs: string[]): string {
  const tail = logs.slice(-20);
  return tail.length ? `\nLast ${tail.length} log lines:\n${tail.join('\n')}` : '';
}
