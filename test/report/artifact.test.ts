// Real files through the real @actions/artifact (zip, Twirp client, Azure blob SDK) to a fake of
// the runner's results service and blob storage.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactUploadError, uploadRunArtifact } from '../../src/report/artifact.js';
import { readZip, startFakeArtifactService, type FakeArtifactService } from '../fakes/artifact-service.js';

const RUNNER_ENV = ['ACTIONS_RESULTS_URL', 'ACTIONS_RUNTIME_TOKEN', 'GITHUB_SERVER_URL', 'GITHUB_REPOSITORY', 'GITHUB_RUN_ID', 'RUNNER_TEMP'];

let service: FakeArtifactService;
let dir: string;
let runnerTemp: string;
let logFile: string;
let transcriptFile: string;
const saved: Record<string, string | undefined> = {};

beforeEach(async () => {
  service = await startFakeArtifactService();
  dir = mkdtempSync(join(tmpdir(), 'artifact-test-'));
  runnerTemp = join(dir, 'runner-temp');
  mkdirSync(runnerTemp);
  for (const key of RUNNER_ENV) saved[key] = process.env[key];
  Object.assign(process.env, service.env, {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'octo/widgets',
    GITHUB_RUN_ID: '987654321',
    RUNNER_TEMP: runnerTemp,
  });
  logFile = join(dir, 'agent-987654321-1-abcd1234.log');
  transcriptFile = join(dir, 'transcripts', 'agent-987654321-1-abcd1234.jsonl');
  mkdirSync(join(dir, 'transcripts'));
  // Enough lines that deflate has work to do; the zip must give back every byte.
  writeFileSync(logFile, Array.from({ length: 2000 }, (_, i) => `[agent] line ${i} ${'x'.repeat(i % 50)}\n`).join(''));
  writeFileSync(transcriptFile, '{"type":"system","subtype":"init"}\n{"type":"result","result":"Done."}\n');
});

afterEach(async () => {
  for (const key of RUNNER_ENV) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

const failureOf = async (promise: Promise<unknown>): Promise<ArtifactUploadError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArtifactUploadError);
  return err as ArtifactUploadError;
};

