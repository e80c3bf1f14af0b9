// The post step: whatever the main step left behind (it was killed, or its cleanup failed)
// is destroyed here. It never fails the job over cleanup; it warns, naming the machine.
import * as core from '@actions/core';
import { readConfig } from './config/config.js';
import { createDriver } from './machine/drivers.js';
import type { BackendDriver, MachineRef } from './machine/machine.js';
import { Secrets } from './secrets.js';
import { LABEL_RUN_KEY, STATE } from './state.js';

export async function post(): Promise<void> {
  const runKey = core.getState(STATE.runKey);
  const saved = core.getState(STATE.machine);
  if (!runKey && !saved) return;
  const leftovers = `Check for leftover machines by the label ${LABEL_RUN_KEY}=${runKey}.`;
  let driver: BackendDriver;
  try {
    // Only where machines run matters here: the prompt file may be gone by now.
    const config = readConfig((name) => (name === 'prompt_file' ? '' : core.getInput(name)));
    new Secrets(config.secrets).maskInRunnerLog();
    driver = createDriver(config, (message) => core.warning(message));
  } catch (err) {
    core.warning(`Cleanup could not start: ${(err as Error).message}. ${leftovers}`);
    return;
  }
  // Each on its own: a destroy that fails must not stop the sweep that may still succeed.
  if (saved) {
    const ref = JSON.parse(saved) as MachineRef;
    await driver.destroy(ref).then(
      () => core.info(`Destroyed machine ${ref.id} left by the main step`),
      (err: Error) => core.warning(`Could not destroy machine ${ref.id}: ${err.message}. ${leftovers}`),
    );
  }
  if (runKey) {
    await driver.sweep({ [LABEL_RUN_KEY]: runKey }).then(
      (swept) => { if (swept.length) core.info(`Destroyed ${swept.length} leftover machine(s): ${swept.join(', ')}`); },
      (err: Error) => core.warning(`Could not sweep leftover machines: ${err.message}. ${leftovers}`),
    );
  }
}

await post();
process.exit();
