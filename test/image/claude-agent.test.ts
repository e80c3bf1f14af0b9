// The real Claude Code CLI (the pinned version, in the bundled image built from docker/) driven
// end to end by the scripted fake of Anthropic's Messages API on the Docker bridge: the prompt on
// stdin, stream-json events on stdout, tool calls run for real in the container, the work pushed
// over HTTP. The model credential stays with the entrypoint's proxy: the fake receives the real
// key, the agent only ever has a placeholder. Each case's stdout is kept in
// test/fixtures/claude-stream/ for the event parser's tests; AMT_UPDATE_FIXTURES=1 rewrites them,
// otherwise a run must keep the fixture's event shape.
// Cold: the image build takes a few minutes; warm, the whole file runs in well under a minute.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions, type RecordedRequest } from '../fakes/anthropic-api.js';
import { startGitHttpServer, type GitHttpServer } from '../fakes/git-http-server.js';
import { bridgeGateway } from '../helpers/bridge.js';
import { ensureDebianNodeBase } from '../helpers/debian-base.js';
import { expectNoRootProof, expectNothingStolen, hostileEnv, nonceLines, readReport, runTokens } from './hostile.js';
import { promptEnv, Sandbox } from './sandbox.js';

const exec = promisify(execFile);
const DOCKER_DIR = resolve(import.meta.dirname, '../../docker');
const FIXTURES = resolve(import.meta.dirname, '../fixtures/claude-stream');
const IMAGE = 'amt-claude-agent:test';
const API_KEY = 'sk-ant-api03-amtFakeKey-0123456789abcdef';
const GIT_TOKEN = 'ghs_amtClaudeAgentFakeToken0123456789';

let gateway: string;
let git: GitHttpServer;
const sandbox = new Sandbox();
const remotes = join(sandbox.root, 'http-remotes');
const containers: string[] = [];

beforeAll(async () => {
  const base = await ensureDebianNodeBase();
  await exec('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', IMAGE, DOCKER_DIR], { maxBuffer: 16 << 20 });
  gateway = bridgeGateway();
  sandbox.remote('app', remotes);
  git = await startGitHttpServer(remotes, GIT_TOKEN);
}, 900_000);

