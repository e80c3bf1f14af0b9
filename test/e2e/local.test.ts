// The bundled action, run the way the runner runs it, on the local backend against the
// real Docker engine.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containersOfRun, runAction, type ActionOptions } from '../helpers/action.js';
import { BUSYBOX_IMAGE } from '../helpers/images.js';

let runIds = Date.now() % 1_000_000;

/** A fresh GITHUB_RUN_ID per test, so container checks see only that test's machines. */
function local(options: ActionOptions & { command: string }) {
  const runId = String(++runIds);
  const { command, ...rest } = options;
  const run = runAction({
    ...rest,
    inputs: { image: BUSYBOX_IMAGE, command, ...rest.inputs },
    env: { GITHUB_RUN_ID: runId, ...rest.env },
  });
  return { runId, run };
}

const sh = (script: string) => JSON.stringify(['sh', '-c', script]);

describe('local backend through dist/index.js', () => {
  it('reports a successful run', async () => {
    const { runId, run } = local({ command: sh('echo hello from the agent; echo to stderr >&2; exit 0') });
    const result = await run;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.outputs).toMatchObject({ exit_code: '0', state: 'stopped', conclusion: 'success', exit_code_source: 'api', image: BUSYBOX_IMAGE });
    expect(result.outputs.machine_id).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(result.outputs.duration_seconds)).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/^\d\d:\d\d:\d\d hello from the agent$/m);
    const log = readFileSync(result.outputs.log_file, 'utf8');
    expect(log).toContain('hello from the agent\n');
    expect(log).toContain('to stderr\n');
    expect(result.summary).toContain(result.outputs.machine_id);
    expect(result.summary).toMatch(/Exit code<\/td><td>0 \(source: api\)/);
    expect(result.commands.filter((c) => c.command === 'error')).toEqual([]);
    expect(containersOfRun(runId)).toEqual([]);
  });

  it('fails the step with exit 3 and the log tail, in an error and a group', async () => {
    const { runId, run } = local({ command: sh('for i in $(seq 1 30); do echo "step $i"; done; exit 3') });
    const result = await run;
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ exit_code: '3', state: 'stopped', conclusion: 'failure', exit_code_source: 'api' });
    const error = result.commands.find((c) => c.command === 'error')!;
    expect(error.message).toMatch(/exited with code 3/);
    expect(error.message).toContain('step 30');
    expect(error.message).toContain('step 11');
    expect(error.message).not.toContain('step 10\n');
    const groupAt = result.stdout.indexOf('::group::Last 20 log lines');
    expect(groupAt).toBeGreaterThan(-1);
    expect(result.stdout.slice(groupAt).split('::endgroup::')[0]).toContain('step 30');
    expect(result.summary).toContain('step 30');
    expect(containersOfRun(runId)).toEqual([]);
  });

  it('never lets agent output issue workflow commands, live or in the tail', async () => {
    const { run } = local({ command: sh('echo "::error title=Injected::fake"; echo "::stop-commands::xyz"; echo "::set-output name=exit_code::0"; exit 1') });
    const result = await run;
    expect(result.stdout).toContain('::error title=Injected::fake'); // printed, as text
    expect(result.commands.filter((c) => c.properties.includes('title=Injected'))).toEqual([]);
    expect(result.commands.filter((c) => c.command === 'set-output')).toEqual([]);
    expect(result.commands.find((c) => c.command === 'error')?.message).toMatch(/exited with code 1/);
    expect(result.outputs.exit_code).toBe('1');
  });

  it('keeps the step green with raise_on_failure false, outputs still set', async () => {
    const { run } = local({ command: sh('echo nope; exit 5'), inputs: { raise_on_failure: 'false' } });
    const result = await run;
    expect(result.code).toBe(0);
    expect(result.outputs).toMatchObject({ exit_code: '5', conclusion: 'failure', state: 'stopped' });
    expect(result.commands.some((c) => c.command === 'warning' && /raise_on_failure is false/.test(c.message))).toBe(true);
    expect(result.commands.some((c) => c.command === 'error')).toBe(false);
  });

  it('reports an OOM-killed container as state failed', async () => {
    const { runId, run } = local({
      command: sh('echo filling memory; x=$(head -c 400000000 /dev/zero | tr "\\0" a); echo survived ${#x}'),
      inputs: { vm_memory_mb: '32' },
    });
    const result = await run;
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ state: 'failed', conclusion: 'failure' });
    expect(result.commands.find((c) => c.command === 'error')!.message).toMatch(/OOM/);
    expect(containersOfRun(runId)).toEqual([]);
  });

  it('times out, destroys the container and says so', async () => {
    const { runId, run } = local({ command: sh('echo waiting forever; sleep 600'), inputs: { wait_timeout: '2' } });
    const result = await run;
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ conclusion: 'timeout', exit_code: '', exit_code_source: 'none' });
    expect(result.outputs.state).toMatch(/^(running|started)$/);
    const error = result.commands.find((c) => c.command === 'error')!;
    expect(error.message).toMatch(/did not exit within 2s/);
    expect(error.message).toContain('waiting forever');
    expect(containersOfRun(runId)).toEqual([]);
  });

  it('annotates a broken Dockerfile with the build stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amt-broken-'));
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\nRUN echo the-build-broke-here >&2; exit 7\n`);
    const { runId, run } = local({
      command: sh('true'),
      inputs: { image: `amt-test-broken:${runIds}`, dockerfile: join(dir, 'Dockerfile'), build_context: dir },
    });
    const result = await run;
    expect(result.code).toBe(1);
    const annotation = result.commands.find((c) => c.command === 'error' && c.properties.includes('title=Image build failed'));
    expect(annotation?.message).toContain('the-build-broke-here');
    expect(result.outputs).toMatchObject({ conclusion: 'failure', exit_code: '', state: '' });
    expect(containersOfRun(runId)).toEqual([]);
  });

  it('stops a long image build at once when the job is cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amt-slow-'));
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\nRUN echo slow-build-started && sleep 120\n`);
    const started = Date.now();
    const { runId, run } = local({
      command: sh('true'),
      inputs: { image: `amt-test-slow:${runIds}`, dockerfile: join(dir, 'Dockerfile'), build_context: dir },
      signalWhen: 'slow-build-started',
      signals: [{ afterMs: 200, signal: 'SIGINT' }],
    });
    const result = await run;
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.outputs).toMatchObject({ conclusion: 'cancelled', machine_id: '' });
    expect(result.commands.find((c) => c.command === 'error')!.message).toMatch(/cancelled before any machine was created/);
    expect(containersOfRun(runId)).toEqual([]);
  });

  it.each([
    [{ wait_timeout: '-1' }, /Input 'wait_timeout': '-1' is not a number of seconds/],
    [{ backend: 'k8s' }, /Input 'backend': 'k8s' is not one of local, fly/],
    [{ env: 'NOT A LINE' }, /Input 'env': line 1 is not KEY=VALUE/],
    [{ command: 'make fix' }, /Input 'command': must be a JSON array/],
  ])('rejects bad input %j before any container exists', async (inputs, message) => {
    const { runId, run } = local({ command: sh('echo should not run'), inputs });
    const result = await run;
    expect(result.code).toBe(1);
    expect(result.commands.find((c) => c.command === 'error')!.message).toMatch(message);
    expect(result.outputs).toMatchObject({ conclusion: 'failure', exit_code: '', state: '', machine_id: '' });
    expect(result.stdout).not.toContain('should not run');
    expect(containersOfRun(runId)).toEqual([]);
  });

  it('never shows a secret: runner log, log file, summary, outputs', async () => {
    const secret = 'sk-ant-oat-TOPSECRET-4b1d';
    const { run } = local({
      command: sh('echo "token is $CLAUDE_CODE_OAUTH_TOKEN"; echo "again:$CLAUDE_CODE_OAUTH_TOKEN:end" >&2; exit 1'),
      inputs: { claude_code_oauth_token: secret },
    });
    const result = await run;
    expect(result.outputs.exit_code).toBe('1');
    const stdoutWithoutMaskCommand = result.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(result.stdout).toContain(`::add-mask::${secret}`);
    for (const text of [stdoutWithoutMaskCommand, readFileSync(result.outputs.log_file, 'utf8'), result.summary, JSON.stringify(result.outputs)]) {
      expect(text).not.toContain(secret);
    }
    expect(readFileSync(result.outputs.log_file, 'utf8')).toContain('token is ***');
  });

  it('destroys the container on SIGINT then SIGTERM, and the post step finds nothing left', async () => {
    const { runId, run } = local({
      command: sh('echo agent-started; sleep 600'),
      signalWhen: 'agent-started',
      signals: [
        { afterMs: 200, signal: 'SIGINT' },
        { afterMs: 400, signal: 'SIGTERM' },
      ],
    });
    const result = await run;
    expect(result.code).not.toBe(0);
    expect(result.outputs.conclusion).toBe('cancelled');
    expect(result.outputs.machine_id).toMatch(/^[0-9a-f]{64}$/);
    expect(containersOfRun(runId)).toEqual([]);
    const post = await runAction({ entry: 'post.js', inputs: { image: BUSYBOX_IMAGE, command: '["true"]' }, state: result.state, workDir: result.workDir });
    expect(post.code).toBe(0);
    expect(post.stdout).not.toMatch(/Destroyed/);
  });

  it('the post step destroys the container of a main step that was killed outright', async () => {
    const { runId, run } = local({ command: sh('echo agent-started; sleep 600'), signalWhen: 'agent-started', signals: [{ afterMs: 200, signal: 'SIGKILL' }] });
    const result = await run;
    expect(result.signal).toBe('SIGKILL');
    expect(containersOfRun(runId)).toHaveLength(1);
    const post = await runAction({
      entry: 'post.js',
      inputs: { image: BUSYBOX_IMAGE, command: '["true"]' },
      state: result.state,
      workDir: result.workDir,
      env: { GITHUB_RUN_ID: runId },
    });
    expect(post.code).toBe(0);
    expect(post.stdout).toMatch(/Destroyed machine [0-9a-f]{64}/);
    expect(containersOfRun(runId)).toEqual([]);
  });
});
