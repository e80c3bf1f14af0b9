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
    case 0:
      return `INFO running step: token=${env('GITHUB_TOKEN')} done`;
    case 1:
      return 'DEBUG plain progress line, nothing to hide';
    case 2:
      return `WARN key=${env('CLAUDE_CODE_OAUTH_TOKEN')} and ${env('ANTHROPIC_API_KEY')} seen`;
    default:
      return 'INFO another plain line';
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
    '  printf \'%05d %-121s\\n\' $i "$b"',
    '  i=$((i+1))',
    'done > /tmp/block',
    // cat of a file: busybox `yes | head -c` itself tops out near 120 MB/s here.
    `n=0; while [ $n -lt ${blocks} ]; do cat /tmp/block; n=$((n+1)); done`,
    'i=1; while [ $i -le 25 ]; do printf \'closing line %02d of 25 key=%s\\n\' $i "$ANTHROPIC_API_KEY"; i=$((i+1)); done',
    'printf \'final line without a newline, token=%s\' "$GITHUB_TOKEN"',
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

// The agent workload: what the bundled image prints when Claude Code runs with
// `--output-format stream-json --verbose`, shaped as the pinned CLI prints it (see
// src/agent/events.ts): many small assistant events (one per content block), tool results
// from a few hundred bytes to most of a MiB (each carrying the output twice: `content` and
// `tool_use_result`), failed tools (one of them too big for JSON.parse), the agent's text,
// and plain lines among them. Secrets sit inside events and plain lines. Every event comes
// with the human line the LogSink must show for it, written out here by hand.

const SESSION = '0d6f2b9e-5c1a-4f3e-9a7b-1c2d3e4f5a6b';
const MODEL = 'claude-sonnet-4-5';
const CWD = '/home/agent/work/app';
const AGENT_TURNS = 24;

interface Line {
  raw: string;
  /** The human line; null for an event that shows nothing; undefined for a plain line (shown as printed). */
  shown?: string | null;
  /** The tool call the event makes. */
  tool?: { name: string; input: Record<string, unknown> };
}

/** Deterministic text that looks like source code: quotes (escaped in JSON), tabs, unicode. */
function sourceText(lines: number, salt: number): string {
  let text = '';
  for (let i = 0; i < lines; i++) {
    text +=
      i % 7 === 0
        ? `// ${salt}.${i}: "quoted" note — naïve café\n`
        : `export function f${salt}_${i}(a: string): string {\n\treturn "value-${i}" + a.repeat(${i % 5});\n}\n`;
  }
  return text;
}

function testLog(lines: number, salt: number): string {
  let text = '';
  for (let i = 0; i < lines; i++) text += `  ✓ src/mod${salt}.test.ts > case ${i} handles "input ${i}" (${i % 17} ms)\n`;
  return text;
}

function assistant(turn: number, block: Record<string, unknown>): string {
  return JSON.stringify({
    type: 'assistant',
    message: {
      id: `msg_bench_${String(turn).padStart(4, '0')}`,
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [block],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 4, output_tokens: 1, cache_creation_input_tokens: 1200 + turn, cache_read_input_tokens: 20000 + turn },
      context_management: null,
    },
    parent_tool_use_id: null,
    session_id: SESSION,
    uuid: `a-${turn}`,
    timestamp: '2026-01-01T00:00:00.000Z',
    request_id: `req_${turn}`,
  });
}

function toolResult(id: string, content: string, extra: unknown, isError: boolean): string {
  const result = isError
    ? { type: 'tool_result', content, is_error: true, tool_use_id: id }
    : { tool_use_id: id, type: 'tool_result', content, is_error: false };
  return JSON.stringify({
    type: 'user',
    message: { role: 'user', content: [result] },
    parent_tool_use_id: null,
    session_id: SESSION,
    uuid: `u-${id}`,
    timestamp: '2026-01-01T00:00:01.000Z',
    tool_use_result: extra,
    tool_result_meta: [{ id, permission_decision: { decision: 'accept', source: 'config', reason_type: 'mode' } }],
  });
}

