import type { Config } from '../config/config.js';
import { FlyDriver } from './fly/driver.js';
import { LocalDriver } from './local/driver.js';
import type { BackendDriver } from './machine.js';

/** `warn` receives problems that do not fail the run (Fly logs unreadable, a sweep that missed one). */
export function createDriver(config: Config, warn: (message: string) => void): BackendDriver {
  return config.backend === 'fly' ? new FlyDriver(config, { warn }) : new LocalDriver(config);
}
