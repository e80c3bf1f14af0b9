// docker/entrypoint.sh, the image protocol, run for real: bash, git, bare remotes, a fake claude.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHttpServer } from '../fakes/git-http-server.js';
import { AGENT_USER, promptEnv, Sandbox, type EntrypointRun } from './sandbox.js';

const TOKEN = 'ghp_AmtFakeToken5f3c9e1d7a2b4c6e8f0a';
const AGENT = { FLAUDE_PROMPT: 'Fix the tests', CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat-fake' };

let sandbox: Sandbox;
beforeEach(() => {
  sandbox = new Sandbox();
});
afterEach(() => sandbox.cleanup());

/** Every path ends the same way: the marker, once, as the very last line, and that exit code. */
function expectEnd(run: EntrypointRun, code: number): void {
  expect(run.lines.at(-1), run.output).toBe(`[flaude:exit:${code}]`);
  expect(run.output.match(/\[flaude:exit:/g)).toHaveLength(1);
  expect(run.code).toBe(code);
}

const argv = () => sandbox.recorded('argv')?.split('\0').slice(0, -1);

/** Refused before anything ran: the error line, exit code 2, and the agent never started. */
function expectRefused(run: EntrypointRun, message: string): void {
  expect(run.output).toContain(`[flaude:error] ${message}`);
  expectEnd(run, 2);
  expect(argv()).toBeUndefined();
}

/**
 * One test a case: given AGENT and the case's variables, the entrypoint refuses with the case's
 * message, and never quotes the value of a FLAUDE_SECRET_ variable while it does.
 */
function itRefuses(title: string, cases: [Record<string, string>, string][]): void {
  it.each(cases)(title, async (env, message) => {
    const run = await sandbox.run({ ...AGENT, ...env });
    expectRefused(run, message);
    for (const [name, value] of Object.entries(env)) {
      if (name.startsWith('FLAUDE_SECRET_')) expect(run.output).not.toContain(value);
    }
  });
}
/** The fixed claude flags: print mode, no permission prompts, stream-json events on stdout. */
const CLAUDE_FLAGS = ['-p', '--dangerously-skip-permissions', '--output-format', 'stream-json', '--verbose'];

/** The [flaude:diffstat:…] marker's `git diff --numstat` lines, decoded; undefined without one. */
function diffstat(run: EntrypointRun): string[] | undefined {
  const marker = run.lines.find((line) => line.startsWith('[flaude:diffstat:'));
  if (marker === undefined) return undefined;
  expect(marker).toMatch(/^\[flaude:diffstat:[A-Za-z0-9+/=]*\]$/);
  return Buffer.from(marker.slice('[flaude:diffstat:'.length, -1), 'base64').toString('utf8').split('\n').filter(Boolean);
}

describe('inputs', () => {
  it('refuses to start without a prompt', async () => {
    const run = await sandbox.run({ CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat-fake' });
    expectRefused(run, 'FLAUDE_PROMPT is empty');
  });

  it('refuses to start without agent credentials', async () => {
    const run = await sandbox.run({ FLAUDE_PROMPT: 'Fix it' });
    expectRefused(run, 'no agent credentials: set CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY');
  });

  it('accepts ANTHROPIC_API_KEY as the credential', async () => {
    expectEnd(await sandbox.run({ FLAUDE_PROMPT: 'Fix it', ANTHROPIC_API_KEY: 'sk-ant-api-fake' }), 0);
  });

  itRefuses('rejects bad input %j', [
    [{ FLAUDE_REPOS: '{"url":' }, 'FLAUDE_REPOS: not valid JSON'],
    [{ FLAUDE_REPOS: '{"url":"file:///x.git"}' }, 'FLAUDE_REPOS: expected a JSON array'],
    [{ FLAUDE_REPOS: '[{"branch":"main"}]' }, 'FLAUDE_REPOS: every entry needs a "url"'],
    [{ FLAUDE_REPOS: '[{"url":"file:///x.git","target_dir":"../escape"}]' }, 'FLAUDE_REPOS: target dir "../escape" of file:///x.git is outside the workspace'],
    [{ FLAUDE_REPOS: '[{"url":"file:///a/x.git"},{"url":"file:///b/x.git"}]' }, 'FLAUDE_REPOS: two repos would be cloned into "x"'],
    [{ AGENT_COMMAND: '"make fix"' }, 'AGENT_COMMAND: expected a JSON array'],
    [{ AGENT_COMMAND: '[]' }, 'AGENT_COMMAND: expected a non-empty array of strings'],
    [{ FLAUDE_CLAUDE_ARGS: '--max-turns 3' }, 'FLAUDE_CLAUDE_ARGS: not valid JSON'],
    [{ FLAUDE_CLAUDE_ARGS: '["--max-turns", 3]' }, 'FLAUDE_CLAUDE_ARGS: expected an array of strings'],
    [{ FLAUDE_PUSH_BRANCH: 'fix' }, 'FLAUDE_PUSH_BRANCH needs exactly one repo in FLAUDE_REPOS, there are 0'],
  ]);

  it.runIf(process.getuid?.() === 0)('as root, refuses to run when the agent user does not exist', async () => {
    const run = await sandbox.run({ ...AGENT, FLAUDE_AGENT_USER: 'amt-no-such-user' });
    expectRefused(run, 'user amt-no-such-user does not exist; refusing to run the agent as root');
  });
});

describe('clone and run', () => {
  it('clones the branch into the target dir and runs claude there, as the agent user', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: JSON.stringify([{ url, branch: 'feature', target_dir: 'src/app' }]) });
    expectEnd(run, 0);
    const repo = join(sandbox.workspace, 'src/app');
    expect(sandbox.git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('feature');
    expect(readFileSync(join(repo, 'FEATURE'), 'utf8')).toBe('feature\n');
    expect(argv()).toEqual(CLAUDE_FLAGS);
    expect(sandbox.recorded('stdin')).toBe('Fix the tests');
    expect(sandbox.recorded('cwd')?.trim()).toBe(repo);
    expect(sandbox.recorded('user')?.trim()).toBe(AGENT_USER);
  });

  it('clones several repos in parallel, each into its name, and runs claude in the workspace', async () => {
    const repos = ['one', 'two', 'three'].map((name) => ({ url: sandbox.remote(name) }));
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: JSON.stringify(repos) }, { gitShim: true });
    expectEnd(run, 0);
    for (const name of ['one', 'two', 'three']) {
      expect(readFileSync(join(sandbox.workspace, name, 'README'), 'utf8')).toBe(`${name}\n`);
      expect(sandbox.git(join(sandbox.workspace, name), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    }
    // Each clone is held a second: all three started before any of them ended.
    expect(sandbox.recorded('clones')?.trim().split('\n')).toEqual(['start', 'start', 'start', 'end', 'end', 'end']);
    expect(sandbox.recorded('cwd')?.trim()).toBe(sandbox.workspace);
  });

  it('ends the run when a clone fails, naming the repo', async () => {
    const good = sandbox.remote('good');
    const missing = good.replace('good.git', 'missing.git');
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: JSON.stringify([{ url: good }, { url: missing }]) });
    expect(run.output).toContain(`[flaude:error] clone of ${missing} failed:`);
    expect(run.output).not.toContain(`clone of ${good} failed`);
    expectEnd(run, 3);
    expect(argv()).toBeUndefined();
  });

  it('ends the run when the branch does not exist', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: JSON.stringify([{ url, branch: 'nope' }]) });
    expect(run.output).toContain(`[flaude:error] clone of ${url} failed:`);
    expect(run.output).toMatch(/Remote branch nope not found/);
    expectEnd(run, 3);
  });

  it('passes the prompt on stdin byte for byte, never as an argument', async () => {
    const prompt = '--version\nthen $(touch pwned) `touch pwned` "quoted" \\n\n\n';
    const run = await sandbox.run({ ...AGENT, FLAUDE_PROMPT: prompt });
    expectEnd(run, 0);
    expect(argv()).toEqual(CLAUDE_FLAGS);
    expect(sandbox.recorded('stdin')).toBe(prompt);
    expect(readdirSync(sandbox.workspace)).toEqual([]);
  });

  it('joins a 200 KiB prompt from FLAUDE_PROMPT and its continuations, in order', async () => {
    // Multi-byte characters and line breaks throughout: the pieces are cut between characters.
    const prompt = Array.from({ length: 4096 }, (_, i) => `line ${i}: réparer ✓ 🛠\n`)
      .join('')
      .padEnd(200 * 1024, 'x');
    const env = promptEnv(prompt);
    expect(Object.keys(env)).toEqual(['FLAUDE_PROMPT', 'FLAUDE_PROMPT_1', 'FLAUDE_PROMPT_2']);
    // FLAUDE_PROMPT_4 is past a gap: not part of the prompt.
    const run = await sandbox.run({ ...AGENT, ...env, FLAUDE_PROMPT_4: 'not joined' });
    expectEnd(run, 0);
    expect(sandbox.recorded('stdin')).toBe(prompt);
    expect(argv()).toEqual(CLAUDE_FLAGS);
  });

  it('appends FLAUDE_CLAUDE_ARGS after the fixed flags, each element one argument', async () => {
    const extra = [
      '--model',
      'claude-fake-1',
      '--max-turns',
      '3',
      '--append-system-prompt',
      'Be brief; don\'t "quote" $(me)',
      '--allowedTools',
      'Bash(git *)',
      'Edit',
    ];
    const run = await sandbox.run({ ...AGENT, FLAUDE_CLAUDE_ARGS: JSON.stringify(extra) });
    expectEnd(run, 0);
    expect(argv()).toEqual([...CLAUDE_FLAGS, ...extra]);
    expect(sandbox.recorded('stdin')).toBe('Fix the tests');
  });

  it('takes an empty FLAUDE_CLAUDE_ARGS as no extra arguments', async () => {
    expectEnd(await sandbox.run({ ...AGENT, FLAUDE_CLAUDE_ARGS: '' }), 0);
    expect(argv()).toEqual(CLAUDE_FLAGS);
    expectEnd(await sandbox.run({ ...AGENT, FLAUDE_CLAUDE_ARGS: '[]' }), 0);
    expect(argv()).toEqual(CLAUDE_FLAGS);
  });

  it.each([0, 1, 42])('carries the agent exit code %i through', async (code) => {
    const run = await sandbox.run({ ...AGENT, FAKE_EXIT: String(code) });
    expect(run.output).toContain(`[flaude] agent exited with ${code}`);
    expectEnd(run, code);
  });

  it('runs AGENT_COMMAND instead of claude, without prompt or credentials', async () => {
    const url = sandbox.remote('app');
    const command = ['sh', '-c', 'echo "from the command in $(basename "$PWD")"; exit 5'];
    const run = await sandbox.run({ AGENT_COMMAND: JSON.stringify(command), FLAUDE_REPOS: JSON.stringify([{ url }]) });
    expect(run.output).toContain('from the command in app');
    expectEnd(run, 5);
    expect(argv()).toBeUndefined();
  });

  it('gives AGENT_COMMAND the prompt on its stdin, like claude', async () => {
    const command = ['sh', '-c', 'echo "task: $(cat)"'];
    const run = await sandbox.run({ AGENT_COMMAND: JSON.stringify(command), FLAUDE_PROMPT: 'Fix the tests' });
    expect(run.output).toContain('task: Fix the tests');
    expectEnd(run, 0);
  });

  it('stops itself at FLAUDE_DEADLINE_SECONDS, as if the machine were stopped: a lost runner leaves nothing running', async () => {
    const started = Date.now();
    const run = await sandbox.run({ ...AGENT, FAKE_SLEEP: '60', FLAUDE_DEADLINE_SECONDS: '2' });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.output).toContain('[flaude] deadline of 2s reached: stopping the run');
    expectEnd(run, 143);
  });

  it('a run that ends before its deadline leaves no timer behind', async () => {
    const started = Date.now();
    expectEnd(await sandbox.run({ ...AGENT, FLAUDE_DEADLINE_SECONDS: '600' }), 0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('passes a stop signal on to the agent and still ends with the marker', async () => {
    const started = Date.now();
    const run = await sandbox.run({ ...AGENT, FAKE_SLEEP: '60' }, { terminateWhen: 'fake claude sleeping' });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.output).toContain('[flaude] agent exited with 143');
    expectEnd(run, 143);
  });
});

