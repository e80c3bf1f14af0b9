// Where everything the agent prints goes: secrets redacted, the full text written to the log
// file byte for byte, the last lines kept in a bounded ring, `[flaude:NAME:VALUE]` markers
// read, and complete lines echoed live. Work is per chunk with native Buffer scans, so a
// flood of output costs neither memory nor much time.
import { closeSync, openSync, writeSync } from 'node:fs';
import { REDACTED, Secrets } from '../secrets.js';

const NEWLINE = 0x0a;
/** A line longer than this is cut for the tail and the echo (the log file keeps it whole). */
const MAX_TAIL_LINE = 2000;
/** A line without a newline is held back at most this long before it is written anyway. */
const MAX_HELD = 64 * 1024;
const MARKER = Buffer.from('[flaude:');
/** A marker is a line of its own (as the image prints them): `[flaude:NAME:VALUE]`. */
const MARKER_LINE = /^\[flaude:([a-z][a-z0-9_-]*):([^\]\r\n]*)\]\r?$/;
/** What an exit marker must carry to count: anything else is text that mentions one. */
const EXIT_CODE = /^-?\d+$/;

export interface LogSinkOptions {
  /** Full log destination; truncated first. */
  file: string;
  /** Values to redact, in any order. */
  secrets: string[];
  /** How many last lines to keep. */
  tailLines: number;
  /** Receives complete lines live, secrets redacted: a chunk's lines together (one write, not one per line). */
  echo?: (lines: string[]) => void;
  /** Stop echoing after this many bytes (the log file still gets everything). */
  echoLimitBytes?: number;
}

export class LogSink {
  /** Bytes written to the log file. */
  bytes = 0;
  /** Last value of each marker seen, e.g. markers.get('exit') === '0'. */
  readonly markers = new Map<string, string>();
  private readonly fd: number;
  private readonly secrets: Buffer[];
  /** The secrets' bytes as latin1 text, for redact(). */
  private readonly secretTexts: string[];
  private readonly holdBack: number;
  private held: Buffer = Buffer.alloc(0);
  private scratch: Buffer = Buffer.alloc(0);
  private tailRing: string[] = [];
  private partialLine = '';
  private echoed = 0;
  private closed = false;
  private markerWaiters: Array<{ name: string; resolve: () => void }> = [];

  constructor(private readonly options: LogSinkOptions) {
    this.fd = openSync(options.file, 'w');
    this.secrets = new Secrets(options.secrets).values.map((s) => Buffer.from(s));
    this.secretTexts = this.secrets.map((s) => s.toString('latin1'));
    this.holdBack = Math.max(0, ...this.secrets.map((s) => s.length - 1));
  }

