// machine → result, with everything that watches the run: the log sink (live lines, log file,
// transcript), the idle and fatal-API watchdogs, the PR comment's progress, the saved state the
// post step cleans up by, and the push the image reports, checked against the remote.
import * as core from '@actions/core';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchForFatalApiError } from '../agent/fatal.js';
import type { AgentStats } from '../agent/stats.js';
import type { Config } from '../config/config.js';
import { readEgress } from '../egress.js';
import { confirmedPush } from '../github/confirm-push.js';
import type { RunPlan } from '../github/plan.js';
import type { Backend } from '../machine/machine.js';
import { diffstatFrom, pushedFrom } from '../protocol.js';
import type { PullRequestReport } from '../report/pull-request.js';
import { withWorkflowCommandsStopped } from '../report/workflow-commands.js';
import type { Secrets } from '../secrets.js';
import type { Session } from '../session.js';
import { STEP_STATE } from '../step-state.js';
import { LogSink, timestampedEcho } from './log-sink.js';
import { failedBy, notRun, type RunOutcome } from './outcome.js';
import { runMachine } from './run.js';
import { machineSpec, runsAgent } from './spec.js';

/** Stop echoing agent output into the Actions log past this; the log file keeps it all. */
const ECHO_LIMIT_BYTES = 8 * 1024 * 1024;

export interface MachineRunInputs {
  config: Config;
  plan: RunPlan;
  prompt?: string;
  image: string;
  secrets: Secrets;
  pullRequest: PullRequestReport;
  session: Session;
}

export async function runOnMachine(backend: Backend, { config, plan, prompt, image, secrets, pullRequest, session }: MachineRunInputs): Promise<RunOutcome> {
  const runKey = randomUUID();
  core.saveState(STEP_STATE.runKey, runKey); // before create: the post step sweeps by it even if we die mid-create
  // Only the bundled image's privileged phase learns it: the agent can't print a marker we believe.
  const markerNonce = config.image ? undefined : randomBytes(16).toString('hex');
  const spec = machineSpec(config, plan, { prompt, image, runKey, markerNonce });
  const logFile = join(process.env.RUNNER_TEMP || tmpdir(), `${spec.name}.log`);
  const transcriptFile = runsAgent(config) ? logFile.replace(/\.log$/, '.transcript.jsonl') : undefined;
  const sink = new LogSink({
    file: logFile,
    secrets: secrets.values,
    tailLines: config.logTailLines,
    echo: timestampedEcho,
    echoLimitBytes: ECHO_LIMIT_BYTES,
    agent: transcriptFile ? { transcriptFile } : undefined,
    markerNonce,
  });
  const stats = () => sink.agent?.stats;
  const fatal = watchForFatalApiError(stats);
  core.startGroup(`Agent output (${config.backend})`);
  const result = await withWorkflowCommandsStopped(() =>
    runMachine(backend, spec, sink, {
      waitTimeoutSeconds: config.waitTimeoutSeconds,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      cancel: session.cancel,
      stop: fatal.signal,
      onCreated: (ref) => {
        core.saveState(STEP_STATE.machine, JSON.stringify(ref));
        void pullRequest.started(ref, () => ({ elapsedSeconds: session.elapsedSeconds(), turns: stats()?.turns, lastActivity: stats()?.lastActivity }));
      },
      onDestroyed: () => core.saveState(STEP_STATE.machine, ''),
      warn: session.warn,
    }),
  ).catch((err: unknown) => failedBy(err, session.cancel.aborted));
  fatal.dispose();
  sink.end();
  core.endGroup();
  const pushed = await confirmedPush(pushedFrom(sink.markers, plan.pushBranch), plan.repos[0]?.url, config.githubToken, session.warn);
  const changedFiles = pushed && diffstatFrom(sink.markers);
  const egress = readEgress(sink.markers, {
    requested: config.egress,
    bundledImage: !config.image,
    ranAgent: ranAgent(result, stats()),
    redact: (text) => secrets.redact(text),
    warn: session.warn,
  });
  return {
    ...notRun(config.backend),
    image,
    logFile,
    transcriptFile,
    ...result,
    logTail: sink.tail(),
    pushed,
    changedFiles,
    headMoved: sink.markers.get('head-moved'),
    egress,
    agent: stats(),
  };
}

/** The bundled image's exits before its agent starts: bad input, clone failed, firewall not set up. */
const SETUP_EXITS = new Set([2, 3, 5]);

/** Whether the machine got as far as the agent: it printed an event, or exited in a way only a started run does. */
function ranAgent(result: Partial<RunOutcome>, stats: AgentStats | undefined): boolean {
  if (!result.machineId) return false;
  if (stats?.events) return true;
  return result.exitCode != null && result.exitCode !== 130 && result.exitCode !== 143 && !SETUP_EXITS.has(result.exitCode);
}
