// The output pipeline in process, fed from memory: Docker's multiplexed stream (one frame
// per line, the engine's worst case) cut into reads of one reused 64 KiB buffer as the
// attach stream reads, through demux, the
// streams' regrouping at line ends and the LogSink (line splitting, redaction of four
// secrets, tail, log file, the live echo capped as the action caps it). Run in a child
// process of its own so its memory is its own.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { demux, wholeLines } from '../src/machine/local/demux.js';
import { LogSink } from '../src/run/log-sink.js';
import { sha256File } from './lib.js';
import { SECRETS, TAIL_LINES, block, closing, expected } from './workload.js';

const READ = 64 * 1024;

function multiplex(text: string): Buffer {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return Buffer.concat(lines.flatMap((line) => {
    const payload = Buffer.from(line);
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(payload.length, 4);
    return [header, payload];
  }));
}

/** `blocks` copies of the block's frames, then the closing frames, read into one buffer like the attach stream. */
async function* socketReads(blocks: number): AsyncGenerator<Buffer> {
  const template = multiplex(block());
  const total = template.length * blocks;
  const buffer = Buffer.allocUnsafe(READ);
  for (let at = 0; at < total;) {
    const n = Math.min(READ, total - at);
    const read = buffer.subarray(0, n);
    for (let filled = 0; filled < n;) {
      const from = (at + filled) % template.length;
      filled += template.copy(read, filled, from, Math.min(template.length, from + n - filled));
    }
    at += n;
    yield read;
  }
  yield multiplex(closing());
}

export interface PipelineResult {
  seconds: number;
  printed: number;
  problems: string[];
  maxRssMb: number;
}

export async function runPipeline(blocks: number, dir: string): Promise<PipelineResult> {
  const want = expected(blocks);
  const file = join(dir, 'pipeline.log');
  let echoed = 0;
  const sink = new LogSink({ file, secrets: Object.values(SECRETS), tailLines: TAIL_LINES, echo: (lines) => { for (const line of lines) echoed += line.length; }, echoLimitBytes: 8 << 20 });
  const started = performance.now();
  for await (const data of wholeLines(demux(socketReads(blocks)))) sink.write(data);
  sink.end();
  const seconds = (performance.now() - started) / 1000;

  const problems: string[] = [];
  const size = statSync(file).size;
  if (size !== want.size || sink.bytes !== want.size) problems.push(`log file has ${size} bytes (sink counted ${sink.bytes}), expected ${want.size}`);
  const sha = await sha256File(file);
  if (sha !== want.sha256) problems.push(`log file sha256 ${sha}, expected ${want.sha256}`);
  const tail = sink.tail();
  if (JSON.stringify(tail) !== JSON.stringify(want.tail)) problems.push(`tail differs: ${JSON.stringify(tail.slice(-2))} vs ${JSON.stringify(want.tail.slice(-2))}`);
  if (echoed < 7 << 20 || echoed > 8 << 20) problems.push(`echoed ${echoed} bytes, expected just under 8 MiB`);
  return { seconds, printed: want.printed, problems, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}
