// Outputs as a workflow reads them from GITHUB_OUTPUT.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyStats } from '../../src/agent/stats.js';
import { setOutputs } from '../../src/report/outputs.js';
import type { RunOutcome } from '../../src/run/outcome.js';
import { parseFileCommand } from '../helpers/action.js';
import { testOutcome } from '../helpers/factories.js';

afterEach(() => vi.unstubAllEnvs());

function outputsOf(outcome: RunOutcome): Record<string, string> {
  const file = join(mkdtempSync(join(tmpdir(), 'amt-outputs-')), 'output');
  writeFileSync(file, '');
  vi.stubEnv('GITHUB_OUTPUT', file);
  setOutputs(outcome);
  return parseFileCommand(readFileSync(file, 'utf8'));
}

describe('blocked_hosts', () => {
  it('is the list the image reported, host, port and count', () => {
    const blocked = [
      { host: 'evil.example', port: 443, count: 3 },
      { host: 'leak.example', count: 1 },
    ];
    const outputs = outputsOf(testOutcome({ egress: { mode: 'enforce', blocked } }));
    expect(JSON.parse(outputs.blocked_hosts)).toEqual(blocked);
  });

  it('is [] when nothing was blocked, and when the allowlist was off', () => {
    expect(outputsOf(testOutcome({ egress: { mode: 'enforce', blocked: [] } })).blocked_hosts).toBe('[]');
    expect(outputsOf(testOutcome()).blocked_hosts).toBe('[]');
  });
});

describe('cost_usd', () => {
  it("is Claude Code's figure without its floating-point noise, and empty when unknown", () => {
    const cost = (costUsd?: number) => outputsOf(testOutcome({ agent: { ...emptyStats(), costUsd } })).cost_usd;
    expect(cost(0.010859999999999998)).toBe('0.01086');
    expect(cost(0)).toBe('0');
    expect(cost(undefined)).toBe('');
  });
});
