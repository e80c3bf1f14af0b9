// The post step: whatever the main step left behind (it was killed, or its cleanup failed)
// is destroyed here, and a PR comment it left at "running" says the run ended without a
// report. It never fails the job over cleanup; it warns, naming the machine.
import * as core from '@actions/core';
import { createBackend } from './backends.js';
import { readConfig, type Config } from './config/config.js';
import { createClient, readContext } from './github/api.js';
import { closeLeftComment, type LeftComment } from './report/pull-request.js';
import { Secrets } from './secrets.js';
import { exitWhenFlushed } from './session.js';
import { LABEL_RUN_KEY, STEP_STATE } from './step-state.js';
import type { MachineRef } from './machine/machine.js';

export async function post(): Promise<void> {
  const runKey = core.getState(STEP_STATE.runKey);
  const saved = core.getState(STEP_STATE.machine);
  const comment = core.getState(STEP_STATE.comment);
  if (!runKey && !saved && !comment) return;
  const leftovers = `Check for leftover machines by the label ${LABEL_RUN_KEY}=${runKey}.`;
  let config: Config;
  try {
    // Only where machines run matters here: the prompt file may be gone by now.
    config = readConfig((name) => (name === 'prompt_file' ? '' : core.getInput(name)));
  } catch (err) {
    core.warning(`Cleanup could not start: ${(err as Error).message}. ${leftovers}`);
    return;
  }
  const secrets = new Secrets(config.secrets);
  secrets.maskInRunnerLog();
  if (runKey || saved) await cleanUp(config, saved, runKey, leftovers);
  if (comment && config.githubToken) await closeLeftComment(await createClient(config.githubToken, readContext()), JSON.parse(comment) as LeftComment, secrets);
}

async function cleanUp(config: Config, saved: string, runKey: string, leftovers: string): Promise<void> {
  const backend = createBackend(config, { warn: core.warning, notice: core.notice });
  // Each on its own: a destroy that fails must not stop the sweep that may still succeed.
  if (saved) {
    const ref = JSON.parse(saved) as MachineRef;
    await backend.destroy(ref).then(
      () => core.info(`Destroyed machine ${ref.id} left by the main step`),
      (err: Error) => core.warning(`Could not destroy machine ${ref.id}: ${err.message}. ${leftovers}`),
    );
  }
  if (runKey) {
    await backend.sweep({ [LABEL_RUN_KEY]: runKey }).then(
      (swept) => {
        if (swept.length) core.info(`Destroyed ${swept.length} leftover machine(s): ${swept.join(', ')}`);
      },
      (err: Error) => core.warning(`Could not sweep leftover machines: ${err.message}. ${leftovers}`),
    );
  }
}

await post();
await exitWhenFlushed();
