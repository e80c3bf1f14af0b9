import * as core from '@actions/core';
import type { RunOutcome } from '../run/outcome.js';

export interface PullRequestOutputs {
  commentId?: number;
  pullRequestNumber?: number;
}

/** Every output, on every path: an unknown value is an empty string, never missing. */
export function setOutputs(outcome: RunOutcome, pr: PullRequestOutputs = {}): void {
  const outputs: Record<string, string | number | undefined> = {
    exit_code: outcome.exitCode ?? '',
    state: outcome.state,
    conclusion: outcome.conclusion,
    machine_id: outcome.machineId,
    exit_code_source: outcome.exitCodeSource,
    duration_seconds: outcome.durationSeconds,
    log_file: outcome.logFile,
    image: outcome.image,
    pushed_branch: outcome.pushed?.branch,
    pushed_sha: outcome.pushed?.sha,
    comment_id: pr.commentId,
    pull_request_number: pr.pullRequestNumber,
  };
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value ?? '');
}
