// inputs → config: every action input read once, validated, and turned into one typed
// object. Anything wrong raises InvalidConfigError naming the input, before any image or
// machine is touched.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseEgress, type Egress } from '../egress.js';
import { InvalidConfigError } from '../errors.js';
import type { CpuKind } from '../machine/fly/backend.js';
import type { BackendName } from '../machine/machine.js';
import { isReserved } from '../protocol.js';
import { secretForms } from '../secrets.js';
import { actionRoot } from './action-root.js';

export type CommentMode = 'auto' | 'always' | 'never';

export interface RepoSpec {
  url: string;
  branch?: string;
  target_dir?: string;
  /** Check out exactly this commit of the branch (a fork's head when the run was accepted). */
  commit?: string;
}

export interface Config {
  /** The task; may be absent here when a PR comment supplies it (see github/trigger). */
  prompt?: string;
  /** Empty means "the PR head repository" in PR runs. */
  repos: RepoSpec[];
  backend: BackendName;
  /** Undefined: the bundled agent image, built from `dockerfile`/`buildContext`. */
  image?: string;
  dockerfile: string;
  buildContext: string;
  command?: string[];
  claudeCodeOauthToken?: string;
  anthropicApiKey?: string;
  /** Claude Code settings for the bundled agent. */
  agent: AgentSettings;
  githubToken?: string;
  fly: {
    apiToken?: string;
    appName?: string;
    region: string;
    cpus: number;
    memoryMb: number;
    cpuKind: CpuKind;
  };
  /** Plain `KEY=VALUE`s for the machine. */
  env: Record<string, string>;
  /** `secrets`: values the agent itself needs; masked and redacted, in every encoded form. */
  agentSecrets: Record<string, string>;
  /** Push a failed or timed-out run's work too. */
  pushOnFailure: boolean;
  waitTimeoutSeconds: number;
  /** Seconds without output before the run counts as stalled; 0: never. */
  idleTimeoutSeconds: number;
  /** `run` a machine, or `sweep` away this action's machines older than `maxAgeSeconds`. */
  mode: 'run' | 'sweep';
  maxAgeSeconds: number;
  raiseOnFailure: boolean;
  /** Upload log_file and transcript_file as a workflow artifact. */
  uploadArtifacts: boolean;
  logTailLines: number;
  comment: CommentMode;
  triggerPhrase: string;
  allowForks: boolean;
  /** For workflow_dispatch runs tied to a PR. */
  pullRequestNumber?: number;
  /** `allowed_domains` / `egress_mode`, presets expanded; undefined: `*`, no allowlist. */
  egress?: Egress;
  /** Every secret value given to the action, for masking and redaction. */
  secrets: string[];
}

export interface AgentSettings {
  model?: string;
  maxTurns?: number;
  allowedTools: string[];
  disallowedTools: string[];
  appendSystemPrompt?: string;
  /** `claude_args`, split like a shell would (quotes kept together). */
  extraArgs: string[];
  /** The Messages API the agent talks to; undefined: Anthropic's. */
  baseUrl?: string;
}

export type InputReader = (name: string) => string;

