import * as core from '@actions/core';
import type { RunOutcome } from '../run/outcome.js';
import type { PullRequestResult } from './pull-request.js';

/** Outputs go into the runner's environment files: a final message is cut to this. */
const MAX_RESULT_CHARS = 4096;

/** Every output, on every path: an unknown value is an empty string, never missing. */
export function setOutputs(outcome: RunOutcome, pr: PullRequestResult = {}): void {
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
    result: clip(outcome.agent?.result),
    cost_usd: dollars(outcome.agent?.costUsd),
    num_turns: outcome.agent?.numTurns,
    input_tokens: outcome.agent?.inputTokens,
    output_tokens: outcome.agent?.outputTokens,
    session_id: outcome.agent?.sessionId,
    transcript_file: outcome.transcriptFile,
    artifact_url: outcome.artifactUrl,
    failure_reason: outcome.failureReason,
    // Audit mode's too: what the allowlist would have blocked is what a workflow needs to tune it.
    blocked_hosts: JSON.stringify(outcome.egress?.blocked ?? []),
  };
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value ?? '');
}

/** Claude Code's own sum can read 0.010859999999999998: a millionth of a dollar is enough. */
function dollars(usd: number | undefined): number | undefined {
  return usd === undefined ? undefined : Number(usd.toFixed(6));
}

function clip(text: string | undefined): string | undefined {
  return text && text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS - 1)}…` : text;
}
