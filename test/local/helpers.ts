// Shared by the local-backend tests: a labelled spec per test file and cleanup by that label.
import { randomUUID } from 'node:crypto';
import type { DockerApi } from '../../src/machine/local/docker-api.js';
import type { Machine, MachineSpec } from '../../src/machine/machine.js';
import { BUSYBOX_IMAGE } from '../helpers/images.js';

export const TEST_LABEL = 'amt-test';

/** A test file's own label value, so cleanup never touches another file's containers. */
export function testRun(): { labels: Record<string, string>; spec(command?: string[], overrides?: Partial<MachineSpec>): MachineSpec } {
  const labels = { [TEST_LABEL]: `local-${randomUUID()}` };
  return {
    labels,
    spec: (command, overrides = {}) => ({
      name: `amt-test-${randomUUID()}`,
      image: BUSYBOX_IMAGE,
      command,
      env: {},
      labels,
      guest: { cpus: 1, memoryMb: 256, cpuKind: 'shared' },
      region: 'iad',
      ...overrides,
    }),
  };
}

/** Removes whatever a test file left behind and closes its connections. */
export async function cleanUp(api: DockerApi, labels: Record<string, string>): Promise<void> {
  for (const id of await api.listContainers(labels)) await api.removeContainer(id);
  await api.close();
}

/** Everything a machine printed, stdout and stderr together, once its output is complete. */
export async function readAll(machine: Machine): Promise<string> {
  const chunks: Buffer[] = [];
  const control = { stop: new AbortController().signal, exited: Promise.resolve() };
  for await (const chunk of machine.logs(control)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}
