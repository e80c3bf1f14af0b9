// `mode: sweep`, for a scheduled workflow: destroys this action's machines older than
// `max_age`, left by runs whose runner was lost before any cleanup could run.
import * as core from '@actions/core';
import { createBackend } from './backends.js';
import { readConfig } from './config/config.js';
import { wrapEngineError } from './errors.js';
import { Secrets } from './secrets.js';
import { LABEL_OWNER, LABEL_REPOSITORY } from './step-state.js';

export async function sweep(): Promise<void> {
  try {
    const config = readConfig((name) => core.getInput(name));
    new Secrets(config.secrets).maskInRunnerLog();
    const backend = createBackend(config, { warn: core.warning, notice: core.notice });
    // This repository's machines only: a Fly app or a self-hosted runner may serve several.
    const labels = { [LABEL_OWNER]: 'true', ...(process.env.GITHUB_REPOSITORY ? { [LABEL_REPOSITORY]: process.env.GITHUB_REPOSITORY } : {}) };
    const swept = await backend.sweep(labels, { olderThanSeconds: config.maxAgeSeconds });
    core.setOutput('swept', swept.join('\n'));
    (swept.length ? core.notice : core.info)(
      `Destroyed ${swept.length} ${config.backend} machine(s) older than ${config.maxAgeSeconds}s${swept.length ? `: ${swept.join(', ')}` : ''}`,
    );
  } catch (err) {
    core.setFailed(wrapEngineError(err).message);
  }
}
