// Splits an agent's redacted output into Claude Code's event lines and everything else: an
// event line goes raw to the transcript file and is replaced, for whatever reads the output
// next (log file, tail, echo, markers), by its human line or by nothing; any other line
// (the entrypoint's `[flaude…]` lines, git's errors, Claude Code's stderr, JSON that is no
// event) passes through unchanged. Only lines that start with `{` are looked at; a chunk
// without one is passed on as it is, without a copy.
import { closeSync, openSync, writeSync } from 'node:fs';
import { AgentEvents } from './events.js';

const NEWLINE = 0x0a;
const OPEN = 0x7b;
const NEWLINE_OPEN = Buffer.from('\n{');
/** How an event line of Claude Code starts: what an over-long `{` line must look like to count as one. */
const EVENT_START = Buffer.from('{"type":"');
/**
 * An unfinished `{` line is gathered up to this size to be read whole. A longer one (no
 * Claude Code event comes near it) streams on unread: to the transcript when it starts like
 * an event, else on as text.
 */
export const MAX_EVENT_LINE = 8 * 1024 * 1024;
/** Buffers kept between lines at most this big; a bigger one is let go once used. */
const KEEP_BUFFER = 1024 * 1024;

const enum At {
  LineStart,
  /** Inside a line that passes through. */
  Text,
  /** Inside a `{` line being gathered in `pending`. */
  Candidate,
  /** Inside an over-long event line going straight to the transcript. */
  LongEvent,
}

export interface AgentStreamOptions {
  /** Where the raw event lines go; truncated first. */
  transcriptFile: string;
}

export class AgentStream {
  readonly events = new AgentEvents();
  /** Bytes written to the transcript. */
  transcriptBytes = 0;
  private readonly fd: number;
  private at = At.LineStart;
  private pending = Buffer.alloc(0);
  private pendingLength = 0;
  private out = Buffer.allocUnsafe(64 * 1024);
  private outLength = 0;
  /** Transcript bytes of the current chunk not written yet: one contiguous range of it. */
  private rangeSource?: Buffer;
  private rangeStart = 0;
  private rangeEnd = 0;
  private closed = false;

  constructor(options: AgentStreamOptions) {
    this.fd = openSync(options.transcriptFile, 'w');
  }

