// config + plan → the machine to make: its name, image, labels, size and the image protocol's environment.
import type { Config } from '../config/config.js';
import type { RunPlan } from '../github/plan.js';
import type { MachineSpec } from '../machine/machine.js';
import { machineEnv } from '../protocol.js';
import { labelsFor } from '../step-state.js';

/** How long after wait_timeout a machine whose runner vanished stops itself. */
const DEADLINE_GRACE_SECONDS = 60;

/** The bundled image without a `command` runs Claude Code, and prints its stream-json events. */
export function runsAgent(config: Config): boolean {
  return !config.image && !config.command;
}

export interface RunIdentity {
  prompt?: string;
  image: string;
  /** Labels the machine so this step (and its post step) can find it. */
  runKey: string;
  /** Given to the bundled image: the markers it prints carry it. */
  markerNonce?: string;
}

export function machineSpec(config: Config, plan: RunPlan, { prompt, image, runKey, markerNonce }: RunIdentity): MachineSpec {
  const bundled = !config.image;
  const env = machineEnv({
    prompt,
    repos: plan.repos,
    pushBranch: plan.pushBranch,
    claudeCodeOauthToken: config.claudeCodeOauthToken,
    anthropicApiKey: config.anthropicApiKey,
    // Code from a fork runs without the token: nothing it does may act as this repository.
    github: config.githubToken && !plan.untrusted ? { token: config.githubToken, serverUrl: process.env.GITHUB_SERVER_URL || 'https://github.com' } : undefined,
    // The bundled image keeps its entrypoint (clone, push, exit marker) and runs the command
    // in place of the agent; any other image gets the command as its whole argv.
    agentCommand: bundled ? config.command : undefined,
    agent: runsAgent(config) ? config.agent : undefined,
    env: config.env,
    // A fork's code gets none of the workflow's secrets.
    secrets: plan.untrusted ? {} : config.agentSecrets,
    pushOnFailure: config.pushOnFailure,
    markerNonce,
    // Past wait_timeout the action destroys the machine; this covers a runner that is gone.
    deadlineSeconds: config.waitTimeoutSeconds + DEADLINE_GRACE_SECONDS,
    // Only the bundled entrypoint (or one built from `dockerfile`) enforces it; another image's
    // root would only gain CAP_NET_ADMIN on the shared bridge.
    egress: config.egress && !config.image ? { allow: config.egress.allow, mode: config.egress.mode } : undefined,
  });
  const attempt = `${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  return {
    name: `agent-${attempt}-${runKey.slice(0, 8)}`,
    image,
    command: bundled ? undefined : config.command,
    env,
    labels: labelsFor(runKey),
    cpus: config.fly.cpus,
    memoryMb: config.fly.memoryMb,
    // The firewall needs it exactly when the allowlist is sent.
    netAdmin: env.FLAUDE_EGRESS_ALLOW !== undefined,
  };
}
