// The path of one run: inputs → config → image → machine → result → report.
import * as core from '@actions/core';
import { createBackend } from './backends.js';
import { checkReadyToRun, readConfig, type Config } from './config/config.js';
import { egressErrorLines } from './egress.js';
import { planRun, type RunPlan } from './github/plan.js';
import { uploadRunFiles } from './report/artifact.js';
import { reportFailure } from './report/failure.js';
import { setOutputs } from './report/outputs.js';
import { PullRequestReport } from './report/pull-request.js';
import { summaryLinks, writeSummary } from './report/summary.js';
import { withWorkflowCommandsStopped } from './report/workflow-commands.js';
import { failureReason } from './run/failure-reason.js';
import { runOnMachine } from './run/on-machine.js';
import { failedBy, notRun, type RunOutcome } from './run/outcome.js';
import { Secrets } from './secrets.js';
import { Session } from './session.js';

/** Who hears about the run and how, known as early as the inputs allow. */
interface Audience {
  secrets: Secrets;
  raiseOnFailure: boolean;
  uploadArtifacts: boolean;
  /** The bundled image's exit codes name the failure (bad input, clone, push). */
  bundledImage: boolean;
  pullRequest: PullRequestReport;
  /** `SERVER/owner/repo` a fix is pushed to, for commit links. */
  repositoryUrl?: string;
}

/** Everything a machine run needs. */
interface Ready {
  config: Config;
  plan: RunPlan;
  prompt?: string;
}

type Prepared = { audience: Audience } & ({ ready: Ready; outcome?: never } | { ready?: never; outcome: RunOutcome });

export async function run(): Promise<void> {
  const session = new Session();
  try {
    const { audience, ready, outcome } = await prepare(session);
    await report(ready ? await execute(ready, audience, session) : outcome, audience, session);
  } finally {
    session.close();
  }
}

/** inputs → config → plan: a run that is ready, or the outcome that ends it here. */
async function prepare(session: Session): Promise<Prepared> {
  let config: Config;
  try {
    config = readConfig((name) => core.getInput(name));
  } catch (err) {
    const secrets = new Secrets([]);
    const audience = { secrets, raiseOnFailure: true, uploadArtifacts: false, bundledImage: false, pullRequest: new PullRequestReport({ secrets }) };
    return { audience, outcome: { ...notRun('local'), ...failedBy(err, session.cancel.aborted) } };
  }
  const secrets = new Secrets(config.secrets);
  secrets.maskInRunnerLog();
  const basics = { secrets, raiseOnFailure: config.raiseOnFailure, uploadArtifacts: config.uploadArtifacts, bundledImage: !config.image };
  try {
    const plan = await planRun(config, secrets);
    const audience = { ...basics, pullRequest: plan.pullRequest, repositoryUrl: plan.repositoryUrl };
    if (plan.skip) {
      (plan.skip.quiet ? core.info : core.notice)(`Skipped: ${plan.skip.reason}`);
      return { audience, outcome: { ...notRun(config.backend), conclusion: 'skipped' } };
    }
    const prompt = plan.prompt ?? config.prompt;
    checkReadyToRun(config, prompt);
    return { audience, ready: { config, plan, prompt } };
  } catch (err) {
    return {
      audience: { ...basics, pullRequest: new PullRequestReport({ secrets }) },
      outcome: { ...notRun(config.backend), ...failedBy(err, session.cancel.aborted) },
    };
  }
}

/** image → machine → result. */
async function execute({ config, plan, prompt }: Ready, audience: Audience, session: Session): Promise<RunOutcome> {
  const backend = createBackend(config, session);
  const image = await core
    .group('Prepare image', () => withWorkflowCommandsStopped(() => backend.prepareImage((line) => core.info(line), session.cancel)))
    .catch((err: unknown) => failedBy(err, session.cancel.aborted));
  if (typeof image !== 'string') return { ...notRun(config.backend), ...image };

  return runOnMachine(backend, { config, plan, prompt, image, secrets: audience.secrets, pullRequest: audience.pullRequest, session });
}

/** result → report: the artifact and the pull request side first (their links go into the outputs and summary), then the step. */
async function report(outcome: RunOutcome, audience: Audience, session: Session): Promise<void> {
  const { secrets } = audience;
  const reason = failureReason({ ...outcome, bundledImage: audience.bundledImage });
  // Under the first line, above any log tail: a blocked registry is the usual cause of a failure under the allowlist.
  const egressLines = egressErrorLines(reason, outcome.egress, outcome.backend);
  // Claude Code's own words on how it ended (`Reached maximum number of turns (3)`): what a person looks for first.
  const agentLines = (outcome.agent?.errors ?? []).slice(0, 3).map((words) => `Claude Code: ${words}`);
  const error =
    outcome.failure &&
    secrets.redact(
      outcome.failure.message.replace(/^.*/, (first) => [reason ? `${first} (failure_reason: ${reason})` : first, ...agentLines, ...egressLines].join('\n')),
    );
  const counted: RunOutcome = { ...outcome, failureReason: reason, error, durationSeconds: session.elapsedSeconds() };
  const final: RunOutcome = { ...counted, artifactUrl: audience.uploadArtifacts ? await uploadRunFiles(counted, session.warn) : undefined };
  session.issueHeld(secrets);
  const pr = await audience.pullRequest.finished(final);
  setOutputs(final, pr);
  await writeSummary(final, summaryLinks(final, pr, audience.repositoryUrl)).catch((err: Error) =>
    core.warning(`Could not write the job summary: ${err.message}`),
  );
  await reportFailure(final, audience.raiseOnFailure, secrets);
}
