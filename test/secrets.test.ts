// Every form a secret can leak in is redacted: raw, URL-encoded, and base64 at any alignment.
import { describe, expect, it } from 'vitest';
import { Secrets, secretForms } from '../src/secrets.js';

const TOKEN = 'ghp_s3cr3t+/=&Value0123456789';

describe('secretForms', () => {
  it.each([0, 1, 2, 5])('finds the token base64-encoded after %d other bytes, with a newline after it', (before) => {
    const leaked = Buffer.concat([Buffer.from('x'.repeat(before)), Buffer.from(`${TOKEN}\n`)]).toString('base64');
    const redacted = new Secrets(secretForms(TOKEN)).redact(`token: ${leaked}`);
    // What is left of the encoding can't give the token back.
    expect(Buffer.from(redacted.replace('token: ', '').replace(/\*\*\*/g, ''), 'base64').toString('latin1')).not.toContain(TOKEN.slice(0, 8));
    expect(redacted).toContain('***');
  });

  it('finds it URL-encoded, and a Fly token without its scheme', () => {
    expect(new Secrets(secretForms(TOKEN)).redact(`https://x/?t=${encodeURIComponent(TOKEN)}`)).toBe('https://x/?t=***');
    expect(secretForms('FlyV1 fm2_abcdefghijklmnop')).toContain('fm2_abcdefghijklmnop');
  });
});
