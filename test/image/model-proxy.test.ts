// docker/model-proxy.mjs run for real (node, loopback): the credential's only holder in the
// machine. Upstreams are the scripted fake of the Messages API and, for streaming, a server that
// sends one event and waits for the client to have it before sending the next.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api.js';

const PROXY = resolve(import.meta.dirname, '../../docker/model-proxy.mjs');
const API_KEY = 'sk-ant-api03-amtProxyRealKey-0123456789';
const OAUTH = 'sk-ant-oat01-amtProxyRealToken-0123456789';

/** The error body Anthropic (and the proxy) answer with. */
interface AnthropicError {
  error: { type: string; message: string };
}

interface Proxy {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** What it wrote to stderr so far. */
  log: () => string;
}

const running: ChildProcessWithoutNullStreams[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) child.kill();
  for (const close of closers.splice(0)) await close();
});

/** Starts the proxy with its three lines on stdin, as the entrypoint does; resolves once it printed its port. */
function startProxy(kind: string, upstream: string, credential: string): Promise<Proxy> {
  const child = spawn('node', [PROXY], { env: { PATH: process.env.PATH } });
  running.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(`${kind}\n${upstream}\n${credential}\n`);
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const port = /^(\d+)\n/.exec(stdout)?.[1];
      if (port) resolvePromise({ child, url: `http://127.0.0.1:${port}`, log: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`proxy exited with ${code}: ${stderr}`)));
  });
}

/** Exit code and stderr of a proxy that refuses its configuration. */
function refusedConfig(config: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('node', [PROXY], { env: { PATH: process.env.PATH } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(config);
  return new Promise((resolvePromise) => child.on('exit', (code) => resolvePromise({ code, stderr })));
}

async function fakeModel(): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ script: [{ text: 'Hello through the proxy.' }] });
  closers.push(() => fake.close());
  return fake;
}

const messagesBody = (stream: boolean) =>
  JSON.stringify({
    model: 'claude-fake',
    max_tokens: 64,
    stream,
    messages: [{ role: 'user', content: 'hi' }],
    tools: [{ name: 'Bash', input_schema: { type: 'object' } }],
  });

