// inputs → config: every action input read once, validated, and turned into one typed
// object. Anything wrong raises InvalidConfigError naming the input, before any image or
// machine is touched.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidConfigError } from '../errors.js';
import { actionRoot } from './action-root.js';

export type Backend = 'local' | 'fly';
export type CommentMode = 'auto' | 'always' | 'never';
export type CpuKind = 'shared' | 'performance';

export interface RepoSpec {
  url: string;
  branch?: string;
  target_dir?: string;
}

export interface Config {
  /** The task; may be absent here when a PR comment supplies it (see github/trigger). */
  prompt?: string;
  /** Empty means "the PR head repository" in PR runs. */
  repos: RepoSpec[];
  backend: Backend;
  /** Undefined: the bundled agent image, built from `dockerfile`/`buildContext`. */
  image?: string;
  dockerfile: string;
  buildContext: string;
  command?: string[];
  claudeCodeOauthToken?: string;
  anthropicApiKey?: string;
  githubToken?: string;
  fly: {
    apiToken?: string;
    appName?: string;
    region: string;
    cpus: number;
    memoryMb: number;
    cpuKind: CpuKind;
  };
  env: Record<string, string>;
  waitTimeoutSeconds: number;
  raiseOnFailure: boolean;
  logTailLines: number;
  comment: CommentMode;
  triggerPhrase: string;
  allowForks: boolean;
  /** For workflow_dispatch runs tied to a PR. */
  pullRequestNumber?: number;
  /** Every secret value given to the action, for masking and redaction. */
  secrets: string[];
}

export type InputReader = (name: string) => string;

/** `env` keys whose values are treated as secrets. */
const SECRET_KEY = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE_?KEY|AUTH/i;

/** Variables the action itself sets inside the machine; `env` may not override them. */
const RESERVED_ENV = new Set([
  'FLAUDE_PROMPT', 'FLAUDE_REPOS', 'FLAUDE_PUSH_BRANCH', 'AGENT_COMMAND',
  'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'GITHUB_USERNAME', 'GITHUB_SERVER_URL',
]);

export function readConfig(input: InputReader, env: NodeJS.ProcessEnv = process.env): Config {
  const text = (name: string) => input(name).trim() || undefined;
  const backend = oneOf(input, 'backend', ['local', 'fly'], 'local');
  const command = parseCommand(text('command'));
  const prompt = readPrompt(text('prompt'), text('prompt_file'));
  const claudeCodeOauthToken = text('claude_code_oauth_token');
  const anthropicApiKey = text('anthropic_api_key');
  const image = text('image');

  const config: Config = {
    prompt,
    repos: parseRepos(input('repos')),
    backend,
    image,
    dockerfile: resolve(text('dockerfile') ?? join(actionRoot(), 'docker', 'Dockerfile')),
    buildContext: resolve(text('build_context') ?? join(actionRoot(), 'docker')),
    command,
    claudeCodeOauthToken,
    anthropicApiKey,
    githubToken: text('github_token'),
    fly: {
      apiToken: text('fly_api_token') ?? (env.FLY_API_TOKEN?.trim() || undefined),
      appName: text('app_name'),
      region: parseRegion(text('region') ?? 'iad'),
      cpus: positiveInteger('vm_cpus', text('vm_cpus') ?? '2', 64),
      memoryMb: positiveInteger('vm_memory_mb', text('vm_memory_mb') ?? '4096', 256 * 1024),
      cpuKind: oneOf(input, 'cpu_kind', ['shared', 'performance'], 'performance'),
    },
    env: parseEnv(input('env')),
    waitTimeoutSeconds: positiveNumber('wait_timeout', text('wait_timeout') ?? '3600'),
    raiseOnFailure: parseBoolean('raise_on_failure', text('raise_on_failure') ?? 'true'),
    logTailLines: nonNegativeInteger('log_tail_lines', text('log_tail_lines') ?? '20', 1000),
    comment: oneOf(input, 'comment', ['auto', 'always', 'never'], 'auto'),
    triggerPhrase: text('trigger_phrase') ?? '/fix',
    allowForks: parseBoolean('allow_forks', text('allow_forks') ?? 'false'),
    pullRequestNumber: text('pull_request_number') ? positiveInteger('pull_request_number', text('pull_request_number')!, Number.MAX_SAFE_INTEGER) : undefined,
    secrets: [],
  };
  config.secrets = [claudeCodeOauthToken, anthropicApiKey, config.githubToken, config.fly.apiToken]
    .flatMap((s) => (s ? secretForms(s) : []));
  // `env` may carry secrets too (NPM_TOKEN=${{ secrets.NPM_TOKEN }}): the runner masks them in
  // its own log, but the log file and the PR comment are ours to redact.
  for (const [key, value] of Object.entries(config.env)) if (SECRET_KEY.test(key) && value.length >= 4) config.secrets.push(value);

  if (config.fly.appName && !/^[a-z0-9][a-z0-9-]*$/.test(config.fly.appName)) {
    throw new InvalidConfigError('app_name', `'${config.fly.appName}' is not a Fly app name (lowercase letters, digits, dashes)`);
  }
  return config;
}

/**
 * What a run needs beyond well-formed inputs. Checked once the event is known to start a run
 * (still before any image or machine): a skipped event, such as a Dependabot pull request
 * that gets no secrets, must not fail for want of them.
 */