describe('uploadRunArtifact', () => {
  it('uploads the log and the transcript as one zip and links the artifact page', async () => {
    const uploaded = await uploadRunArtifact('agent-run-abcd1234', [logFile, transcriptFile], { retentionDays: 7 });

    expect(service.artifacts).toHaveLength(1);
    const stored = service.artifacts[0];
    expect(uploaded).toEqual({
      id: stored.id,
      name: 'agent-run-abcd1234',
      size: stored.bytes.length,
      url: `https://github.com/octo/widgets/actions/runs/987654321/artifacts/${stored.id}`,
    });
    expect(stored.id).toBeGreaterThan(2 ** 32); // int64 as a JSON string, all the way through
    expect(stored.name).toBe('agent-run-abcd1234');
    expect(stored.mimeType).toBe('application/zip');
    const entries = readZip(stored.bytes);
    expect([...entries.keys()].sort()).toEqual(['agent-987654321-1-abcd1234.jsonl', 'agent-987654321-1-abcd1234.log']);
    expect(entries.get('agent-987654321-1-abcd1234.log')!.toString()).toBe(readFileSync(logFile, 'utf8'));
    expect(entries.get('agent-987654321-1-abcd1234.jsonl')!.toString()).toBe(readFileSync(transcriptFile, 'utf8'));
    // What Finalize reported is what reached the blob.
    expect(stored.size).toBe(String(stored.bytes.length));
    expect(stored.hash).toBe(`sha256:${createHash('sha256').update(stored.bytes).digest('hex')}`);
    const days = (Date.parse(stored.expiresAt!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    expect(readdirSync(runnerTemp)).toEqual([]); // the staging folder is gone
  });

  it('skips a file that does not exist', async () => {
    const uploaded = await uploadRunArtifact('agent-run-missing', [logFile, join(dir, 'nope.jsonl')]);
    expect(uploaded?.id).toBe(service.artifacts[0].id);
    expect([...readZip(service.artifacts[0].bytes).keys()]).toEqual(['agent-987654321-1-abcd1234.log']);
  });

  it('uploads nothing and resolves to undefined when no file exists', async () => {
    await expect(uploadRunArtifact('agent-run-none', [join(dir, 'a.log'), join(dir, 'b.jsonl')])).resolves.toBeUndefined();
    expect(service.calls).toEqual([]);
  });

  it('keeps both files when their base names collide', async () => {
    const other = join(dir, 'transcripts', 'agent-987654321-1-abcd1234.log');
    writeFileSync(other, 'the other one\n');
    await uploadRunArtifact('agent-run-collide', [logFile, other]);
    const entries = readZip(service.artifacts[0].bytes);
    expect(entries.get('agent-987654321-1-abcd1234.log')!.toString()).toBe(readFileSync(logFile, 'utf8'));
    expect(entries.get('2-agent-987654321-1-abcd1234.log')!.toString()).toBe('the other one\n');
  });

  it('sends a log larger than one 8 MiB block in several blocks, reassembled in order', async () => {
    const big = randomBytes(18 * 2 ** 20); // incompressible: the zip stays above two blocks
    writeFileSync(logFile, big);
    await uploadRunArtifact('agent-run-big', [logFile]);
    expect(service.calls.filter((c) => c.route === 'PutBlock').length).toBeGreaterThanOrEqual(3);
    expect(readZip(service.artifacts[0].bytes).get('agent-987654321-1-abcd1234.log')!.equals(big)).toBe(true);
  });

  it('succeeds through faults the library retries (a 500 from the service, a 503 from the blob store)', async () => {
    service.fault({ route: 'CreateArtifact', status: 500, times: 1 });
    service.fault({ route: 'PutBlock', status: 503, times: 1 });
    const uploaded = await uploadRunArtifact('agent-run-retried', [logFile, transcriptFile]);

    expect(uploaded?.id).toBe(service.artifacts[0].id);
    const statuses = (route: string) => service.calls.filter((c) => c.route === route).map((c) => c.status);
    expect(statuses('CreateArtifact')).toEqual([500, 200]);
    expect(statuses('PutBlock')).toEqual([503, 201]);
    expect(statuses('PutBlockList')).toEqual([201]);
    expect(statuses('FinalizeArtifact')).toEqual([200]);
    expect(readZip(service.artifacts[0].bytes).size).toBe(2);
  });

  it('fails at once, with the service message, on a 401', async () => {
    service.fault({ route: 'CreateArtifact', status: 401 });
    const err = await failureOf(uploadRunArtifact('agent-run-401', [logFile]));
    expect(err.reason).toBe('failed');
    expect(err.message).toMatch(/CreateArtifact.*non-retryable.*\(401\)/);
    expect(service.calls.filter((c) => c.route === 'CreateArtifact')).toHaveLength(1);
    expect(service.artifacts).toEqual([]);
  });

  it('fails on a name already used in the workflow run, as the real service does', async () => {
    await uploadRunArtifact('agent-run-twice', [logFile]);
    const err = await failureOf(uploadRunArtifact('agent-run-twice', [transcriptFile]));
    expect(err.reason).toBe('failed');
    expect(err.message).toContain('(409) Conflict: an artifact with this name already exists on the workflow run');
    expect(service.artifacts).toHaveLength(1);
  });

  it.each(['CreateArtifact', 'PutBlock'] as const)('gives up at the deadline when %s never answers', async (route) => {
    service.fault({ route, hang: true });
    const started = Date.now();
    const err = await failureOf(uploadRunArtifact('agent-run-hang', [logFile], { timeoutMs: 1500 }));
    const elapsed = Date.now() - started;
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe('Artifact upload did not finish within 1.5 s');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(4000);
    expect(service.calls.some((c) => c.route === route && c.status === 'hang')).toBe(true);
    expect(service.artifacts).toEqual([]);
  });

  it('fails clearly off a runner, without calling anything', async () => {
    delete process.env.ACTIONS_RUNTIME_TOKEN;
    const err = await failureOf(uploadRunArtifact('agent-run-local', [logFile]));
    expect(err.reason).toBe('not_on_runner');
    expect(err.message).toBe('Artifact upload skipped: not on a GitHub Actions runner (ACTIONS_RUNTIME_TOKEN not set)');
    expect(service.calls).toEqual([]);
  });

  it('refuses GitHub Enterprise Server, which the v2+ artifact service does not serve', async () => {
    process.env.GITHUB_SERVER_URL = 'https://github.example.com';
    const err = await failureOf(uploadRunArtifact('agent-run-ghes', [logFile]));
    expect(err.reason).toBe('not_supported');
    expect(service.calls).toEqual([]);
  });

  it('turns a token the library cannot read into a failure, not a throw from deep inside', async () => {
    process.env.ACTIONS_RUNTIME_TOKEN = 'not-a-jwt';
    const err = await failureOf(uploadRunArtifact('agent-run-badtoken', [logFile]));
    expect(err.reason).toBe('failed');
    expect(err.message).toMatch(/^Artifact upload failed: /);
    expect(service.calls).toEqual([]);
  });
});
