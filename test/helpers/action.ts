// The runner's side of a step, in one place: inputs as INPUT_* variables, file commands in
// GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY, the event in GITHUB_EVENT_PATH, state
// handed to the post step as STATE_* variables. runAction runs the bundled dist/ entry points
// with it, the way the runner does (tests, the bench, the demo); runnerStep alone serves a
// test that calls src/main.ts in process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionRoot } from '../../src/config/action-root.js';

/** The repository, found the way the action finds itself: also right from a bundle (the bench's). */
export const ROOT = actionRoot();

/** The files the runner gives a step, by the variables that name them. */
export interface RunnerFiles {
  GITHUB_OUTPUT: string;
  GITHUB_STATE: string;
  GITHUB_STEP_SUMMARY: string;
  GITHUB_EVENT_PATH: string;
}

export interface StepOptions {
  inputs?: Record<string, string>;
  /** Variables on top of the runner's; they win. */
  env?: Record<string, string>;
  eventName?: string;
  event?: unknown;
  /** The state a previous main step saved (for the post step). */
  state?: Record<string, string>;
  /** The step's RUNNER_TEMP and working directory; a new temp dir when absent. */
  workDir?: string;
  /** Names the step's files, so a post step run in the main step's workDir keeps the main step's. */
  entry?: 'index.js' | 'post.js';
}

export interface RunnerStep {
  workDir: string;
  files: RunnerFiles;
  /** Every variable the step gets: the runner's own, the files, INPUT_* and STATE_*. */
  env: Record<string, string>;
}

/** Makes the step's files (empty, the event written) and the environment that points at them. */
export function runnerStep(options: StepOptions = {}): RunnerStep {
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'amt-runner-'));
  const entry = options.entry ?? 'index.js';
  const files: RunnerFiles = {
    GITHUB_OUTPUT: join(workDir, `output-${entry}`),
    GITHUB_STATE: join(workDir, `state-${entry}`),
    GITHUB_STEP_SUMMARY: join(workDir, `summary-${entry}`),
    GITHUB_EVENT_PATH: join(workDir, 'event.json'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(options.event ?? {}));

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    RUNNER_TEMP: workDir,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: options.eventName ?? 'workflow_dispatch',
    GITHUB_REPOSITORY: 'octo-org/octo-repo',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_ACTOR: 'octocat',
    GITHUB_SHA: '0000000000000000000000000000000000000000',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKFLOW: 'test',
    GITHUB_JOB: 'agent',
    ...files,
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs ?? {})) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  return { workDir, files, env };
}

/** What a step left in its files. */
export interface StepFiles {
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
}

export function readStepFiles(files: RunnerFiles): StepFiles {
  return {
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

export interface ActionRun extends StepFiles {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** `::error ...::message` and friends, decoded. */
  commands: WorkflowCommand[];
  workDir: string;
  files: RunnerFiles;
}

export interface ActionOptions extends StepOptions {
  /** Send these signals at these times (ms after start), like the runner cancelling a job. */
  signals?: { afterMs: number; signal: NodeJS.Signals }[];
  /** Send the signals once stdout contains this text (times then count from it). */
  signalWhen?: string;
  /** Also show the step's stdout and stderr here as they come (the demo). */
  passThrough?: boolean;
  /** Called right after the spawn: for timing the process or sampling its memory (the bench). */
  onSpawn?: (child: ChildProcess) => void;
}

export function runAction(options: ActionOptions = {}): Promise<ActionRun> {
  const { workDir, files, env } = runnerStep(options);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', options.entry ?? 'index.js')], { env, cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    const scheduleSignals = () => {
      for (const { afterMs, signal } of options.signals ?? []) timers.push(setTimeout(() => child.kill(signal), afterMs));
    };
    // Text seen so far while waiting for `signalWhen`; dropped once it has come.
    let waitingFor = options.signalWhen ? '' : undefined;
    if (waitingFor === undefined) scheduleSignals();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      if (options.passThrough) process.stdout.write(chunk);
      if (waitingFor === undefined) return;
      waitingFor += chunk.toString();
      if (waitingFor.includes(options.signalWhen!)) {
        waitingFor = undefined;
        scheduleSignals();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      if (options.passThrough) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      const text = Buffer.concat(stdout).toString();
      resolvePromise({
        code,
        signal,
        stdout: text,
        stderr: Buffer.concat(stderr).toString(),
        workDir,
        files,
        ...readStepFiles(files),
        commands: parseCommands(text),
      });
    });
  });
}

/** `name<<DELIM\nvalue\nDELIM` blocks, the format @actions/core writes; a later value wins. */
export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i]);
    if (!match) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]);
    values[match[1]] = value.join('\n');
  }
  return values;
}

export interface WorkflowCommand {
  command: string;
  properties: string;
  message: string;
}

/** The commands the runner would act on: none between `::stop-commands::TOKEN` and `::TOKEN::`. */
export function parseCommands(stdout: string): WorkflowCommand[] {
  const decode = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
  const commands: WorkflowCommand[] = [];
  let resumeToken: string | undefined;
  for (const line of stdout.split('\n')) {
    if (resumeToken) {
      if (line === `::${resumeToken}::`) resumeToken = undefined;
      continue;
    }
    const match = /^::([a-z-]+)( [^:]*)?::(.*)$/.exec(line);
    if (!match) continue;
    const [, command, properties = '', message] = match;
    if (command === 'stop-commands') resumeToken = message;
    else commands.push({ command, properties: decode(properties.trim()), message: decode(message) });
  }
  return commands;
}

/** The agent's lines in the "Last N log lines" group a failed step prints, or undefined without one. */
export function tailGroup(stdout: string): string[] | undefined {
  const start = /^::group::Last \d+ log lines$/m.exec(stdout);
  if (!start) return undefined;
  const lines = stdout.slice(start.index + start[0].length + 1).split('\n');
  // Printed with workflow commands paused, so a line of the agent's can't end the group early.
  const token = /^::stop-commands::(.+)$/.exec(lines[0])?.[1];
  const end = token ? lines.indexOf(`::${token}::`) : lines.indexOf('::endgroup::');
  return lines.slice(token ? 1 : 0, end);
}

/** Containers a local run left on the engine, found by the run label the action gives them. */
export function containersOfRun(runId: string, attempt = '1'): string[] {
  const out = execFileSync('docker', ['ps', '-aq', '--filter', `label=agent-machine-action-run=${runId}-${attempt}`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}
