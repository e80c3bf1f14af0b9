// What the agent tests share: hand-made events in the shapes the pinned Claude Code prints
// (see src/agent/events.ts; real ones are in test/agent/recorded/ and test/fixtures/claude-stream/),
// and a way to cut a stream at every boundary.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SESSION = 'sess-0001';
export const CWD = '/workspace/app';

type Json = Record<string, unknown>;

/** One line of stream-json (no newline). */
export const line = (event: Json): string => JSON.stringify(event);

export function init(model = 'claude-sonnet-4-5'): Json {
  return { type: 'system', subtype: 'init', cwd: CWD, session_id: SESSION, tools: ['Bash', 'Edit'], mcp_servers: [], model, uuid: 'u-init' };
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

/** An assistant event with one content block, as Claude Code prints each block of a message. */
export function assistant(messageId: string, block: Json, usage: Usage = { input_tokens: 10, output_tokens: 1 }, extra: Json = {}): Json {
  return {
    type: 'assistant',
    message: { id: messageId, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [block], stop_reason: null, usage },
    parent_tool_use_id: null,
    session_id: SESSION,
    uuid: `u-${messageId}`,
    ...extra,
  };
}

export const text = (messageId: string, value: string, usage?: Usage) => assistant(messageId, { type: 'text', text: value }, usage);

export const toolUse = (messageId: string, id: string, name: string, input: Json, usage?: Usage) =>
  assistant(messageId, { type: 'tool_use', id, name, input }, usage);

/** A tool's result: field order as Claude Code prints it (a failure puts the id last). */
export function toolResult(id: string, content: unknown, isError = false): Json {
  const result = isError
    ? { type: 'tool_result', content, is_error: true, tool_use_id: id }
    : { tool_use_id: id, type: 'tool_result', content, is_error: false };
  return {
    type: 'user',
    message: { role: 'user', content: [result] },
    parent_tool_use_id: null,
    session_id: SESSION,
    uuid: `u-r-${id}`,
    tool_use_result: isError ? `Error: ${String(content)}` : { stdout: content, stderr: '' },
  };
}

export function result(overrides: Json = {}): Json {
  return {
    duration_ms: 1000,
    session_id: SESSION,
    total_cost_usd: 0.0123,
    is_error: false,
    num_turns: 3,
    subtype: 'success',
    api_error_status: null,
    usage: { input_tokens: 100, cache_creation_input_tokens: 20, cache_read_input_tokens: 300, output_tokens: 50 },
    result: 'Fixed it.\nDetails follow.',
    type: 'result',
    uuid: 'u-result',
    ...overrides,
  };
}

/** Cuts `bytes` into chunks of every size from 1 to `max`, cycling, so a boundary falls everywhere. */
export function chunks(bytes: Buffer, max = 7): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % max) + 1) out.push(bytes.subarray(at, at + size));
  return out;
}

const RECORDED = join(import.meta.dirname, 'recorded');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'claude-stream');

/** A session recorded from the pinned CLI for these tests (see recorded/README.md). */
export function recorded(name: string): Buffer {
  return readFileSync(join(RECORDED, `${name}.jsonl`));
}

/** Every recording there is: ours and the shared fixtures of test/fixtures/claude-stream/. */
export function allRecordings(): Array<{ name: string; bytes: Buffer }> {
  const list = (dir: string) => {
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
    } catch {
      return [];
    }
  };
  return [...list(RECORDED), ...list(FIXTURES)];
}
