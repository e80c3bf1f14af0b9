// The split of an agent's output into the transcript (event lines, raw) and what goes on
// (human lines, other text), wherever the chunks happen to be cut.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentStream, MAX_EVENT_LINE } from '../../src/agent/stream.js';
import { chunks, init, line, result, text, toolResult, toolUse } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'amt-agent-stream-'));
let n = 0;

/** Runs `pieces` through a fresh AgentStream: what went on, the transcript, the stream. */
function run(pieces: Buffer[]) {
  const transcriptFile = join(dir, `t-${n++}.jsonl`);
  const stream = new AgentStream({ transcriptFile });
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(Buffer.from(stream.filter(piece))); // a copy: valid until the next call
  out.push(Buffer.from(stream.end()));
  return { passed: Buffer.concat(out).toString('utf8'), transcript: readFileSync(transcriptFile, 'utf8'), stream };
}

const big = 'x"y\\z — '.repeat(20_000); // ~200 KB in JSON: gathered over many chunks
const events = [
  line(init()),
  line(text('m1', 'Let me look.')),
  line(toolUse('m1', 't1', 'Bash', { command: 'npm test' })),
  line(toolResult('t1', big)),
  line(toolResult('t1', `Exit code 1\n${big}`, true)),
  line(result()),
];
const plain = ['[flaude] cloning https://github.com/o/r into r', '{ not json', '{"level":"info"}', '', 'git: fatal: bad'];
const mixed = `${plain[0]}\n${events[0]}\n${events[1]}\n${plain[1]}\n${events[2]}\n${plain[2]}\n${events[3]}\n${plain[3]}\n${events[4]}\n${plain[4]}\n${events[5]}\n`;
const human = [
  plain[0],
  'Claude Code started (model claude-sonnet-4-5, session sess-0001)',
  'Let me look.',
  plain[1],
  '$ npm test',
  plain[2],
  plain[3],
  '  ✗ Bash failed: Exit code 1',
  plain[4],
  'Result (success, 3 turns, $0.0123): Fixed it.',
]
  .map((l) => `${l}\n`)
  .join('');

describe('AgentStream', () => {
  it('sends event lines to the transcript and their human lines on, whatever the chunks', () => {
    const bytes = Buffer.from(mixed);
    for (const pieces of [[bytes], chunks(bytes, 7), chunks(bytes, 997), chunks(bytes, 70_001)]) {
      const { passed, transcript, stream } = run(pieces);
      expect(passed).toBe(human);
      expect(transcript).toBe(events.map((e) => `${e}\n`).join(''));
      expect(stream.transcriptBytes).toBe(Buffer.byteLength(transcript));
      expect(stream.events.stats.events).toBe(6);
    }
  });

  it('hands on a chunk with no event in it as it is', () => {
    const stream = new AgentStream({ transcriptFile: join(dir, 'same.jsonl') });
    const data = Buffer.from('plain\nmore plain {not at a line start}\n');
    expect(stream.filter(data)).toBe(data);
    stream.end();
  });

  it('at the end, reads an event that has no newline, and passes text that has none', () => {
    const event = run([Buffer.from(`a\n${line(text('m1', 'last words'))}`)]);
    expect(event.passed).toBe('a\nlast words\n');
    expect(event.transcript).toBe(`${line(text('m1', 'last words'))}\n`);
    const broken = run([Buffer.from('a\n{"type":"assistant","mess')]);
    expect(broken.passed).toBe('a\n{"type":"assistant","mess');
    expect(broken.transcript).toBe('');
    const textLine = run([Buffer.from('a\nno newline')]);
    expect(textLine.passed).toBe('a\nno newline');
  });

  it('reads CRLF event lines and keeps them raw in the transcript', () => {
    const { passed, transcript } = run(chunks(Buffer.from(`${events[1]}\r\nplain\r\n`), 5));
    expect(passed).toBe('Let me look.\nplain\r\n');
    expect(transcript).toBe(`${events[1]}\r\n`);
  });

  it('does not gather a line past MAX_EVENT_LINE: an event goes on to the transcript unread, other text passes', () => {
    const huge = 'z'.repeat(MAX_EVENT_LINE + 1000);
    const event = line(toolResult('t1', huge));
    const other = `{${huge}}`;
    const bytes = Buffer.from(`${event}\n${other}\n${events[1]}\n`);
    const { passed, transcript, stream } = run(chunks(bytes, 300_007));
    expect(passed).toBe(`${other}\nLet me look.\n`);
    expect(transcript).toBe(`${event}\n${events[1]}\n`);
    expect(stream.events.stats.events).toBe(2);
  });
});
