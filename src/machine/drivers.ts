import * as core from '@actions/core';
import type { Config } from '../config/config.js';
import { FlyDriver } from './fly/driver.js';
import { LocalDriver } from './local/driver.js';
import type { BackendDriver } from './machine.js';

export function createDriver(config: Config): BackendDriver {
  return config.backend === 'fly' ? new FlyDriver(config, { warn: (message) => core.warning(message) }) : new LocalDriver(config);
}
