// The fly backend: each run on its own Fly Machine in the configured app.
import { flyTarget, type Config } from '../../config/config.js';
import { NotSupportedError } from '../../errors.js';
import type { RetryPolicy } from '../../http/retry.js';
import type { BackendDriver, Machine, MachineRef, MachineSpec } from '../machine.js';
import { FlyClient } from './client.js';
import { prepareFlyImage } from './image.js';
import { FlyMachine } from './machine.js';
import { createMachine, destroyMachine, listMachines, type CreateMachineBody } from './machines.js';

export interface FlyDriverOptions {
  /** Where FLY_FLAPS_BASE_URL, FLY_API_BASE_URL and FLY_REGISTRY_URL are read. */
  env?: NodeJS.ProcessEnv;
  /** Problems worth a warning that do not fail the run (logs unreadable, a sweep that missed one). */
  warn?: (message: string) => void;
  retry?: Partial<RetryPolicy>;
}

export class FlyDriver implements BackendDriver {
  readonly name = 'fly' as const;
  readonly app: string;
  private readonly token: string;
  private readonly client: FlyClient;
  private readonly warn: (message: string) => void;

  constructor(private readonly config: Config, options: FlyDriverOptions = {}) {
    ({ appName: this.app, apiToken: this.token } = flyTarget(config));
    this.client = new FlyClient({ token: this.token, env: options.env, retry: options.retry });
    this.warn = options.warn ?? ((message) => process.stderr.write(`${message}\n`));
  }

  prepareImage(log: (line: string) => void, signal?: AbortSignal): Promise<string> {
    const { image, dockerfile, buildContext } = this.config;
    return prepareFlyImage(this.client, { app: this.app, token: this.token, image, dockerfile, buildContext }, log, signal);
  }

  async create(spec: MachineSpec): Promise<Machine> {
    const body: CreateMachineBody = {
      name: spec.name,
      region: spec.region,
      config: {
        image: spec.image,
        env: spec.env,
        guest: { cpu_kind: spec.guest.cpuKind, cpus: spec.guest.cpus, memory_mb: spec.guest.memoryMb },
        auto_destroy: true,
        restart: { policy: 'no' },
        metadata: { ...spec.labels },
        // `exec` replaces the image's ENTRYPOINT and CMD together, as the local backend does.
        ...(spec.command ? { init: { exec: spec.command } } : {}),
      },
    };
    const machine = await createMachine(this.client, this.app, body);
    return new FlyMachine(this.client, this.app, machine.id, machine.state, this.warn);
  }

  async destroy(ref: MachineRef): Promise<void> {
    if (ref.backend !== 'fly') throw new NotSupportedError(`The fly backend cannot destroy a ${ref.backend} machine (${ref.id}); use the ${ref.backend} backend`);
    await destroyMachine(this.client, ref.app ?? this.app, ref.id);
  }

  async sweep(labels: Record<string, string>): Promise<string[]> {
    const live = (await listMachines(this.client, this.app, labels)).filter((m) => m.state !== 'destroyed' && m.state !== 'destroying');
    const results = await Promise.allSettled(live.map((m) => destroyMachine(this.client, this.app, m.id)));
    const destroyed: string[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') destroyed.push(live[i].id);
      else this.warn(`Could not destroy Fly machine ${live[i].id} in app ${this.app}; remove it by hand (fly machine destroy --force ${live[i].id}): ${(result.reason as Error).message}`);
    });
    return destroyed;
  }

  ref(machine: Machine): MachineRef {
    return { backend: 'fly', id: machine.id, app: this.app };
  }
}
