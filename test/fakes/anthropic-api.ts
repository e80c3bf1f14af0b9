// A scripted fake of Anthropic's Messages API (node:http), for running the real Claude Code CLI
// against. `POST /v1/messages` answers with the next reply of the script: streamed as server-sent
// events when the request says `"stream": true` (message_start, content_block_start/delta/stop,
// ping, message_delta, message_stop), else as one JSON message; an error reply is an HTTP status
// with Anthropic's error body; a hang accepts the request and never answers.
//
// What Claude Code 2.1.330 sends (seen by running it in the bundled image; test/image/claude-agent.test.ts):
// - Every agent-loop turn is `POST {ANTHROPIC_BASE_URL}/v1/messages?beta=true` (no query with an OAuth
//   token), streamed, with `tools` (Bash, Edit, Write…), `system`, `messages`, `max_tokens`, `thinking`,
//   `metadata`; headers `x-api-key` (`authorization: Bearer …` with CLAUDE_CODE_OAUTH_TOKEN),
//   `anthropic-version: 2023-06-01`, `anthropic-beta`, `x-stainless-retry-count` (the retry number),
//   `x-claude-code-session-id`. A base URL with a path keeps it (`/gateway/v1/messages`), so routes
//   here match by suffix.
// - With CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 (the image sets it) in `-p` mode that is all:
//   no small-model call, no quota check, no count_tokens. Without it, a `HEAD /api/hello` comes
//   first. Requests without `tools` (side calls) and count_tokens are answered without touching
//   the script all the same, in case a later version makes them.
// - Retries: a 529 is tried 3 times in all (~0.5 s, ~1 s back-off) before the CLI gives up; a 401 or
//   429 up to 10 retries with back-off doubling from ~0.5 s to a ~35 s cap (about 3 minutes);
//   CLAUDE_CODE_MAX_RETRIES=N caps the retries. The CLI prints each retry as a `system/api_retry` event.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../helpers/servers.js';

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** One model turn: optional text, then tool calls (stop_reason `tool_use` when there are any). */
export interface TurnReply {
  text?: string;
  tools?: ToolCall[];
  usage?: Usage;
}
/** An HTTP error with Anthropic's body: 529 overloaded_error, 401 authentication_error, 429 rate_limit_error… */
export interface ErrorReply {
  status: number;
  errorType: string;
  message?: string;
  /** Extra response headers, e.g. `retry-after`. */
  headers?: Record<string, string>;
}
/** Accept the request and never answer (until close()). */
export interface HangReply {
  hang: true;
}
export type Reply = TurnReply | ErrorReply | HangReply;

/** `main`: an agent-loop request (it offers tools) that took a script reply; `side`: any other messages request. */
export type RequestKind = 'main' | 'side' | 'count_tokens' | 'other';

export interface RecordedRequest {
  method: string;
  /** Path without the query (Claude Code adds `?beta=true`). */
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (model, system, tools, messages, stream, max_tokens…); undefined when not JSON. */
  body: any;
  kind: RequestKind;
  /** The reply given; undefined for count_tokens and unknown routes. */
  reply?: Reply;
  /** The message sent for a turn reply, with the tool_use ids it made up. */
  message?: FakeMessage;
  /** HTTP status answered (0 while a hang is pending). */
  status: number;
  /** Wall-clock time the request arrived (ms since epoch): for measuring retry back-off. */
  at: number;
}

export interface FakeAnthropic {
  /** Base URL for ANTHROPIC_BASE_URL, e.g. http://172.17.0.1:41234 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Only the main-loop requests, in order. */
  readonly mainRequests: RecordedRequest[];
  /** Totals of the usage actually sent in successful replies (main and side). */
  sent: Required<Usage>;
  close(): Promise<void>;
}

export interface FakeAnthropicOptions {
  /** Replies for main-loop requests, in order; or a function of the request and its main-loop index. */
  script: Reply[] | ((request: RecordedRequest, index: number) => Reply);
  /** What a main-loop request gets once the script array is used up (default: an end_turn text). */
  fallback?: Reply;
  /** What a side request (no tools: a small-model call, a quota check) gets (default: a short text). */
  side?: Reply;
  /** Default 127.0.0.1; a container reaches the host at the Docker bridge gateway. */
  host?: string;
  port?: number;
}

const DEFAULT_USAGE: Usage = { input_tokens: 100, output_tokens: 20 };

let idCounter = 0;
/** Ids unique across fakes and runs: a counter plus random bytes, in Anthropic's prefixes. */
const newId = (prefix: string) => `${prefix}_${(++idCounter).toString().padStart(4, '0')}${randomBytes(9).toString('hex')}`;

