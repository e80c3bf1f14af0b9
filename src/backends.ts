// config → backend: the one place that turns the action's inputs into a backend's own options.
import { flyTarget, type Config } from './config/config.js';
import { FlyBackend } from './machine/fly/backend.js';
import { LocalBackend } from './machine/local/backend.js';
import type { Backend } from './machine/machine.js';

/** Where a backend's problems go when they do not fail the run. */
export interface Annotations {
  /** Fly logs unreadable, a sweep that missed one. */
  warn: (message: string) => void;
  /** Why the prebuilt image was not pulled (it is built instead). */
  notice: (message: string) => void;
}

export function createBackend(config: Config, { warn, notice }: Annotations): Backend {
  const source = { image: config.image, dockerfile: config.dockerfile, buildContext: config.buildContext };
  if (config.backend === 'local') return new LocalBackend({ ...source, notice });
  const { appName, apiToken } = flyTarget(config);
  return new FlyBackend({ ...source, app: appName, token: apiToken, region: config.fly.region, cpuKind: config.fly.cpuKind, warn });
}
