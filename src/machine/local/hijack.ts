// A hijacked connection to the engine (attach): one HTTP request, the head of the answer,
// then the raw stream until the engine closes the connection.
//
// It is read through one reused buffer. A Node socket otherwise allocates a fresh buffer
// per read: memory outside the JS heap, of which V8 lets up to ~64 MB of garbage build up
// between collections; at 150 MB/s of agent output that was ~25 MB of the action's peak RSS.
import { connect, type NetConnectOpts, type Socket } from 'node:net';

/**
 * Not larger: the LogSink redacts a chunk as a latin1 string, and strings over 128 KiB go
 * to V8's large-object space (256 KiB reads were slower and took more memory).
 */
const READ_BUFFER = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** A socket read a chunk at a time into one buffer, paused until the chunk is taken. */
class Reader {
  readonly socket: Socket;
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER);
  private filled = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(target: NetConnectOpts) {
    const onRead = (n: number) => {
      this.filled = n;
      this.notify();
      return false; // pause: the buffer is read again only once this chunk is taken
    };
    this.socket = connect({ ...target, onread: { buffer: this.buffer, callback: onRead } });
    this.socket.on('end', () => this.finish()).on('close', () => this.finish());
    this.socket.on('error', (err) => {
      this.failure ??= err;
      this.notify();
    });
  }

  /** Closes the connection; the pending and every later `next` rejects with `reason`. */
  abort(reason: unknown): void {
    this.failure ??= reason as Error;
    this.socket.destroy();
    this.notify();
  }

  /** The next chunk, valid until the next call; empty once the connection is closed. */
  async next(): Promise<Buffer> {
    if (!this.filled && !this.ended && !this.failure) {
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      this.socket.resume();
      await woken;
    }
    if (this.filled) {
      const chunk = this.buffer.subarray(0, this.filled);
      this.filled = 0;
      return chunk;
    }
    if (this.failure) throw this.failure;
    return EMPTY;
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The raw stream after the answer's head. Each chunk is valid until the next is asked for. */
export class HijackedStream implements AsyncIterable<Buffer> {
  constructor(
    private readonly reader: Reader,
    private readonly first: Buffer,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.first.length) yield this.first;
    for (let chunk = await this.reader.next(); chunk.length; chunk = await this.reader.next()) yield chunk;
  }

  /** Closes the connection; a reader waiting for a chunk sees the end. */
  destroy(): void {
    this.reader.socket.destroy();
  }
}

export class HijackError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`engine answered ${statusCode}`);
  }
}

export class HijackTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`engine did not answer within ${ms / 1000}s`);
  }
}

export interface HijackOptions {
  /** Rejects the wait for the answer with the signal's reason; the stream, once there, is the caller's to end. */
  signal?: AbortSignal;
  /** Longest wait for the answer's head (connecting included): a HijackTimeoutError after it. */
  timeoutMs?: number;
}

/**
 * Sends `POST path` asking to take the connection over and resolves once the engine has
 * answered that it did (101 or 200); rejects with a HijackError (status and body) when it
 * answers an error, with the socket's error when the engine is unreachable, and as
 * `options` say when it does not answer at all.
 */
export async function hijack(target: NetConnectOpts, path: string, options: HijackOptions = {}): Promise<HijackedStream> {
  const { signal, timeoutMs } = options;
  signal?.throwIfAborted();
  const reader = new Reader(target);
  const onAbort = () => reader.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs ? setTimeout(() => reader.abort(new HijackTimeoutError(timeoutMs)), timeoutMs) : undefined;
  reader.socket.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  try {
    let received = EMPTY;
    let headEnd: number;
    // concat copies: what is kept does not live in the reused read buffer.
    while ((headEnd = received.indexOf(HEAD_END)) === -1) received = Buffer.concat([received, await more(reader)]);
    const head = received.toString('latin1', 0, headEnd);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    let rest = received.subarray(headEnd + HEAD_END.length);
    if (status === 101 || status === 200) return new HijackedStream(reader, rest);
    // An ordinary answer: its body says why (the connection stays the engine's, so read by length).
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    while (rest.length < length) rest = Buffer.concat([rest, await more(reader)]);
    throw new HijackError(status, rest.toString('utf8', 0, length));
  } catch (err) {
    reader.socket.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

async function more(reader: Reader): Promise<Buffer> {
  const chunk = await reader.next();
  if (!chunk.length) throw new Error('the engine closed the connection before it answered');
  return chunk;
}
