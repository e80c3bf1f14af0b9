// Claude Code's `--output-format stream-json --verbose` events, one JSON object a line: each
// read as it arrives into one human line (or none) and into the run's stats. What the
// pinned CLI (2.1.x) prints, seen by running it:
//   {"type":"system","subtype":"init","cwd","session_id","tools","model",…}
//   {"type":"system","subtype":"api_retry","attempt","max_retries","retry_delay_ms","error_status","error",…}
//   {"type":"assistant","message":{"id","model","content":[one block],"usage"},"parent_tool_use_id","session_id",…}
//     one event per content block, each repeating the message's id and usage; a failed API
//     call is a message of model "<synthetic>" with "error", "is_api_error_message", "api_error_status"
//   {"type":"user","message":{"content":[{"tool_use_id","type":"tool_result","content","is_error"}]},…,"tool_use_result":…}
//     the tool's output twice (content and tool_use_result): the biggest lines by far
//   {…,"subtype","is_error","num_turns","result"|"errors","session_id","total_cost_usd","usage","api_error_status",…,"type":"result",…}
//     (its "type" is not first)
import { parseCapped, type CapOptions } from './json.js';
import { editedFile, errorGist, firstLine, money, oneLine, renderToolUse } from './render.js';
import { COMMAND_MAX, MAX_COMMANDS, MAX_ERRORS, MAX_FILES, MAX_TOOL_NAMES, OTHER_TOOLS, PATH_MAX, RESULT_MAX, emptyStats, type AgentStats } from './stats.js';

const OPEN = 0x7b;
const CLOSE = 0x7d;
/** How a user (tool result) event starts as Claude Code prints it. */
const USER_PREFIX = Buffer.from('{"type":"user",');
/**
 * A failed tool result, as compact JSON prints it. Inside a JSON string every quote is
 * escaped, so these bytes can only be a real key: a user event without them has no failure
 * to show and need not be parsed at all (most of the bytes are such results).
 */
