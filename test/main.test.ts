// run() from src/main.ts in this process: the runner's files in a temp dir and its variables
// stubbed, a real local backend on the real Docker engine with the busybox image. A change to
// main.ts is tested here without rebuilding dist/ (test/e2e runs the bundle).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { containersOfRun, parseCommands, readStepFiles, runnerStep, tailGroup, type StepOptions } from './helpers/action.js';
import { BUSYBOX_IMAGE } from './helpers/images.js';

let run: () => Promise<void>;
let workDir: string;
let runIds = Date.now() % 1_000_000;

/** Stubs the step's environment; unstubbed after each test. */
function stubStep(options: StepOptions) {
  const step = runnerStep({ ...options, workDir });
  for (const [name, value] of Object.entries(step.env)) vi.stubEnv(name, value);
  return step;
}

beforeAll(async () => {
  // One workDir for the file: core.summary keeps the first GITHUB_STEP_SUMMARY it sees, and
  // @actions/github reads the event once, when it is imported (so after the stubs).
  workDir = mkdtempSync(join(tmpdir(), 'amt-main-'));
  stubStep({});
  ({ run } = await import('../src/main.js'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  process.exitCode = undefined; // core.setFailed's; the test run's own must not inherit it
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** One main step on the busybox image running `script`, with these inputs on top. */
async function mainStep(script: string, inputs: Record<string, string> = {}) {
  const runId = String(++runIds);
  const step = stubStep({ inputs: { image: BUSYBOX_IMAGE, command: JSON.stringify(['sh', '-c', script]), ...inputs }, env: { GITHUB_RUN_ID: runId } });
  const written: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  }) as typeof process.stdout.write);
  try {
    await run();
  } finally {
    write.mockRestore();
  }
  const stdout = written.join('');
  return { ...readStepFiles(step.files), stdout, commands: parseCommands(stdout), failed: process.exitCode === 1, containers: containersOfRun(runId) };
}

describe('run() in process, local backend', () => {
  it('reports a successful run: outputs, summary, echoed output, and the machine state emptied', async () => {
    const step = await mainStep('echo hello from the agent; echo to stderr >&2');
    expect(step.failed, step.stdout).toBe(false);
    expect(step.outputs).toMatchObject({ exit_code: '0', state: 'stopped', conclusion: 'success', exit_code_source: 'api', image: BUSYBOX_IMAGE });
    expect(step.outputs.machine_id).toMatch(/^[0-9a-f]{64}$/);
    // stdout and stderr, in whichever order the engine interleaved them.
    expect(readFileSync(step.outputs.log_file, 'utf8').split('\n').sort()).toEqual(['', 'hello from the agent', 'to stderr']);
    expect(step.stdout).toMatch(/^\d\d:\d\d:\d\d hello from the agent$/m);
    expect(step.summary).toContain(step.outputs.machine_id);
    expect(step.summary).toMatch(/Exit code<\/td><td>0 \(source: api\)/);
    // The post step's clues: the run key stays, the machine is emptied once destroyed.
    expect(step.state.run_key).toMatch(/^[0-9a-f-]{36}$/);
    expect(step.state.machine).toBe('');
    expect(step.commands.filter((c) => c.command === 'error')).toEqual([]);
    expect(step.containers).toEqual([]);
  });

  it('fails the step on exit 3 with the log tail, in the error and in a group', async () => {
    const step = await mainStep('for i in $(seq 1 30); do echo "step $i"; done; exit 3');
    expect(step.failed).toBe(true);
    expect(step.outputs).toMatchObject({ exit_code: '3', state: 'stopped', conclusion: 'failure', exit_code_source: 'api' });
    const tail = Array.from({ length: 20 }, (_, i) => `step ${i + 11}`);
    const error = step.commands.find((c) => c.command === 'error')!;
    expect(error.message).toMatch(/^Machine [0-9a-f]{64} exited with code 3 \(state 'stopped'\)/);
    expect(error.message.split('\n').slice(-21)).toEqual(['Last 20 log lines:', ...tail]);
    expect(tailGroup(step.stdout)).toEqual(tail);
    expect(step.containers).toEqual([]);
  });

  it('rejects a bad input before any image or machine, outputs still set', async () => {
    const step = await mainStep('echo should not run', { wait_timeout: '-1' });
    expect(step.failed).toBe(true);
    expect(step.commands.find((c) => c.command === 'error')?.message).toMatch(/^Input 'wait_timeout': '-1' is not /);
    expect(step.outputs).toMatchObject({ conclusion: 'failure', exit_code: '', state: '', machine_id: '', image: '' });
    expect(step.state).toEqual({}); // no run key: nothing was ever created to sweep
    expect(step.stdout).not.toContain('should not run');
    expect(step.containers).toEqual([]);
  });

  it('keeps the step green with raise_on_failure false, outputs still set', async () => {
    const step = await mainStep('echo nope; exit 5', { raise_on_failure: 'false' });
    expect(step.failed).toBe(false);
    expect(step.outputs).toMatchObject({ exit_code: '5', conclusion: 'failure', state: 'stopped' });
    expect(step.commands.some((c) => c.command === 'warning' && /exited with code 5.*raise_on_failure is false/.test(c.message))).toBe(true);
    expect(step.commands.some((c) => c.command === 'error')).toBe(false);
    expect(step.containers).toEqual([]);
  });
});