/** One turn: maybe text, one tool call, its result; `env` lets a few carry secrets. */
function agentTurn(turn: number, env: (name: string) => string): Line[] {
  const id = `toolu_bench_${String(turn).padStart(4, '0')}`;
  const lines: Line[] = [];
  const use = (name: string, input: Record<string, unknown>, shown: string) =>
    lines.push({ raw: assistant(turn, { type: 'tool_use', id, name, input }), shown, tool: { name, input } });
  const ok = (content: string, extra: unknown = { stdout: content, stderr: '', interrupted: false, isImage: false, noOutputExpected: false }) =>
    lines.push({ raw: toolResult(id, content, extra, false), shown: null });
  const failed = (content: string, shown: string) => lines.push({ raw: toolResult(id, content, `Error: ${content}`, true), shown });

  if (turn % 3 === 0) {
    const text =
      turn === 3
        ? `Looking at this.\nThe key ${env('ANTHROPIC_API_KEY')} is set.`
        : `Turn ${turn}: checking the module before the next edit.\n\nThen running the tests.`;
    lines.push({ raw: assistant(turn, { type: 'text', text }), shown: text.replace(/\s+/g, ' ') });
  }
  if (turn === 9) {
    const long = `${'A long explanation of the plan. '.repeat(12)}End.`;
    lines.push({ raw: assistant(turn, { type: 'text', text: long }), shown: `${long.slice(0, 199)}…` });
  }
  switch (turn % 12) {
    case 0: {
      use('Read', { file_path: `${CWD}/src/mod${turn}.ts` }, `Read src/mod${turn}.ts`);
      const file = sourceText(turn === 12 ? 2600 : 40, turn); // ~220 KB once a block, twice in its line
      ok(
        file
          .split('\n')
          .map((l, i) => `${String(i + 1).padStart(6)}\t${l}`)
          .join('\n'),
        { type: 'text', file: { filePath: `${CWD}/src/mod${turn}.ts`, content: file, numLines: 0, startLine: 1, totalLines: 0 } },
      );
      break;
    }
    case 1:
      use('Bash', { command: 'npm test', description: 'Run tests' }, '$ npm test');
      ok(testLog(turn === 1 ? 5200 : 300, turn)); // ~390 KB once a block, twice in its line
      break;
    case 2:
      use('Edit', { file_path: `${CWD}/src/mod${turn}.ts`, old_string: 'return "a"', new_string: 'return "b"', replace_all: false }, `Edit src/mod${turn}.ts`);
      ok(`The file ${CWD}/src/mod${turn}.ts has been updated successfully.`, {
        filePath: `${CWD}/src/mod${turn}.ts`,
        oldString: 'a',
        newString: 'b',
        structuredPatch: [{ oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, lines: ['-a', '+b'] }],
      });
      break;
    case 3:
      use('Bash', { command: 'env | sort\necho done' }, '$ env | sort …');
      ok(`HOME=/home/agent\nGITHUB_TOKEN=${env('GITHUB_TOKEN')}\nPATH=/usr/bin\n${'X_VAR=value\n'.repeat(2000)}`);
      break;
    case 4:
      use('Grep', { pattern: 'TODO', path: `${CWD}/src` }, 'Grep "TODO" in src');
      ok(Array.from({ length: 30 }, (_, i) => `src/mod${i}.ts:${i}: // TODO handle "case ${i}"`).join('\n'));
      break;
    case 5:
      use(
        'Bash',
        { command: `curl -fsS -H "Authorization: Bearer ${env('GITHUB_TOKEN')}" https://api.github.com/user` },
        `$ curl -fsS -H "Authorization: Bearer ${env('GITHUB_TOKEN')}" https://api.github.com/user`,
      );
      failed(
        `curl: (22) The requested URL returned error: 401 for ${env('CLAUDE_CODE_OAUTH_TOKEN')}`,
        `  ✗ Bash failed: curl: (22) The requested URL returned error: 401 for ${env('CLAUDE_CODE_OAUTH_TOKEN')}`,
      );
      break;
    case 6:
      use('Glob', { pattern: '**/*.test.ts' }, 'Glob "**/*.test.ts"');
      ok(Array.from({ length: 40 }, (_, i) => `${CWD}/src/mod${i}.test.ts`).join('\n'), { filenames: [], durationMs: 3, numFiles: 40, truncated: false });
      break;
    case 7:
      use('Bash', { command: 'npm run build && npm test' }, '$ npm run build && npm test');
      // A failure too big for JSON.parse (read in place), its first line shown.
      failed(`Exit code 1\n${testLog(1100, turn)}FAIL src/mod7.test.ts`, '  ✗ Bash failed: Exit code 1');
      break;
    case 8:
      use('Write', { file_path: `${CWD}/src/new${turn}.ts`, content: sourceText(30, turn) }, `Write src/new${turn}.ts`);
      ok(`File created successfully at: ${CWD}/src/new${turn}.ts`, { type: 'create', filePath: `${CWD}/src/new${turn}.ts`, content: 'x', structuredPatch: [] });
      break;
    case 9:
      use(
        'TodoWrite',
        {
          todos: [
            { content: 'a', status: 'completed', activeForm: 'a' },
            { content: 'b', status: 'in_progress', activeForm: 'b' },
            { content: 'c', status: 'pending', activeForm: 'c' },
          ],
        },
        'TodoWrite (3 items)',
      );
      ok('Todos have been modified successfully.', { oldTodos: [], newTodos: [] });
      break;
    case 10:
      use('WebFetch', { url: 'https://example.com/docs', prompt: 'Summarize' }, 'WebFetch https://example.com/docs');
      ok('The page documents the API.', { bytes: 1000, code: 200, codeText: 'OK', result: 'x', durationMs: 20, url: 'https://example.com/docs' });
      break;
    default:
      use('mcp__tracker__get_issue', { id: 42 }, 'mcp__tracker__get_issue {"id":42}');
      ok('{"title":"Fix the flaky test"}', [{ type: 'text', text: 'x' }]);
  }
  return lines;
}

