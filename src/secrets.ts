// One place that knows the run's secrets: masked in the runner's log, redacted from
// every text the action writes itself (log file, tail, summary, comment, errors).
import * as core from '@actions/core';

export class Secrets {
  readonly values: string[];

  constructor(values: string[]) {
    // Longest first, so a secret that contains another is redacted whole.
    this.values = [...new Set(values.filter((v) => v.length > 0))].sort((a, b) => b.length - a.length);
  }

  maskInRunnerLog(): void {
    for (const value of this.values) core.setSecret(value);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    return out;
  }
}

export const REDACTED = '***';

/**
 * Every form a secret can leak in: as given; a Fly token without its `FlyV1 `/`Bearer `
 * scheme; URL-encoded; and base64-encoded at each of the three alignments it can take inside
 * a longer base64 text (`echo $TOKEN | base64` encodes the token's bytes differently from a
 * token that follows one or two other bytes). Only the part of each encoding that the
 * neighbouring bytes cannot change is kept.
 */
export function secretForms(secret: string): string[] {
  const bare = secret.replace(/^(FlyV1|Bearer)\s+/, '');
  const forms = new Set([secret, bare, encodeURIComponent(secret)]);
  const bytes = Buffer.from(secret);
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const start = shift ? 4 : 0; // the first group mixes in the bytes before
    const end = Math.floor((shift + bytes.length) / 3) * 4; // the last partial group mixes in the bytes after
    if (end - start >= 8) forms.add(encoded.slice(start, end));
  }
  return [...forms];
}