  write(chunk: Uint8Array | string): void {
    if (this.closed) return;
    const incoming = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.held.length) {
      // Finish the held line with the chunk's first line only (a secret split across
      // chunks is found whole), rather than copying the whole chunk behind it.
      const newline = incoming.indexOf(NEWLINE);
      if (newline === -1) return this.take(Buffer.concat([this.held, incoming]));
      this.take(Buffer.concat([this.held, incoming.subarray(0, newline + 1)]));
      this.take(incoming.subarray(newline + 1));
    } else {
      this.take(incoming);
    }
  }

  /** Redacts and consumes `data` (which starts where nothing is held) up to its last line end. */
  private take(data: Buffer): void {
    const clean = this.redact(data);
    // Hold back the unfinished line so a secret split across chunks is still found whole.
    let cut = clean.lastIndexOf(NEWLINE) + 1;
    if (cut === 0 && clean.length > MAX_HELD) cut = clean.length - this.holdBack;
    this.held = Buffer.from(clean.subarray(cut)); // copy: never pin a big chunk for a few bytes
    if (cut > 0) this.consume(clean.subarray(0, cut));
  }

  /** Flushes what is held and closes the file. */
  end(): void {
    if (this.closed) return;
    if (this.held.length) this.consume(this.held);
    this.held = Buffer.alloc(0);
    if (this.partialLine) this.pushTail([this.partialLine]);
    this.partialLine = '';
    this.closed = true;
    closeSync(this.fd);
    for (const waiter of this.markerWaiters.splice(0)) waiter.resolve();
  }

  /** The last `n` complete lines (at most the ring's size). */
  tail(n = this.options.tailLines): string[] {
    return n > 0 ? this.tailRing.slice(-n) : [];
  }

  /** Resolves when a marker of this name has been read (or the sink is closed). */
  markerSeen(name: string): Promise<void> {
    if (this.markers.has(name) || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.markerWaiters.push({ name, resolve }));
  }

  private consume(data: Buffer): void {
    writeSync(this.fd, data);
    this.bytes += data.length;
    if (data.includes(MARKER)) this.readMarkers(data);
    this.updateTail(data);
    this.echo(data);
  }

  /**
   * Native scans say whether any secret is there at all; only then is the chunk redacted,
   * as a latin1 string (byte-exact both ways) whose replaceAll costs little per match,
   * where slicing and concatenating Buffers costs a native call and an object per match.
   * The result goes to a scratch buffer reused from chunk to chunk (the caller is done with
   * it before the next one): a fresh Buffer per chunk would be memory outside the JS heap
   * that lingers until a GC happens to run.
   */
  private redact(data: Buffer): Buffer {
    const first = this.secrets.findIndex((secret) => data.includes(secret));
    if (first === -1) return data;
    let text = data.toString('latin1');
    for (const secret of this.secretTexts.slice(first)) text = text.replaceAll(secret, REDACTED);
    if (this.scratch.length < text.length) this.scratch = Buffer.allocUnsafe(Math.max(text.length, 2 * this.scratch.length));
    return this.scratch.subarray(0, this.scratch.write(text, 'latin1'));
  }

  private readMarkers(data: Buffer): void {
    for (let at = data.indexOf(MARKER); at !== -1; at = data.indexOf(MARKER, at + 1)) {
      if (at > 0 && data[at - 1] !== NEWLINE) continue;
      const end = data.indexOf(NEWLINE, at);
      // A marker line is short: a longer line is cut here and fails the match's end anchor.
      const match = MARKER_LINE.exec(data.toString('utf8', at, Math.min(end === -1 ? data.length : end, at + 512)));
      if (!match || (match[1] === 'exit' && !EXIT_CODE.test(match[2]))) continue;
      const [, name, value] = match;
      this.markers.set(name, value);
      this.markerWaiters = this.markerWaiters.filter((w) => (w.name === name ? (w.resolve(), false) : true));
    }
  }

  /** Only the last `tailLines` lines of a chunk matter: walk back from its end. */
  private updateTail(data: Buffer): void {
    const want = Math.max(this.options.tailLines, 20);
    const lastNewline = data.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      this.partialLine = capLine(this.partialLine + data.toString('utf8', 0, Math.min(data.length, MAX_TAIL_LINE)));
      return;
    }
    const lines: string[] = [];
    let end = lastNewline;
    let reachedStart = false;
    while (lines.length < want) {
      const start = end === 0 ? 0 : data.lastIndexOf(NEWLINE, end - 1) + 1;
      reachedStart = start === 0;
      let line = lineText(data, start, end);
      if (reachedStart) line = capLine(this.partialLine + line);
      lines.push(line);
      if (reachedStart) break;
      end = start - 1;
    }
    lines.reverse();
    if (reachedStart) this.pushTail(lines);
    else this.tailRing = lines;
    this.partialLine = lineText(data, lastNewline + 1, data.length);
  }

  private pushTail(lines: string[]): void {
    const want = Math.max(this.options.tailLines, 20);
    this.tailRing.push(...lines);
    if (this.tailRing.length > want) this.tailRing.splice(0, this.tailRing.length - want);
  }

  private echo(data: Buffer): void {
    const { echo, echoLimitBytes = Infinity } = this.options;
    if (!echo || this.echoed > echoLimitBytes) return;
    const room = echoLimitBytes - this.echoed;
    const slice = data.length > room ? data.subarray(0, data.lastIndexOf(NEWLINE, room) + 1) : data;
    this.echoed += slice.length;
    const lines: string[] = [];
    let start = 0;
    for (let nl = slice.indexOf(NEWLINE); nl !== -1; nl = slice.indexOf(NEWLINE, start)) {
      lines.push(lineText(slice, start, nl));
      start = nl + 1;
    }
    if (slice.length < data.length) {
      this.echoed = echoLimitBytes + 1;
      lines.push(`[agent-machine-action] more than ${Math.round(echoLimitBytes / 1048576)} MiB of output: the rest is only in the log file`);
    }
    if (lines.length) echo(lines);
  }
}

function lineText(data: Buffer, start: number, end: number): string {
  const stop = Math.min(end, start + MAX_TAIL_LINE);
  const text = data.toString('utf8', start, stop);
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

function capLine(line: string): string {
  return line.length > MAX_TAIL_LINE ? line.slice(0, MAX_TAIL_LINE) : line;
}
