#!/usr/bin/env node
// The model credential's only holder in the machine (design.md, "The agent run: who holds what").
// The entrypoint starts it as root before the agent and stops it after. It listens on 127.0.0.1,
// prints its port as the first line of stdout, and forwards the agent's Messages API requests to
// the upstream with the real credential in place of whatever auth header the agent sent (the agent
// only has a placeholder), streaming both ways: server-sent events pass chunk by chunk.
//
// Its configuration comes on stdin, three lines, never in argv (every user can read
// /proc/PID/cmdline) or the environment:
//   1. the header kind: `x-api-key` (ANTHROPIC_API_KEY) or `bearer` (CLAUDE_CODE_OAUTH_TOKEN)
//   2. the upstream base URL (ANTHROPIC_BASE_URL, its path prefix kept), http or https
//   3. the credential
// Only the Messages API is forwarded (POST /v1/messages and /v1/messages/count_tokens, GET
// /v1/models): the key's other powers (files, batches, admin) stay out of the agent's reach.
// Plain node, no dependencies, ESM by its extension whatever package.json is near: node >= 18.
import http from 'node:http';
import https from 'node:https';

// Nothing of the credential may stay where a child could inherit it.
delete process.env.ANTHROPIC_API_KEY;
delete process.env.CLAUDE_CODE_OAUTH_TOKEN;

const log = (text) => process.stderr.write(`[flaude] model proxy: ${text}\n`);
const die = (text) => {
  log(text);
  process.exit(2);
};

/** Reads stdin to its end (the entrypoint closes it after the three lines). */
function readConfig() {
  return new Promise((resolve) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').split(/\r?\n/)));
  });
}

// Connection-scoped headers (RFC 9110 7.6.1) are never forwarded, nor the agent's auth.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const DROPPED = new Set([...HOP_BY_HOP, 'host', 'x-api-key', 'authorization']);

function forwardable(headers, dropped) {
  const named = new Set(
    String(headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((name) => name.trim()),
  );
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!dropped.has(name) && !named.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

/** The routes the agent may use, on the raw path (no decoding: `..` or `%2e` match nothing). */
function allowed(method, path) {
  if (method === 'POST') return path === '/v1/messages' || path === '/v1/messages/count_tokens';
  if (method === 'GET') return path === '/v1/models' || /^\/v1\/models\/[A-Za-z0-9._:@-]+$/.test(path);
  return false;
}

function answerError(res, status, type, message) {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message: `model proxy: ${message}` } }));
}

async function main() {
  const [kind, upstreamText, credential] = await readConfig();
  if (kind !== 'x-api-key' && kind !== 'bearer') die('the header kind must be x-api-key or bearer');
  if (!credential) die('no credential');
  let upstream;
  try {
    upstream = new URL(upstreamText);
  } catch {
    upstream = undefined;
  }
  // The URL itself is not quoted: a gateway's URL may carry a secret of its own.
  if (!upstream || (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')) die('ANTHROPIC_BASE_URL is not an http(s) URL');
  const client = upstream.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  const prefix = upstream.pathname.replace(/\/+$/, '');
  const auth = kind === 'x-api-key' ? { 'x-api-key': credential } : { authorization: `Bearer ${credential}` };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (!url.startsWith('/') || !allowed(req.method, path)) {
      // JSON.stringify: the agent chose this text; it is one quoted line in the log.
      log(`refused ${req.method} ${JSON.stringify(path.slice(0, 200))}`);
      req.resume();
      return answerError(res, 403, 'permission_error', `only the Messages API is forwarded, not ${req.method} ${path.slice(0, 200)}`);
    }
    const outgoing = client.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port || undefined,
      method: req.method,
      path: prefix + url,
      headers: { ...forwardable(req.headers, DROPPED), ...auth },
      agent,
    });
    outgoing.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers, HOP_BY_HOP));
      // Each chunk is written as it comes: an event stream is never held back.
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    outgoing.on('error', (err) => {
      // The code only (ECONNREFUSED…): an error message may name the upstream.
      log(`upstream request failed (${err.code ?? 'error'})`);
      answerError(res, 502, 'api_error', `upstream request failed (${err.code ?? 'error'})`);
    });
    // The agent gave up (cancelled a stream, timed out): so does the upstream request.
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
  });
  server.on('error', (err) => die(`cannot listen (${err.code ?? 'error'})`));
}

main();
