// Why a run failed, as one word a workflow can branch on (`failure_reason`): read from the
// error that ended it, the agent's own events (the model API's error status, the result's
// subtype) and the bundled image's exit codes.
import type { AgentStats } from '../agent/stats.js';
import { AgentMachineError, MachineExitError } from '../errors.js';
import type { Conclusion } from './outcome.js';

export type FailureReason =
  | 'auth'
  | 'rate_limited'
  | 'overloaded'
  | 'max_turns'
  | 'stalled'
  | 'timeout'
  | 'oom'
  | 'clone_failed'
  | 'push_failed'
  | 'egress_setup'
  | 'agent_error'
  | 'cancelled'
  | 'image_build'
  | 'bad_input'
  | 'platform_error';

/** The bundled image's own exit codes (docker/entrypoint.sh); any other image's codes are its own. */
const IMAGE_EXIT_REASONS: Record<number, FailureReason> = { 2: 'bad_input', 3: 'clone_failed', 4: 'push_failed', 5: 'egress_setup' };

export interface ReasonInput {
  conclusion: Conclusion;
  failure?: AgentMachineError;
  agent?: AgentStats;
  /** Exit codes 2, 3, 4, 5 mean what the bundled image says they mean. */
  bundledImage: boolean;
}

export function failureReason({ conclusion, failure, agent, bundledImage }: ReasonInput): FailureReason | undefined {
  if (conclusion === 'success' || conclusion === 'skipped') return undefined;
  if (conclusion === 'cancelled') return 'cancelled';
  if (failure?.code === 'STALLED') return 'stalled';
  const fromAgent = agentReason(agent);
  if (failure?.code === 'MODEL_API') return fromAgent ?? 'agent_error';
  if (conclusion === 'timeout') return 'timeout';
  if (!failure) return 'agent_error';
  switch (failure.code) {
    case 'INVALID_CONFIG':
      return 'bad_input';
    case 'IMAGE_BUILD':
      return 'image_build';
    case 'MACHINE_EXIT': {
      const exit = failure as MachineExitError;
      if (exit.oomKilled) return 'oom';
      return fromAgent ?? (bundledImage && exit.exitCode !== null ? IMAGE_EXIT_REASONS[exit.exitCode] : undefined) ?? 'agent_error';
    }
    default:
      return 'platform_error';
  }
}

/** What the agent's events say went wrong, if they say. */
function agentReason(agent: AgentStats | undefined): FailureReason | undefined {
  if (!agent) return undefined;
  const status = agent.apiErrorStatus;
  if (status === 401 || status === 403 || agent.apiError === 'authentication_failed') return 'auth';
  if (status === 429 || agent.apiError === 'rate_limit') return 'rate_limited';
  if (status === 529 || agent.apiError === 'overloaded') return 'overloaded';
  if (agent.subtype === 'error_max_turns') return 'max_turns';
  return undefined;
}
