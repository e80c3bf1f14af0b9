// The output pipeline in process, fed from memory: Docker's multiplexed stream (one frame
// per line, the engine's worst case) cut into reads of one reused 64 KiB buffer as the
// attach stream reads, through demux, the
// streams' regrouping at line ends and the LogSink (line splitting, redaction of four
// secrets, tail, log file, the live echo capped as the action caps it). Run in a child
// process of its own so its memory is its own. The agent case sends Claude Code's stream-json
// events the same way through a LogSink in agent mode (events parsed and rendered, the
// transcript file written too).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { demux, wholeLines } from '../src/machine/local/demux.js';
import { LogSink } from '../src/run/log-sink.js';
import { sha256File } from './lib.js';
import {
  AGENT_DIFFSTAT,
  SECRETS,
  TAIL_LINES,
  agentBlock,
  agentClosing,
  agentExpected,
  agentOpening,
  agentStatsExpected,
  block,
  closing,
  expected,
} from './workload.js';

const READ = 64 * 1024;

function multiplex(text: string): Buffer {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return Buffer.concat(
    lines.flatMap((line) => {
      const payload = Buffer.from(line);
      const header = Buffer.alloc(8);
      header[0] = 1;
      header.writeUInt32BE(payload.length, 4);
      return [header, payload];
    }),
  );
}

/**
 * The opening frames, `blocks` copies of the block's frames, then the closing frames, read
 * into one buffer like the attach stream. The frames are made first: the text can go.
 */
function socketReads(blocks: number, text: { opening?: string; block: string; closing: string }): AsyncGenerator<Buffer> {
  const opening = text.opening ? multiplex(text.opening) : undefined;
  const template = multiplex(text.block);
  const closingFrames = multiplex(text.closing);
  return (async function* () {
    if (opening) yield opening;
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
    yield closingFrames;
  })();
}

export interface PipelineResult {
  seconds: number;
  /** CPU time (user + system) of the run itself: what the rate would be on an idle machine. */
  cpuSeconds: number;
  printed: number;
  problems: string[];
  maxRssMb: number;
}

/** The action's own sink settings: its secrets, tail and 8 MiB echo budget. */
const sinkOptions = (file: string, echo: (lines: string[]) => void) => ({
  file,
  secrets: Object.values(SECRETS),
  tailLines: TAIL_LINES,
  echo,
  echoLimitBytes: 8 << 20,
});

export async function runPipeline(blocks: number, dir: string): Promise<PipelineResult> {
  const want = expected(blocks);
  const file = join(dir, 'pipeline.log');
  let echoed = 0;
  const sink = new LogSink(
    sinkOptions(file, (lines) => {
      for (const line of lines) echoed += line.length;
    }),
  );
  const started = performance.now();
  const cpu = process.cpuUsage();
  for await (const data of wholeLines(demux(socketReads(blocks, { block: block(), closing: closing() })))) sink.write(data);
  sink.end();
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const cpuSeconds = (user + system) / 1e6;

  const problems: string[] = [];
  const size = statSync(file).size;
  if (size !== want.size || sink.bytes !== want.size) problems.push(`log file has ${size} bytes (sink counted ${sink.bytes}), expected ${want.size}`);
  const sha = await sha256File(file);
  if (sha !== want.sha256) problems.push(`log file sha256 ${sha}, expected ${want.sha256}`);
  const tail = sink.tail();
  if (JSON.stringify(tail) !== JSON.stringify(want.tail))
    problems.push(`tail differs: ${JSON.stringify(tail.slice(-2))} vs ${JSON.stringify(want.tail.slice(-2))}`);
  if (echoed < 7 << 20 || echoed > 8 << 20) problems.push(`echoed ${echoed} bytes, expected just under 8 MiB`);
  return { seconds, cpuSeconds, printed: want.printed, problems, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

/** The agent case: about `mib` MiB of stream-json events and plain lines through a LogSink in agent mode. */
export async function runAgentPipeline(mib: number, dir: string): Promise<PipelineResult> {
  const { blocks, reads, want } = agentWorkload(mib);
  const file = join(dir, 'agent.log');
  const transcriptFile = join(dir, 'agent.jsonl');
  let echoedLines = 0;
  const sink = new LogSink({
    ...sinkOptions(file, (lines) => {
      echoedLines += lines.length;
    }),
    agent: { transcriptFile },
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  for await (const data of wholeLines(demux(reads))) sink.write(data);
  sink.end();
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const cpuSeconds = (user + system) / 1e6;
  // The peak up to here: the checks below read a GiB back and are not the pipeline.
  const maxRssMb = process.resourceUsage().maxRSS / 1024;

  const problems: string[] = [];
  for (const [name, path, expect] of [
    ['log file', file, want.log],
    ['transcript', transcriptFile, want.transcript],
  ] as const) {
    const size = statSync(path).size;
    if (size !== expect.size) problems.push(`${name} has ${size} bytes, expected ${expect.size}`);
    const sha = await sha256File(path);
    if (sha !== expect.sha256) problems.push(`${name} sha256 ${sha}, expected ${expect.sha256}`);
  }
  if (sink.bytes !== want.log.size) problems.push(`sink counted ${sink.bytes} log bytes, expected ${want.log.size}`);
  const tail = sink.tail();
  if (JSON.stringify(tail) !== JSON.stringify(want.tail))
    problems.push(`tail differs: ${JSON.stringify(tail.slice(-3))} vs ${JSON.stringify(want.tail.slice(-3))}`);
  if (echoedLines !== want.lines) problems.push(`echoed ${echoedLines} lines, expected ${want.lines}`);
  if (sink.markers.get('exit') !== '0' || sink.markers.get('diffstat') !== AGENT_DIFFSTAT) problems.push('markers exit/diffstat not read');
  const stats = sink.agent?.stats;
  const wantStats = agentStatsExpected(blocks);
  const got = stats && {
    toolCounts: stats.toolCounts,
    commands: stats.commands,
    filesEdited: stats.filesEdited,
    numTurns: stats.numTurns,
    costUsd: stats.costUsd,
    inputTokens: stats.inputTokens,
    outputTokens: stats.outputTokens,
    result: stats.result,
  };
  if (JSON.stringify(got) !== JSON.stringify(wantStats))
    problems.push(`stats differ: ${JSON.stringify(got).slice(0, 300)} vs ${JSON.stringify(wantStats).slice(0, 300)}`);
  return { seconds, cpuSeconds, printed: want.printed, problems, maxRssMb };
}

/** Kept apart so the workload's text is garbage before the run starts: only its frames stay. */
function agentWorkload(mib: number) {
  const opening = agentOpening();
  const repeated = agentBlock();
  const blocks = Math.max(1, Math.round((mib * 2 ** 20) / Buffer.byteLength(repeated.printed)));
  const reads = socketReads(blocks, { opening: opening.printed, block: repeated.printed, closing: agentClosing(blocks).printed });
  return { blocks, reads, want: agentExpected(blocks) };
}