  /**
   * Takes the next bytes of the output and returns what goes on from them: `data` itself when
   * it holds no event, else a buffer that is valid until the next call.
   */
  filter(data: Buffer): Buffer {
    if (this.closed || data.length === 0) return data.subarray(0, 0);
    if ((this.at === At.LineStart || this.at === At.Text) && !(this.at === At.LineStart && data[0] === OPEN) && !data.includes(NEWLINE_OPEN)) {
      this.at = data[data.length - 1] === NEWLINE ? At.LineStart : At.Text;
      return data;
    }
    this.outLength = 0;
    let pos = 0;
    let runStart = 0; // start of the text run that passes through
    if (this.at !== At.LineStart) {
      // First the rest of the line the last chunk ended in.
      const newline = data.indexOf(NEWLINE);
      const end = newline === -1 ? data.length : newline + 1;
      switch (this.at) {
        case At.Candidate:
          this.gather(data, 0, end); // past MAX_EVENT_LINE this sends it on and changes `at`
          if (newline !== -1 && this.at === At.Candidate) this.finishCandidate(true);
          break;
        case At.LongEvent:
          this.toTranscript(data, 0, end);
          break;
        case At.Text:
          this.emit(data, 0, end);
          break;
      }
      if (newline === -1) return this.finishChunk();
      this.at = At.LineStart;
      pos = runStart = end;
    }
    while (pos < data.length) {
      let start = pos;
      if (data[pos] !== OPEN) {
        const found = data.indexOf(NEWLINE_OPEN, pos);
        if (found === -1) break;
        start = found + 1;
      }
      const newline = data.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.emit(data, runStart, start);
        runStart = data.length;
        this.at = At.Candidate;
        this.pendingLength = 0;
        this.gather(data, start, data.length);
        return this.finishChunk();
      }
      const shown = this.events.read(data.subarray(start, newline));
      pos = newline + 1;
      if (shown === undefined) continue; // not an event: stays in the run
      this.emit(data, runStart, start);
      this.toTranscript(data, start, pos);
      if (shown !== null) this.emitText(shown);
      runStart = pos;
    }
    this.emit(data, runStart, data.length);
    this.at = data[data.length - 1] === NEWLINE ? At.LineStart : At.Text;
    return this.finishChunk();
  }

  /** At the end of the output: what is left of an unfinished line. Closes the transcript. */
  end(): Buffer {
    if (this.closed) return Buffer.alloc(0);
    this.outLength = 0;
    if (this.at === At.Candidate) this.finishCandidate(false);
    else if (this.at === At.LongEvent) this.toTranscript(Buffer.from('\n'), 0, 1);
    const rest = this.finishChunk();
    this.closed = true;
    closeSync(this.fd);
    return rest;
  }

  /** Appends to the `{` line being gathered; past MAX_EVENT_LINE it stops being gathered. */
  private gather(data: Buffer, start: number, end: number): void {
    const length = this.pendingLength + end - start;
    if (length > MAX_EVENT_LINE) return this.giveUp(data, start, end);
    if (length > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_EVENT_LINE, Math.max(length, 2 * this.pending.length, 64 * 1024)));
      this.pending.copy(grown, 0, 0, this.pendingLength);
      this.pending = grown;
    }
    data.copy(this.pending, this.pendingLength, start, end);
    this.pendingLength = length;
  }

  /** An over-long `{` line: what was gathered and the rest of it go on unread. */
  private giveUp(data: Buffer, start: number, end: number): void {
    const head = this.pending.subarray(0, this.pendingLength);
    const event = head.subarray(0, EVENT_START.length).equals(EVENT_START);
    if (event) {
      this.events.readOversized();
      this.toTranscript(head, 0, head.length);
      this.toTranscript(data, start, end);
    } else {
      this.emit(head, 0, head.length);
      this.emit(data, start, end);
    }
    this.releasePending();
    const finished = data[end - 1] === NEWLINE;
    this.at = finished ? At.LineStart : event ? At.LongEvent : At.Text;
  }

  /** Reads the gathered line (`withNewline`: it ends with one) and sends it where it goes. */
  private finishCandidate(withNewline: boolean): void {
    const line = this.pending.subarray(0, this.pendingLength);
    const shown = this.events.read(withNewline ? line.subarray(0, line.length - 1) : line);
    if (shown === undefined) {
      this.emit(line, 0, line.length);
    } else {
      this.toTranscript(line, 0, line.length);
      if (!withNewline) this.toTranscript(Buffer.from('\n'), 0, 1);
      if (shown !== null) this.emitText(shown);
    }
    this.releasePending();
    this.at = At.LineStart;
  }

  private releasePending(): void {
    this.flushRange(); // the range may point into `pending`
    this.pendingLength = 0;
    if (this.pending.length > KEEP_BUFFER) this.pending = Buffer.alloc(0);
  }

  private emit(data: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.reserve(end - start);
    this.outLength += data.copy(this.out, this.outLength, start, end);
  }

  private emitText(line: string): void {
    this.reserve(3 * line.length + 1);
    this.outLength += this.out.write(line, this.outLength, 'utf8');
    this.out[this.outLength++] = NEWLINE;
  }

  private reserve(bytes: number): void {
    if (this.outLength + bytes <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.outLength + bytes, 2 * this.out.length));
    this.out.copy(grown, 0, 0, this.outLength);
    this.out = grown;
  }

  /** Queues transcript bytes: neighbouring event lines of a chunk become one write. */
  private toTranscript(source: Buffer, start: number, end: number): void {
    if (source === this.rangeSource && start === this.rangeEnd) {
      this.rangeEnd = end;
      return;
    }
    this.flushRange();
    this.rangeSource = source;
    this.rangeStart = start;
    this.rangeEnd = end;
  }

  private flushRange(): void {
    if (!this.rangeSource) return;
    const bytes = this.rangeSource.subarray(this.rangeStart, this.rangeEnd);
    for (let written = 0; written < bytes.length;) written += writeSync(this.fd, bytes, written);
    this.transcriptBytes += bytes.length;
    this.rangeSource = undefined;
  }

  private finishChunk(): Buffer {
    this.flushRange();
    const out = this.out.subarray(0, this.outLength);
    if (this.out.length > KEEP_BUFFER && this.outLength <= KEEP_BUFFER) {
      // Hand out the big buffer this once, keep a small one for the next chunks.
      this.out = Buffer.allocUnsafe(64 * 1024);
    }
    return out;
  }
}