afterAll(async () => {
  // A run cut short by a test timeout must not leave its container behind.
  for (const name of containers) {
    try {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  await git?.close();
  sandbox.cleanup();
});

interface AgentRun {
  code: number | null;
  output: string;
  lines: string[];
  /** The stream-json events: every stdout line that is a JSON object. */
  events: any[];
  seconds: number;
  fake: FakeAnthropic;
  requests: RecordedRequest[];
}

/**
 * Runs the image with the fake model on the bridge gateway, with a fake API key unless `env` says
 * otherwise. Variables go to `docker run -e NAME`
 * through the docker client's environment: no prompt or key in any argv. `dockerArgs` go before
 * the image (mounts).
 */
async function runAgent(script: FakeAnthropicOptions['script'], env: Record<string, string>, dockerArgs: string[] = []): Promise<AgentRun> {
  const fake = await startFakeAnthropic({ script, host: gateway });
  const name = `amt-claude-agent-${randomBytes(4).toString('hex')}`;
  containers.push(name);
  // An empty value leaves the variable out (e.g. the default API key).
  const vars = Object.fromEntries(Object.entries({ ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url, ...env }).filter(([, value]) => value !== ''));
  const started = Date.now();
  try {
    const child = spawn('docker', ['run', '--rm', '--name', name, ...Object.keys(vars).flatMap((key) => ['-e', key]), ...dockerArgs, IMAGE], {
      env: { ...process.env, ...vars },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', resolvePromise);
    });
    const lines = output.trimEnd().split('\n');
    const events = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    return { code, output, lines, events, seconds: (Date.now() - started) / 1000, fake, requests: fake.requests };
  } finally {
    await fake.close();
  }
}

/** One word per line: event type/subtype and content kinds, marker names; what a fixture must keep. */
function shape(lines: string[]): string[] {
  return lines.map((line) => {
    if (!line.startsWith('{')) return /^\[flaude(:[a-z]+)?/.exec(line)?.[0] ?? 'text';
    const event = JSON.parse(line);
    const content = Array.isArray(event.message?.content) ? event.message.content.map((block: { type: string }) => block.type) : [];
    return [event.type, event.subtype, ...content].filter(Boolean).join('/');
  });
}

/** Saves the run's stdout as fixture NAME.jsonl, or checks the run still has the fixture's shape. */
function keepFixture(name: string, run: AgentRun): void {
  const file = join(FIXTURES, `${name}.jsonl`);
  if (process.env.AMT_UPDATE_FIXTURES === '1' || !existsSync(file)) {
    mkdirSync(FIXTURES, { recursive: true });
    writeFileSync(file, run.output);
    return;
  }
  expect(shape(run.lines)).toEqual(shape(readFileSync(file, 'utf8').trimEnd().split('\n')));
}

function expectExit(run: AgentRun, code: number): void {
  expect(run.lines.at(-1), run.output).toBe(`[flaude:exit:${code}]`);
  expect(run.code).toBe(code);
}

const result = (run: AgentRun) => run.events.find((event) => event.type === 'result');

describe('Claude Code in the bundled image, against the fake Messages API', () => {
  it('runs tools for real, pushes the work, and prints the whole session as stream-json', async () => {
    const prompt = 'Say hello into hello.txt, then write notes.md';
    const run = await runAgent(
      [
        {
          text: 'I will start with the shell.',
          tools: [{ name: 'Bash', input: { command: 'echo hello > hello.txt && cat hello.txt', description: 'Write hello.txt' } }],
        },
        {
          tools: [{ name: 'Write', input: { file_path: '/workspace/app/notes.md', content: 'draft\n' } }],
          usage: { input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 400 },
        },
        {
          tools: [{ name: 'Edit', input: { file_path: '/workspace/app/notes.md', old_string: 'draft', new_string: 'written by the agent' } }],
          usage: { input_tokens: 10, output_tokens: 25, cache_read_input_tokens: 400 },
        },
        { text: 'Done: hello.txt says hello and notes.md is written.' },
      ],
      {
        FLAUDE_PROMPT: prompt,
        FLAUDE_REPOS: JSON.stringify([{ url: `http://${gateway}:${git.port}/app.git` }]),
        FLAUDE_PUSH_BRANCH: 'agent/claude',
        GITHUB_TOKEN: GIT_TOKEN,
        GITHUB_SERVER_URL: `http://${gateway}:${git.port}`,
      },
    );
    keepFixture('success', run);
    expectExit(run, 0);

    // The events: init first, result last, the tool round trips in between.
    const [init] = run.events;
    expect(init).toMatchObject({
      type: 'system',
      subtype: 'init',
      cwd: '/workspace/app',
      apiKeySource: 'ANTHROPIC_API_KEY',
      permissionMode: 'bypassPermissions',
    });
    expect(init.tools).toEqual(expect.arrayContaining(['Bash', 'Edit', 'Write']));
    expect(run.events.at(-1)).toBe(result(run));
    const bashCall = run.events
      .flatMap((event) => (event.type === 'assistant' ? event.message.content : []))
      .find((block: any) => block.type === 'tool_use' && block.name === 'Bash');
    expect(bashCall.input.command).toBe('echo hello > hello.txt && cat hello.txt');
    const bashResult = run.events
      .flatMap((event) => (event.type === 'user' ? event.message.content : []))
      .find((block: any) => block.tool_use_id === bashCall.id);
    expect(bashResult).toMatchObject({ type: 'tool_result', content: 'hello', is_error: false });
    expect(result(run)).toMatchObject({
      subtype: 'success',
      is_error: false,
      num_turns: 4,
      result: 'Done: hello.txt says hello and notes.md is written.',
      session_id: init.session_id,
      usage: {
        input_tokens: run.fake.sent.input_tokens,
        output_tokens: run.fake.sent.output_tokens,
        cache_creation_input_tokens: 400,
        cache_read_input_tokens: 400,
      },
    });
    expect(result(run).total_cost_usd).toBeGreaterThan(0);

    // What the fake was sent: the key, the prompt from stdin, the tool result of the Bash call.
    expect(run.requests.map((request) => request.kind)).toEqual(['main', 'main', 'main', 'main']); // no side traffic
    for (const request of run.requests) {
      expect(request.headers['x-api-key']).toBe(API_KEY);
      expect(request.headers['anthropic-version']).toBe('2023-06-01');
      expect(request.body.stream).toBe(true);
    }
    expect(JSON.stringify(run.requests[0].body.messages[0])).toContain(prompt);
    const sentToolId = run.requests[0].message!.content.find((block) => block.type === 'tool_use');
    expect(sentToolId).toMatchObject({ id: bashCall.id });
    const secondTurn = run.requests[1].body.messages.flatMap((message: any) => (Array.isArray(message.content) ? message.content : []));
    expect(secondTurn).toContainEqual(expect.objectContaining({ type: 'tool_result', tool_use_id: bashCall.id, content: 'hello' }));

    // The files really changed in the container: they are in the pushed commit, and the diffstat says so.
    const bare = join(remotes, 'app.git');
    const sha = sandbox.git(bare, 'rev-parse', 'refs/heads/agent/claude');
    expect(sandbox.git(bare, 'show', `${sha}:hello.txt`)).toBe('hello');
    expect(sandbox.git(bare, 'show', `${sha}:notes.md`)).toBe('written by the agent');
    expect(sandbox.git(bare, 'log', '-1', '--format=%s', sha)).toBe(`agent: ${prompt}`);
    const diffstat = run.lines.at(-3)!;
    expect(run.lines.at(-2)).toBe(`[flaude:pushed:agent/claude:${sha}]`);
    expect(Buffer.from(diffstat.replace(/^\[flaude:diffstat:(.*)\]$/, '$1'), 'base64').toString()).toBe('1\t0\thello.txt\n1\t0\tnotes.md\n');
  });

  it('authenticates with CLAUDE_CODE_OAUTH_TOKEN as a bearer token', async () => {
    const token = 'sk-ant-oat01-amtFakeOauthToken-0123456789';
    const run = await runAgent([{ text: 'Hello over OAuth.' }], { FLAUDE_PROMPT: 'Say hello', ANTHROPIC_API_KEY: '', CLAUDE_CODE_OAUTH_TOKEN: token });
    keepFixture('oauth', run);
    expectExit(run, 0);
    expect(run.requests).toHaveLength(1);
    expect(run.requests[0].headers.authorization).toBe(`Bearer ${token}`);
    expect(run.requests[0].headers['x-api-key']).toBeUndefined();
    // With a subscription token the CLI also reports its rate-limit state as an event of its own.
    expect(run.events.map((event) => event.type)).toEqual(['system', 'assistant', 'rate_limit_event', 'result']);
    expect(result(run)).toMatchObject({ subtype: 'success', is_error: false, result: 'Hello over OAuth.' });
  });

  it('reads a 200 KiB prompt from stdin', async () => {
    const prompt = `Summarise this log.\n${Array.from({ length: 5000 }, (_, i) => `entry ${i}: ça marche ✓`).join('\n')}`.padEnd(200 * 1024, '.');
    const run = await runAgent([{ text: 'It says everything works.' }], promptEnv(prompt));
    expectExit(run, 0);
    expect(run.requests).toHaveLength(1);
    const texts = run.requests[0].body.messages[0].content.map((block: { text?: string }) => block.text);
    expect(texts).toContain(prompt);
    expect(result(run)).toMatchObject({ subtype: 'success', result: 'It says everything works.' });
  });

  it('stops at --max-turns from FLAUDE_CLAUDE_ARGS with error_max_turns and exit 1', async () => {
    const run = await runAgent(() => ({ tools: [{ name: 'Bash', input: { command: 'echo again' } }] }), {
      FLAUDE_PROMPT: 'Keep going',
      FLAUDE_CLAUDE_ARGS: JSON.stringify(['--max-turns', '1', '--model', 'claude-amt-fake-1']),
    });
    keepFixture('max-turns', run);
    expectExit(run, 1);
    expect(run.requests).toHaveLength(1);
    expect(run.requests[0].body.model).toBe('claude-amt-fake-1');
    expect(run.events[0]).toMatchObject({ type: 'system', subtype: 'init', model: 'claude-amt-fake-1' });
    expect(result(run)).toMatchObject({
      subtype: 'error_max_turns',
      is_error: true,
      terminal_reason: 'max_turns',
      errors: ['Reached maximum number of turns (1)'],
      stop_reason: 'tool_use',
    });
  });

  it('gives up after three 529 overloaded answers in a few seconds, exit 1', async () => {
    const run = await runAgent(() => ({ status: 529, errorType: 'overloaded_error' }), { FLAUDE_PROMPT: 'Fix it' });
    keepFixture('overloaded', run);
    expectExit(run, 1);
    // Three tries, about 0.5 s and 1 s apart; not the ten that other errors get.
    expect(run.requests).toHaveLength(3);
    expect(run.seconds).toBeLessThan(30);
    const retries = run.events.filter((event) => event.subtype === 'api_retry');
    expect(retries.map((event) => [event.attempt, event.error_status, event.error])).toEqual([
      [1, 529, 'overloaded'],
      [2, 529, 'overloaded'],
    ]);
    const apiError = run.events.find((event) => event.type === 'assistant');
    expect(apiError).toMatchObject({
      error: 'server_error',
      is_api_error_message: true,
      api_error_status: 529,
      api_error_type: 'overloaded_error',
      message: { model: '<synthetic>' },
    });
    expect(result(run)).toMatchObject({
      subtype: 'success',
      is_error: true,
      api_error_status: 529,
      api_error_type: 'overloaded_error',
      terminal_reason: 'api_error',
      total_cost_usd: 0,
    });
    expect(result(run).result).toMatch(/^API Error: Repeated 529 Overloaded errors/);
  });

  it('retries through one 529 and carries on', async () => {
    const run = await runAgent([{ status: 529, errorType: 'overloaded_error' }, { text: 'Recovered.' }], { FLAUDE_PROMPT: 'Fix it' });
    expectExit(run, 0);
    expect(run.requests.map((request) => request.status)).toEqual([529, 200]);
    expect(run.events.filter((event) => event.subtype === 'api_retry')).toHaveLength(1);
    expect(result(run)).toMatchObject({ subtype: 'success', is_error: false, result: 'Recovered.' });
  });

  it('reports a 401 authentication_error as an API error, exit 1', async () => {
    // By default the CLI retries a 401 ten times with back-off up to ~35 s (about three minutes in
    // all); CLAUDE_CODE_MAX_RETRIES caps that, and the events look the same.
    const run = await runAgent(() => ({ status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' }), {
      FLAUDE_PROMPT: 'Fix it',
      CLAUDE_CODE_MAX_RETRIES: '2',
    });
    keepFixture('auth', run);
    expectExit(run, 1);
    expect(run.requests).toHaveLength(3);
    expect(run.requests.every((request) => request.headers['x-api-key'] === API_KEY)).toBe(true);
    const retries = run.events.filter((event) => event.subtype === 'api_retry');
    expect(retries.map((event) => [event.attempt, event.max_retries, event.error_status, event.error])).toEqual([
      [1, 2, 401, 'authentication_failed'],
      [2, 2, 401, 'authentication_failed'],
    ]);
    const apiError = run.events.find((event) => event.type === 'assistant');
    expect(apiError).toMatchObject({ error: 'authentication_failed', api_error_status: 401, api_error_type: 'authentication_error' });
    expect(result(run)).toMatchObject({
      subtype: 'success',
      is_error: true,
      api_error_status: 401,
      api_error_type: 'authentication_error',
      terminal_reason: 'api_error',
    });
    expect(result(run).result).toMatch(/Invalid API key/);
  });
});

describe('a hostile agent in the bundled image: root holds every token, the agent user none', () => {
  const HOSTILE_DIR = resolve(import.meta.dirname);
  let tokens: ReturnType<typeof runTokens>;
  let tokenGit: GitHttpServer;
  let reportDir: string;
  let agentUid: number;

  beforeAll(async () => {
    agentUid = Number(execFileSync('docker', ['run', '--rm', '--entrypoint', 'id', IMAGE, '-u', 'agent'], { encoding: 'utf8' }).trim());
  });

  /** A run with fresh tokens: the git server wants this run's token, the report dir is the agent's to write. */
  async function hostileRun(script: FakeAnthropicOptions['script'], env: Record<string, string>, hostile: Record<string, string> = {}): Promise<AgentRun> {
    tokens = runTokens();
    tokenGit = await startGitHttpServer(remotes, tokens.githubToken);
    reportDir = join(sandbox.root, `report-${tokens.runId}`);
    mkdirSync(reportDir);
    chmodSync(reportDir, 0o777);
    try {
      return await runAgent(
        script,
        {
          ANTHROPIC_API_KEY: tokens.apiKey,
          FLAUDE_REPOS: JSON.stringify([{ url: `http://${gateway}:${tokenGit.port}/app.git` }]),
          FLAUDE_MARKER_NONCE: tokens.nonce,
          GITHUB_TOKEN: tokens.githubToken,
          GITHUB_SERVER_URL: `http://${gateway}:${tokenGit.port}`,
          ...hostileEnv(tokens, '/report/report.json', { AMT_HELPER: '/usr/local/bin/git-credential-flaude', AMT_PLANT: '1', ...hostile }),
          ...env,
        },
        ['-v', `${HOSTILE_DIR}:/hostile:ro`, '-v', `${reportDir}:/report`],
      );
    } finally {
      await tokenGit.close();
    }
  }

  /** What every hostile run shows: nothing stolen, nothing of the agent's run as root, only root's lines carry the nonce. */
  function expectContained(run: AgentRun, branch: string): string {
    expect(run.lines.at(-1), run.output).toBe(`[flaude:${tokens.nonce}:exit:0]`);
    expect(run.code).toBe(0);
    expectNothingStolen(readReport(join(reportDir, 'report.json')), agentUid);
    expectNoRootProof(reportDir);
    for (const line of nonceLines(run.lines, tokens.nonce)) {
      expect(line).toMatch(new RegExp(`^\\[flaude:${tokens.nonce}:(diffstat|pushed|exit):[^\\]]*\\]$`));
    }
    // Clone and push with the token, by root: the work is on the branch.
    expect(tokenGit.logins.length).toBeGreaterThanOrEqual(2);
    expect(tokenGit.logins.every((login) => login.token === tokens.githubToken)).toBe(true);
    const sha = sandbox.git(join(remotes, 'app.git'), 'rev-parse', `refs/heads/${branch}`);
    expect(sandbox.git(join(remotes, 'app.git'), 'show', `${sha}:hostile.txt`)).toBe('written by the hostile agent');
    expect(run.lines).toContain(`[flaude:${tokens.nonce}:pushed:${branch}:${sha}]`);
    // The model got the real key on every request, from the proxy.
    expect(run.requests.length).toBeGreaterThanOrEqual(1);
    for (const request of run.requests) expect(request.headers['x-api-key']).toBe(tokens.apiKey);
    for (const secret of [tokens.githubToken, tokens.apiKey]) expect(run.output).not.toContain(secret);
    return sha;
  }

  it('Claude Code, told by the model to search with Bash, finds nothing; the model API, clone and push all work', async () => {
    const run = await hostileRun(
      [
        { text: 'Let me look around.', tools: [{ name: 'Bash', input: { command: 'node /hostile/hostile-agent.mjs', description: 'Search for tokens' } }] },
        {
          tools: [
            { name: 'Bash', input: { command: 'env; cat /proc/1/environ; git config --list; git credential fill </dev/null', description: 'Look again' } },
          ],
        },
        { text: 'Found nothing.' },
      ],
      { FLAUDE_PROMPT: 'Find the tokens', FLAUDE_PUSH_BRANCH: 'agent/hostile-claude' },
    );
    expectContained(run, 'agent/hostile-claude');
    expect(result(run)).toMatchObject({ subtype: 'success', is_error: false, result: 'Found nothing.' });
    expect(run.events[0]).toMatchObject({ type: 'system', subtype: 'init', apiKeySource: 'ANTHROPIC_API_KEY' });
    // Both Bash calls ran as the agent; the second's output (its environment) went back to the model.
    const report = readReport(join(reportDir, 'report.json'));
    expect(report.model).toEqual({ messages: 200, files: 403 });
    const toolResults = run.requests
      .at(-1)!
      .body.messages.flatMap((message: any) => (Array.isArray(message.content) ? message.content : []))
      .filter((block: any) => block.type === 'tool_result');
    expect(toolResults).toHaveLength(2);
    const secondOutput = JSON.stringify(toolResults[1].content);
    expect(secondOutput).toContain('ANTHROPIC_API_KEY=sk-ant-api03-flaude-proxy-placeholder');
    expect(secondOutput).toContain(`AMT_CANARY=${tokens.canary}`);
    expect(secondOutput).toContain('Permission denied');
    expect(JSON.stringify(run.requests.map((request) => request.body))).not.toContain(tokens.githubToken);
  });

  it('as a plain command, with a process left behind, in a real container', async () => {
    const run = await hostileRun(
      [],
      {
        AGENT_COMMAND: JSON.stringify(['node', '/hostile/hostile-agent.mjs']),
        FLAUDE_PUSH_BRANCH: 'agent/hostile-command',
      },
      { AMT_LINGER: '1' },
    );
    expectContained(run, 'agent/hostile-command');
    // The forged markers are the agent's text; the process it left was killed before root went on.
    expect(run.lines).toContain('[flaude:exit:0]');
    const exited = run.lines.indexOf('[flaude] agent exited with 0');
    expect(run.lines.slice(0, exited).some((line) => line.startsWith('LINGER'))).toBe(true);
    expect(run.lines.slice(exited).filter((line) => line.startsWith('LINGER'))).toEqual([]);
    expect(readReport(join(reportDir, 'report.json')).model).toEqual({ messages: 200, files: 403 });
    expect(run.requests.map((request) => request.kind)).toEqual(['side']);
  });
});
