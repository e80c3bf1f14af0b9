// Uploads the run's files (log_file, transcript_file) as one workflow artifact through the
// runner's artifact service, the way actions/upload-artifact does. Best effort by contract:
// every failure is an ArtifactUploadError for the caller to turn into a warning, so the run's
// own result never depends on the artifact service.
import * as core from '@actions/core';
import { copyFile, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { RunOutcome } from '../run/outcome.js';

/**
 * Why an upload did not happen. `not_on_runner`: the runner's artifact variables are missing
 * (a local run, a `run:` step); `not_supported`: GitHub Enterprise Server, which the v2+
 * artifact service does not serve; `timeout`: the deadline passed; `failed`: anything else
 * (service errors after the library's retries, an invalid name, a name already used in the run).
 */
export type ArtifactFailure = 'not_on_runner' | 'not_supported' | 'timeout' | 'failed';

export class ArtifactUploadError extends Error {
  constructor(
    readonly reason: ArtifactFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ArtifactUploadError';
  }
}

export interface UploadedArtifact {
  id: number;
  /** The artifact's page, as upload-artifact reports it (`artifact-url`). */
  url: string;
  name: string;
  /** Bytes of the uploaded zip. */
  size: number;
}

export interface ArtifactUploadOptions {
  /** Days before the artifact expires; the repository's maximum caps it. Default: the repository's setting. */
  retentionDays?: number;
  /** Deadline for the whole upload. */
  timeoutMs?: number;
}

/**
 * The library has no overall deadline: each results-service call waits up to 3 minutes for a
 * silent socket and is tried 5 times, and a stalled blob upload is noticed after 5 minutes.
 */
export const DEFAULT_ARTIFACT_TIMEOUT_MS = 120_000;

// Set by the runner for JavaScript actions only; the library reads them from process.env.
const RUNNER_VARIABLES = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL', 'GITHUB_REPOSITORY', 'GITHUB_RUN_ID'];

/**
 * Uploads the `files` that exist (others are skipped) as one zip artifact called `name`, each
 * file at the zip's top level under its own base name. Resolves to undefined when none exists.
 * `name` must be unique in the workflow run (the service answers 409 otherwise): derive it from
 * the machine name, e.g. `agent-run-${machineName}`.
 * @throws ArtifactUploadError on any failure, never anything else.
 */
export async function uploadRunArtifact(name: string, files: string[], options: ArtifactUploadOptions = {}): Promise<UploadedArtifact | undefined> {
  const present = await existingFiles(files);
  if (present.length === 0) return undefined;

  const missing = RUNNER_VARIABLES.filter((variable) => !process.env[variable]);
  if (missing.length > 0) {
    throw new ArtifactUploadError('not_on_runner', `Artifact upload skipped: not on a GitHub Actions runner (${missing.join(', ')} not set)`);
  }
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
  if (isEnterpriseServer(server)) {
    // Checked here because the library would also print its own warning before throwing.
    throw new ArtifactUploadError(
      'not_supported',
      `Artifact upload skipped: ${server} is GitHub Enterprise Server, which this artifact service does not support`,
    );
  }

  const timeoutMs = options.timeoutMs ?? DEFAULT_ARTIFACT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ArtifactUploadError('timeout', `Artifact upload did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    const { id, size } = await Promise.race([upload(name, present, options.retentionDays), deadline]);
    const url = `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}/artifacts/${id}`;
    return { id, url, name, size };
  } catch (err) {
    if (err instanceof ArtifactUploadError) throw err;
    throw new ArtifactUploadError('failed', `Artifact upload failed: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

async function existingFiles(files: string[]): Promise<string[]> {
  const present: string[] = [];
  for (const file of files) {
    const stats = await stat(file).catch(() => undefined);
    if (stats?.isFile()) present.push(file);
  }
  return present;
}

async function upload(name: string, files: string[], retentionDays: number | undefined): Promise<{ id: number; size: number }> {
  // Loaded only when an upload happens: it brings the Azure blob SDK and a zip writer.
  const { DefaultArtifactClient } = await import('@actions/artifact');
  // The library zips paths relative to one root directory; the files may live in different
  // ones, so link them side by side under their base names.
  const staging = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'agent-artifact-'));
  const entries: string[] = [];
  const taken = new Set<string>();
  for (const file of files) {
    let entry = basename(file);
    for (let n = 2; taken.has(entry); n++) entry = `${n}-${basename(file)}`;
    taken.add(entry);
    const link = join(staging, entry);
    // The library follows symlinks; where they can't be made (Windows without the privilege), copy.
    await symlink(file, link).catch(() => copyFile(file, link));
    entries.push(link);
  }
  // The staging folder goes only once the library is done with it, not at the deadline: the zip
  // writer still reading a vanished file would throw outside any promise. RUNNER_TEMP is
  // emptied by the runner after the job in any case.
  const result = await new DefaultArtifactClient()
    .uploadArtifact(name, entries, staging, retentionDays ? { retentionDays } : {})
    .finally(() => rm(staging, { recursive: true, force: true }));
  if (typeof result.id !== 'number' || !Number.isFinite(result.id)) throw new Error('the artifact service returned no artifact ID');
  return { id: result.id, size: result.size ?? 0 };
}

/** The library's own rule: github.com, *.ghe.com (data residency) and *.localhost are not GHES. */
function isEnterpriseServer(serverUrl: string): boolean {
  if (!URL.canParse(serverUrl)) return true;
  const host = new URL(serverUrl).hostname.toLowerCase();
  return host !== 'github.com' && !host.endsWith('.ghe.com') && !host.endsWith('.localhost');
}

/**
 * The run's log and transcript as one artifact named after the log file (unique per step
 * invocation); its URL, or undefined. A failed upload is a warning; off a runner, a note.
 */
export async function uploadRunFiles(outcome: Pick<RunOutcome, 'logFile' | 'transcriptFile'>, warn: (message: string) => void): Promise<string | undefined> {
  if (!outcome.logFile) return undefined;
  const files = [outcome.logFile, ...(outcome.transcriptFile ? [outcome.transcriptFile] : [])];
  try {
    return (await uploadRunArtifact(`agent-run-${basename(outcome.logFile, '.log')}`, files))?.url;
  } catch (err) {
    const { reason, message } = err as ArtifactUploadError;
    if (reason === 'not_on_runner') core.info(message);
    else warn(message);
    return undefined;
  }
}
