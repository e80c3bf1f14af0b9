// The post step: whatever the main step left behind (it was killed, or its cleanup failed)
// is destroyed here. It never fails the job over cleanup; it warns, naming the machine.
import * as core from '@actions/core';
import { readConfig } from './config/config.js';
import { createDriver } from './machine/drivers.js';
import type { MachineRef } from './machine/machine.js';
import { Secrets } from './secrets.js';
import { LABEL_RUN_KEY, STATE } from './state.js';

export async function post(): Promise<void> {
  const runKey = core.getState(STATE.runKey);
  const saved = core.getState(STATE.machine);
  if (!runKey && !saved) return;
  let ref: MachineRef | undefined;
  try {
    const config = readConfig((name) => core.getInput(name));
    new Secrets(config.secrets).maskInRunnerLog();
    const driver = createDriver(config);
    if (saved) {
      ref = JSON.parse(saved) as MachineRef;
      await driver.destroy(ref);
      core.info(`Destroyed machine ${ref.id} left by the main step`);
    }
    if (runKey) {
      const swept = await driver.sweep({ [LABEL_RUN_KEY]: runKey });
      if (swept.length) core.info(`Destroyed ${swept.length} leftover machine(s): ${swept.join(', ')}`);
    }
  } catch (err) {
    core.warning(`Cleanup could not finish${ref ? ` for machine ${ref.id}` : ''}: ${(err as Error).message}. Check for leftover machines by the label ${LABEL_RUN_KEY}=${runKey}.`);
  }
}

await post();
process.exit();
