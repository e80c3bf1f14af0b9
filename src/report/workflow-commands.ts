import { randomUUID } from 'node:crypto';

/**
 * Text the agent (or a Dockerfile) prints must not be read by the runner as workflow
 * commands (`::set-output`, `::add-mask`, …): pause command processing around it.
 */
export async function withWorkflowCommandsStopped<T>(fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  process.stdout.write(`::stop-commands::${token}\n`);
  try {
    return await fn();
  } finally {
    process.stdout.write(`::${token}::\n`);
  }
}