export function readConfig(input: InputReader, env: NodeJS.ProcessEnv = process.env): Config {
  const text = (name: string) => input(name).trim() || undefined;
  const backend = oneOf<BackendName>(input, 'backend', ['local', 'fly'], 'local');
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
    agent: {
      model: parseModel(text('model')),
      maxTurns: text('max_turns') ? positiveInteger('max_turns', text('max_turns')!, 10_000) : undefined,
      allowedTools: parseTools('allowed_tools', input('allowed_tools')),
      disallowedTools: parseTools('disallowed_tools', input('disallowed_tools')),
      appendSystemPrompt: text('append_system_prompt'),
      extraArgs: parseClaudeArgs(text('claude_args')),
      baseUrl: parseBaseUrl(text('anthropic_base_url')),
    },
    githubToken: text('github_token'),
    fly: {
      apiToken: text('fly_api_token') ?? (env.FLY_API_TOKEN?.trim() || undefined),
      appName: text('app_name'),
      region: parseRegion(text('region') ?? 'iad'),
      cpus: positiveInteger('vm_cpus', text('vm_cpus') ?? '2', 64),
      memoryMb: positiveInteger('vm_memory_mb', text('vm_memory_mb') ?? '4096', 256 * 1024),
      cpuKind: oneOf(input, 'cpu_kind', ['shared', 'performance'], 'performance'),
    },
    env: parseEnv('env', input('env')),
    agentSecrets: parseEnv('secrets', input('secrets')),
    waitTimeoutSeconds: seconds('wait_timeout', text('wait_timeout') ?? '3600'),
    idleTimeoutSeconds: seconds('idle_timeout', text('idle_timeout') ?? '900', { zeroMeansNever: true }),
    mode: oneOf(input, 'mode', ['run', 'sweep'], 'run'),
    maxAgeSeconds: seconds('max_age', text('max_age') ?? '21600'),
    raiseOnFailure: parseBoolean('raise_on_failure', text('raise_on_failure') ?? 'true'),
    uploadArtifacts: parseBoolean('upload_artifacts', text('upload_artifacts') ?? 'true'),
    pushOnFailure: parseBoolean('push_on_failure', text('push_on_failure') ?? 'false'),
    logTailLines: nonNegativeInteger('log_tail_lines', text('log_tail_lines') ?? '20', 1000),
    comment: oneOf(input, 'comment', ['auto', 'always', 'never'], 'auto'),
    triggerPhrase: text('trigger_phrase') ?? '/fix',
    allowForks: parseBoolean('allow_forks', text('allow_forks') ?? 'false'),
    pullRequestNumber: text('pull_request_number') ? positiveInteger('pull_request_number', text('pull_request_number')!, Number.MAX_SAFE_INTEGER) : undefined,
    secrets: [],
  };
  // After the agent settings: the anthropic preset follows anthropic_base_url.
  config.egress = parseEgress(input('allowed_domains'), input('egress_mode'), {
    anthropicBaseUrl: config.agent.baseUrl,
    githubUrls: [env.GITHUB_SERVER_URL, env.GITHUB_API_URL],
  });
  // `env` is plain, never guessed at from key names; what is secret is said so, in `secrets`.
  config.secrets = [claudeCodeOauthToken, anthropicApiKey, config.githubToken, config.fly.apiToken, ...Object.values(config.agentSecrets)].flatMap((s) =>
    s ? secretForms(s) : [],
  );

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
    throw new InvalidConfigError(
      'claude_code_oauth_token',
      'the agent image needs credentials: set claude_code_oauth_token or anthropic_api_key (or set command to run something else)',
    );
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
    if (/^(https?:\/\/[^/]*@|[a-z+]+:\/\/[^/@:]*:[^/@]*@)/i.test(url))
      throw new InvalidConfigError('repos', `line ${n}: put credentials in github_token, not in the URL`);
    const at = `line ${n} ('${line}')`;
    if (extra.length) throw new InvalidConfigError('repos', `${at} has more than URL BRANCH DIR`);
    if (!/^(https?:\/\/|file:\/\/|ssh:\/\/|git@)\S+$/.test(url)) throw new InvalidConfigError('repos', `${at}: '${url}' is not an https, ssh or file URL`);
    if (branch && branch !== '-' && !validRef(branch)) throw new InvalidConfigError('repos', `${at}: '${branch}' is not a valid branch name`);
    if (dir && (isAbsolute(dir) || dir.split('/').includes('..')))
      throw new InvalidConfigError('repos', `${at}: directory '${dir}' must be relative and stay inside the workspace`);
    return { url, ...(branch && branch !== '-' ? { branch } : {}), ...(dir ? { target_dir: dir } : {}) };
  });
}

export function validRef(ref: string): boolean {
  return /^[A-Za-z0-9._/-]+$/.test(ref) && !ref.includes('..') && !ref.startsWith('-') && !ref.startsWith('/') && !ref.endsWith('/') && !ref.endsWith('.lock');
}

