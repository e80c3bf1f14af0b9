// What the main step leaves for the post step (GITHUB_STATE), and the labels that let
// either of them find this step's machines again.

export const STATE = {
  /** Random per step invocation; every machine of this step carries it as a label. */
  runKey: 'run_key',
  /** JSON MachineRef of a machine not yet destroyed; emptied once it is. */
  machine: 'machine',
} as const;

export const LABEL_OWNER = 'agent-machine-action';
export const LABEL_RUN_KEY = 'agent-machine-action-key';

export function labelsFor(runKey: string): Record<string, string> {
  const labels: Record<string, string> = { [LABEL_OWNER]: 'true', [LABEL_RUN_KEY]: runKey };
  if (process.env.GITHUB_REPOSITORY) labels['agent-machine-action-repository'] = process.env.GITHUB_REPOSITORY;
  if (process.env.GITHUB_RUN_ID) labels['agent-machine-action-run'] = `${process.env.GITHUB_RUN_ID}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  return labels;
}
