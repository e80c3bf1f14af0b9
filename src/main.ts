// The path of one run: inputs → config → image → machine → result → report.
import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReadyToRun, readConfig, type Config } from './config/config.js';
import { AgentMachineError, ImageBuildError, lastLines, MachineExitError, MachineTimeoutError, wrapEngineError } from './errors.js';
import { planRun, type RunPlan } from './github/plan.js';
import { createDriver } from './machine/drivers.js';
import type { MachineSpec } from './machine/machine.js';
import { setOutputs } from './report/outputs.js';
import { writeSummary, type SummaryLinks } from './report/summary.js';
import { withWorkflowCommandsStopped } from './report/workflow-commands.js';
import { LogSink } from './run/log-sink.js';
import type { RunOutcome } from './run/outcome.js';
import { runMachine } from './run/run.js';
import { Secrets } from './secrets.js';
import { STATE, labelsFor } from './state.js';

/** Stop echoing agent output into the Actions log past this; the log file keeps it all. */
const ECHO_LIMIT_BYTES = 8 * 1024 * 1024;

export async function run(): Promise<void> {
  const startedAt = performance.now();
  const cancel = new AbortController();
  // Warnings raised while workflow commands are paused (agent output streaming) would print
  // as plain text: they are kept and issued once commands are back.
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  const onSignal = (signal: NodeJS.Signals) => {
    // The runner sends SIGINT, then SIGTERM 7.5 s later: both only hasten the cleanup.
    if (!cancel.signal.aborted) {
      core.info(`${signal} received: destroying the machine before exiting`);
      warn(`The run was cancelled (${signal}); its machine was destroyed before the step ended`);
    }
    cancel.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let config: Config | undefined;
  let secrets = new Secrets([]);
  let plan: RunPlan | undefined;
  const outcome: RunOutcome = {
    backend: 'local', image: '', state: '', exitCode: null, exitCodeSource: 'none',
    conclusion: 'failure', durationSeconds: 0, oomKilled: false, logTail: [],
  };
  let failure: unknown;

  try {
    config = readConfig((name) => core.getInput(name));
    secrets = new Secrets(config.secrets);
    secrets.maskInRunnerLog();
    outcome.backend = config.backend;

    plan = await planRun(config, secrets);
    if (plan.skip) {
      outcome.conclusion = 'skipped';
      (plan.skip.quiet ? core.info : core.notice)(`Skipped: ${plan.skip.reason}`);
      return;
    }
    const prompt = plan.prompt ?? config.prompt;
    checkReadyToRun(config, prompt);

    const driver = createDriver(config, warn);
    const image = await core.group('Prepare image', () => withWorkflowCommandsStopped(() => driver.prepareImage((line) => core.info(line), cancel.signal)));
    outcome.image = image;

    const runKey = randomUUID();
    core.saveState(STATE.runKey, runKey); // before create: the post step sweeps by it even if we die mid-create
    const spec = machineSpec(config, plan, prompt, image, runKey);
    const logFile = join(process.env.RUNNER_TEMP || tmpdir(), `${spec.name}.log`);
    outcome.logFile = logFile;
    const sink = new LogSink({ file: logFile, secrets: secrets.values, tailLines: config.logTailLines, echo: timestamped(), echoLimitBytes: ECHO_LIMIT_BYTES });

    let commentRunning: Promise<void> = Promise.resolve();
    try {
      core.startGroup(`Agent output (${config.backend})`);
      const result = await withWorkflowCommandsStopped(() => runMachine(driver, spec, sink, {
        waitTimeoutSeconds: config!.waitTimeoutSeconds,
        cancel: cancel.signal,
        // Docker's log stream ends by itself once delivered (it can trail a big output by
        // minutes); Fly's logs arrive seconds late and never say they are complete.
        logGraceMs: config!.backend === 'fly' ? 10_000 : 10 * 60_000,
        onCreated: (ref) => {
          core.saveState(STATE.machine, JSON.stringify(ref));
          outcome.machineId = ref.id;
          commentRunning = plan!.comment.running({ backend: ref.backend, machineId: ref.id });
        },
        onDestroyed: () => core.saveState(STATE.machine, ''),
        warn,
      }));
      Object.assign(outcome, result);
    } finally {
      sink.end();
      core.endGroup();
      outcome.logTail = sink.tail();
      outcome.pushed = pushedMarker(sink.markers.get('pushed'), plan.pushBranch);
      await commentRunning;
    }
    failure = runFailure(outcome, config, sink.tail(20));
  } catch (err) {
    failure = cancel.signal.aborted ? cancelled(outcome.machineId) : wrapEngineError(err);
    if (cancel.signal.aborted) outcome.conclusion = 'cancelled';
  } finally {
    outcome.durationSeconds = Math.round((performance.now() - startedAt) / 100) / 10;
    if (failure) outcome.error = secrets.redact((failure as Error).message);
    for (const message of warnings) core.warning(secrets.redact(message));
    await report(outcome, failure as AgentMachineError | undefined, config, plan, secrets);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function machineSpec(config: Config, plan: RunPlan, prompt: string | undefined, image: string, runKey: string): MachineSpec {
  const bundled = !config.image;
  const env: Record<string, string> = { ...config.env };
  const set = (key: string, value: string | undefined) => { if (value) env[key] = value; };
  set('FLAUDE_PROMPT', prompt);
  if (plan.repos.length) env.FLAUDE_REPOS = JSON.stringify(plan.repos);
  set('FLAUDE_PUSH_BRANCH', plan.pushBranch);
  set('CLAUDE_CODE_OAUTH_TOKEN', config.claudeCodeOauthToken);
  set('ANTHROPIC_API_KEY', config.anthropicApiKey);
  // Code from a fork runs without the token: nothing it does may act as this repository.
  if (config.githubToken && !plan.untrusted) {
    env.GITHUB_TOKEN = config.githubToken;
    env.GITHUB_USERNAME = 'x-access-token';
    // The image's credential helper hands the token only to this server (GHES has its own).
    env.GITHUB_SERVER_URL = process.env.GITHUB_SERVER_URL || 'https://github.com';
  }
  // The bundled image keeps its entrypoint (clone, push, exit marker) and runs the command
  // in place of the agent; any other image gets the command as its whole argv.
  if (bundled && config.command) env.AGENT_COMMAND = JSON.stringify(config.command);
  const attempt = `${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  return {
    name: `agent-${attempt}-${runKey.slice(0, 8)}`,
    image,
    command: bundled ? undefined : config.command,
    env,
    labels: labelsFor(runKey),
    guest: { cpus: config.fly.cpus, memoryMb: config.fly.memoryMb, cpuKind: config.fly.cpuKind },
    region: config.fly.region,
  };
}

/** The run's own verdict as an error (or none), the way the seeds raise it. */
function runFailure(outcome: RunOutcome, config: Config, tail20: string[]): AgentMachineError | undefined {
  const id = outcome.machineId ?? '';
  if (outcome.conclusion === 'timeout') return new MachineTimeoutError(id, config.waitTimeoutSeconds, outcome.state, tail20);
  if (outcome.conclusion === 'cancelled') return cancelled(id);
  if (outcome.conclusion === 'failure') {
    return new MachineExitError(id, outcome.exitCode, outcome.state, tail20, outcome.oomKilled ? ' (out of memory: the machine was OOM-killed)' : '');
  }
  return undefined;
}

async function report(outcome: RunOutcome, failure: AgentMachineError | undefined, config: Config | undefined, plan: RunPlan | undefined, secrets: Secrets): Promise<void> {
  const afterRun = plan && !plan.skip ? await plan.afterRun(outcome) : {};
  if (plan && !plan.skip) await plan.comment.finish(outcome);
  const pullRequestNumber = afterRun.pullRequestNumber ?? plan?.pullRequestNumber;
  setOutputs(outcome, { commentId: plan?.comment.id, pullRequestNumber });
  try {
    await writeSummary(outcome, summaryLinks(outcome, plan, pullRequestNumber));
  } catch (err) {
    core.warning(`Could not write the job summary: ${(err as Error).message}`);
  }
  if (!failure) return;
  const message = secrets.redact(failure.message);
  const agentVerdict = failure instanceof MachineExitError || failure instanceof MachineTimeoutError;
  if (failure instanceof ImageBuildError) core.error(secrets.redact(lastLines(failure.stderr, 30)), { title: 'Image build failed' });
  if (agentVerdict && outcome.logTail.length) {
    // The agent's own lines: printed with workflow commands paused, like the live output.
    await core.group(`Last ${outcome.logTail.length} log lines`, () => withWorkflowCommandsStopped(async () => { for (const line of outcome.logTail) core.info(line); }));
  }
  if (agentVerdict && config && !config.raiseOnFailure) {
    core.warning(`${message.split('\n')[0]} (raise_on_failure is false: the step stays green)`);
    return;
  }
  core.setFailed(message);
}

function cancelled(machineId: string | undefined): AgentMachineError {
  return new AgentMachineError('CANCELLED', machineId ? `The run was cancelled; machine ${machineId} was destroyed` : 'The run was cancelled before any machine was created');
}

function summaryLinks(outcome: RunOutcome, plan: RunPlan | undefined, pullRequestNumber: number | undefined): SummaryLinks {
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
  return {
    pullRequest: pullRequestNumber ? { number: pullRequestNumber, url: `${server}/${process.env.GITHUB_REPOSITORY}/pull/${pullRequestNumber}` } : undefined,
    commitUrl: outcome.pushed && plan?.repositoryUrl ? `${plan.repositoryUrl}/commit/${outcome.pushed.sha}` : undefined,
    commentUrl: plan?.comment.url,
  };
}

/** The image's `[flaude:pushed:BRANCH:SHA]`, believed only for the branch it was asked to push to. */
function pushedMarker(value: string | undefined, pushBranch: string | undefined): RunOutcome['pushed'] {
  const match = value && /^(.+):([0-9a-f]{7,64})$/.exec(value);
  return match && match[1] === pushBranch ? { branch: match[1], sha: match[2] } : undefined;
}

/** Echoes agent lines with the wall-clock time they arrived, like a terminal would show. */
function timestamped(): (lines: string[]) => void {
  return (lines) => {
    // One write per chunk: a write per line queues faster than the runner's pipe drains.
    const stamp = new Date().toISOString().slice(11, 19);
    process.stdout.write(`${stamp} ${lines.join(`\n${stamp} `)}\n`);
  };
}
