// The default path, end to end: dist/index.js run the runner's way on `local`, the bundled image
// with the real Claude Code CLI, driven by the scripted fake of Anthropic's Messages API on the
// Docker bridge. What a user sees: the live lines, the outputs, the transcript, the summary, and
// each way a run fails, named by `failure_reason`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from '../fakes/anthropic-api.js';
import { runAction, ROOT, type ActionOptions, type ActionRun } from '../helpers/action.js';
import { ensureAgentImage } from '../helpers/agent-image.js';
import { bridgeGateway } from '../helpers/bridge.js';

const API_KEY = 'sk-ant-api03-amtE2eFakeKey-0123456789abcdef';

let gateway: string;
let fake: FakeAnthropic | undefined;

beforeAll(async () => {
  await ensureAgentImage();
  gateway = bridgeGateway();
}, 900_000);

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function runAgent(script: FakeAnthropicOptions['script'], inputs: Record<string, string> = {}, options: ActionOptions = {}): Promise<ActionRun> {
  fake = await startFakeAnthropic({ script, host: gateway });
  return runAction({
    ...options,
    inputs: { prompt: 'Say hello in a file', anthropic_api_key: API_KEY, anthropic_base_url: fake.url, wait_timeout: '300', ...inputs },
  });
}

/** The step's own log lines between the agent output group's start and end. */
function agentLines(run: ActionRun): string[] {
  const lines = run.stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('::group::Agent output'));
  const end = lines.indexOf('::endgroup::', start);
  return lines.slice(start + 1, end);
}

