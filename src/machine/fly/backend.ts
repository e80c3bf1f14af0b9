// The fly backend: each run on its own Fly Machine in the configured app.
import { NotSupportedError } from '../../errors.js';
import type { HttpTimeouts } from '../../http/client.js';
import type { RetryPolicy } from '../../http/retry.js';
import type { Backend, ImageSource, Machine, MachineRef, MachineSpec, SweepOptions } from '../machine.js';
import { FlyClient } from './client.js';
import { prepareFlyImage } from './image.js';
import { FlyMachine } from './machine.js';
import { createMachine, destroyMachine, listMachines, type CreateMachineBody, type FlyMachineObject } from './machines.js';

export type CpuKind = 'shared' | 'performance';

export interface FlyBackendOptions extends ImageSource {
  app: string;
  token: string;
  region: string;
  cpuKind: CpuKind;
  /** Where FLY_FLAPS_BASE_URL, FLY_API_BASE_URL and FLY_REGISTRY_URL are read. */
  env?: NodeJS.ProcessEnv;
  /** Problems worth a warning that do not fail the run (logs unreadable, a sweep that missed one). */
  warn?: (message: string) => void;
  retry?: Partial<RetryPolicy>;
  /** Deadlines of the Fly API calls; the defaults suit Fly (see http/client.ts), tests shorten them. */
  timeouts?: HttpTimeouts;
}

export class FlyBackend implements Backend {
  readonly name = 'fly' as const;
  readonly app: string;
  private readonly client: FlyClient;
  private readonly warn: (message: string) => void;

  constructor(private readonly options: FlyBackendOptions) {
    this.app = options.app;
    this.client = new FlyClient({ token: options.token, env: options.env, retry: options.retry, timeouts: options.timeouts });
    this.warn = options.warn ?? ((message) => process.stderr.write(`${message}\n`));
  }

  prepareImage(log: (line: string) => void, signal?: AbortSignal): Promise<string> {
    const { token, image, dockerfile, buildContext } = this.options;
    return prepareFlyImage(this.client, { app: this.app, token, image, dockerfile, buildContext }, log, signal);
  }

  async create(spec: MachineSpec, signal?: AbortSignal): Promise<Machine> {
    const body: CreateMachineBody = {
      name: spec.name,
      region: this.options.region,
      config: {
        image: spec.image,
        env: spec.env,
        guest: { cpu_kind: this.options.cpuKind, cpus: spec.cpus, memory_mb: spec.memoryMb },
        auto_destroy: true,
        restart: { policy: 'no' },
        metadata: { ...spec.labels },
        // `exec` replaces the image's ENTRYPOINT and CMD together, as the local backend does.
        ...(spec.command ? { init: { exec: spec.command } } : {}),
      },
    };
    const machine = await createMachine(this.client, this.app, body, signal);
    return new FlyMachine(this.client, this.app, machine.id, machine.state, this.warn);
  }

  async destroy(ref: MachineRef): Promise<void> {
    if (ref.backend !== 'fly')
      throw new NotSupportedError(`The fly backend cannot destroy a ${ref.backend} machine (${ref.id}); use the ${ref.backend} backend`);
    await destroyMachine(this.client, ref.app ?? this.app, ref.id);
  }

  async sweep(labels: Record<string, string>, options: SweepOptions = {}): Promise<string[]> {
    // No label would match every machine in the app, ours or not.
    if (Object.keys(labels).length === 0) throw new Error('sweep needs at least one label');
    const live = (await listMachines(this.client, this.app, labels)).filter(
      (m) => m.state !== 'destroyed' && m.state !== 'destroying' && this.oldEnough(m, options),
    );
    const results = await Promise.allSettled(live.map((m) => destroyMachine(this.client, this.app, m.id)));
    const destroyed: string[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') destroyed.push(live[i].id);
      else
        this.warn(
          `Could not destroy Fly machine ${live[i].id} in app ${this.app}; remove it by hand (fly machine destroy --force ${live[i].id}): ${(result.reason as Error).message}`,
        );
    });
    return destroyed;
  }

  private oldEnough(machine: FlyMachineObject, { olderThanSeconds }: SweepOptions): boolean {
    if (olderThanSeconds === undefined) return true;
    const created = Date.parse(machine.created_at ?? '');
    if (Number.isNaN(created)) {
      // Its age unknown, it may be a run still going: spared, but named.
      this.warn(`Fly machine ${machine.id} in app ${this.app} has no readable created_at (${machine.created_at ?? 'none'}); not swept by age`);
      return false;
    }
    return Date.now() - created >= olderThanSeconds * 1000;
  }
}
