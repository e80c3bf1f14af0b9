import type { Config } from '../config/config.js';
import { FlyDriver } from './fly/driver.js';
import { LocalDriver } from './local/driver.js';
import type { BackendDriver } from './machine.js';

export function createDriver(config: Config): BackendDriver {
  return config.backend === 'fly' ? new FlyDriver(config) : new LocalDriver(config);
}
