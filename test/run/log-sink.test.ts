import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogSink, type LogSinkOptions } from '../../src/run/log-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'amt-sink-'));
let n = 0;
function sink(options: Partial<LogSinkOptions> = {}) {
  const file = join(dir, `log-${n++}`);
  return { file, sink: new LogSink({ file, secrets: [], tailLines: 5, ...options }) };
}

/** Feeds `text` in chunks of every size from 1 to `max`, cycling, to hit every boundary. */
function feed(target: LogSink, text: string, max = 7): void {
  const bytes = Buffer.from(text);
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % max) + 1) target.write(bytes.subarray(at, at + size));
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

  it('reads the last exit marker and other markers, and signals them', async () => {
    const { sink: s } = sink();
    const seen = s.markerSeen('exit');
    feed(s, 'working\n[flaude:exit:1]\nmore\n[flaude:pushed:fix/branch:0123abcd]\n[flaude:exit:42]\n');
    await seen;
    // Text that only mentions a marker (cat of the entrypoint, an agent quoting one) is not one.
    feed(s, 'echo "[flaude:exit:7]"\n[flaude:exit:$code]\nsee [flaude:exit:9] above\n');
    expect(s.markers.get('exit')).toBe('42');
    expect(s.markers.get('pushed')).toBe('fix/branch:0123abcd');
    s.end();
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
