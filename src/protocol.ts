// The image protocol, in one place (design.md, "Inside the machine"): the environment the
// machine gets, the names the action reserves, and the `[flaude:NAME:VALUE]` lines it reads
// back. docker/entrypoint.sh is the other side of this file.
import type { AgentSettings, RepoSpec } from './config/config.js';
import type { EgressMode } from './egress.js';

/** What a machine is told. Optional values that are absent are not set at all. */
export interface MachineInputs {
  prompt?: string;
  repos: RepoSpec[];
  /** FLAUDE_PUSH_BRANCH: commit and push the work here after the agent exits. */
  pushBranch?: string;
  claudeCodeOauthToken?: string;
  anthropicApiKey?: string;
  /** Clone/push credentials; absent for code that must not act as the repository (forks). */
  github?: { token: string; serverUrl: string };
  /** Bundled image only: argv run in place of Claude Code, between clone and push. */
  agentCommand?: string[];
  /** Bundled image only: Claude Code's settings. */
  agent?: AgentSettings;
  /** The workflow's `env` lines: plain values for the agent. */
  env: Record<string, string>;
  /** The workflow's `secrets` lines: for the agent only (FLAUDE_SECRET_KEY). */
  secrets?: Record<string, string>;
  /** Push a failed run's work too (FLAUDE_PUSH_ON_FAILURE). */
  pushOnFailure?: boolean;
  /** FLAUDE_MARKER_NONCE: the privileged phase's markers carry it. */
  markerNonce?: string;
  /** FLAUDE_DEADLINE_SECONDS: the machine stops itself this long after it started, runner or not. */
  deadlineSeconds?: number;
  /** FLAUDE_EGRESS_ALLOW (one entry a line, presets expanded) and FLAUDE_EGRESS_MODE; absent: no allowlist. */
  egress?: { allow: string[]; mode: EgressMode };
}

/** Variables the action itself sets inside the machine (and every `FLAUDE_*`); `env` may not override them. */
const RESERVED_ENV: ReadonlySet<string> = new Set([
  'AGENT_COMMAND',
  'ANTHROPIC_BASE_URL',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'ANTHROPIC_API_KEY',
  'GITHUB_TOKEN',
  'GITHUB_USERNAME',
  'GITHUB_SERVER_URL',
]);

export function isReserved(key: string): boolean {
  return key.startsWith('FLAUDE_') || RESERVED_ENV.has(key);
}

export function machineEnv(inputs: MachineInputs): Record<string, string> {
  const env: Record<string, string> = { ...inputs.env };
  // The bundled image hands the agent only the variables named here, not the whole environment.
  if (Object.keys(inputs.env).length) env.FLAUDE_AGENT_ENV = Object.keys(inputs.env).join(',');
  const set = (key: string, value: string | undefined) => {
    if (value) env[key] = value;
  };
  if (inputs.prompt) Object.assign(env, promptEnv(inputs.prompt));
  if (inputs.repos.length) env.FLAUDE_REPOS = JSON.stringify(inputs.repos);
  set('FLAUDE_PUSH_BRANCH', inputs.pushBranch);
  set('CLAUDE_CODE_OAUTH_TOKEN', inputs.claudeCodeOauthToken);
  set('ANTHROPIC_API_KEY', inputs.anthropicApiKey);
  if (inputs.github) {
    env.GITHUB_TOKEN = inputs.github.token;
    env.GITHUB_USERNAME = 'x-access-token';
    // The image's credential helper hands the token only to this server (GHES has its own).
    env.GITHUB_SERVER_URL = inputs.github.serverUrl;
  }
  if (inputs.agentCommand) env.AGENT_COMMAND = JSON.stringify(inputs.agentCommand);
  for (const [key, value] of Object.entries(inputs.secrets ?? {})) env[`FLAUDE_SECRET_${key}`] = value;
  if (inputs.pushOnFailure) env.FLAUDE_PUSH_ON_FAILURE = 'true';
  set('FLAUDE_MARKER_NONCE', inputs.markerNonce);
  if (inputs.deadlineSeconds) env.FLAUDE_DEADLINE_SECONDS = String(Math.ceil(inputs.deadlineSeconds));
  if (inputs.egress) {
    env.FLAUDE_EGRESS_ALLOW = inputs.egress.allow.join('\n');
    env.FLAUDE_EGRESS_MODE = inputs.egress.mode;
  }
  if (inputs.agent) {
    const args = claudeArgs(inputs.agent);
    if (args.length) env.FLAUDE_CLAUDE_ARGS = JSON.stringify(args);
    set('ANTHROPIC_BASE_URL', inputs.agent.baseUrl);
  }
  return env;
}

