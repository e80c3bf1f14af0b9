// allowed_domains and egress_mode: presets expanded into the concrete list the image enforces,
// every bad entry refused before any machine exists, naming the input and the entry.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRESETS, parseEgress, PRESETS } from '../../src/egress.js';
import { InvalidConfigError } from '../../src/errors.js';
import { testConfig } from '../helpers/factories.js';

const base = { prompt: 'fix it', claude_code_oauth_token: 'sk-ant-oat-egress' };

function refusal(inputs: Record<string, string>): InvalidConfigError {
  try {
    testConfig({ ...base, ...inputs });
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return err as InvalidConfigError;
  }
  throw new Error('expected an InvalidConfigError');
}

describe('allowed_domains', () => {
  it('defaults to the defaults preset, enforced: GitHub, the model API and the language registries', () => {
    const { egress } = testConfig(base);
    expect(egress).toMatchObject({ mode: 'enforce', isDefault: true });
    const allow = egress!.allow;
    for (const host of [
      'github.com',
      '*.github.com',
      '*.githubusercontent.com',
      'ghcr.io',
      'api.anthropic.com',
      'registry.npmjs.org',
      'pypi.org',
      'files.pythonhosted.org',
    ])
      expect(allow).toContain(host);
    expect(allow).toEqual([...new Set(DEFAULT_PRESETS.flatMap((preset) => PRESETS[preset]))]);
    // apt needs root, which the agent is not.
    expect(allow).not.toContain('deb.debian.org');
  });

  it('reads newline- and comma-separated entries of every kind, normalised and deduplicated', () => {
    const { egress } = testConfig({
      ...base,
      allowed_domains:
        'Registry.Example.COM, *.corp.example\n10.1.2.3\n# a comment\n\n10.20.30.40/16, 2001:DB8::1\n[2001:db8::2]\nfd00:1::7/16\ndb.\nnpm,npm\nregistry.example.com.',
      egress_mode: 'Audit',
    });
    expect(egress).toEqual({
      mode: 'audit',
      isDefault: false,
      allow: ['registry.example.com', '*.corp.example', '10.1.2.3', '10.20.0.0/16', '2001:db8::1', '2001:db8::2', 'fd00::/16', 'db', ...PRESETS.npm],
    });
  });

  it('adds the run’s own servers: the anthropic_base_url host and a GHES server, and drops names a wildcard covers', () => {
    const { egress } = testConfig(
      { ...base, allowed_domains: 'github\nanthropic\napi.github.com', anthropic_base_url: 'https://llm.gw.example:8443/anthropic' },
      { GITHUB_SERVER_URL: 'https://ghes.example.com', GITHUB_API_URL: 'https://ghes.example.com/api/v3' },
    );
    expect(egress!.allow).toEqual([...PRESETS.github, 'ghes.example.com', 'api.anthropic.com', 'llm.gw.example']);
    // On github.com the runner's API URL adds nothing.
    const dotcom = testConfig({ ...base, allowed_domains: 'github' }, { GITHUB_SERVER_URL: 'https://github.com', GITHUB_API_URL: 'https://api.github.com' });
    expect(dotcom.egress!.allow).toEqual([...PRESETS.github]);
    // An IPv6 gateway's host, without brackets.
    expect(parseEgress('anthropic', '', { anthropicBaseUrl: 'http://[fd00::5]:8080' })!.allow).toEqual(['api.anthropic.com', 'fd00::5']);
  });

  it("'*' alone turns the allowlist off; mixed with anything it is an error", () => {
    expect(testConfig({ ...base, allowed_domains: '*' }).egress).toBeUndefined();
    expect(testConfig({ ...base, allowed_domains: ' * \n', egress_mode: 'audit' }).egress).toBeUndefined();
    expect(refusal({ allowed_domains: '*, github' }).message).toMatch(/^Input 'allowed_domains': '\*' turns the allowlist off and can't be combined/);
  });

  it.each([
    ['deafults', /'deafults' is neither a preset \(defaults, github.*\) nor a full domain name.*'deafults\.'/],
    ['exa mple.com', /'exa mple\.com' is not a domain name/],
    ['api.*.example.com', /'api\.\*\.example\.com' has a \* that is not a whole first label/],
    ['*example.com', /'\*example\.com' has a \* that is not a whole first label/],
    ['example.com:443', /'example\.com:443' has a port/],
    ['-bad-.example.com', /is not a domain name/],
    [`${'a'.repeat(64)}.example.com`, /is not a domain name/],
    ['10.0.0.0/33', /'10\.0\.0\.0\/33' is not an address\/prefix CIDR/],
    ['example.com/24', /is not an address\/prefix CIDR/],
    ['fe80::1%eth0', /is not a domain name/],
  ])('refuses %s, naming the input and the entry', (entry, message) => {
    const err = refusal({ allowed_domains: `github\n${entry}` });
    expect(err.input).toBe('allowed_domains');
    expect(err.message).toMatch(/^Input 'allowed_domains': /);
    expect(err.message).toMatch(message);
  });

  it('refuses a URL without quoting it: what sits in one may be a credential', () => {
    const err = refusal({ allowed_domains: 'https://user:hunter2secret@registry.example.com/' });
    expect(err.message).toMatch(/is a URL or holds an @: give only the host name/);
    expect(err.message).not.toContain('hunter2secret');
    expect(refusal({ allowed_domains: 'token@host.example.com' }).message).not.toContain('token@');
  });

  it('refuses an egress_mode other than enforce or audit', () => {
    const err = refusal({ egress_mode: 'block' });
    expect(err.input).toBe('egress_mode');
    expect(err.message).toBe("Input 'egress_mode': 'block' is not one of enforce, audit");
  });
});
