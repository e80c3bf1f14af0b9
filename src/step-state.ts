// What the main step leaves for the post step (GITHUB_STATE), and the labels that let
// either of them find this step's machines again.

export const STEP_STATE = {
  /** Random per step invocation; every machine of this step carries it as a label. */
  runKey: 'run_key',
  /** JSON MachineRef of a machine not yet destroyed; emptied once it is. */
  machine: 'machine',
  /** JSON LeftComment of a PR comment still saying "running"; emptied once it has the result. */
  comment: 'comment',
} as const;

export const LABEL_OWNER = 'agent-machine-action';
export const LABEL_RUN_KEY = 'agent-machine-action-key';
export const LABEL_REPOSITORY = 'agent-machine-action-repository';

export function labelsFor(runKey: string): Record<string, string> {
  const labels: Record<string, string> = { [LABEL_OWNER]: 'true', [LABEL_RUN_KEY]: runKey };
  if (process.env.GITHUB_REPOSITORY) labels[LABEL_REPOSITORY] = process.env.GITHUB_REPOSITORY;
  if (process.env.GITHUB_RUN_ID) labels['agent-machine-action-run'] = `${process.env.GITHUB_RUN_ID}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  return labels;
}
