// Shared by the local-backend tests: a backend on the busybox image, a labelled spec per test
// file and cleanup by that label.
import { randomUUID } from 'node:crypto';
import type { DockerApi } from '../../src/machine/local/docker-api.js';
import { LocalBackend, type LocalBackendOptions } from '../../src/machine/local/backend.js';
import type { Machine, MachineSpec } from '../../src/machine/machine.js';
import { TEST_LABEL, testSpec } from '../helpers/factories.js';
import { BUSYBOX_IMAGE } from '../helpers/images.js';

/** A LocalBackend on this engine; without other options it uses the busybox image and can build nothing. */
export function localBackend(api: DockerApi, options: Partial<LocalBackendOptions> = {}): LocalBackend {
  return new LocalBackend({ image: BUSYBOX_IMAGE, dockerfile: '/nonexistent/Dockerfile', buildContext: '/nonexistent', api, ...options });
}

/** A test file's own label value, so cleanup never touches another file's containers. */
export function testRun(): { labels: Record<string, string>; spec(command?: string[], overrides?: Partial<MachineSpec>): MachineSpec } {
  const labels = { [TEST_LABEL]: `local-${randomUUID()}` };
  return { labels, spec: (command, overrides) => testSpec({ command, labels, ...overrides }) };
}

/** Removes whatever a test file left behind and closes its connections. */
export async function cleanUp(api: DockerApi, labels: Record<string, string>): Promise<void> {
  for (const id of await api.listContainers(labels)) await api.removeContainer(id);
  await api.close();
}

/** Everything a machine printed, stdout and stderr together, once its output is complete. */
export async function readAll(machine: Machine): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of machine.logs(new AbortController().signal)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}