describe('the model proxy', () => {
  it.each([
    ['x-api-key', API_KEY, { 'x-api-key': API_KEY }],
    ['bearer', OAUTH, { authorization: `Bearer ${OAUTH}` }],
  ])('replaces whatever auth the agent sent with the real credential (%s), keeping the path prefix', async (kind, credential, expected) => {
    const fake = await fakeModel();
    const proxy = await startProxy(kind, `${fake.url}/gateway/anthropic/`, credential);
    const answer = await fetch(`${proxy.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': 'placeholder',
        authorization: 'Bearer placeholder',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'oauth-2025-04-20',
      },
      body: messagesBody(true),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await answer.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)));
    expect(events[0].type).toBe('message_start');
    expect(events.at(-1).type).toBe('message_stop');
    expect(events.map((event) => event.delta?.text ?? '').join('')).toBe('Hello through the proxy.');

    const [sent] = fake.requests;
    expect(sent.path).toBe('/gateway/anthropic/v1/messages');
    expect(sent.query).toBe('?beta=true');
    const auth = (headers: IncomingHttpHeaders) => ({ 'x-api-key': headers['x-api-key'], authorization: headers.authorization });
    expect(auth(sent.headers)).toEqual({ 'x-api-key': undefined, authorization: undefined, ...expected });
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['anthropic-beta']).toBe('oauth-2025-04-20');
    expect(sent.headers.host).toBe(new URL(fake.url).host);
    expect(sent.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('passes count_tokens and error answers through as they are', async () => {
    const fake = await startFakeAnthropic({ script: [{ status: 529, errorType: 'overloaded_error', headers: { 'retry-after': '3' } }] });
    closers.push(() => fake.close());
    const proxy = await startProxy('x-api-key', fake.url, API_KEY);
    const count = await fetch(`${proxy.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: messagesBody(false),
    });
    expect(count.status).toBe(200);
    expect(await count.json()).toHaveProperty('input_tokens');
    const overloaded = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: messagesBody(true) });
    expect(overloaded.status).toBe(529);
    expect(overloaded.headers.get('retry-after')).toBe('3');
    expect(((await overloaded.json()) as AnthropicError).error.type).toBe('overloaded_error');
    expect(fake.requests.every((sent) => sent.headers['x-api-key'] === API_KEY)).toBe(true);
  });

  it('streams each event as it comes, never holding the answer back', async () => {
    // The upstream sends its second event only once the client has seen the first: a proxy that
    // buffered would wait for the end, which never comes, and the client would see nothing.
    let clientHasFirst!: () => void;
    const firstSeen = new Promise<void>((resolvePromise) => {
      clientHasFirst = resolvePromise;
    });
    const upstream: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: one\ndata: {}\n\n');
      void firstSeen.then(() => res.end('event: two\ndata: {}\n\n'));
    });
    await new Promise<void>((resolvePromise) => upstream.listen(0, '127.0.0.1', resolvePromise));
    closers.push(
      () =>
        new Promise((resolvePromise) => {
          upstream.closeAllConnections();
          upstream.close(() => resolvePromise());
        }),
    );
    const proxy = await startProxy('x-api-key', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, API_KEY);

    const received = await new Promise<string[]>((resolvePromise, reject) => {
      const chunks: string[] = [];
      const timer = setTimeout(() => reject(new Error(`only ${JSON.stringify(chunks)} within 5 s`)), 5000);
      const req = request(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          chunks.push(chunk);
          if (chunk.includes('event: one')) clientHasFirst();
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolvePromise(chunks);
        });
      });
      req.on('error', reject);
      req.end(messagesBody(true));
    });
    expect(received.join('')).toBe('event: one\ndata: {}\n\nevent: two\ndata: {}\n\n');
    expect(received.length).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['GET', '/v1/files'],
    ['POST', '/v1/messages/batches'],
    ['POST', '/v1/messages/../files'],
    ['POST', '/v1/%6dessages'],
    ['DELETE', '/v1/messages'],
    ['GET', '/api/oauth/profile'],
  ])('refuses %s %s: only the Messages API is forwarded', async (method, path) => {
    const fake = await fakeModel();
    const proxy = await startProxy('x-api-key', fake.url, API_KEY);
    const answer = await new Promise<{ status: number; body: string }>((resolvePromise, reject) => {
      // A raw path: a URL would have `..` resolved away before sending.
      const { hostname, port } = new URL(proxy.url);
      const req = request({ hostname, port, path, method }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(403);
    expect((JSON.parse(answer.body) as AnthropicError).error.type).toBe('permission_error');
    expect(fake.requests).toEqual([]);
    // The log line may reach stderr just after the answer did.
    await vi.waitFor(() => expect(proxy.log()).toContain(`[flaude] model proxy: refused ${method} ${JSON.stringify(path)}`));
  });

  it('answers 502 when the upstream is unreachable, naming no address', async () => {
    const proxy = await startProxy('x-api-key', 'http://127.0.0.1:9/secret-gateway-path', API_KEY);
    const answer = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', body: messagesBody(true) });
    expect(answer.status).toBe(502);
    expect(((await answer.json()) as AnthropicError).error).toEqual({ type: 'api_error', message: 'model proxy: upstream request failed (ECONNREFUSED)' });
    await vi.waitFor(() => expect(proxy.log()).toBe('[flaude] model proxy: upstream request failed (ECONNREFUSED)\n'));
  });

  it('holds the credential in no argv and no environment', async () => {
    const fake = await fakeModel();
    const proxy = await startProxy('bearer', fake.url, OAUTH);
    const pid = proxy.child.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(OAUTH);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(OAUTH);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).toContain('PATH=');
  });

  it.each([
    ['x-api-key\nnot a url\nkey\n', 'ANTHROPIC_BASE_URL is not an http(s) URL'],
    ['x-api-key\nftp://user:pw@example.com/\nkey\n', 'ANTHROPIC_BASE_URL is not an http(s) URL'],
    ['basic\nhttp://127.0.0.1:9\nkey\n', 'the header kind must be x-api-key or bearer'],
    ['x-api-key\nhttp://127.0.0.1:9\n\n', 'no credential'],
  ])('refuses the configuration %j', async (config, message) => {
    const { code, stderr } = await refusedConfig(config);
    expect(code).toBe(2);
    expect(stderr).toBe(`[flaude] model proxy: ${message}\n`);
  });
});