export function checkReadyToRun(config: Config, prompt: string | undefined): void {
  if (!prompt && !config.command) throw new InvalidConfigError('prompt', 'required unless command is set (or a trigger comment gives the task)');
  if (!config.command && !config.image && !config.claudeCodeOauthToken && !config.anthropicApiKey) {
    throw new InvalidConfigError('claude_code_oauth_token', 'the agent image needs credentials: set claude_code_oauth_token or anthropic_api_key (or set command to run something else)');
  }
  if (!config.image && !existsSync(config.dockerfile)) throw new InvalidConfigError('dockerfile', `${config.dockerfile} does not exist`);
  if (config.backend === 'fly') flyTarget(config);
}

/** The Fly app and token a fly run (or its cleanup) cannot do without. */
export function flyTarget(config: Config): { appName: string; apiToken: string } {
  const { appName, apiToken } = config.fly;
  if (!appName) throw new InvalidConfigError('app_name', 'required when backend is fly');
  if (!apiToken) throw new InvalidConfigError('fly_api_token', 'required when backend is fly (or set FLY_API_TOKEN in the environment)');
  return { appName, apiToken };
}

/** A token may be sent as-is and, for Fly macaroons, without its `FlyV1 ` prefix: mask both. */
function secretForms(secret: string): string[] {
  const bare = secret.replace(/^(FlyV1|Bearer)\s+/, '');
  return bare !== secret ? [secret, bare] : [secret];
}

function readPrompt(prompt?: string, promptFile?: string): string | undefined {
  if (prompt && promptFile) throw new InvalidConfigError('prompt_file', 'set either prompt or prompt_file, not both');
  if (!promptFile) return prompt;
  let content: string;
  try {
    content = readFileSync(promptFile, 'utf8');
  } catch (err) {
    throw new InvalidConfigError('prompt_file', `cannot read ${promptFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if (!content.trim()) throw new InvalidConfigError('prompt_file', `${promptFile} is empty`);
  return content;
}

function parseCommand(raw?: string): string[] | undefined {
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidConfigError('command', `must be a JSON array of strings, like ["bash","-c","make fix"]; got ${raw}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string')) {
    throw new InvalidConfigError('command', `must be a non-empty JSON array of strings; got ${raw}`);
  }
  return parsed;
}

export function parseRepos(raw: string): RepoSpec[] {
  return lines(raw).map(({ line, n }) => {
    const [url, branch, dir, ...extra] = line.split(/\s+/);
    // Checked first, and the line not quoted: no secret exists yet to redact it from the error.
    if (/^(https?:\/\/[^/]*@|[a-z+]+:\/\/[^/@:]*:[^/@]*@)/i.test(url)) throw new InvalidConfigError('repos', `line ${n}: put credentials in github_token, not in the URL`);
    const at = `line ${n} ('${line}')`;
    if (extra.length) throw new InvalidConfigError('repos', `${at} has more than URL BRANCH DIR`);
    if (!/^(https?:\/\/|file:\/\/|ssh:\/\/|git@)\S+$/.test(url)) throw new InvalidConfigError('repos', `${at}: '${url}' is not an https, ssh or file URL`);
    if (branch && branch !== '-' && !validRef(branch)) throw new InvalidConfigError('repos', `${at}: '${branch}' is not a valid branch name`);
    if (dir && (isAbsolute(dir) || dir.split('/').includes('..'))) throw new InvalidConfigError('repos', `${at}: directory '${dir}' must be relative and stay inside the workspace`);
    return { url, ...(branch && branch !== '-' ? { branch } : {}), ...(dir ? { target_dir: dir } : {}) };
  });
}

export function validRef(ref: string): boolean {
  return /^[A-Za-z0-9._/-]+$/.test(ref) && !ref.includes('..') && !ref.startsWith('-') && !ref.startsWith('/') && !ref.endsWith('/') && !ref.endsWith('.lock');
}

function parseEnv(raw: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { line, n } of lines(raw)) {
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new InvalidConfigError('env', `line ${n} must be KEY=VALUE with a shell-style KEY; got '${line.slice(0, 40)}'`);
    if (RESERVED_ENV.has(key)) throw new InvalidConfigError('env', `line ${n}: ${key} is set by the action itself; use its own input instead`);
    env[key] = line.slice(eq + 1);
  }
  return env;
}

function parseRegion(region: string): string {
  if (!/^[a-z]{3}$/.test(region)) throw new InvalidConfigError('region', `'${region}' is not a Fly region code (three lowercase letters, like iad)`);
  return region;
}

function oneOf<T extends string>(input: InputReader, name: string, allowed: readonly T[], fallback: T): T {
  const value = (input(name).trim() || fallback).toLowerCase();
  if (!allowed.includes(value as T)) throw new InvalidConfigError(name, `'${value}' is not one of ${allowed.join(', ')}`);
  return value as T;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^(false|no|off)$/i.test(raw)) return false;
  throw new InvalidConfigError(name, `'${raw}' is not a boolean (true or false)`);
}

function positiveNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0)) throw new InvalidConfigError(name, `'${raw}' is not a positive number of seconds`);
  return value;
}

function nonNegativeInteger(name: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) > max) throw new InvalidConfigError(name, `'${raw}' is not a whole number from 0 to ${max}`);
  return Number(raw);
}

function positiveInteger(name: string, raw: string, max: number): number {
  const value = nonNegativeInteger(name, raw, max);
  if (value === 0) throw new InvalidConfigError(name, 'must be at least 1');
  return value;
}

function lines(raw: string): { line: string; n: number }[] {
  return raw.split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => line && !line.startsWith('#'));
}
