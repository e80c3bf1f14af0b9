// The allowlist on the run's side: what the machine is made with, what the image's markers are
// believed to say (read through the real LogSink, nonce and all), the warnings a run gets, and
// the lines a failed run's error gains.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockedWarning, egressErrorLines, egressFrom, MAX_BLOCKED, readEgress, type Egress, type EgressReading } from '../../src/egress.js';
import { PullRequestReport } from '../../src/report/pull-request.js';
import { LogSink } from '../../src/run/log-sink.js';
import { machineSpec } from '../../src/run/spec.js';
import { Secrets } from '../../src/secrets.js';
import { testConfig } from '../helpers/factories.js';

const NONCE = 'n0nce0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'amt-egress-'));
let files = 0;

/** The markers a real sink reads from `output`, as the bundled image's run (with its nonce) or another image's (without). */
function markersOf(output: string, nonce: string | null = NONCE) {
  const sink = new LogSink({ file: join(dir, `log-${files++}`), secrets: ['sk-secret-in-a-name'], tailLines: 5, markerNonce: nonce ?? undefined });
  sink.write(output);
  sink.end();
  return sink.markers;
}

const marker = (name: string, value: string, nonce = NONCE) => `[flaude:${nonce}:${name}:${value}]\n`;
const requested: Egress = { allow: ['github.com'], mode: 'enforce', isDefault: true };

function reading(overrides: Partial<EgressReading> = {}): { warnings: string[]; options: EgressReading } {
  const warnings: string[] = [];
  const options: EgressReading = { requested, bundledImage: true, ranAgent: true, redact: (t) => t, warn: (m) => warnings.push(m), ...overrides };
  return { warnings, options };
}

describe('the machine the allowlist asks for', () => {
  const plan = { repos: [], pullRequest: new PullRequestReport({ secrets: new Secrets([]) }) };
  const identity = { image: 'agent:test', runKey: '0123456789abcdef' };

  it('with the allowlist on: its variables, and CAP_NET_ADMIN for the firewall', () => {
    const spec = machineSpec(testConfig({ allowed_domains: 'github\nexample.com', egress_mode: 'audit' }), plan, identity);
    expect(spec.env.FLAUDE_EGRESS_ALLOW.split('\n')).toEqual(['github.com', '*.github.com', '*.githubusercontent.com', 'ghcr.io', 'example.com']);
    expect(spec.env.FLAUDE_EGRESS_MODE).toBe('audit');
    expect(spec.netAdmin).toBe(true);
  });

  it('for an image of its own (`image`): neither, since only the bundled entrypoint keeps the list', () => {
    const spec = machineSpec(testConfig({ image: 'acme/agent:1', allowed_domains: 'example.com' }), plan, identity);
    expect(Object.keys(spec.env).filter((key) => key.startsWith('FLAUDE_EGRESS'))).toEqual([]);
    expect(spec.netAdmin).toBe(false);
  });

  it("with '*': neither the variables nor the capability", () => {
    const spec = machineSpec(testConfig({ allowed_domains: '*' }), plan, identity);
    expect(Object.keys(spec.env).filter((key) => key.startsWith('FLAUDE_EGRESS'))).toEqual([]);
    expect(spec.netAdmin).toBe(false);
  });
});

