// A JSON reader for the rare event line too big to hand to JSON.parse whole (a tool result
// of megabytes that failed, a Write of a big file): it walks the line in place and builds
// the value JSON.parse would, except that long strings come back cut to their first bytes
// and long arrays to their first items. Skipping a string costs a native search per quote,
// never a copy, so a huge line costs one pass and a few small strings.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_DEPTH = 256;

/** What a cut string ends with. */
export const CUT_MARK = '…';

/** Thrown (one shared object, no stack) when the bytes are not JSON. */
const INVALID = Object.freeze({ invalid: true });

export interface CapOptions {
  /** Strings longer than this many bytes keep only their first bytes (and end with CUT_MARK). */
  maxStringBytes: number;
  /** Arrays keep at most this many items (the rest is read, not kept). */
  maxItems: number;
}

/** The value of `bytes` (one JSON text), or undefined when it is not valid JSON. */
export function parseCapped(bytes: Buffer, options: CapOptions): unknown {
  const reader = new Reader(bytes, options);
  try {
    reader.space();
    const value = reader.value(0);
    reader.space();
    return reader.pos === bytes.length ? value : undefined;
  } catch (err) {
    if (err === INVALID) return undefined;
    throw err;
  }
}

class Reader {
  pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly options: CapOptions,
  ) {}

  space(): void {
    const { buf } = this;
    let c = buf[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = buf[++this.pos];
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw INVALID;
    switch (this.buf[this.pos]) {
      case 0x7b:
        return this.object(depth);
      case 0x5b:
        return this.array(depth);
      case QUOTE:
        return this.string();
      case 0x74:
        return this.literal('true', true);
      case 0x66:
        return this.literal('false', false);
      case 0x6e:
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.members(0x7d, () => {
      const { buf } = this;
      if (buf[this.pos] !== QUOTE) throw INVALID;
      const key = this.string();
      this.space();
      if (buf[this.pos++] !== 0x3a) throw INVALID;
      this.space();
      const value = this.value(depth + 1);
      // Never let a key named __proto__ reach the prototype (JSON.parse makes it an own property).
      if (key !== '__proto__') out[key] = value;
    });
    return out;
  }

  private array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.members(0x5d, () => {
      const value = this.value(depth + 1);
      if (out.length < this.options.maxItems) out.push(value);
    });
    return out;
  }

  /**
   * Steps over an object's or array's brackets and commas, from its opening bracket through
   * the closing `close`; `member` reads each member, starting at its first byte.
   */
  private members(close: number, member: () => void): void {
    const { buf } = this;
    this.pos++;
    this.space();
    if (buf[this.pos] === close) {
      this.pos++;
      return;
    }
    for (;;) {
      this.space();
      member();
      this.space();
      const c = buf[this.pos++];
      if (c === close) return;
      if (c !== 0x2c) throw INVALID;
    }
  }

  private string(): string {
    const { buf } = this;
    const start = this.pos + 1;
    let end = buf.indexOf(QUOTE, start);
    // A quote preceded by an odd run of backslashes is escaped: look further.
    while (end !== -1) {
      let slashes = 0;
      while (buf[end - 1 - slashes] === BACKSLASH && end - 1 - slashes >= start) slashes++;
      if (slashes % 2 === 0) break;
      end = buf.indexOf(QUOTE, end + 1);
    }
    if (end === -1) throw INVALID;
    this.pos = end + 1;
    return end - start > this.options.maxStringBytes ? this.head(start, end) : this.decode(start, end);
  }

  private decode(start: number, end: number): string {
    const raw = this.buf.subarray(start, end);
    if (!raw.includes(BACKSLASH)) return raw.toString('utf8');
    try {
      return JSON.parse(this.buf.toString('utf8', start - 1, end + 1)) as string;
    } catch {
      throw INVALID;
    }
  }

  /** The string's first bytes, cut before a split character or escape. */
  private head(start: number, end: number): string {
    const { buf } = this;
    let cut = Math.min(end, start + this.options.maxStringBytes);
    while (cut > start && (buf[cut] & 0xc0) === 0x80) cut--; // inside a UTF-8 sequence
    // An escape is at most 6 bytes (\uXXXX): back off until the head decodes.
    for (let tries = 0; tries < 7 && cut > start; tries++, cut--) {
      try {
        return (JSON.parse(`"${buf.toString('utf8', start, cut)}"`) as string) + CUT_MARK;
      } catch {
        // cut inside an escape: one byte earlier
      }
    }
    return CUT_MARK;
  }

  private literal(word: string, value: boolean | null): boolean | null {
    const { buf } = this;
    for (let i = 0; i < word.length; i++) if (buf[this.pos + i] !== word.charCodeAt(i)) throw INVALID;
    this.pos += word.length;
    return value;
  }

  private number(): number {
    const { buf } = this;
    const start = this.pos;
    let c = buf[this.pos];
    while ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) c = buf[++this.pos];
    const text = buf.toString('latin1', start, this.pos);
    if (!/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) throw INVALID;
    return Number(text);
  }
}