/** Linux refuses one environment string of 128 KiB or more: a longer prompt goes in pieces. */
export const PROMPT_PIECE_BYTES = 100_000;

/** FLAUDE_PROMPT, then FLAUDE_PROMPT_1, _2… in order, each at most `pieceBytes`, cut between characters. */
export function promptEnv(prompt: string, pieceBytes = PROMPT_PIECE_BYTES): Record<string, string> {
  const pieces = [''];
  let bytes = 0;
  for (const char of prompt) {
    const size = Buffer.byteLength(char);
    if (bytes + size > pieceBytes) {
      pieces.push('');
      bytes = 0;
    }
    pieces[pieces.length - 1] += char;
    bytes += size;
  }
  return Object.fromEntries(pieces.map((piece, index) => [index ? `FLAUDE_PROMPT_${index}` : 'FLAUDE_PROMPT', piece]));
}

/**
 * Claude Code's arguments after the image's fixed ones (`-p --output-format stream-json
 * --verbose …`). None is secret; the prompt goes on stdin, never here.
 */
export function claudeArgs(agent: AgentSettings): string[] {
  const args: string[] = [];
  if (agent.model) args.push('--model', agent.model);
  if (agent.maxTurns) args.push('--max-turns', String(agent.maxTurns));
  // Each list as one comma-joined value: a variadic flag would swallow what follows it.
  if (agent.allowedTools.length) args.push('--allowedTools', agent.allowedTools.join(','));
  if (agent.disallowedTools.length) args.push('--disallowedTools', agent.disallowedTools.join(','));
  if (agent.appendSystemPrompt) args.push('--append-system-prompt', agent.appendSystemPrompt);
  return [...args, ...agent.extraArgs];
}

/** Every marker starts a line with this. */
export const MARKER_PREFIX = '[flaude:';
/** After the prefix (and the nonce): `NAME:VALUE]`, the marker being a line of its own. */
const MARKER_BODY = /^([a-z][a-z0-9_-]*):([^\r\n]*)\]\r?$/;
/** What an exit marker must carry to count: anything else is text that mentions one. */
const EXIT_CODE = /^-?\d+$/;

/**
 * The marker on this line, if it is one the action believes: `[flaude:NONCE:NAME:VALUE]` when
 * the run has a nonce (only the image's privileged phase knows it), else `[flaude:NAME:VALUE]`.
 */
/** How a believed marker line starts: `[flaude:NONCE:` with the run's nonce, else `[flaude:`. */
export function markerPrefix(nonce?: string): string {
  return nonce ? `${MARKER_PREFIX}${nonce}:` : MARKER_PREFIX;
}

export function parseMarker(line: string, nonce?: string): { name: string; value: string } | undefined {
  const prefix = markerPrefix(nonce);
  const match = line.startsWith(prefix) ? MARKER_BODY.exec(line.slice(prefix.length)) : null;
  if (!match || (match[1] === 'exit' && !EXIT_CODE.test(match[2]))) return undefined;
  return { name: match[1], value: match[2] };
}

/** The markers a run's output left, by name (the last of each wins). */
export type Markers = ReadonlyMap<string, string>;

/**
 * `[flaude:exit:N]`: the image's exit code, when the platform does not know it. Only as the
 * output's very last line, where the image prints it: an earlier one is just text.
 */
export function exitFromLastLine(line: string | undefined, nonce?: string): number | null {
  const marker = line === undefined ? undefined : parseMarker(line, nonce);
  return marker?.name === 'exit' ? Number(marker.value) : null;
}

/** `[flaude:pushed:BRANCH:SHA]`, believed only for the branch the image was asked to push to. */
export function pushedFrom(markers: Markers, pushBranch: string | undefined): { branch: string; sha: string } | undefined {
  const value = markers.get('pushed');
  const match = value && /^(.+):([0-9a-f]{7,64})$/.exec(value);
  return match && match[1] === pushBranch ? { branch: match[1], sha: match[2] } : undefined;
}

export interface ChangedFile {
  path: string;
  /** Null for a binary file. */
  added: number | null;
  removed: number | null;
}

/** `[flaude:diffstat:BASE64]`: `git diff --numstat` of what was pushed (at most 100 files). */
export function diffstatFrom(markers: Markers): ChangedFile[] {
  const value = markers.get('diffstat');
  if (!value) return [];
  const count = (n: string) => (/^\d+$/.test(n) ? Number(n) : null);
  return Buffer.from(value, 'base64')
    .toString('utf8')
    .split('\n')
    .flatMap((line) => {
      const [added, removed, ...path] = line.split('\t');
      return path.length ? [{ path: path.join('\t'), added: count(added), removed: count(removed) }] : [];
    });
}
