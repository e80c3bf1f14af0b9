// What the tests give test/image/hostile-agent.mjs and how they read its report: every token of
// a run embeds the run id (and a tag saying which token it is), so the agent's one search for
// the run id finds any token it can reach, and the tag after a hit says what it found.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';

export const HOSTILE_AGENT = resolve(import.meta.dirname, 'hostile-agent.mjs');

/** Tags that follow the run id in each value: a hit followed by one of LEAKS is a stolen token. */
const TAG = { canary: 'xCANARY', github: 'xGHTOKEN', apiKey: 'xAPIKEY', oauth: 'xOAUTH', nonce: 'xNONCE' } as const;

export interface RunTokens {
  runId: string;
  githubToken: string;
  apiKey: string;
  oauthToken: string;
  /** FLAUDE_MARKER_NONCE: [A-Za-z0-9_-]{16,128}. */
  nonce: string;
  /** A secret the agent is given on purpose (FLAUDE_SECRET_AMT_CANARY): proves the search finds what is there. */
  canary: string;
}

export function runTokens(): RunTokens {
  const runId = `amt${randomBytes(8).toString('hex')}`;
  const tail = () => randomBytes(12).toString('hex');
  return {
    runId,
    githubToken: `ghs_${runId}${TAG.github}${tail()}`,
    apiKey: `sk-ant-api03-${runId}${TAG.apiKey}${tail()}`,
    oauthToken: `sk-ant-oat01-${runId}${TAG.oauth}${tail()}`,
    nonce: `${runId}${TAG.nonce}${tail()}`,
    canary: `canary-${runId}${TAG.canary}${tail()}`,
  };
}

/** The variables that make the hostile agent run: give them through FLAUDE_AGENT_ENV. */
export function hostileEnv(tokens: RunTokens, report: string, extra: Record<string, string> = {}): Record<string, string> {
  const env = { AMT_RUN_ID: tokens.runId, AMT_REPORT: report, ...extra };
  return { ...env, FLAUDE_AGENT_ENV: Object.keys(env).join(','), FLAUDE_SECRET_AMT_CANARY: tokens.canary };
}

export interface HostileReport {
  uid: number;
  hits: { where: string; after: string }[];
  counts: { environ: number; environReadable: number; cmdline: number; files: number; bytes: number };
  fds: Record<string, string>;
  git: { origin: string; fill?: string; helper?: string; config: string };
  dockerSocket: Record<string, string>;
  model: { messages?: number; files?: number };
}

export function readReport(file: string): HostileReport {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * The agent searched for real (its own environment, other processes, files) and found the canary
 * it was given, and no token: not the GitHub token, either model credential, or the nonce.
 */
export function expectNothingStolen(report: HostileReport, agentUid: number): void {
  const leaks = report.hits.filter((hit) => !hit.after.startsWith(TAG.canary) && Object.values(TAG).some((tag) => hit.after.startsWith(tag)));
  expect(leaks).toEqual([]);
  const canary = report.hits.filter((hit) => hit.after.startsWith(TAG.canary)).map((hit) => hit.where);
  expect(canary).toContain('env');
  expect(canary.some((where) => where.endsWith('environ (self)'))).toBe(true);
  expect(report.uid).toBe(agentUid);
  // It looked at every process, and could read only its own kind's environments.
  expect(report.counts.environ).toBeGreaterThan(3);
  expect(report.counts.environReadable).toBeGreaterThanOrEqual(1);
  expect(report.counts.environReadable).toBeLessThan(report.counts.environ);
  expect(report.counts.cmdline).toBeGreaterThan(3);
  expect(report.counts.files).toBeGreaterThan(0);
  // No credential from git, no way to the Docker engine.
  expect(report.git.fill).toMatch(/^failed/);
  if (report.git.helper !== undefined) expect(report.git.helper).toMatch(/^failed/);
  expect(report.git.config).not.toContain('git-credential-flaude');
  for (const outcome of Object.values(report.dockerSocket)) expect(outcome).not.toBe('connected');
}

/** Proof files the planted hooks and git settings wrote, by the uid that ran them: never root's. */
export function expectNoRootProof(record: string): void {
  const proofs = existsSync(record) ? readdirSync(record).filter((name) => name.startsWith('proof-')) : [];
  expect(proofs.filter((name) => name.endsWith('-0'))).toEqual([]);
}

/** Lines that carry the nonce: root's markers only, whatever the agent printed. */
export function nonceLines(lines: string[], nonce: string): string[] {
  return lines.filter((line) => line.includes(nonce));
}
