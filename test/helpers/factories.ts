// The one front door for what tests build: a Config read through the action's own readConfig
// (so every default is the action's, and a new input needs no test to learn it), and a
// MachineSpec small enough for any backend, and the outcome of a local run that succeeded.
import { randomUUID } from 'node:crypto';
import { readConfig, type Config } from '../../src/config/config.js';
import type { MachineSpec } from '../../src/machine/machine.js';
import type { RunOutcome } from '../../src/run/outcome.js';
import { BUSYBOX_IMAGE } from './images.js';

/** Marks what a test made, so its cleanup finds it (and nothing of another test's). */
export const TEST_LABEL = 'amt-test';

/**
 * The Config the action reads from these inputs (names as in action.yml). `env` stands in for
 * the process environment (FLY_API_TOKEN), so the caller's own never leaks in.
 */
export function testConfig(inputs: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}): Config {
  return readConfig((name) => inputs[name] ?? '', env);
}

/** A one-CPU, 256 MB machine on the busybox test image, labelled as a test's; any field can be replaced. */
export function testSpec(overrides: Partial<MachineSpec> = {}): MachineSpec {
  return {
    name: `amt-test-${randomUUID()}`,
    image: BUSYBOX_IMAGE,
    env: {},
    labels: { [TEST_LABEL]: 'true' },
    cpus: 1,
    memoryMb: 256,
    ...overrides,
  };
}

/** A local run that ended well in 65 s; any field can be replaced. */
export function testOutcome(overrides: Partial<RunOutcome> = {}): RunOutcome {
  return {
    backend: 'local',
    image: 'agent:test',
    machineId: 'c0ffee42',
    state: 'stopped',
    exitCode: 0,
    exitCodeSource: 'api',
    conclusion: 'success',
    oomKilled: false,
    durationSeconds: 65,
    logTail: [],
    ...overrides,
  };
}
