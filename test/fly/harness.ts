// Drives a FlyDriver against the fake the way the run loop does: create, read logs while
// waiting, stop the logs after exit, destroy in finally.
import type { Config } from '../../src/config/config.js';
import { FlyDriver, type FlyDriverOptions } from '../../src/machine/fly/driver.js';
import type { Machine, MachineSpec, MachineStatus } from '../../src/machine/machine.js';
import { startFakeFly, type FakeFly, type Scenario } from '../fakes/fly-server.js';

/** A fly Config for this app and token (a FakeFly is one). */
export function flyConfig(fake: { app: string; token: string }, overrides: Partial<Config> = {}): Config {
  return {
    repos: [],
    backend: 'fly',
    dockerfile: '/nonexistent/Dockerfile',
    buildContext: '/nonexistent',
    fly: { apiToken: fake.token, appName: fake.app, region: 'iad', cpus: 1, memoryMb: 256, cpuKind: 'shared' },
    env: {},
    waitTimeoutSeconds: 60,
    raiseOnFailure: true,
    logTailLines: 20,
    comment: 'never',
    triggerPhrase: '/fix',
    allowForks: false,
    secrets: [fake.token],
    ...overrides,
  };
}

export function fakeEnv(fake: FakeFly): NodeJS.ProcessEnv {
  return { FLY_FLAPS_BASE_URL: fake.url, FLY_API_BASE_URL: fake.url, FLY_REGISTRY_URL: fake.url };
}

export function machineSpec(overrides: Partial<MachineSpec> = {}): MachineSpec {
  return {
    name: `amt-test-${Math.random().toString(36).slice(2, 10)}`,
    image: 'registry.fly.io/amt-test:agent-1',
    env: { FLAUDE_PROMPT: 'fix it' },
    labels: { amt: '1', amt_run: 'run-1' },
    guest: { cpus: 1, memoryMb: 256, cpuKind: 'shared' },
    region: 'iad',
    ...overrides,
  };
}

export interface RunOutcome {
  fake: FakeFly;
  driver: FlyDriver;
  machine?: Machine;
  status?: MachineStatus;
  error?: Error;
  log: string;
  warnings: string[];
}

export interface RunOptions {
  waitTimeoutMs?: number;
  /** How long logs may still be read after exit (the runner's grace). */
  graceMs?: number;
  driver?: FlyDriverOptions;
  spec?: Partial<MachineSpec>;
}

export async function runOnFake(scenario: Scenario, options: RunOptions = {}): Promise<RunOutcome> {
  const fake = await startFakeFly(scenario);
  const warnings: string[] = [];
  const driver = new FlyDriver(flyConfig(fake), { env: fakeEnv(fake), warn: (w) => warnings.push(w), ...options.driver });
  const outcome: RunOutcome = { fake, driver, log: '', warnings };
  try {
    const machine = await driver.create(machineSpec(options.spec));
    outcome.machine = machine;
    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => { markExited = resolve; });
    const stopLogs = new AbortController();
    const reading = (async () => {
      for await (const chunk of machine.logs({ stop: stopLogs.signal, exited })) outcome.log += chunk;
    })();
    const deadline = AbortSignal.timeout(options.waitTimeoutMs ?? 30_000);
    try {
      outcome.status = await machine.wait(deadline);
    } catch (err) {
      outcome.error = err as Error;
      stopLogs.abort();
    } finally {
      markExited();
    }
    const grace = setTimeout(() => stopLogs.abort(), options.graceMs ?? 5_000);
    await reading;
    clearTimeout(grace);
    await machine.destroy();
  } catch (err) {
    outcome.error ??= err as Error;
  }
  return outcome;
}

/** Every form the token could leak in. */
export function tokenForms(token: string): string[] {
  const bare = token.replace(/^(FlyV1|Bearer) /, '');
  return [token, bare, Buffer.from(`x:${bare}`).toString('base64')];
}