describe('the markers read back', () => {
  it('reads the mode in force and the blocked hosts, port and count', () => {
    const blocked = [
      { host: 'evil.example', port: 443, count: 3 },
      { host: '203.0.113.9', port: 4444, count: 1 },
      { host: 'exfil.example', count: 2 },
      { host: '2001:db8::66', port: 53, count: 1 },
    ];
    const markers = markersOf(
      `[flaude] cloning\n${marker('egress', 'enforce')}agent output\n${marker('blocked', JSON.stringify(blocked))}${marker('exit', '1')}`,
    );
    expect(egressFrom(markers)).toEqual({ mode: 'enforce', blocked, unreadable: false });
  });

  it('believes no marker the agent could have printed: without the nonce, or with another', () => {
    const forged = `[flaude:egress:audit]\n[flaude:blocked:[]]\n${marker('blocked', '[{"host":"x.example","count":1}]', 'guessed0123456789')}`;
    expect(egressFrom(markersOf(forged))).toEqual({ mode: undefined, blocked: [], unreadable: false });
    // Another image (no nonce): the plain form is its word.
    expect(egressFrom(markersOf('[flaude:egress:audit]\n[flaude:blocked:[{"host":"x.example","count":1}]]\n', null))).toEqual({
      mode: 'audit',
      blocked: [{ host: 'x.example', count: 1 }],
      unreadable: false,
    });
  });

  it('drops every entry that is not a printable host, a port 0-65535 and a positive count, and keeps at most 50', () => {
    const entries: unknown[] = [
      { host: 'ok.example', port: 0, count: 1 },
      { host: 'a\u0007b\u001b[31m.example', port: 80, count: 1 },
      { host: 'has space.example', count: 1 },
      { host: '', count: 1 },
      { host: 'x'.repeat(254), count: 1 },
      { host: 'ok.example', port: 65536, count: 1 },
      { host: 'ok.example', port: -1, count: 1 },
      { host: 'ok.example', port: 1.5, count: 1 },
      { host: 'ok.example', port: '443', count: 1 },
      { host: 'ok.example', count: 0 },
      { host: 'ok.example', count: -2 },
      { host: 'ok.example', count: 1e300 },
      { host: 'ok.example' },
      { host: 42, count: 1 },
      { host: ['ok.example'], count: 1 },
      'ok.example',
      null,
      [{ host: 'nested.example', count: 1 }],
      { host: 'x'.repeat(253), port: 65535, count: 9 },
    ];
    const markers = markersOf(marker('blocked', JSON.stringify(entries)));
    expect(egressFrom(markers).blocked).toEqual([
      { host: 'ok.example', port: 0, count: 1 },
      { host: 'x'.repeat(253), port: 65535, count: 9 },
    ]);
    const many = Array.from({ length: 80 }, (_, i) => ({ host: `h${i}.example`, port: 443, count: 80 - i }));
    const capped = egressFrom(markersOf(marker('blocked', JSON.stringify(many)))).blocked;
    expect(capped).toHaveLength(MAX_BLOCKED);
    expect(capped[0]).toEqual({ host: 'h0.example', port: 443, count: 80 });
  });

  it('a garbled list is unreadable, not a crash; an unknown mode is no mode', () => {
    for (const value of ['[{"host":', '{"host":"a.example","count":1}', 'null', '"x"', ''])
      expect(egressFrom(markersOf(marker('blocked', value))), value).toMatchObject({ blocked: [], unreadable: true });
    expect(egressFrom(markersOf(marker('egress', 'off'))).mode).toBeUndefined();
  });
});

