// The step's verdict: the error as the step's failure (or, for the agent's own verdict under
// raise_on_failure: false, a warning), with the annotations and the log tail that explain it.
// The boundary policy is stated in errors.ts.
import * as core from '@actions/core';
import { ImageBuildError, isAgentVerdict, lastLines } from '../errors.js';
import type { RunOutcome } from '../run/outcome.js';
import type { Secrets } from '../secrets.js';
import { withWorkflowCommandsStopped } from './workflow-commands.js';

export async function reportFailure(outcome: RunOutcome, raiseOnFailure: boolean, secrets: Secrets): Promise<void> {
  const { failure } = outcome;
  if (!failure) return;
  const message = outcome.error ?? secrets.redact(failure.message);
  if (failure instanceof ImageBuildError) core.error(secrets.redact(lastLines(failure.stderr, 30)), { title: 'Image build failed' });
  const verdict = isAgentVerdict(failure);
  if (verdict && outcome.logTail.length) {
    // The agent's own lines: printed with workflow commands paused, like the live output.
    await core.group(`Last ${outcome.logTail.length} log lines`, () =>
      withWorkflowCommandsStopped(async () => {
        for (const line of outcome.logTail) core.info(line);
      }),
    );
  }
  if (verdict && !raiseOnFailure) {
    core.warning(`${message.split('\n')[0]} (raise_on_failure is false: the step stays green)`);
    return;
  }
  core.setFailed(message);
}