const isError = (reply: Reply): reply is ErrorReply => 'status' in reply;
const isHang = (reply: Reply): reply is HangReply => 'hang' in reply;

export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const sent: Required<Usage> = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  let mainIndex = 0;

  const nextMainReply = (request: RecordedRequest): Reply => {
    const index = mainIndex++;
    if (typeof options.script === 'function') return options.script(request, index);
    return options.script[index] ?? options.fallback ?? { text: 'Done.' };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        body,
        kind: 'other',
        status: 0,
        at: Date.now(),
      };
      requests.push(request);
      const answer = (status: number, json: unknown) => {
        request.status = status;
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') }).end(JSON.stringify(json));
      };

      // Claude Code's connectivity check, made unless nonessential traffic is disabled.
      if (url.pathname.endsWith('/api/hello')) {
        request.status = 200;
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : '{"message":"hello"}');
      }
      // By suffix: a base URL with a path (an LLM gateway's /anthropic) prefixes every route.
      if (req.method === 'POST' && url.pathname.endsWith('/v1/messages/count_tokens')) {
        request.kind = 'count_tokens';
        return answer(200, { input_tokens: Math.ceil(JSON.stringify(body ?? {}).length / 4) });
      }
      if (req.method !== 'POST' || !url.pathname.endsWith('/v1/messages') || !body) {
        return answer(404, errorBody('not_found_error', `fake Anthropic API: no route ${req.method} ${url.pathname}`));
      }
      const main = Array.isArray(body.tools) && body.tools.length > 0;
      request.kind = main ? 'main' : 'side';
      const reply = main ? nextMainReply(request) : (options.side ?? { text: 'OK', usage: { input_tokens: 10, output_tokens: 1 } });
      request.reply = reply;

      if (isHang(reply)) return; // the socket stays open until close()
      if (isError(reply)) {
        request.status = reply.status;
        res.writeHead(reply.status, { 'content-type': 'application/json', 'request-id': newId('req'), ...reply.headers });
        res.end(JSON.stringify(errorBody(reply.errorType, reply.message ?? defaultMessage(reply.errorType))));
        return;
      }
      const message = buildMessage(reply, String(body.model ?? 'claude-fake'));
      request.message = message;
      const usage = message.usage;
      for (const key of Object.keys(sent) as (keyof Usage)[]) sent[key] += usage[key] ?? 0;
      request.status = 200;
      if (body.stream) streamMessage(res, message);
      else res.writeHead(200, { 'content-type': 'application/json', 'request-id': newId('req') }).end(JSON.stringify(message));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    get mainRequests() {
      return requests.filter((request) => request.kind === 'main');
    },
    sent,
    close: () => closeServer(server),
  };
}

function errorBody(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: newId('req') };
}

function defaultMessage(type: string): string {
  switch (type) {
    case 'overloaded_error':
      return 'Overloaded';
    case 'authentication_error':
      return 'invalid x-api-key';
    case 'rate_limit_error':
      return 'Number of request tokens has exceeded your per-minute rate limit';
    default:
      return type;
  }
}

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface FakeMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: 'end_turn' | 'tool_use';
  stop_sequence: null;
  usage: Required<Usage>;
}

function buildMessage(reply: TurnReply, model: string): FakeMessage {
  const content: ContentBlock[] = [];
  if (reply.text !== undefined) content.push({ type: 'text', text: reply.text });
  for (const tool of reply.tools ?? []) content.push({ type: 'tool_use', id: newId('toolu'), name: tool.name, input: tool.input });
  if (content.length === 0) content.push({ type: 'text', text: '' });
  const usage = { ...DEFAULT_USAGE, ...reply.usage };
  return {
    id: newId('msg'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: reply.tools?.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    },
  };
}

/** Splits `text` in `parts` pieces of about equal length (at least one piece, maybe empty). */
function split(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces.length ? pieces : [''];
}

/** The documented event order; input tokens in message_start, the output total in message_delta. */
function streamMessage(res: ServerResponse, message: FakeMessage): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': newId('req') });
  const event = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } } });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      if (index === 0) event('ping', {});
      for (const text of split(block.text, 2)) event('content_block_delta', { index, delta: { type: 'text_delta', text } });
    } else {
      event('content_block_start', { index, content_block: { ...block, input: {} } });
      if (index === 0) event('ping', {});
      for (const partial of split(JSON.stringify(block.input), 3))
        event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: partial } });
    }
    event('content_block_stop', { index });
  });
  event('message_delta', { delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: message.usage.output_tokens } });
  event('message_stop', {});
  res.end();
}
