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