/** Plain lines among the events: all pass through unchanged (redacted). */
const PLAIN_LINES: Line[] = [
  { raw: 'npm warn deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported' },
  { raw: '{ this line starts like JSON but is not' },
  { raw: '{"level":"info","msg":"a JSON log line that is no event"}' },
];

function agentLines(env: (name: string) => string): Line[] {
  const lines: Line[] = [];
  for (let turn = 1; turn <= AGENT_TURNS; turn++) {
    lines.push(...agentTurn(turn, env));
    if (turn % 8 === 0) lines.push(...PLAIN_LINES, { raw: `remote: token=${env('GITHUB_TOKEN')} rejected` });
  }
  return lines;
}

export interface AgentText {
  /** What the agent prints. */
  printed: string;
  /** The event lines of it (the transcript, before redaction). */
  events: string;
  /** What the log file must hold, before redaction. */
  shown: string;
}

function assemble(lines: Line[]): AgentText {
  const text = (pick: (line: Line) => string | undefined) =>
    lines
      .map(pick)
      .filter((l) => l !== undefined)
      .map((l) => `${l}\n`)
      .join('');
  return {
    printed: text((l) => l.raw),
    events: text((l) => (l.shown === undefined ? undefined : l.raw)),
    shown: text((l) => (l.shown === undefined ? l.raw : (l.shown ?? undefined))),
  };
}

export function agentBlock(): AgentText {
  return assemble(agentLines((n) => ENV[n]));
}

/** A ~16 KiB marker line, as the image prints a base64 diffstat. */
export const AGENT_DIFFSTAT = Buffer.from(' src/mod1.ts | 2 +-\n'.repeat(620)).toString('base64');

export function agentOpening(): AgentText {
  return assemble([
    { raw: '[flaude] cloning https://github.com/acme/app into app' },
    {
      raw: JSON.stringify({
        type: 'system',
        subtype: 'init',
        cwd: CWD,
        session_id: SESSION,
        tools: ['Task', 'Bash', 'Edit', 'Read', 'Write'],
        mcp_servers: [],
        model: MODEL,
        permissionMode: 'bypassPermissions',
        apiKeySource: 'ANTHROPIC_API_KEY',
        claude_code_version: '2.1.330',
        uuid: 'init',
      }),
      shown: `Claude Code started (model ${MODEL}, session ${SESSION})`,
    },
  ]);
}