describe('Claude Code through dist/index.js', () => {
  it('runs the task: readable live lines, every output, a transcript and a summary to read', async () => {
    const run = await runAgent([
      {
        text: 'I will look first.',
        tools: [{ name: 'Bash', input: { command: 'echo hello > hello.txt && cat hello.txt', description: 'write hello' } }],
        usage: { input_tokens: 1200, output_tokens: 40, cache_read_input_tokens: 300 },
      },
      {
        tools: [{ name: 'Write', input: { file_path: '/workspace/notes.md', content: 'hello from the agent\n' } }],
        usage: { input_tokens: 1300, output_tokens: 50 },
      },
      { text: 'Wrote hello.txt and notes.md.', usage: { input_tokens: 1400, output_tokens: 20 } },
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);

    // Live: one human line per event, never raw JSON.
    const live = agentLines(run);
    expect(live.some((line) => /^\d\d:\d\d:\d\d \{/.test(line))).toBe(false);
    expect(live.join('\n')).toContain('$ echo hello > hello.txt && cat hello.txt');
    expect(live.join('\n')).toMatch(/Write .*notes\.md/);
    expect(live.join('\n')).toContain('Wrote hello.txt and notes.md.');

    // The tool really ran in the container: the second request carried its result.
    const second = fake!.mainRequests[1];
    expect(JSON.stringify(second.body)).toContain('hello');
    expect(fake!.requests[0].headers['x-api-key']).toBe(API_KEY);

    const o = run.outputs;
    expect(o).toMatchObject({
      conclusion: 'success',
      exit_code: '0',
      failure_reason: '',
      result: 'Wrote hello.txt and notes.md.',
      num_turns: expect.stringMatching(/^\d+$/),
    });
    const sent = fake!.sent;
    expect(Number(o.input_tokens)).toBe(sent.input_tokens + sent.cache_creation_input_tokens + sent.cache_read_input_tokens);
    expect(Number(o.output_tokens)).toBe(sent.output_tokens);
    expect(Number(o.cost_usd)).toBeGreaterThan(0);
    expect(o.session_id).toMatch(/\S/);

    // The transcript keeps the raw events; the log file reads like the step log.
    const transcript = readFileSync(o.transcript_file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(transcript.map((event) => event.type)).toEqual(expect.arrayContaining(['system', 'assistant', 'user', 'result']));
    const log = readFileSync(o.log_file, 'utf8');
    expect(log).not.toMatch(/^\{"type"/m);
    expect(log).toContain('$ echo hello > hello.txt && cat hello.txt');
    expect(log).not.toContain(API_KEY);

    for (const part of ['Agent finished', 'Wrote hello.txt and notes.md.', 'What it did', 'Bash ×1', 'Write ×1', 'Run details'])
      expect(run.summary).toContain(part);
    expect(Buffer.byteLength(run.summary)).toBeLessThan(1024 * 1024);
    // Kept for scripts/render-summary.mjs, which makes the README's screenshot from a real run.
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(ROOT, 'test-results', 'agent-summary.html'), run.summary);
  });

  it('max_turns reached: failure_reason max_turns', async () => {
    const loop = { tools: [{ name: 'Bash', input: { command: 'true' } }] };
    const run = await runAgent(() => loop, { max_turns: '1' });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ conclusion: 'failure', failure_reason: 'max_turns' });
    const error = run.commands.find((c) => c.command === 'error')?.message;
    expect(error?.split('\n').slice(0, 2)).toEqual([expect.stringContaining('failure_reason: max_turns'), 'Claude Code: Reached maximum number of turns (1)']);
    expect(run.summary).toContain('(max_turns)');
  });

  it('an overloaded model API (529): failure_reason overloaded', async () => {
    const run = await runAgent(() => ({ status: 529, errorType: 'overloaded_error' }), { env: 'CLAUDE_CODE_MAX_RETRIES=1' });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ conclusion: 'failure', failure_reason: 'overloaded' });
  });

  it('a key the model API refuses (401) ends the run within seconds, not after three minutes of retries', async () => {
    const run = await runAgent(() => ({ status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' }));
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ conclusion: 'failure', failure_reason: 'auth' });
    expect(Number(run.outputs.duration_seconds)).toBeLessThan(45);
    expect(run.commands.find((c) => c.command === 'error')?.message).toMatch(/model API answered 401/);
  });

  it('a model API that stops answering: stalled after idle_timeout, machine gone', async () => {
    const run = await runAgent(() => ({ hang: true }), { idle_timeout: '8' });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ conclusion: 'timeout', failure_reason: 'stalled' });
    expect(Number(run.outputs.duration_seconds)).toBeLessThan(60);
    expect(existsSync(run.outputs.log_file)).toBe(true);
  });

  it('a lost runner (main and post steps killed outright) leaves a machine that stops itself at its deadline', { timeout: 240_000 }, async () => {
    // wait_timeout 5: the machine's own deadline is 5 + 60 s after it started.
    const run = await runAgent(
      () => ({ hang: true }),
      { wait_timeout: '5', idle_timeout: '0' },
      { signalWhen: '[flaude] running claude', signals: [{ afterMs: 0, signal: 'SIGKILL' }] },
    );
    const lostAt = Date.now();
    expect(run.signal).toBe('SIGKILL');
    const { id } = JSON.parse(run.state.machine) as { id: string };
    // No post step: a lost runner runs none. The container is left to itself.
    expect(containerRunning(id)).toBe(true);
    while (containerRunning(id) && Date.now() - lostAt < 120_000) await sleep(1000);
    try {
      expect(containerRunning(id)).toBe(false);
      expect(Date.now() - lostAt).toBeLessThan(75_000);
      // Stopped by its own deadline, as a stop signal would (143), about 65 s after it started.
      const [exitCode, startedAt, finishedAt] = execFileSync(
        'docker',
        ['inspect', '-f', '{{.State.ExitCode}} {{.State.StartedAt}} {{.State.FinishedAt}}', id],
        { encoding: 'utf8' },
      )
        .trim()
        .split(' ');
      expect(exitCode).toBe('143');
      expect((Date.parse(finishedAt) - Date.parse(startedAt)) / 1000).toBeGreaterThanOrEqual(64);
    } finally {
      execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
  });
});

/** Whether the container still runs (false once it has stopped or is gone). */
function containerRunning(id: string): boolean {
  try {
    return execFileSync('docker', ['inspect', '-f', '{{.State.Running}}', id], { encoding: 'utf8' }).trim() === 'true';
  } catch {
    return false;
  }
}
