import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogSink, type LogSinkOptions } from '../../src/run/log-sink.js';
import { chunks, init, line, result, text, toolResult, toolUse } from '../agent/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'amt-sink-'));
let n = 0;
function sink(options: Partial<LogSinkOptions> = {}) {
  const file = join(dir, `log-${n++}`);
  return { file, sink: new LogSink({ file, secrets: [], tailLines: 5, ...options }) };
}

/** Feeds `text` in chunks of every size from 1 to `max`, cycling, to hit every boundary. */
function feed(target: LogSink, text: string, max = 7): void {
  for (const chunk of chunks(Buffer.from(text), max)) target.write(chunk);
}

describe('LogSink', () => {
  it('keeps the log file byte-exact and the last lines as the tail', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i} ${'x'.repeat(i % 13)}`).join('\n') + '\n';
    const { file, sink: s } = sink();
    feed(s, text);
    s.end();
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(s.tail()).toEqual(text.trimEnd().split('\n').slice(-5));
    expect(s.bytes).toBe(Buffer.byteLength(text));
  });

  it('keeps a last line without a newline and strips carriage returns', () => {
    const { sink: s } = sink({ tailLines: 3 });
    s.write('a\r\nb\r\nc');
    s.end();
    expect(s.tail()).toEqual(['a', 'b', 'c']);
  });

  it('redacts secrets even when they are split across chunks', () => {
    const secrets = ['ghp_SECRETSECRET', 'sk-ant-oat-XYZ', 'SECRETSECRETLONGER'];
    const text = `token=ghp_SECRETSECRET and sk-ant-oat-XYZ\nnested SECRETSECRETLONGER\nplain\n${'y'.repeat(70000)}ghp_SECRETSECRET${'z'.repeat(10)}\n`;
    const { file, sink: s } = sink({ secrets });
    const echoed: string[] = [];
    const { sink: echoing } = sink({ secrets, echo: (lines) => echoed.push(...lines) });
    feed(s, text, 11);
    feed(echoing, text, 5000);
    s.end();
    echoing.end();
    const written = readFileSync(file, 'utf8');
    for (const secret of secrets) {
      expect(written).not.toContain(secret);
      expect(s.tail().join('\n')).not.toContain(secret);
      expect(echoed.join('\n')).not.toContain(secret);
    }
    expect(written).toContain('token=*** and ***\nnested ***\nplain\n');
    expect(written.length).toBe(text.length - 16 - 14 - 18 - 16 + 4 * 3);
  });

  it('reads markers only as whole lines; an exit code only from the very last line', () => {
    const { sink: s } = sink();
    feed(s, 'working\n[flaude:exit:1]\nmore\n[flaude:pushed:fix/branch:0123abcd]\n[flaude:exit:42]\n');
    // Text that only mentions a marker (cat of the entrypoint, an agent quoting one) is not one.
    feed(s, 'echo "[flaude:exit:7]"\n[flaude:exit:$code]\nsee [flaude:exit:9] above\n');
    expect(s.markers.get('exit')).toBe('42');
    expect(s.markers.get('pushed')).toBe('fix/branch:0123abcd');
    expect(s.exitMarker()).toBeNull(); // printed early, then more output: not the image's last word
    feed(s, '[flaude:exit:3]');
    s.end();
    expect(s.exitMarker()).toBe(3);
  });

  it('with a nonce, believes only the markers that carry it: the agent cannot forge one', () => {
    const { sink: s } = sink({ markerNonce: 'n0nce' });
    feed(s, '[flaude:pushed:main:0123abcd]\n[flaude:n0nce:pushed:fix:4567abcd]\n[flaude:exit:0]\n[flaude:other:exit:0]\n[flaude:n0nce:exit:5]\n');
    s.end();
    expect(s.markers.get('pushed')).toBe('fix:4567abcd');
    expect(s.exitMarker()).toBe(5);
    const { sink: forged } = sink({ markerNonce: 'n0nce' });
    feed(forged, '[flaude:n0nce:exit:5]\n[flaude:exit:0]\n');
    forged.end();
    expect(forged.exitMarker()).toBeNull();
  });

  it("keeps the image's own markers out of the live lines and the tail, not out of the log file; a forged one shows", () => {
    const echoed: string[] = [];
    const { file, sink: s } = sink({ markerNonce: 'n0nce', echo: (lines) => echoed.push(...lines) });
    const text = 'working\n[flaude:n0nce:egress:enforce]\n[flaude:exit:0]\ndone\n[flaude:n0nce:blocked:[]]\n[flaude:n0nce:exit:0]\n';
    feed(s, text);
    s.end();
    expect(echoed).toEqual(['working', '[flaude:exit:0]', 'done']);
    expect(s.tail(3)).toEqual(['working', '[flaude:exit:0]', 'done']);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(s.exitMarker()).toBe(0);
  });

  it('stops echoing past the limit but writes everything to the file', () => {
    const echoed: string[] = [];
    const { file, sink: s } = sink({ echo: (lines) => echoed.push(...lines), echoLimitBytes: 100 });
    const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n';
    s.write(text);
    s.end();
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(echoed.length).toBeLessThan(20);
    expect(echoed.at(-1)).toMatch(/the rest is only in the log file/);
    expect(echoed.slice(0, -1)).toEqual(text.split('\n').slice(0, echoed.length - 1));
  });

  it('bounds memory for a line that never ends', () => {
    const { file, sink: s } = sink();
    const chunk = Buffer.alloc(1 << 20, 'a');
    for (let i = 0; i < 64; i++) s.write(chunk);
    s.write('\nend\n');
    s.end();
    const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(hash(readFileSync(file))).toBe(hash(Buffer.concat([...Array(64).fill(chunk), Buffer.from('\nend\n')])));
    expect(s.tail().at(-1)).toBe('end');
    expect(s.tail().at(-2)!.length).toBe(2000);
  });
});

describe('LogSink markers', () => {
  it('reads a marker line up to 64 KiB (a base64 diffstat), not a longer one', () => {
    const diffstat = Buffer.from('1\t0\tsrc/app.ts\n'.repeat(1000)).toString('base64');
    expect(diffstat.length).toBeGreaterThan(16 * 1024);
    for (const agent of [undefined, { transcriptFile: join(dir, `t-${n++}`) }]) {
      const { sink: s } = sink({ agent });
      feed(s, `[flaude:diffstat:${diffstat}]\n[flaude:toolong:${'a'.repeat(70 * 1024)}]\n[flaude:exit:0]\n`, 5000);
      s.end();
      expect(s.markers.get('diffstat')).toBe(diffstat);
      expect(s.markers.has('toolong')).toBe(false);
      expect(s.markers.get('exit')).toBe('0');
    }
  });
});

describe('LogSink in agent mode', () => {
  const secret = 'ghs_secretTokenValue0123456789';
  const events = [
    line(init()),
    line(text('m1', `Found ${secret} in the env.`)),
    line(toolUse('m1', 't1', 'Bash', { command: `curl -H "token: ${secret}" https://x` })),
    line(toolResult('t1', `HTTP 401 for ${secret}\n${'body '.repeat(20_000)}`, true)),
    line(result({ result: `Done; rotated ${secret}.` })),
  ];
  const printed = ['[flaude] cloning https://github.com/o/r into r', ...events.slice(0, 3), `plain ${secret}`, ...events.slice(3), '[flaude:exit:0]', ''].join(
    '\n',
  );

  function agentSink(options: Partial<LogSinkOptions> = {}) {
    const transcriptFile = join(dir, `transcript-${n++}.jsonl`);
    const echoed: string[] = [];
    const made = sink({ secrets: [secret], tailLines: 20, echo: (lines) => echoed.push(...lines), agent: { transcriptFile }, ...options });
    return { ...made, transcriptFile, echoed };
  }

  it('writes human lines to the log, tail and echo, and the raw events, redacted, to the transcript', () => {
    for (const max of [3, 4096, 70_000]) {
      const { file, sink: s, transcriptFile, echoed } = agentSink();
      feed(s, printed, max);
      s.end();
      const human = [
        '[flaude] cloning https://github.com/o/r into r',
        'Claude Code started (model claude-sonnet-4-5, session sess-0001)',
        'Found *** in the env.',
        '$ curl -H "token: ***" https://x',
        'plain ***',
        '  ✗ Bash failed: HTTP 401 for ***',
        'Result (success, 3 turns, $0.0123): Done; rotated ***.',
        '[flaude:exit:0]',
      ];
      expect(readFileSync(file, 'utf8')).toBe(`${human.join('\n')}\n`);
      expect(s.bytes).toBe(Buffer.byteLength(`${human.join('\n')}\n`));
      expect(s.tail()).toEqual(human);
      expect(echoed).toEqual(human);
      const transcript = readFileSync(transcriptFile, 'utf8');
      expect(transcript).toBe(events.map((e) => `${e.split(secret).join('***')}\n`).join(''));
      expect(s.transcriptBytes).toBe(Buffer.byteLength(transcript));
      expect(s.markers.get('exit')).toBe('0');
      expect(s.agent?.stats).toMatchObject({ result: 'Done; rotated ***.', commands: ['curl -H "token: ***" https://x'], numTurns: 3, events: 5 });
    }
  });

  it('redacts a secret split across chunks inside an event, and one JSON escaped', () => {
    const quoted = 'pa"ss\\word-0123456789';
    const event = line(text('m1', `a ${secret} b ${quoted} c`));
    expect(event).toContain(JSON.stringify(quoted).slice(1, -1));
    const { file, sink: s, transcriptFile } = agentSink({ secrets: [secret, quoted] });
    const bytes = Buffer.from(`${event}\n`);
    const cut = bytes.indexOf(secret) + 10;
    s.write(bytes.subarray(0, cut));
    s.write(bytes.subarray(cut));
    s.end();
    expect(readFileSync(file, 'utf8')).toBe('a *** b *** c\n');
    const transcript = readFileSync(transcriptFile, 'utf8');
    expect(transcript).not.toContain(secret);
    expect(transcript).not.toContain('ss\\\\word');
    expect(JSON.parse(transcript)).toMatchObject({ message: { content: [{ text: 'a *** b *** c' }] } });
  });

  it('redacts a secret at the cut of an event line too long to hold in one piece', () => {
    const { file, sink: s, transcriptFile } = agentSink();
    const filler = 'f'.repeat(64 * 1024 - 40);
    const event = line(toolResult('t1', `${filler}${secret}${filler}${secret}`));
    for (const chunk of chunks(Buffer.from(`${event}\nend\n`), 65_536)) s.write(chunk);
    s.end();
    expect(readFileSync(file, 'utf8')).toBe('end\n');
    expect(readFileSync(transcriptFile, 'utf8')).toBe(`${event.split(secret).join('***')}\n`);
  });

  it('without the option, event lines stay in the log as printed', () => {
    const { file, sink: s } = sink({ secrets: [secret] });
    feed(s, printed, 97);
    s.end();
    expect(readFileSync(file, 'utf8')).toBe(printed.split(secret).join('***'));
    expect(s.agent).toBeUndefined();
    expect(s.transcriptBytes).toBeUndefined();
  });
});
