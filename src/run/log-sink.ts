// Where everything the agent prints goes: secrets redacted, the full text written to the log
// file byte for byte, the last lines kept in a bounded ring, `[flaude:NAME:VALUE]` markers
// read, and complete lines echoed live. Work is per chunk with native Buffer scans, so a
// flood of output costs neither memory nor much time. In agent mode Claude Code's stream-json
// event lines go (redacted) to a transcript file instead, and everything after redaction
// sees their human lines (see src/agent/stream.ts).
import { closeSync, openSync, writeSync } from 'node:fs';
import type { AgentEvents } from '../agent/events.js';
import { AgentStream } from '../agent/stream.js';
import { exitFromLastLine, MARKER_PREFIX, markerPrefix, parseMarker } from '../protocol.js';
import { REDACTED, Secrets } from '../secrets.js';

const NEWLINE = 0x0a;
/** A line longer than this is cut for the tail and the echo (the log file keeps it whole). */
const MAX_TAIL_LINE = 2000;
/** A line without a newline is held back at most this long before it is written anyway. */
const MAX_HELD = 64 * 1024;
/** A reused buffer bigger than this (after a huge chunk) is let go once used. */
const MAX_KEPT = 1024 * 1024;
const MARKER = Buffer.from(MARKER_PREFIX);
/** A marker line is read up to this many bytes (a base64 diffstat is ~16 KiB). */
const MAX_MARKER_LINE = 64 * 1024;
/** Extra room in the tail ring for the image's closing markers, which tail() leaves out. */
const MARKER_ROOM = 8;

export interface LogSinkOptions {
  /** Full log destination; truncated first. */
  file: string;
  /**
   * The run's marker nonce: only `[flaude:NONCE:NAME:VALUE]` lines are markers, so the agent,
   * which never sees the nonce, can't forge one. Without it, `[flaude:NAME:VALUE]` (images
   * that speak the original protocol).
   */
  markerNonce?: string;
  /** Values to redact, in any order. */
  secrets: string[];
  /** How many last lines to keep. */
  tailLines: number;
  /** Receives complete lines live, secrets redacted: a chunk's lines together (one write, not one per line). */
  echo?: (lines: string[]) => void;
  /** Stop echoing after this many bytes (the log file still gets everything). */
  echoLimitBytes?: number;
  /**
   * Agent mode, for Claude Code's `--output-format stream-json` output: each event line goes
   * raw (redacted) to `transcriptFile` and is replaced by its human line, or by nothing, for
   * the log file, tail, echo and markers. Other lines pass as they do without it.
   */
  agent?: { transcriptFile: string };
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
  private joined: Buffer = Buffer.alloc(0);
  private tailRing: string[] = [];
  private partialLine = '';
  private echoed = 0;
  private closed = false;
  private readonly agentStream?: AgentStream;
  /** How the image's own marker lines start (with a nonce only): for the action, not for people. */
  private readonly believed?: string;
  /** Lines the tail ring keeps: the errors always quote 20. */
  private readonly ringSize: number;
  private exitRead!: () => void;
  /** Settles once the image's exit marker is read (by the protocol its last line), or at end(). */
  readonly exitMarkerRead = new Promise<void>((resolve) => (this.exitRead = resolve));

