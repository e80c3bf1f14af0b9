// A FlyBackend against the fake Fly, driven by the action's own run loop (runMachine, a real
// LogSink): what the action does between image and report, with the fake's record of every
// request left to check.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlyBackend, type FlyBackendOptions } from '../../src/machine/fly/backend.js';
import type { MachineRef, MachineSpec } from '../../src/machine/machine.js';
import { LogSink } from '../../src/run/log-sink.js';
import type { MachineResult } from '../../src/run/outcome.js';
import { runMachine } from '../../src/run/run.js';
import { startFakeFly, type FakeFly, type Scenario } from '../fakes/fly-server.js';
import { testSpec } from '../helpers/factories.js';

/** The fake's endpoints as the seams FLY_FLAPS_BASE_URL, FLY_API_BASE_URL and FLY_REGISTRY_URL. */
export function fakeEnv(fake: { url: string }): NodeJS.ProcessEnv {
  return { FLY_FLAPS_BASE_URL: fake.url, FLY_API_BASE_URL: fake.url, FLY_REGISTRY_URL: fake.url };
}

/** A FlyBackend for the fake's app and token, pointed at it; nothing to build unless `options` says so. */
export function flyBackend(fake: { app: string; token: string; url: string }, options: Partial<FlyBackendOptions> = {}): FlyBackend {
  return new FlyBackend({
    app: fake.app,
    token: fake.token,
    region: 'iad',
    cpuKind: 'shared',
    dockerfile: '/nonexistent/Dockerfile',
    buildContext: '/nonexistent',
    env: fakeEnv(fake),
    ...options,
  });
}

export interface FlyRun {
  fake: FakeFly;
  backend: FlyBackend;
  /** What runMachine returned; undefined when it threw. */
  result?: MachineResult;
  /** What runMachine threw: only ever before a machine existed. */
  error?: Error;
  /** The machine, once created. */
  ref?: MachineRef;
  /** The log file the sink wrote, whole. */
  log: string;
  warnings: string[];
  /** `created ID` and `destroyed ID`, as runMachine reported them. */
  events: string[];
}

export interface FlyRunOptions {
  waitTimeoutSeconds?: number;
  /** Cancel the run (as a SIGINT would) this long after it starts. */
  cancelAfterMs?: number;
  backend?: Partial<FlyBackendOptions>;
  spec?: Partial<MachineSpec>;
}

export async function runOnFake(scenario: Scenario, options: FlyRunOptions = {}): Promise<FlyRun> {
  const fake = await startFakeFly(scenario);
  const warnings: string[] = [];
  const warn = (message: string) => void warnings.push(message);
  const run: FlyRun = { fake, backend: flyBackend(fake, { warn, ...options.backend }), log: '', warnings, events: [] };
  const dir = mkdtempSync(join(tmpdir(), 'amt-fly-run-'));
  const sink = new LogSink({ file: join(dir, 'log'), secrets: [fake.token], tailLines: 20 });
  const cancel = new AbortController();
  const cancelling = options.cancelAfterMs === undefined ? undefined : setTimeout(() => cancel.abort(new Error('SIGINT')), options.cancelAfterMs);
  try {
    run.result = await runMachine(run.backend, testSpec(options.spec), sink, {
      waitTimeoutSeconds: options.waitTimeoutSeconds ?? 30,
      idleTimeoutSeconds: 0,
      cancel: cancel.signal,
      onCreated: (ref) => {
        run.ref = ref;
        run.events.push(`created ${ref.id}`);
      },
      onDestroyed: (ref) => void run.events.push(`destroyed ${ref.id}`),
      warn,
    });
  } catch (err) {
    run.error = err as Error;
  } finally {
    clearTimeout(cancelling);
    sink.end(); // runMachine ends it once a machine exists; not when the create threw
    run.log = readFileSync(join(dir, 'log'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
  }
  return run;
}

/** Every form the token could leak in. */
export function tokenForms(token: string): string[] {
  const bare = token.replace(/^(FlyV1|Bearer) /, '');
  return [token, bare, Buffer.from(`x:${bare}`).toString('base64')];
}
