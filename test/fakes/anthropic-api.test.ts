// The fake Messages API on its own, over real HTTP: the documented event stream, the plain JSON
// message, error bodies, hangs, side requests, and what it records. The real CLI's view of it is
// in test/image/claude-agent.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from './anthropic-api.js';

const TOOLS = [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }];

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  fake = await startFakeAnthropic(options);
  return fake;
}

const post = (body: object, path = '/v1/messages?beta=true') =>
  fetch(`${fake!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-test', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });

const json = async (response: Response | Promise<Response>): Promise<any> => (await response).json();

/** Server-sent events as [event name, parsed data]. */
async function events(response: Response): Promise<[string, any][]> {
  const text = await response.text();
  return text
    .trimEnd()
    .split('\n\n')
    .map((chunk) => {
      const [eventLine, dataLine] = chunk.split('\n');
      expect(eventLine).toMatch(/^event: /);
      expect(dataLine).toMatch(/^data: /);
      return [eventLine.slice(7), JSON.parse(dataLine.slice(6))];
    });
}

describe('fake Anthropic Messages API', () => {
  it('streams a turn with text and tool calls in the documented event order', async () => {
    await start({
      script: [
        {
          text: 'Running it.',
          tools: [
            { name: 'Bash', input: { command: 'echo "hi"' } },
            { name: 'Read', input: { file_path: '/x' } },
          ],
          usage: { input_tokens: 42, output_tokens: 7, cache_read_input_tokens: 5 },
        },
      ],
    });
    const response = await post({ model: 'claude-x', stream: true, max_tokens: 100, tools: TOOLS, messages: [{ role: 'user', content: 'go' }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = await events(response);
    for (const [name, data] of stream) expect(data.type).toBe(name);
    expect(stream.map(([name, data]) => (data.index === undefined ? name : `${name}:${data.index}`))).toEqual([
      'message_start',
      'content_block_start:0',
      'ping',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_delta:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);
    const start_ = stream[0][1].message;
    expect(start_).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 42, output_tokens: 1, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 },
    });
    expect(start_.id).toMatch(/^msg_/);
    const deltas = (index: number) => stream.filter(([name, data]) => name === 'content_block_delta' && data.index === index).map(([, data]) => data.delta);
    expect(deltas(0).map((delta) => delta.type)).toEqual(['text_delta', 'text_delta']);
    expect(
      deltas(0)
        .map((delta) => delta.text)
        .join(''),
    ).toBe('Running it.');
    expect(
      JSON.parse(
        deltas(1)
          .map((delta) => delta.partial_json)
          .join(''),
      ),
    ).toEqual({ command: 'echo "hi"' });
    const [bash, read] = [stream[6][1].content_block, stream[11][1].content_block];
    expect(bash).toMatchObject({ type: 'tool_use', name: 'Bash', input: {} });
    expect(read).toMatchObject({ type: 'tool_use', name: 'Read', input: {} });
    expect(bash.id).toMatch(/^toolu_/);
    expect(bash.id).not.toBe(read.id);
    expect(stream.at(-2)![1]).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 7 } });
    expect(fake!.sent).toEqual({ input_tokens: 42, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 5 });
  });

  it('answers without stream as one JSON message, and records the request', async () => {
    await start({ script: [{ text: 'Plain.' }] });
    const response = await post({ model: 'claude-y', max_tokens: 10, tools: TOOLS, messages: [{ role: 'user', content: 'hi' }] });
    expect(await json(response)).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-y',
      content: [{ type: 'text', text: 'Plain.' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 100, output_tokens: 20 },
    });
    const [request] = fake!.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages', query: '?beta=true', kind: 'main', status: 200 });
    expect(request.headers['x-api-key']).toBe('sk-test');
    expect(request.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it("answers errors with Anthropic's error body and status", async () => {
    await start({
      script: [
        { status: 529, errorType: 'overloaded_error' },
        { status: 429, errorType: 'rate_limit_error', headers: { 'retry-after': '3' } },
      ],
    });
    const overloaded = await post({ model: 'm', stream: true, tools: TOOLS, messages: [] });
    expect(overloaded.status).toBe(529);
    const body = await json(overloaded);
    expect(body).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(body.request_id).toMatch(/^req_/);
    const limited = await post({ model: 'm', stream: true, tools: TOOLS, messages: [] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(fake!.sent.output_tokens).toBe(0);
  });

  it('keeps side requests (no tools) and count_tokens off the script', async () => {
    await start({ script: (_request, index) => ({ text: `main ${index}` }), side: { text: 'side' } });
    expect((await json(post({ model: 'haiku', max_tokens: 1, messages: [{ role: 'user', content: 'quota' }] }))).content[0].text).toBe('side');
    expect(await json(post({ model: 'm', messages: [] }, '/v1/messages/count_tokens'))).toEqual({ input_tokens: expect.any(Number) });
    expect((await json(post({ model: 'm', tools: TOOLS, messages: [] }, '/gateway/v1/messages'))).content[0].text).toBe('main 0');
    expect((await json(post({ model: 'm', tools: TOOLS, messages: [] }))).content[0].text).toBe('main 1');
    expect((await fetch(`${fake!.url}/api/hello`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${fake!.url}/v1/models`)).status).toBe(404);
    expect(fake!.requests.map((request) => request.kind)).toEqual(['side', 'count_tokens', 'main', 'main', 'other', 'other']);
    expect(fake!.mainRequests.map((request) => request.path)).toEqual(['/gateway/v1/messages', '/v1/messages']);
  });

  it('falls back once the script is used up, and hangs when told to until closed', async () => {
    await start({ script: [{ text: 'one' }], fallback: { hang: true } });
    expect((await json(post({ model: 'm', tools: TOOLS, messages: [] }))).content[0].text).toBe('one');
    const hanging = post({ model: 'm', tools: TOOLS, messages: [] }).then(
      () => 'answered',
      () => 'cut off',
    );
    const waited = await Promise.race([hanging, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500))]);
    expect(waited).toBe('still waiting');
    expect(fake!.requests[1]).toMatchObject({ kind: 'main', status: 0, reply: { hang: true } });
    await fake!.close();
    fake = undefined;
    expect(await hanging).toBe('cut off');
  });
});
