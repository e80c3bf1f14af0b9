// What a run of Claude Code amounted to, read from its stream-json events as they arrive.
// A field the events have not told stays undefined (a timed-out run has no result event:
// its tokens are what the messages seen said, never a made-up 0).

export interface AgentStats {
  /** The agent's final message: the result event's `result` (at most RESULT_MAX characters). */
  result?: string;
  /** The result event's subtype: `success`, `error_max_turns`, `error_during_execution`… */
  subtype?: string;
  /** The result event's `is_error` (true also for a `success` subtype ended by an API error). */
  isError?: boolean;
  /** Messages of an error result, e.g. `Reached maximum number of turns (2)` (at most MAX_ERRORS). */
  errors?: string[];
  costUsd?: number;
  /** The result event's `num_turns` (Claude Code's count; unknown until the result). */
  numTurns?: number;
  /** Model replies seen so far (the main agent's assistant messages, API errors left out): a live count for progress. */
  turns: number;
  /**
   * Input tokens as billed: uncached input + cache creation + cache read. From the result
   * event's usage when it came; else summed over the assistant messages seen (each message
   * once, by id).
   */
  inputTokens?: number;
  /**
   * Output tokens, same sources. Summed from messages it is a lower bound: Claude Code prints
   * a message as each content block completes, with the usage known then (the output count
   * of the message's start), and only the result has the final count.
   */
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  /** Where the token counts come from: the `result` event or the assistant `messages` so far. */
  usageSource?: 'result' | 'messages';
  sessionId?: string;
  /** The model named by the init event (or the first real assistant message). */
  model?: string;
  /** Calls per tool name (at most MAX_TOOL_NAMES names; the rest count under OTHER_TOOLS). */
  toolCounts: Record<string, number>;
  /** Bash commands in the order run: the first MAX_COMMANDS, each at most COMMAND_MAX characters. */
  commands: string[];
  /** Files edited or written (Edit, MultiEdit, Write, NotebookEdit), first seen first, at most MAX_FILES. */
  filesEdited: string[];
  /** The last tool line rendered (`$ npm test`), for a progress comment. */
  lastActivity?: string;
  /** When the last event was read (ms since the epoch), for an idle timer. */
  lastEventAt?: number;
  /** HTTP status of the model API's error (401, 429, 529…) when the events name one. */
  apiErrorStatus?: number;
  /** What Claude Code called that error (`authentication_failed`, `rate_limit`, `overloaded`…). */
  apiError?: string;
  /** Events read. */
  events: number;
}

export const RESULT_MAX = 64 * 1024;
export const MAX_ERRORS = 10;
export const MAX_COMMANDS = 100;
export const COMMAND_MAX = 1000;
export const MAX_FILES = 200;
export const PATH_MAX = 1000;
export const MAX_TOOL_NAMES = 64;
export const OTHER_TOOLS = '(other)';

export function emptyStats(): AgentStats {
  return { turns: 0, toolCounts: {}, commands: [], filesEdited: [], events: 0 };
}