const IS_ERROR_TRUE = Buffer.from('"is_error":true');
/** Lines up to this size go to JSON.parse; longer ones are walked in place (see json.ts). */
const FULL_PARSE_MAX = 64 * 1024;
const CAPS: CapOptions = { maxStringBytes: RESULT_MAX, maxItems: 1000 };
/** Of a tool result only the first line of a failure is shown. */
const RESULT_CAPS: CapOptions = { maxStringBytes: 4096, maxItems: 100 };
/** Tool calls remembered by id, to name the tool of a failed result. */
const MAX_TOOL_IDS = 512;
/** Messages remembered by id for their usage: the blocks of one message arrive together. */
const MAX_MESSAGE_IDS = 64;
const EVENT_TYPES = new Set(['system', 'assistant', 'user', 'result', 'stream_event']);
const SYNTHETIC_MODEL = '<synthetic>';
/** `API Error: 529 Overloaded…` (and the older `API Error (529 …)`). */
const API_ERROR_TEXT = /API Error:?\s*\(?(\d{3})\b/;
/** Claude Code's names for API failures, where no status is given with them. */
const STATUS_OF_ERROR: Record<string, number> = { authentication_failed: 401, rate_limit: 429, overloaded: 529 };

type Json = Record<string, unknown>;

interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function usageOf(value: Json): Usage {
  return {
    input: num(value.input_tokens) ?? 0,
    output: num(value.output_tokens) ?? 0,
    cacheRead: num(value.cache_read_input_tokens) ?? 0,
    cacheCreation: num(value.cache_creation_input_tokens) ?? 0,
  };
}

/** Keeps a Map at `max` entries by dropping the oldest. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/**
 * Reads event lines. `read` takes one line (without its newline, secrets already redacted)
 * and says what it becomes for a human: `undefined` when it is not an event (the line stays
 * as it is), `null` for an event that shows nothing, else the one line to show.
 */
export class AgentEvents {
  readonly stats: AgentStats = emptyStats();
  private cwd?: string;
  /** tool_use id → tool name. */
  private readonly tools = new Map<string, string>();
  /** message id → the usage already counted for it. */
  private readonly counted = new Map<string, Usage>();
  private readonly summed: Usage = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
  private readonly files = new Set<string>();
  /** The API error came from a retry notice: a later answer from the API clears it. */
  private apiErrorRetrying = false;
  /** The line each event type shows; other types (stream_event…) are only counted. */
  private readonly readers = new Map<string, (event: Json) => string | null>([
    ['system', (event) => this.system(event)],
    ['assistant', (event) => this.assistant(event)],
    ['user', (event) => this.user(event)],
    ['result', (event) => this.result(event)],
  ]);

  read(line: Buffer): string | null | undefined {
    let end = line.length;
    while (end > 0 && (line[end - 1] === 0x0d || line[end - 1] === 0x20)) end--;
    if (end < 2 || line[0] !== OPEN || line[end - 1] !== CLOSE) return undefined;
    const bytes = line.subarray(0, end);
    const user = end > USER_PREFIX.length && USER_PREFIX.compare(bytes, 0, USER_PREFIX.length) === 0;
    if (user && !bytes.includes(IS_ERROR_TRUE)) {
      this.seen();
      return null;
    }
    let value: unknown;
    if (end <= FULL_PARSE_MAX) {
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch {
        return undefined;
      }
    } else {
      value = parseCapped(bytes, user ? RESULT_CAPS : CAPS);
    }
    return isObject(value) ? this.readEvent(value) : undefined;
  }

  /** The same for an event already parsed; `undefined` when the object is not an event. */
  readEvent(event: Json): string | null | undefined {
    const type = str(event.type);
    if (type === undefined || (!EVENT_TYPES.has(type) && typeof event.session_id !== 'string')) return undefined;
    this.seen();
    if (typeof event.session_id === 'string' && !this.stats.sessionId) this.stats.sessionId = event.session_id;
    const nested = typeof event.parent_tool_use_id === 'string';
    const line = this.readers.get(type)?.(event) ?? null;
    // A subagent's steps (Task) sit under the call that started them.
    return line !== null && nested ? `  ${line}` : line;
  }

  /** An event line too long to be read (see MAX_EVENT_LINE): counted, nothing shown. */
  readOversized(): void {
    this.seen();
  }

  private seen(): void {
    this.stats.events++;
    this.stats.lastEventAt = Date.now();
  }

  private system(event: Json): string | null {
    const { stats } = this;
    switch (event.subtype) {
      case 'init': {
        if (typeof event.session_id === 'string') stats.sessionId = event.session_id;
        if (typeof event.model === 'string') stats.model = event.model;
        this.cwd = str(event.cwd);
        return oneLine(`Claude Code started (model ${stats.model ?? 'unknown'}, session ${stats.sessionId ?? 'unknown'})`);
      }
      case 'api_retry': {
        const status = num(event.error_status);
        const error = str(event.error);
        this.apiError(status ?? (error ? STATUS_OF_ERROR[error] : undefined), error);
        this.apiErrorRetrying = true;
        const delay = num(event.retry_delay_ms);
        const attempt = num(event.attempt);
        const max = num(event.max_retries);
        return oneLine(
          `API error${status ? ` ${status}` : ''}${error ? ` (${error})` : ''}: retrying` +
            `${delay !== undefined ? ` in ${(delay / 1000).toFixed(1)} s` : ''}` +
            `${attempt !== undefined ? ` (attempt ${attempt}${max !== undefined ? `/${max}` : ''})` : ''}`,
        );
      }
      default:
        return null;
    }
  }

  private assistant(event: Json): string | null {
    const message = isObject(event.message) ? event.message : {};
    const content = Array.isArray(message.content) ? message.content : [];
    const id = str(message.id);
    const model = str(message.model);
    const texts = content.filter((b): b is Json => isObject(b) && b.type === 'text' && typeof b.text === 'string').map((b) => b.text as string);
    const flagged = event.is_api_error_message === true || event.isApiErrorMessage === true || event.error !== undefined;
    const failed = flagged || (model === SYNTHETIC_MODEL && texts.some((t) => API_ERROR_TEXT.test(t)));
    const fresh = id === undefined || !this.counted.has(id);
    if (fresh && !failed && model !== SYNTHETIC_MODEL && typeof event.parent_tool_use_id !== 'string') this.stats.turns++;
    if (id !== undefined) this.countUsage(id, usageOf(isObject(message.usage) ? message.usage : {}));

    if (failed) {
      const text = texts.join(' ');
      const error = isObject(event.error) ? event.error : undefined;
      const status =
        num(event.api_error_status) ??
        num(event.apiErrorStatus) ??
        num(error?.status) ??
        numberIn(API_ERROR_TEXT.exec(text)?.[1]) ??
        (typeof event.error === 'string' ? STATUS_OF_ERROR[event.error] : undefined);
      this.apiError(status, str(event.error) ?? str(error?.message) ?? (text ? firstLine(text).line : undefined));
      const shown = /API Error/i.test(text) ? text : `API error${status ? ` ${status}` : ''}: ${text || str(event.error) || 'unknown'}`;
      return oneLine(`✗ ${shown}`);
    }
    if (model !== undefined && model !== SYNTHETIC_MODEL) {
      if (!this.stats.model) this.stats.model = model;
      if (this.apiErrorRetrying) this.apiError(undefined, undefined); // the API answered after all
    }

    const lines: string[] = [];
    for (const block of content) {
      if (!isObject(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string') {
        const text = oneLine(block.text);
        if (text) lines.push(text);
      } else if (block.type === 'tool_use') {
        lines.push(this.toolUse(block));
      }
    }
    return lines.length ? lines.join(' · ') : null;
  }

  private toolUse(block: Json): string {
    const { stats } = this;
    const name = str(block.name) || 'tool';
    const id = str(block.id);
    if (id !== undefined) remember(this.tools, id, name, MAX_TOOL_IDS);
    const input = isObject(block.input) ? block.input : {};
    const key = name in stats.toolCounts || Object.keys(stats.toolCounts).length < MAX_TOOL_NAMES ? name : OTHER_TOOLS;
    if (key !== '__proto__') stats.toolCounts[key] = (stats.toolCounts[key] ?? 0) + 1;
    if (name === 'Bash' && typeof input.command === 'string' && stats.commands.length < MAX_COMMANDS) {
      stats.commands.push(input.command.length > COMMAND_MAX ? `${input.command.slice(0, COMMAND_MAX - 1)}…` : input.command);
    }
    const file = editedFile(name, input);
    if (file !== undefined && file.length <= PATH_MAX && stats.filesEdited.length < MAX_FILES && !this.files.has(file)) {
      this.files.add(file);
      stats.filesEdited.push(file);
    }
    const line = renderToolUse(name, input, this.cwd);
    stats.lastActivity = line;
    return line;
  }

  private user(event: Json): string | null {
    const message = isObject(event.message) ? event.message : {};
    if (!Array.isArray(message.content)) return null;
    const lines: string[] = [];
    for (const block of message.content) {
      if (!isObject(block) || block.type !== 'tool_result' || block.is_error !== true) continue;
      const name = this.tools.get(str(block.tool_use_id) ?? '') ?? 'Tool';
      const gist = errorGist(block.content);
      lines.push(oneLine(`✗ ${name} failed${gist ? `: ${gist}` : ''}`));
    }
    return lines.length ? `  ${lines.join(' · ')}` : null;
  }

  private result(event: Json): string {
    const { stats } = this;
    stats.subtype = str(event.subtype) ?? stats.subtype;
    if (typeof event.is_error === 'boolean') stats.isError = event.is_error;
    stats.costUsd = num(event.total_cost_usd) ?? stats.costUsd;
    stats.numTurns = num(event.num_turns) ?? stats.numTurns;
    const result = str(event.result);
    if (result !== undefined) stats.result = result.length > RESULT_MAX ? `${result.slice(0, RESULT_MAX - 1)}…` : result;
    if (Array.isArray(event.errors)) {
      stats.errors = event.errors
        .filter((e): e is string => typeof e === 'string')
        .slice(0, MAX_ERRORS)
        .map((e) => oneLine(e, 1000));
    }
    if (isObject(event.usage)) {
      const usage = usageOf(event.usage);
      stats.usageSource = 'result';
      this.setTokens(usage);
    }
    const status = num(event.api_error_status) ?? (event.is_error === true ? numberIn(API_ERROR_TEXT.exec(result ?? '')?.[1]) : undefined);
    if (status !== undefined) this.apiError(status, stats.apiError ?? str(event.api_error_type));
    else if (event.is_error === false) this.apiError(undefined, undefined);

    const label = stats.isError && stats.subtype === 'success' ? 'error' : (stats.subtype ?? 'unknown');
    const facts = [label];
    if (stats.numTurns !== undefined) facts.push(`${stats.numTurns} ${stats.numTurns === 1 ? 'turn' : 'turns'}`);
    if (stats.costUsd !== undefined) facts.push(money(stats.costUsd));
    const message = result ?? stats.errors?.[0];
    const gist = message ? firstLine(message).line : '';
    return oneLine(`Result (${facts.join(', ')})${gist ? `: ${gist}` : ''}`);
  }

  /** Adds what a message's usage says beyond what was counted for that message already. */
  private countUsage(id: string, usage: Usage): void {
    const before = this.counted.get(id) ?? { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
    const after: Usage = {
      input: Math.max(before.input, usage.input),
      output: Math.max(before.output, usage.output),
      cacheRead: Math.max(before.cacheRead, usage.cacheRead),
      cacheCreation: Math.max(before.cacheCreation, usage.cacheCreation),
    };
    this.counted.delete(id); // re-inserted last: the map's order is recency
    remember(this.counted, id, after, MAX_MESSAGE_IDS);
    for (const key of ['input', 'output', 'cacheRead', 'cacheCreation'] as const) this.summed[key] += after[key] - before[key];
    if (this.stats.usageSource === 'result') return; // the result's totals stand
    this.stats.usageSource = 'messages';
    this.setTokens(this.summed);
  }

  private setTokens(usage: Usage): void {
    const { stats } = this;
    stats.inputTokens = usage.input + usage.cacheCreation + usage.cacheRead;
    stats.outputTokens = usage.output;
    stats.cacheReadTokens = usage.cacheRead;
    stats.cacheCreationTokens = usage.cacheCreation;
  }

  private apiError(status: number | undefined, error: string | undefined): void {
    this.stats.apiErrorStatus = status;
    this.stats.apiError = error;
    this.apiErrorRetrying = false;
  }
}

function numberIn(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}