describe('push', () => {
  const single = (url: string) => JSON.stringify([{ url }]);

  it('commits what the agent changed and pushes it to a new branch of the remote', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({
      ...AGENT,
      FLAUDE_PROMPT: 'Fix the flaky test in parser.ts\nand explain why it flaked',
      FLAUDE_REPOS: single(url),
      FLAUDE_PUSH_BRANCH: 'agent/fix-1',
      FAKE_EDIT: 'the fix',
      GIT_AUTHOR_NAME: 'Fixer',
      GIT_AUTHOR_EMAIL: 'fixer@example.com',
    });
    expectEnd(run, 0);
    const bare = new URL(url).pathname;
    const sha = sandbox.git(bare, 'rev-parse', 'refs/heads/agent/fix-1');
    expect(run.output).toMatch(new RegExp(`\\n\\[flaude:diffstat:[^\\]\\n]*\\]\\n\\[flaude:pushed:agent/fix-1:${sha}\\]\\n\\[flaude:exit:0\\]\\n$`));
    expect(diffstat(run)).toEqual(['1\t0\tagent-edit.txt']);
    expect(sandbox.git(bare, 'show', '-s', '--format=%an <%ae>|%cn|%s', sha)).toBe('Fixer <fixer@example.com>|Fixer|agent: Fix the flaky test in parser.ts');
    expect(sandbox.git(bare, 'rev-parse', `${sha}^`)).toBe(sandbox.git(bare, 'rev-parse', 'main'));
    expect(sandbox.git(bare, 'show', `${sha}:agent-edit.txt`)).toBe('the fix');
  });

  it('pushes commits the agent made itself, under the default bot identity', async () => {
    const url = sandbox.remote('app');
    const command = ['sh', '-c', 'echo x > made.txt && git add made.txt && git commit -q -m "agent made this"'];
    const run = await sandbox.run({ AGENT_COMMAND: JSON.stringify(command), FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'main' });
    expectEnd(run, 0);
    const bare = new URL(url).pathname;
    expect(sandbox.git(bare, 'log', '-1', '--format=%an <%ae>|%s', 'main')).toBe(
      'agent-machine-action[bot] <agent-machine-action[bot]@users.noreply.github.com>|agent made this',
    );
    expect(run.output).toContain(`[flaude:pushed:main:${sandbox.git(bare, 'rev-parse', 'main')}]`);
  });

  it('says [flaude:pushed:none] when the agent changed nothing', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'agent/fix-2' });
    expect(run.output).toContain('[flaude:pushed:none]\n[flaude:exit:0]');
    expect(diffstat(run)).toBeUndefined();
    expectEnd(run, 0);
    expect(sandbox.git(new URL(url).pathname, 'branch', '--list', 'agent/fix-2')).toBe('');
  });

  it('caps the diffstat at 100 lines and counts every commit since the clone', async () => {
    const url = sandbox.remote('app');
    // Two commits of the agent's own, then 150 files left for the entrypoint to commit.
    const command = [
      'sh',
      '-c',
      [
        'printf "a\\nb\\n" > README && git commit -q -am "rewrite README"',
        'printf "x\\n" > one.txt && git add one.txt && git commit -q -m one',
        'mkdir many && for i in $(seq 1 150); do echo $i > many/$i.txt; done',
      ].join(' && '),
    ];
    const run = await sandbox.run({ AGENT_COMMAND: JSON.stringify(command), FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'agent/many' });
    expectEnd(run, 0);
    const bare = new URL(url).pathname;
    const all = sandbox.git(bare, 'diff', '--numstat', 'main', 'agent/many').split('\n');
    expect(all).toHaveLength(152);
    const lines = diffstat(run);
    expect(lines).toHaveLength(100);
    expect(lines).toEqual(all.slice(0, 100));
    expect(lines).toContain('2\t1\tREADME');
  });

  it('diffs a push to an empty repository against the empty tree', async () => {
    const bare = join(sandbox.root, 'remotes', 'empty.git');
    sandbox.git(sandbox.root, 'init', '-q', '--bare', '-b', 'main', bare);
    const command = ['sh', '-c', 'printf "first\\n" > first.txt && mkdir d && printf "1\\n2\\n" > d/second.txt'];
    const run = await sandbox.run({ AGENT_COMMAND: JSON.stringify(command), FLAUDE_REPOS: single(`file://${bare}`), FLAUDE_PUSH_BRANCH: 'main' });
    expectEnd(run, 0);
    expect(run.output).toContain(`[flaude:pushed:main:${sandbox.git(bare, 'rev-parse', 'main')}]`);
    expect(diffstat(run)).toEqual(['2\t0\td/second.txt', '1\t0\tfirst.txt']);
  });

  it.each([
    [0, 4],
    [9, 9],
  ])('a rejected push after agent exit %i ends the run with %i', async (agentCode, code) => {
    const url = sandbox.remote('app');
    const hook = join(new URL(url).pathname, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "protected by policy"\nexit 1\n');
    chmodSync(hook, 0o755);
    const run = await sandbox.run({
      ...AGENT,
      FLAUDE_REPOS: single(url),
      FLAUDE_PUSH_BRANCH: 'agent/fix-3',
      FAKE_EDIT: 'x',
      FAKE_EXIT: String(agentCode),
      FLAUDE_PUSH_ON_FAILURE: 'true',
    });
    expect(run.output).toContain('protected by policy');
    expect(run.output).toContain('[flaude:error] pushing to branch agent/fix-3 failed');
    expect(run.output).not.toContain('[flaude:pushed:');
    expect(diffstat(run)).toBeUndefined();
    expectEnd(run, code);
  });
});

