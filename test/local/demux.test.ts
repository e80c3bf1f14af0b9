import { describe, expect, it } from 'vitest';
import { demux, STDERR, STDOUT, wholeLines, type StreamOutput } from '../../src/machine/local/demux.js';

function frame(stream: number, payload: string | Buffer): Buffer {
  const data = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

async function* chunked(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    // Fresh buffers: demux owns and rewrites what it is given.
    yield Buffer.from(bytes.subarray(at, cut));
    at = cut;
  }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<{ stdout: string; stderr: string; order: string[] }> {
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const order: string[] = [];
  for await (const { stream, data } of demux(chunks)) {
    expect(data.length).toBeGreaterThan(0);
    (stream === STDERR ? out.stderr : out.stdout).push(data);
    order.push(`${stream}:${data}`);
  }
  return { stdout: Buffer.concat(out.stdout).toString(), stderr: Buffer.concat(out.stderr).toString(), order };
}

describe('demux', () => {
  const frames = [frame(STDOUT, 'hello\n'), frame(STDERR, 'oops\n'), frame(STDOUT, ''), frame(STDOUT, 'world\n'), frame(STDERR, 'x'.repeat(300))];
  const stream = Buffer.concat(frames);

  it('separates stdout and stderr from one chunk', async () => {
    const got = await collect(chunked(stream, []));
    expect(got.stdout).toBe('hello\nworld\n');
    expect(got.stderr).toBe('oops\n' + 'x'.repeat(300));
  });

  it('gives the same result for every single cut and every pair of cuts', async () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += a < 40 ? 1 : 7) {
        const got = await collect(chunked(stream, [a, b]));
        expect([got.stdout, got.stderr], `cuts ${a},${b}`).toEqual(['hello\nworld\n', 'oops\n' + 'x'.repeat(300)]);
      }
    }
  });

  it('survives one byte per chunk', async () => {
    const got = await collect(
      chunked(
        stream,
        Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
      ),
    );
    expect(got.stdout).toBe('hello\nworld\n');
    expect(got.stderr).toBe('oops\n' + 'x'.repeat(300));
  });

  it('keeps the interleaving and merges consecutive same-stream frames of a chunk into one piece', async () => {
    const got = await collect(chunked(Buffer.concat([frame(STDOUT, 'a'), frame(STDOUT, 'b'), frame(STDERR, 'c'), frame(STDOUT, 'd')]), []));
    expect(got.order).toEqual(['1:ab', '2:c', '1:d']);
  });

  it('does not rewrite pieces it has already yielded', async () => {
    const kept: Buffer[] = [];
    for await (const { data } of demux(chunked(Buffer.concat([frame(STDOUT, 'one'), frame(STDERR, 'two'), frame(STDOUT, 'three')]), []))) kept.push(data);
    expect(kept.map(String)).toEqual(['one', 'two', 'three']);
  });

  it('handles a payload larger than a chunk and binary bytes', async () => {
    const big = Buffer.alloc(200_000, 7);
    big[12345] = 0x0a;
    const bytes = Buffer.concat([frame(STDOUT, big), frame(STDERR, Buffer.from([0, 1, 2, 255]))]);
    const cuts = [3, 65536, 131072, 200_005, 200_010];
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    for await (const { stream, data } of demux(chunked(bytes, cuts))) (stream === STDERR ? err : out).push(data);
    expect(Buffer.concat(out).equals(big)).toBe(true);
    expect([...Buffer.concat(err)]).toEqual([0, 1, 2, 255]);
  });
});

describe('wholeLines', () => {
  async function regroup(pieces: Array<[number, string]>): Promise<string[]> {
    async function* outputs(): AsyncGenerator<StreamOutput> {
      for (const [stream, text] of pieces) yield { stream, data: Buffer.from(text) };
    }
    const out: string[] = [];
    for await (const piece of wholeLines(outputs())) out.push(piece.toString());
    return out;
  }

  it("lets a stream in only at the other one's line ends", async () => {
    const got = await regroup([
      [STDOUT, 'one\ntw'],
      [STDERR, 'err 1\nerr'],
      [STDOUT, 'o\nthree'],
      [STDERR, ' 2\n'],
      [STDOUT, '\n'],
    ]);
    expect(got.join('').split('\n')).toEqual(['one', 'err 1', 'two', 'err 2', 'three', '']);
  });

  it('passes an unfinished line on at the end, and a very long one before its end', async () => {
    const long = 'x'.repeat(70_000);
    expect(
      await regroup([
        [STDOUT, 'no newline'],
        [STDERR, 'tail'],
      ]),
    ).toEqual(['no newline', 'tail']);
    expect(
      (
        await regroup([
          [STDOUT, long.slice(0, 40_000)],
          [STDOUT, long.slice(40_000)],
          [STDERR, 'e\n'],
        ])
      ).join('|'),
    ).toBe(`${long}|e\n`);
  });
});