  constructor(private readonly options: LogSinkOptions) {
    this.fd = openSync(options.file, 'w');
    if (options.agent) this.agentStream = new AgentStream({ transcriptFile: options.agent.transcriptFile });
    // An event line holds a secret the way JSON writes it: a quote, backslash or control
    // character in it is escaped there, so that form is redacted too.
    const values = options.agent ? options.secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]) : options.secrets;
    this.secrets = new Secrets(values).values.map((s) => Buffer.from(s));
    this.secretTexts = this.secrets.map((s) => s.toString('latin1'));
    this.holdBack = Math.max(0, ...this.secrets.map((s) => s.length - 1));
    this.ringSize = Math.max(options.tailLines, 20) + MARKER_ROOM;
    if (options.markerNonce) this.believed = markerPrefix(options.markerNonce);
  }

  write(chunk: Uint8Array | string): void {
    if (this.closed) return;
    const incoming = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.held.length) {
      // Finish the held line with the chunk's first line only (a secret split across
      // chunks is found whole), rather than copying the whole chunk behind it.
      const newline = incoming.indexOf(NEWLINE);
      if (newline === -1) {
        this.take(this.join(incoming));
      } else {
        this.take(this.join(incoming.subarray(0, newline + 1)));
        this.take(incoming.subarray(newline + 1));
      }
      if (this.joined.length > MAX_KEPT) this.joined = Buffer.alloc(0);
    } else {
      this.take(incoming);
    }
  }

  /**
   * The held bytes and `more` in one buffer, reused: a long line comes in many chunks, each
   * joined to what was held, and a fresh buffer for each would be garbage of the chunk's size.
   */
  private join(more: Buffer): Buffer {
    const length = this.held.length + more.length;
    if (this.joined.length < length) this.joined = Buffer.allocUnsafe(Math.max(length, 2 * this.joined.length));
    this.held.copy(this.joined, 0);
    more.copy(this.joined, this.held.length);
    return this.joined.subarray(0, length);
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

  /** The agent's events read so far (agent mode only): `sink.agent?.stats`. */
  get agent(): AgentEvents | undefined {
    return this.agentStream?.events;
  }

  /** Bytes written to the transcript (agent mode only). */
  get transcriptBytes(): number | undefined {
    return this.agentStream?.transcriptBytes;
  }

  /** Flushes what is held and closes the files. */
  end(): void {
    if (this.closed) return;
    if (this.held.length) this.consume(this.held);
    this.held = Buffer.alloc(0);
    if (this.agentStream) this.pass(this.agentStream.end());
    if (this.partialLine) this.pushTail([this.partialLine]);
    this.partialLine = '';
    this.closed = true;
    closeSync(this.fd);
    this.exitRead();
  }

  /** The last `n` complete lines (at most the ring's size), the image's own markers left out. */
  tail(n = this.options.tailLines): string[] {
    if (n <= 0) return [];
    const believed = this.believed;
    return (believed ? this.tailRing.filter((line) => !line.startsWith(believed)) : this.tailRing).slice(-n);
  }

  /** The image's exit code, when the output's very last line is its exit marker. */
  exitMarker(): number | null {
    return exitFromLastLine(this.tailRing.at(-1), this.options.markerNonce);
  }

  private consume(data: Buffer): void {
    this.pass(this.agentStream ? this.agentStream.filter(data) : data);
  }

  /** What the log file, markers, tail and echo get. */
  private pass(data: Buffer): void {
    if (!data.length) return;
    for (let written = 0; written < data.length;) written += writeSync(this.fd, data, written);
    this.bytes += data.length;
    const hasMarker = data.includes(MARKER);
    if (hasMarker) this.readMarkers(data);
    this.updateTail(data);
    this.echo(data, hasMarker);
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
      // A longer line is cut here and fails the marker's end anchor.
      const marker = parseMarker(data.toString('utf8', at, Math.min(end === -1 ? data.length : end, at + MAX_MARKER_LINE)), this.options.markerNonce);
      if (!marker) continue;
      this.markers.set(marker.name, marker.value);
      if (marker.name === 'exit') this.exitRead();
    }
  }

  /** Only the last `tailLines` lines of a chunk matter: walk back from its end. */
  private updateTail(data: Buffer): void {
    const want = this.ringSize;
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
    this.tailRing.push(...lines);
    if (this.tailRing.length > this.ringSize) this.tailRing.splice(0, this.tailRing.length - this.ringSize);
  }

  /** The live lines, the image's own markers left out. */
  private echo(data: Buffer, hasMarker: boolean): void {
    const { echo, echoLimitBytes = Infinity } = this.options;
    if (!echo || this.echoed > echoLimitBytes) return;
    const room = echoLimitBytes - this.echoed;
    const slice = data.length > room ? data.subarray(0, data.lastIndexOf(NEWLINE, room) + 1) : data;
    this.echoed += slice.length;
    const lines: string[] = [];
    let start = 0;
    const believed = hasMarker ? this.believed : undefined;
    for (let nl = slice.indexOf(NEWLINE); nl !== -1; nl = slice.indexOf(NEWLINE, start)) {
      const line = lineText(slice, start, nl);
      if (!believed || !line.startsWith(believed)) lines.push(line);
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

/** Echoes lines with the wall-clock time they arrived, as a terminal would show them. */
export function timestampedEcho(lines: string[]): void {
  // One write per chunk: a write per line queues faster than the runner's pipe drains.
  const stamp = new Date().toISOString().slice(11, 19);
  process.stdout.write(`${stamp} ${lines.join(`\n${stamp} `)}\n`);
}
