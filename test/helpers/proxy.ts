// A proxy in front of a real server (the Docker engine, the fake Fly, the fake GitHub) that
// holds the requests a test picks without ever answering them, or answers them itself, and
// passes everything else through, attach's connection upgrade included: an engine or API that
// hangs on one call while the rest of it works.
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer } from './servers.js';

export interface ProxyOptions {
  /** The real server: an http:// URL, or a unix socket path (the Docker engine's). */
  upstream: { url: string } | { socketPath: string };
  /** Listen on a fresh unix socket (for DOCKER_HOST) instead of 127.0.0.1. */
  unixSocket?: boolean;
  /** Requests to accept and never answer. */
  hang?: (method: string, path: string) => boolean;
  /** Requests the proxy answers itself (status and JSON body) instead of the real server. */
  answer?: (method: string, path: string) => { status: number; body: unknown } | undefined;
}

export interface Proxy {
  /** http://127.0.0.1:PORT, or unix:///PATH with `unixSocket`. */
  url: string;
  /** `METHOD /path?query` of every request held so far. */
  held: string[];
  /** Every request seen, as `METHOD /path?query`. */
  seen: string[];
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const held: string[] = [];
  const seen: string[] = [];
  // Held requests, and connections taken over by an upgrade: the HTTP server no longer closes those.
  const sockets = new Set<Socket>();
  const upstream = 'socketPath' in options.upstream ? { socketPath: options.upstream.socketPath } : urlTarget(options.upstream.url);

  /** True when the proxy deals with the request itself (holds or answers it). */
  function intercept(req: IncomingMessage, socket: Socket, res?: ServerResponse): boolean {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    seen.push(`${method} ${url}`);
    const path = url.split('?')[0];
    if (options.hang?.(method, path)) {
      held.push(`${method} ${url}`);
      sockets.add(socket);
      return true;
    }
    const canned = options.answer?.(method, path);
    if (!canned) return false;
    const text = JSON.stringify(canned.body);
    if (res) res.writeHead(canned.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    else socket.end(`HTTP/1.1 ${canned.status} Canned\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    return true;
  }

  const server = createServer((req, res) => {
    if (intercept(req, req.socket, res)) return;
    const forward = request({ ...upstream, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  // Docker's attach takes the connection over: pass the raw bytes both ways once the head is through.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (intercept(req, socket)) return;
    const engine = connect('socketPath' in upstream ? { path: upstream.socketPath } : { host: upstream.host, port: upstream.port });
    sockets.add(socket).add(engine);
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    engine.write(`${lines.join('\r\n')}\r\n\r\n`);
    engine.write(head);
    engine.pipe(socket).on('error', () => engine.destroy());
    socket.pipe(engine).on('error', () => socket.destroy());
    engine.on('error', () => socket.destroy());
    socket.on('error', () => engine.destroy());
  });

  let url: string;
  if (options.unixSocket) {
    const path = join(tmpdir(), `amt-proxy-${randomUUID().slice(0, 8)}.sock`);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    url = `unix://${path}`;
  } else {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return {
    url,
    held,
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

function urlTarget(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 80) };
}

/** The Docker engine this machine's tests use, as a proxy upstream (DOCKER_HOST must be unix://). */
export function dockerUpstream(env: NodeJS.ProcessEnv = process.env): { socketPath: string } {
  const host = env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
  if (!host.startsWith('unix://')) throw new Error(`these tests proxy a unix-socket engine, not DOCKER_HOST=${host}`);
  return { socketPath: host.slice('unix://'.length) };
}
