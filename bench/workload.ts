// The agent output the throughput benchmarks push through the pipeline, made the same way
// in the container (busybox sh) and here, so what the log file and tail must hold is known
// exactly: a 1 MiB block of 8192 numbered 128-byte lines, a quarter of them carrying one
// secret and a quarter two, repeated; then 25 distinct closing lines and a last line with
// no newline; then exit 3, so the action prints the tail it kept.
import { createHash } from 'node:crypto';
import { REDACTED } from '../src/secrets.js';

export const SECRETS = {
  github_token: 'ghs_benchToken0123456789abcdefghijklmnopq',
  claude_code_oauth_token: 'sk-ant-oat01-bench-0123456789abcdefghijklmn',
  anthropic_api_key: 'sk-ant-api03-bench-9876543210zyxwvutsrqponm',
  // Configured but never printed: it still costs a scan.
  fly_api_token: 'FlyV1 fm2_bench-never-printed-0123456789',
};

const LINES_PER_BLOCK = 8192;
const BLOCK_BYTES = LINES_PER_BLOCK * 128;
export const TAIL_LINES = 20;

function body(i: number, env: (name: string) => string): string {
  switch (i % 4) {
    case 0: return `INFO running step: token=${env('GITHUB_TOKEN')} done`;
    case 1: return 'DEBUG plain progress line, nothing to hide';
    case 2: return `WARN key=${env('CLAUDE_CODE_OAUTH_TOKEN')} and ${env('ANTHROPIC_API_KEY')} seen`;
    default: return 'INFO another plain line';
  }
}

/** The same text, printed by busybox sh from the secrets in its environment. */
export function agentScript(blocks: number): string {
  return [
    'i=0',
    `while [ $i -lt ${LINES_PER_BLOCK} ]; do`,
    '  case $((i % 4)) in',
    `    0) b=${JSON.stringify(body(0, (n) => `$${n}`))};;`,
    `    1) b=${JSON.stringify(body(1, (n) => `$${n}`))};;`,
    `    2) b=${JSON.stringify(body(2, (n) => `$${n}`))};;`,
    `    *) b=${JSON.stringify(body(3, (n) => `$${n}`))};;`,
    '  esac',
    "  printf '%05d %-121s\\n' $i \"$b\"",
    '  i=$((i+1))',
    'done > /tmp/block',
    // cat of a file: busybox `yes | head -c` itself tops out near 120 MB/s here.
    `n=0; while [ $n -lt ${blocks} ]; do cat /tmp/block; n=$((n+1)); done`,
    "i=1; while [ $i -le 25 ]; do printf 'closing line %02d of 25 key=%s\\n' $i \"$ANTHROPIC_API_KEY\"; i=$((i+1)); done",
    "printf 'final line without a newline, token=%s' \"$GITHUB_TOKEN\"",
    'exit 3',
  ].join('\n');
}

const ENV: Record<string, string> = {
  GITHUB_TOKEN: SECRETS.github_token,
  CLAUDE_CODE_OAUTH_TOKEN: SECRETS.claude_code_oauth_token,
  ANTHROPIC_API_KEY: SECRETS.anthropic_api_key,
};

export function block(): string {
  let text = '';
  for (let i = 0; i < LINES_PER_BLOCK; i++) text += `${String(i).padStart(5, '0')} ${body(i, (n) => ENV[n]).padEnd(121)}\n`;
  return text;
}

export function closing(): string {
  let text = '';
  for (let i = 1; i <= 25; i++) text += `closing line ${String(i).padStart(2, '0')} of 25 key=${ENV.ANTHROPIC_API_KEY}\n`;
  return `${text}final line without a newline, token=${ENV.GITHUB_TOKEN}`;
}

/** A reference redaction, independent of the LogSink's: plain string replacement, longest secret first. */
export function redact(text: string): string {
  const secrets = Object.values(SECRETS).sort((a, b) => b.length - a.length);
  return secrets.reduce((out, s) => out.split(s).join(REDACTED), text);
}

export interface Expected {
  /** Bytes the agent prints. */
  printed: number;
  /** Size and hash of the log file: the printed text, redacted. */
  size: number;
  sha256: string;
  tail: string[];
}

export function expected(blocks: number): Expected {
  const raw = block();
  const redactedBlock = Buffer.from(redact(raw));
  const end = Buffer.from(redact(closing()));
  if (raw.length !== BLOCK_BYTES || redactedBlock.includes('sk-ant')) throw new Error('workload generator is broken');
  const hash = createHash('sha256');
  for (let i = 0; i < blocks; i++) hash.update(redactedBlock);
  hash.update(end);
  const lines = (redactedBlock.toString() + end.toString()).split('\n');
  return {
    printed: blocks * BLOCK_BYTES + Buffer.byteLength(closing()),
    size: blocks * redactedBlock.length + end.length,
    sha256: hash.digest('hex'),
    tail: lines.slice(-TAIL_LINES),
  };
}
