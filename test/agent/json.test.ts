// The in-place JSON reader for huge event lines: JSON.parse's answer, long strings cut.
import { describe, expect, it } from 'vitest';
import { CUT_MARK, parseCapped } from '../../src/agent/json.js';
import { allRecordings } from './helpers.js';

const roomy = { maxStringBytes: 1 << 20, maxItems: 1 << 20 };
const parse = (text: string, options = roomy) => parseCapped(Buffer.from(text), options);

describe('parseCapped', () => {
  it('gives what JSON.parse gives when nothing needs cutting', () => {
    const values: unknown[] = [
      0,
      -1.5e-3,
      12345678901234,
      true,
      false,
      null,
      '',
      'plain',
      'esc "q" \\ \n \t \u0001 \u2028 é 😀',
      [],
      {},
      [1, [2, [3, {}]]],
      { a: { b: [null, 'x'] }, 'k"ey': 1, '': 2 },
    ];
    for (const value of values) {
      expect(parse(JSON.stringify(value))).toEqual(value);
      expect(parse(` \n${JSON.stringify(value, null, 2)}\r\n `)).toEqual(value);
    }
    for (const { name, bytes } of allRecordings()) {
      for (const raw of bytes
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))) {
        expect(parseCapped(Buffer.from(raw), roomy), name).toEqual(JSON.parse(raw));
      }
    }
  });

  it('cuts long strings to their first bytes, never inside a character or an escape', () => {
    const options = { maxStringBytes: 10, maxItems: 100 };
    expect(parse(JSON.stringify({ s: 'abcdefghijklmnop', t: 'short' }), options)).toEqual({ s: `abcdefghij${CUT_MARK}`, t: 'short' });
    // é is two bytes: the tenth byte starts the fourth, so it goes.
    expect(parse(JSON.stringify('aaaéééééé'), options)).toBe(`aaaééé${CUT_MARK}`);
    // \" is two bytes, \u0001 six: the cut moves before them.
    expect(parse(JSON.stringify('123456789"abc'), options)).toBe(`123456789${CUT_MARK}`);
    expect(parse(JSON.stringify('12345\u0001xyzxyz'), options)).toBe(`12345${CUT_MARK}`);
    expect(parse(JSON.stringify('123456789\\abc'), options)).toBe(`123456789${CUT_MARK}`);
    expect(parse(JSON.stringify('12345678\\abc'), options)).toBe(`12345678\\${CUT_MARK}`);
  });

  it('keeps the first items of a long array but reads on past them', () => {
    expect(parse(JSON.stringify({ a: [1, 2, 3, 4, 5], b: 'after' }), { maxStringBytes: 100, maxItems: 2 })).toEqual({ a: [1, 2], b: 'after' });
  });

  it('says undefined for what is not JSON', () => {
    for (const bad of [
      '',
      '{',
      '{"a":1',
      '{"a":1,}',
      '{"a" 1}',
      '[1 2]',
      'tru',
      'nul',
      '01',
      '1.',
      '-',
      '"unterminated',
      '"a\\"',
      '{"a":1}x',
      '{a:1}',
      "{'a':1}",
      '"bad \\x escape"',
    ]) {
      expect(parse(bad), bad).toBeUndefined();
    }
    expect(parse(`${'['.repeat(1000)}${']'.repeat(1000)}`)).toBeUndefined();
  });

  it('never lets a key set the prototype', () => {
    const value = parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    expect(value).toEqual({ a: 1 });
    expect((value as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