describe('GitHub token', () => {
  let remotes: string;
  beforeEach(() => {
    remotes = mkdtempSync(join(tmpdir(), 'amt-http-remotes-'));
  });
  afterEach(() => rmSync(remotes, { recursive: true, force: true }));

  /** Every file under `dir`, .git included. */
  const files = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((name) => join(dir, name))
      .filter((path) => statSync(path).isFile());

  it('reaches the GitHub server through the credential helper, and nowhere else', async () => {
    sandbox.remote('app', remotes);
    const server = await startGitHttpServer(remotes, TOKEN);
    try {
      const run = await sandbox.run(
        {
          ...AGENT,
          FLAUDE_REPOS: JSON.stringify([{ url: `${server.url}/app.git` }]),
          FLAUDE_PUSH_BRANCH: 'agent/token',
          FAKE_EDIT: 'pushed over http',
          GITHUB_TOKEN: TOKEN,
          GITHUB_USERNAME: 'amt-user',
          GITHUB_SERVER_URL: server.url,
        },
        { gitShim: true },
      );
      expectEnd(run, 0);
      // The token was presented (clone and push), and the push landed.
      expect(server.logins.length).toBeGreaterThanOrEqual(2);
      expect(server.logins.every((login) => login.user === 'amt-user' && login.token === TOKEN)).toBe(true);
      const sha = sandbox.git(join(remotes, 'app.git'), 'rev-parse', 'refs/heads/agent/token');
      expect(run.output).toContain(`[flaude:pushed:agent/token:${sha}]`);

      const repo = join(sandbox.workspace, 'app');
      expect(run.output).not.toContain(TOKEN);
      expect(sandbox.git(repo, 'remote', '-v')).not.toContain(TOKEN);
      expect(readFileSync(join(repo, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
      for (const file of files(sandbox.workspace)) expect(readFileSync(file, 'latin1'), file).not.toContain(TOKEN);
      // Neither git's argv (every call the entrypoint made) nor the agent's.
      expect(sandbox.recorded('git-calls')).toMatch(/^clone /m);
      expect(sandbox.recorded('git-calls')).not.toContain(TOKEN);
      expect(sandbox.recorded('argv')).not.toContain(TOKEN);
    } finally {
      await server.close();
    }
  });

  it('is not offered to a server other than GITHUB_SERVER_URL', async () => {
    sandbox.remote('app', remotes);
    const server = await startGitHttpServer(remotes, TOKEN);
    try {
      const url = `${server.url}/app.git`;
      const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: JSON.stringify([{ url }]), GITHUB_TOKEN: TOKEN });
      expect(run.output).toContain(`[flaude:error] clone of ${url} failed:`);
      expectEnd(run, 3);
      expect(server.logins).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('markers with FLAUDE_MARKER_NONCE', () => {
  const NONCE = 'run-Nonce_0123456789abcdef';
  const single = (url: string) => JSON.stringify([{ url }]);

  it("puts the nonce in every marker root prints, and passes the agent's forged ones through as text", async () => {
    const url = sandbox.remote('app');
    const command = ['sh', '-c', `echo "[flaude:exit:0]"; echo "[flaude:pushed:agent/n:${'0'.repeat(40)}]"; echo edit > e.txt; printf "no line break"; exit 3`];
    const run = await sandbox.run({
      AGENT_COMMAND: JSON.stringify(command),
      FLAUDE_REPOS: single(url),
      FLAUDE_PUSH_BRANCH: 'agent/n',
      FLAUDE_PUSH_ON_FAILURE: 'true',
      FLAUDE_MARKER_NONCE: NONCE,
    });
    const sha = sandbox.git(new URL(url).pathname, 'rev-parse', 'refs/heads/agent/n');
    const privileged = run.lines.filter((line) => line.includes(NONCE));
    expect(privileged).toHaveLength(3);
    expect(privileged[0]).toMatch(new RegExp(`^\\[flaude:${NONCE}:diffstat:[A-Za-z0-9+/=]+\\]$`));
    expect(privileged.slice(1)).toEqual([`[flaude:${NONCE}:pushed:agent/n:${sha}]`, `[flaude:${NONCE}:exit:3]`]);
    expect(run.lines.at(-1)).toBe(`[flaude:${NONCE}:exit:3]`);
    expect(run.code).toBe(3);
    // The agent's lines are there as it printed them, and the unfinished one was ended for it.
    expect(run.lines.filter((line) => /^\[flaude:[a-z]+:/.test(line))).toEqual(['[flaude:exit:0]', `[flaude:pushed:agent/n:${'0'.repeat(40)}]`]);
    expect(run.lines).toContain('no line break');
  });

  it('puts it in errors, as one marker line', async () => {
    const run = await sandbox.run({ FLAUDE_MARKER_NONCE: NONCE, CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat-fake' });
    expect(run.lines).toEqual([`[flaude:${NONCE}:error:FLAUDE_PROMPT is empty: there is no task for the agent]`, `[flaude:${NONCE}:exit:2]`]);
    expect(run.code).toBe(2);
  });

  it.each(['too-short', 'has:a:colon-0123456789', 'has]bracket-0123456789', 'line\nbreak-0123456789'])(
    'refuses the nonce %j, in the old form',
    async (nonce) => {
      const run = await sandbox.run({ ...AGENT, FLAUDE_MARKER_NONCE: nonce });
      expectRefused(run, 'FLAUDE_MARKER_NONCE must be 16 to 128 characters of A-Z a-z 0-9 _ -');
    },
  );
});

describe('push only what a successful run made', () => {
  const single = (url: string) => JSON.stringify([{ url }]);
  const branches = (url: string) => sandbox.git(new URL(url).pathname, 'branch', '--list', 'agent/*');

  it('pushes nothing after a failed agent', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'agent/failed', FAKE_EDIT: 'half done', FAKE_EXIT: '1' });
    expect(run.output).toContain('[flaude] the run failed or was stopped: nothing is pushed (FLAUDE_PUSH_ON_FAILURE is not true)');
    expect(run.output).not.toContain('[flaude:pushed:');
    expectEnd(run, 1);
    expect(branches(url)).toBe('');
  });

  it("pushes a failed agent's work with FLAUDE_PUSH_ON_FAILURE=true, and keeps its exit code", async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({
      ...AGENT,
      FLAUDE_REPOS: single(url),
      FLAUDE_PUSH_BRANCH: 'agent/failed',
      FAKE_EDIT: 'half done',
      FAKE_EXIT: '1',
      FLAUDE_PUSH_ON_FAILURE: 'true',
    });
    const bare = new URL(url).pathname;
    const sha = sandbox.git(bare, 'rev-parse', 'refs/heads/agent/failed');
    expect(run.output).toContain(`[flaude:pushed:agent/failed:${sha}]\n[flaude:exit:1]\n`);
    expect(sandbox.git(bare, 'show', `${sha}:agent-edit.txt`)).toBe('half done');
    expectEnd(run, 1);
  });

  it.each([
    ['', ''],
    ['true', 'agent/stopped'],
  ])('after a stop, FLAUDE_PUSH_ON_FAILURE=%j pushes %j', async (onFailure, pushed) => {
    const url = sandbox.remote('app');
    const run = await sandbox.run(
      { ...AGENT, FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'agent/stopped', FAKE_EDIT: 'cut short', FAKE_SLEEP: '60', FLAUDE_PUSH_ON_FAILURE: onFailure },
      { terminateWhen: 'fake claude sleeping' },
    );
    expectEnd(run, 143);
    expect(branches(url)).toBe(pushed);
  });

  it('refuses a FLAUDE_PUSH_ON_FAILURE that is neither true nor false', async () => {
    const run = await sandbox.run({ ...AGENT, FLAUDE_PUSH_ON_FAILURE: 'yes' });
    expect(run.output).toContain('[flaude:error] FLAUDE_PUSH_ON_FAILURE must be true or false');
    expectEnd(run, 2);
  });
});

describe("the agent's environment", () => {
  const DUMP = JSON.stringify(['node', '-e', 'require("fs").writeFileSync(process.env.FAKE_RECORD + "/env", JSON.stringify(process.env))']);
  const agentEnv = (): Record<string, string> => JSON.parse(sandbox.recorded('env') ?? 'null');
  const PLACEHOLDER_KEY = 'sk-ant-api03-flaude-proxy-placeholder';

  it('is built from nothing: the listed plain values, the secrets, the proxy and a placeholder key', async () => {
    const run = await sandbox.run({
      AGENT_COMMAND: DUMP,
      ANTHROPIC_API_KEY: 'sk-ant-api03-the-real-key',
      GITHUB_TOKEN: TOKEN,
      FLAUDE_MARKER_NONCE: 'nonce-0123456789abcdef',
      FLAUDE_SECRET_NPM_TOKEN: 'npm-secret-value',
      FLAUDE_AGENT_ENV: ' PLAIN_ONE , EMPTY,',
      PLAIN_ONE: 'plain',
      EMPTY: '',
      NOT_LISTED: 'hidden',
      'BAD-NAME': 'odd',
      CLAUDE_CODE_MAX_RETRIES: '2',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: '/nonexistent',
    });
    expect(run.lines.at(-1), run.output).toBe('[flaude:nonce-0123456789abcdef:exit:0]');
    const env = agentEnv();
    expect(Object.keys(env).sort()).toEqual([
      'ANTHROPIC_API_KEY',
      'ANTHROPIC_BASE_URL',
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
      'CLAUDE_CODE_MAX_RETRIES',
      'DISABLE_AUTOUPDATER',
      'EMPTY',
      'FAKE_RECORD',
      'GIT_AUTHOR_EMAIL',
      'GIT_AUTHOR_NAME',
      'GIT_COMMITTER_EMAIL',
      'GIT_COMMITTER_NAME',
      'HOME',
      'LANG',
      'LOGNAME',
      'NPM_TOKEN',
      'PATH',
      'PLAIN_ONE',
      'REAL_GIT',
      'USER',
    ]);
    expect(env).toMatchObject({
      ANTHROPIC_API_KEY: PLACEHOLDER_KEY,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_MAX_RETRIES: '2',
      NPM_TOKEN: 'npm-secret-value',
      PLAIN_ONE: 'plain',
      EMPTY: '',
      USER: AGENT_USER,
      LOGNAME: AGENT_USER,
      LANG: 'C.UTF-8',
      GIT_AUTHOR_NAME: 'agent-machine-action[bot]',
    });
    expect(env.ANTHROPIC_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("gets an OAuth placeholder when the credential is an OAuth token, and the API key's when both are given", async () => {
    await sandbox.run({ AGENT_COMMAND: DUMP, CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-the-real-token' });
    expect(agentEnv().CLAUDE_CODE_OAUTH_TOKEN).toBe('sk-ant-oat01-flaude-proxy-placeholder');
    expect(agentEnv().ANTHROPIC_API_KEY).toBeUndefined();
    await sandbox.run({ AGENT_COMMAND: DUMP, CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-the-real-token', ANTHROPIC_API_KEY: 'sk-ant-api03-the-real-key' });
    expect(agentEnv().ANTHROPIC_API_KEY).toBe(PLACEHOLDER_KEY);
    expect(agentEnv().CLAUDE_CODE_OAUTH_TOKEN).toBeUndefined();
  });

  it('has no model variables without a credential (no proxy runs)', async () => {
    const run = await sandbox.run({ AGENT_COMMAND: DUMP, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/gateway' });
    expectEnd(run, 0);
    expect(Object.keys(agentEnv()).filter((key) => key.startsWith('ANTHROPIC') || key.startsWith('CLAUDE_CODE_OAUTH'))).toEqual([]);
  });

  itRefuses('refuses %j', [
    [{ FLAUDE_AGENT_ENV: 'PLAIN,GITHUB_TOKEN' }, 'FLAUDE_AGENT_ENV: GITHUB_TOKEN is reserved for the privileged phase'],
    [{ FLAUDE_AGENT_ENV: 'FLAUDE_MARKER_NONCE' }, 'FLAUDE_AGENT_ENV: FLAUDE_MARKER_NONCE is reserved for the privileged phase'],
    [{ FLAUDE_AGENT_ENV: 'NOT-A-NAME' }, 'FLAUDE_AGENT_ENV: NOT-A-NAME is not a variable name'],
    [{ FLAUDE_SECRET_ANTHROPIC_API_KEY: 'a-secret-value' }, 'FLAUDE_SECRET_ names must be variable names and not reserved: ANTHROPIC_API_KEY'],
  ]);
});

describe("an exact commit (a fork's head when the run was accepted)", () => {
  /** Commits FILE to the seed of `name` on `ref` and pushes it to the bare remote; its sha. */
  function advance(name: string, url: string, ref: string, file: string): string {
    const seed = join(sandbox.root, 'seed', name);
    sandbox.git(seed, 'checkout', '-q', 'main');
    writeFileSync(join(seed, file), `${file}\n`);
    sandbox.git(seed, 'add', file);
    sandbox.git(seed, 'commit', '-q', '-m', file);
    const sha = sandbox.git(seed, 'rev-parse', 'HEAD');
    sandbox.git(seed, 'push', '-q', new URL(url).pathname, `HEAD:${ref}`);
    sandbox.git(seed, 'reset', '-q', '--hard', 'HEAD~1');
    return sha;
  }
  const HEAD_OF_AGENT = JSON.stringify(['sh', '-c', 'git rev-parse HEAD > "$FAKE_RECORD/head"; ls > "$FAKE_RECORD/files"']);
  const NONCE = 'fork-nonce-0123456789';

  it('works on the given commit after the branch moved on, and says where the head went', async () => {
    const url = sandbox.remote('app');
    const accepted = sandbox.git(new URL(url).pathname, 'rev-parse', 'main');
    const moved = advance('app', url, 'refs/heads/main', 'pushed-later.txt');
    const run = await sandbox.run({
      AGENT_COMMAND: HEAD_OF_AGENT,
      FLAUDE_REPOS: JSON.stringify([{ url, branch: 'main', commit: accepted }]),
      FLAUDE_MARKER_NONCE: NONCE,
    });
    expect(run.lines).toContain(`[flaude:${NONCE}:head-moved:${moved}]`);
    expect(run.lines.at(-1), run.output).toBe(`[flaude:${NONCE}:exit:0]`);
    expect(sandbox.recorded('head')?.trim()).toBe(accepted);
    expect(sandbox.recorded('files')?.split('\n')).not.toContain('pushed-later.txt');
  });

  it('says nothing when the branch head is the given commit', async () => {
    const url = sandbox.remote('app');
    const head = sandbox.git(new URL(url).pathname, 'rev-parse', 'feature');
    const run = await sandbox.run({ AGENT_COMMAND: HEAD_OF_AGENT, FLAUDE_REPOS: JSON.stringify([{ url, branch: 'feature', commit: head }]) });
    expectEnd(run, 0);
    expect(run.output).not.toContain('head-moved');
    expect(sandbox.recorded('head')?.trim()).toBe(head);
  });

  it('fetches the commit when the branch no longer holds it (a force-push), in the old marker form without a nonce', async () => {
    const url = sandbox.remote('app');
    const main = sandbox.git(new URL(url).pathname, 'rev-parse', 'main');
    // Kept by another ref only, as GitHub keeps a pull request's head under refs/pull/N/head.
    const accepted = advance('app', url, 'refs/pull/1/head', 'in-the-pull-request.txt');
    const run = await sandbox.run({ AGENT_COMMAND: HEAD_OF_AGENT, FLAUDE_REPOS: JSON.stringify([{ url, commit: accepted }]) });
    expect(run.lines).toContain(`[flaude:head-moved:${main}]`);
    expectEnd(run, 0);
    expect(sandbox.recorded('head')?.trim()).toBe(accepted);
    expect(sandbox.recorded('files')?.split('\n')).toContain('in-the-pull-request.txt');
  });

  it("ends the run when the commit can't be had", async () => {
    const url = sandbox.remote('app');
    const missing = 'f'.repeat(40);
    const run = await sandbox.run({ AGENT_COMMAND: HEAD_OF_AGENT, FLAUDE_REPOS: JSON.stringify([{ url, commit: missing }]) });
    expect(run.output).toContain(`[flaude:error] commit ${missing} of ${url} could not be fetched:`);
    expectEnd(run, 3);
    expect(sandbox.recorded('head')).toBeUndefined();
  });

  it('refuses a commit that is not a full hex id', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({ AGENT_COMMAND: HEAD_OF_AGENT, FLAUDE_REPOS: JSON.stringify([{ url, commit: 'main' }]) });
    expect(run.output).toContain(`[flaude:error] FLAUDE_REPOS: "commit" of ${url} must be a full hex commit id`);
    expectEnd(run, 2);
  });
});
