// Runs the bundled dist/ entry points the way the GitHub runner does: inputs as INPUT_*
// variables, file commands in GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY, the event
// in GITHUB_EVENT_PATH, state handed to the post step as STATE_* variables.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface ActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** `::error ...::message` and friends, decoded. */
  commands: { command: string; properties: string; message: string }[];
  workDir: string;
}

export interface ActionOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  eventName?: string;
  event?: unknown;
  /** Send these signals at these times (ms after start), like the runner cancelling a job. */
  signals?: { afterMs: number; signal: NodeJS.Signals }[];
  /** Send the signals once stdout contains this text (times then count from it). */
  signalWhen?: string;
  entry?: 'index.js' | 'post.js';
  /** The state a previous main step saved (for the post step). */
  state?: Record<string, string>;
  workDir?: string;
}

export function runAction(options: ActionOptions = {}): Promise<ActionRun> {
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'amt-runner-'));
  const files = {
    GITHUB_OUTPUT: join(workDir, `output-${options.entry ?? 'index.js'}`),
    GITHUB_STATE: join(workDir, `state-${options.entry ?? 'index.js'}`),
    GITHUB_STEP_SUMMARY: join(workDir, `summary-${options.entry ?? 'index.js'}`),
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

  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', options.entry ?? 'index.js')], { env, cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timers: NodeJS.Timeout[] = [];
    const scheduleSignals = () => {
      for (const { afterMs, signal } of options.signals ?? []) timers.push(setTimeout(() => child.kill(signal), afterMs));
    };
    let scheduled = false;
    if (!options.signalWhen) { scheduleSignals(); scheduled = true; }
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!scheduled && stdout.includes(options.signalWhen!)) { scheduled = true; scheduleSignals(); }
    });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      resolvePromise({
        code, signal, stdout, stderr, workDir,
        outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        commands: parseCommands(stdout),
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

/** The commands the runner would act on: none between `::stop-commands::TOKEN` and `::TOKEN::`. */
function parseCommands(stdout: string): ActionRun['commands'] {
  const decode = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
  const commands: ActionRun['commands'] = [];
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