/** `KEY=VALUE` lines. An error names the line, never quotes it: the value may be a secret. */
function parseEnv(name: 'env' | 'secrets', raw: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { line, n } of lines(raw)) {
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new InvalidConfigError(name, `line ${n} is not KEY=VALUE with a shell-style KEY (letters, digits, _)`);
    if (isReserved(key)) throw new InvalidConfigError(name, `line ${n}: ${key} is set by the action itself; use its own input instead`);
    env[key] = line.slice(eq + 1);
  }
  return env;
}

function parseModel(model?: string): string | undefined {
  if (model !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@/[\]-]*$/.test(model))
    throw new InvalidConfigError('model', `'${model}' is not a model name (like claude-sonnet-4-5 or opus)`);
  return model;
}

/** One tool rule a line or comma; a comma inside parentheses (`Bash(git diff:*)`) belongs to the rule. */
function parseTools(name: string, raw: string): string[] {
  const tools: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of raw) {
    if (char === '(') depth++;
    if (char === ')') depth = Math.max(0, depth - 1);
    if ((char === ',' && depth === 0) || char === '\n') {
      tools.push(current.trim());
      current = '';
    } else current += char;
  }
  tools.push(current.trim());
  const rules = tools.filter(Boolean);
  const bad = rules.find((rule) => !/^[A-Za-z_][\w-]*(__[\w-]+)*(\(.*\))?$/.test(rule));
  if (bad !== undefined) throw new InvalidConfigError(name, `'${bad}' is not a tool rule (a tool name, optionally with a pattern: Bash(npm test:*))`);
  return rules;
}

/** Flags the bundled image sets itself: `claude_args` may not change how the run is read. */
const FIXED_CLAUDE_FLAGS = ['-p', '--print', '--output-format', '--input-format', '--verbose', '--dangerously-skip-permissions'];

/** Splits like a shell: whitespace separates, single and double quotes group, backslash escapes. */
function parseClaudeArgs(raw?: string): string[] {
  if (!raw) return [];
  const args: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < raw.length) current += raw[++i];
      else current += char;
    } else if (/\s/.test(char)) {
      if (current !== undefined) args.push(current);
      current = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
      current ??= '';
    } else if (char === '\\' && i + 1 < raw.length) current = (current ?? '') + raw[++i];
    else current = (current ?? '') + char;
  }
  if (quote) throw new InvalidConfigError('claude_args', `an opening ${quote} is never closed`);
  if (current !== undefined) args.push(current);
  const fixed = args.find((arg) => FIXED_CLAUDE_FLAGS.includes(arg.split('=')[0]));
  if (fixed) throw new InvalidConfigError('claude_args', `${fixed.split('=')[0]} is set by the action itself`);
  return args;
}

function parseBaseUrl(raw?: string): string | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidConfigError('anthropic_base_url', 'is not a URL (like https://llm-gateway.example.com)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidConfigError('anthropic_base_url', `must be an http or https URL, not ${url.protocol}`);
  // Not quoted: what sits there could be a credential.
  if (url.username || url.password)
    throw new InvalidConfigError('anthropic_base_url', 'must not carry credentials; use anthropic_api_key or claude_code_oauth_token');
  return raw.replace(/\/+$/, '');
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

/** GitHub's longest job (self-hosted, 5 days); also well inside what a timer can count. */
const MAX_SECONDS = 5 * 24 * 3600;

function seconds(name: string, raw: string, { zeroMeansNever = false } = {}): number {
  const value = Number(raw);
  const allowed = zeroMeansNever ? value >= 0 : value > 0;
  if (!/^\d+(\.\d+)?$/.test(raw) || !allowed || value > MAX_SECONDS) {
    throw new InvalidConfigError(name, `'${raw}' is not a number of seconds ${zeroMeansNever ? 'from 0 (off)' : 'above 0'} up to ${MAX_SECONDS} (5 days)`);
  }
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
  return raw
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => line && !line.startsWith('#'));
}