describe('readEgress: the outcome and the warnings', () => {
  const blockedRun = (mode = 'enforce') =>
    markersOf(
      marker('egress', mode) +
        marker(
          'blocked',
          JSON.stringify([
            { host: 'evil.example', port: 443, count: 3 },
            { host: 'leak.example', count: 1 },
          ]),
        ),
    );

  it('warns once per blocked host, with port and attempts', () => {
    const { warnings, options } = reading();
    expect(readEgress(blockedRun(), options)).toEqual({
      mode: 'enforce',
      blocked: [
        { host: 'evil.example', port: 443, count: 3 },
        { host: 'leak.example', count: 1 },
      ],
    });
    expect(warnings).toEqual([
      'Blocked network access: evil.example:443 (connection, 3 attempts); add the host to allowed_domains if the agent needs it',
      'Blocked network access: leak.example (DNS lookup, 1 attempt); add the host to allowed_domains if the agent needs it',
    ]);
  });

  it('in audit mode says what would have been blocked', () => {
    const { warnings, options } = reading({ requested: { ...requested, mode: 'audit' } });
    expect(readEgress(blockedRun('audit'), options)?.mode).toBe('audit');
    expect(warnings[0]).toBe('Network access that allowed_domains would have blocked (egress_mode: audit): evil.example:443 (connection, 3 attempts)');
    expect(blockedWarning({ host: '2001:db8::1', port: 22, count: 2 }, 'audit')).toContain('[2001:db8::1]:22');
  });

  it('redacts a secret an agent spelled as a host name', () => {
    const secrets = new Secrets(['sk-secret-in-a-name']);
    const { warnings, options } = reading({ redact: (t) => secrets.redact(t) });
    // The image's own output, so the sink did not see the secret in this form: readEgress redacts it anyway.
    const markers = new Map([
      ['egress', 'enforce'],
      ['blocked', JSON.stringify([{ host: 'sk-secret-in-a-name.evil.example', port: 53, count: 1 }])],
    ]);
    const egress = readEgress(markers, options);
    expect(egress?.blocked[0].host).toBe('***.evil.example');
    expect(warnings.join('\n')).not.toContain('sk-secret-in-a-name');
  });

  it('a run under the allowlist that ends with nothing blocked: the mode and an empty list, no warning', () => {
    const { warnings, options } = reading();
    expect(readEgress(markersOf(marker('egress', 'enforce') + marker('blocked', '[]')), options)).toEqual({ mode: 'enforce', blocked: [] });
    expect(warnings).toEqual([]);
  });

  it('the bundled image ran the agent but never confirmed the allowlist: a warning', () => {
    const { warnings, options } = reading();
    expect(readEgress(markersOf('agent output\n'), options)).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^The network allowlist \(allowed_domains\) was not confirmed/)]);
    // Before the agent (a clone that failed, a firewall that could not be set up) there is nothing to confirm.
    const early = reading({ ranAgent: false });
    readEgress(markersOf(''), early.options);
    expect(early.warnings).toEqual([]);
    // Off: nothing was asked for.
    const off = reading({ requested: undefined });
    readEgress(markersOf(''), off.options);
    expect(off.warnings).toEqual([]);
  });

  it("another image: one warning when a list other than defaults was asked for and it didn't confirm it", () => {
    const custom = reading({ bundledImage: false, requested: { allow: ['example.com'], mode: 'enforce', isDefault: false } });
    readEgress(markersOf('', null), custom.options);
    expect(custom.warnings).toEqual([
      'allowed_domains is enforced by the bundled image only (or one built from `dockerfile`): the machine of an `image` of your own runs with its network unrestricted',
    ]);
    const defaults = reading({ bundledImage: false });
    readEgress(markersOf('', null), defaults.options);
    expect(defaults.warnings).toEqual([]);
  });

  it('a mode other than the one asked for, and an unreadable list, are warnings', () => {
    const { warnings, options } = reading();
    readEgress(markersOf(marker('egress', 'audit') + marker('blocked', '[oops')), options);
    expect(warnings).toEqual([
      "The image's list of blocked hosts ([flaude:blocked:…]) was not a JSON list the action reads; blocked_hosts is empty",
      'egress_mode enforce was asked for, but the image put audit in force',
    ]);
  });
});

describe("a failed run's error", () => {
  const blocked = [
    { host: 'registry.npmjs.org', port: 443, count: 12 },
    { host: 'evil.example', count: 1 },
  ];

  it('says what the allowlist blocked, when it enforced', () => {
    expect(egressErrorLines('agent_error', { mode: 'enforce', blocked }, 'local')).toEqual([
      '2 hosts were blocked by allowed_domains (first: registry.npmjs.org:443); a blocked registry is the usual cause (see blocked_hosts)',
    ]);
    expect(egressErrorLines('timeout', { mode: 'enforce', blocked: blocked.slice(1) }, 'fly')[0]).toMatch(
      /^1 host was blocked by allowed_domains \(first: evil\.example\)/,
    );
  });

  it('says nothing about it on success, on cancel, in audit mode or with nothing blocked', () => {
    expect(egressErrorLines(undefined, { mode: 'enforce', blocked }, 'local')).toEqual([]);
    expect(egressErrorLines('cancelled', { mode: 'enforce', blocked }, 'local')).toEqual([]);
    expect(egressErrorLines('agent_error', { mode: 'audit', blocked }, 'local')).toEqual([]);
    expect(egressErrorLines('agent_error', { mode: 'enforce', blocked: [] }, 'local')).toEqual([]);
    expect(egressErrorLines('agent_error', undefined, 'local')).toEqual([]);
  });

  it('explains egress_setup: the firewall could not be set up (on local, CAP_NET_ADMIN)', () => {
    const [local] = egressErrorLines('egress_setup', undefined, 'local');
    expect(local).toMatch(/could not be set up in the machine, so the agent never started/);
    expect(local).toContain('CAP_NET_ADMIN');
    expect(egressErrorLines('egress_setup', undefined, 'fly')[0]).not.toContain('CAP_NET_ADMIN');
  });
});