export function agentClosing(blocks: number): AgentText {
  const turns = blocks * AGENT_TURNS + 1;
  const result = {
    duration_api_ms: 1000,
    stop_reason: 'end_turn',
    session_id: SESSION,
    total_cost_usd: 12.345678,
    usage: { input_tokens: 5000, cache_creation_input_tokens: 70000, cache_read_input_tokens: 9000000, output_tokens: 120000 },
    is_error: false,
    num_turns: turns,
    subtype: 'success',
    api_error_status: null,
    result: 'All tests pass now.\nSee the diff.',
    type: 'result',
    uuid: 'result',
  };
  const text = assemble([
    { raw: assistant(turns, { type: 'text', text: 'All tests pass now.\nSee the diff.' }), shown: 'All tests pass now. See the diff.' },
    { raw: JSON.stringify(result), shown: `Result (success, ${turns} turns, $12.3457): All tests pass now.` },
    { raw: `[flaude:diffstat:${AGENT_DIFFSTAT}]` },
    { raw: '[flaude:exit:0]' },
  ]);
  // The last line has no newline.
  const last = `[flaude] finished, token=${ENV.GITHUB_TOKEN}`;
  return { printed: text.printed + last, events: text.events, shown: text.shown + last };
}

/** What the LogSink's stats must say after `blocks` blocks (secrets redacted). */
export function agentStatsExpected(blocks: number) {
  const lines = agentLines((n) => ENV[n]);
  const perBlock: Record<string, number> = {};
  const commands: string[] = [];
  const files: string[] = [];
  for (const { tool } of lines) {
    if (!tool) continue;
    perBlock[tool.name] = (perBlock[tool.name] ?? 0) + 1;
    if (tool.name === 'Bash') commands.push(redact(String(tool.input.command)));
    const file = String(tool.input.file_path);
    if (['Edit', 'Write'].includes(tool.name) && !files.includes(file)) files.push(file);
  }
  const toolCounts = Object.fromEntries(Object.entries(perBlock).map(([name, n]) => [name, n * blocks]));
  const allCommands = Array.from({ length: Math.ceil(100 / commands.length) }, () => commands).flat();
  return {
    toolCounts,
    commands: allCommands.slice(0, Math.min(100, commands.length * blocks)),
    filesEdited: files,
    numTurns: blocks * AGENT_TURNS + 1,
    costUsd: 12.345678,
    inputTokens: 5000 + 70000 + 9000000,
    outputTokens: 120000,
    result: 'All tests pass now.\nSee the diff.',
  };
}

export interface AgentExpected {
  printed: number;
  log: { size: number; sha256: string };
  transcript: { size: number; sha256: string };
  tail: string[];
  /** Complete lines the log file holds (what the echo must have been given). */
  lines: number;
}

export function agentExpected(blocks: number): AgentExpected {
  const opening = agentOpening();
  const block = agentBlock();
  const closing = agentClosing(blocks);
  if (Buffer.from(redact(block.printed)).includes('sk-ant')) throw new Error('agent workload generator is broken');
  const whole = (pick: (t: AgentText) => string) => {
    const parts = [pick(opening), pick(block), pick(closing)].map((t) => Buffer.from(redact(t)));
    const hash = createHash('sha256').update(parts[0]);
    for (let i = 0; i < blocks; i++) hash.update(parts[1]);
    hash.update(parts[2]);
    return { size: parts[0].length + blocks * parts[1].length + parts[2].length, sha256: hash.digest('hex') };
  };
  const shownLines = (t: AgentText) => t.shown.split('\n').length - 1;
  return {
    printed: Buffer.byteLength(opening.printed) + blocks * Buffer.byteLength(block.printed) + Buffer.byteLength(closing.printed),
    log: whole((t) => t.shown),
    transcript: whole((t) => t.events),
    // The sink cuts a line at 2000 characters for the tail (the 16 KiB marker line is one).
    tail: redact(block.shown + closing.shown)
      .split('\n')
      .slice(-TAIL_LINES)
      .map((line) => line.slice(0, 2000)),
    lines: shownLines(opening) + blocks * shownLines(block) + shownLines(closing),
  };
}
