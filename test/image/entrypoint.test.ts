// docker/entrypoint.sh, the image protocol, run for real: bash, git, bare remotes, a fake claude.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHttpServer } from '../fakes/git-http-server.js';
import { AGENT_USER, Sandbox, type EntrypointRun } from './sandbox.js';

const TOKEN = 'ghp_AmtFakeToken5f3c9e1d7a2b4c6e8f0a';
const AGENT = { FLAUDE_PROMPT: 'Fix the tests', CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat-fake' };

let sandbox: Sandbox;
beforeEach(() => { sandbox = new Sandbox(); });
afterEach(() => sandbox.cleanup());

/** Every path ends the same way: the marker, once, as the very last line, and that exit code. */
function expectEnd(run: EntrypointRun, code: number): void {
  expect(run.lines.at(-1), run.output).toBe(`[flaude:exit:${code}]`);
  expect(run.output.match(/\[flaude:exit:/g)).toHaveLength(1);
  expect(run.code).toBe(code);
}

const argv = () => sandbox.recorded('argv')?.split('\0').slice(0, -1);

describe('inputs', () => {
  it('refuses to start without a prompt', async () => {
    const run = await sandbox.run({ CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat-fake' });
    expect(run.output).toContain('[flaude:error] FLAUDE_PROMPT is empty');
    expectEnd(run, 2);
    expect(argv()).toBeUndefined();
  });

  it('refuses to start without agent credentials', async () => {
    const run = await sandbox.run({ FLAUDE_PROMPT: 'Fix it' });
    expect(run.output).toContain('[flaude:error] no agent credentials: set CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY');
    expectEnd(run, 2);
    expect(argv()).toBeUndefined();
  });

  it('accepts ANTHROPIC_API_KEY as the credential', async () => {
    expectEnd(await sandbox.run({ FLAUDE_PROMPT: 'Fix it', ANTHROPIC_API_KEY: 'sk-ant-api-fake' }), 0);
  });

  it.each([
    [{ FLAUDE_REPOS: '{"url":' }, 'FLAUDE_REPOS: not valid JSON'],
    [{ FLAUDE_REPOS: '{"url":"file:///x.git"}' }, 'FLAUDE_REPOS: expected a JSON array'],
    [{ FLAUDE_REPOS: '[{"branch":"main"}]' }, 'FLAUDE_REPOS: every entry needs a "url"'],
    [{ FLAUDE_REPOS: '[{"url":"file:///x.git","target_dir":"../escape"}]' }, 'FLAUDE_REPOS: target dir "../escape" of file:///x.git is outside the workspace'],
    [{ FLAUDE_REPOS: '[{"url":"file:///a/x.git"},{"url":"file:///b/x.git"}]' }, 'FLAUDE_REPOS: two repos would be cloned into "x"'],
    [{ AGENT_COMMAND: '"make fix"' }, 'AGENT_COMMAND: expected a JSON array'],
    [{ AGENT_COMMAND: '[]' }, 'AGENT_COMMAND: expected a non-empty array of strings'],
    [{ FLAUDE_PUSH_BRANCH: 'fix' }, 'FLAUDE_PUSH_BRANCH needs exactly one repo in FLAUDE_REPOS, there are 0'],
  ])('rejects bad input %j', async (env, message) => {
    const run = await sandbox.run({ ...AGENT, ...env });
    expect(run.output).toContain(`[flaude:error] ${message}`);
    expectEnd(run, 2);
    expect(argv()).toBeUndefined();
  });

  it.runIf(process.getuid?.() === 0)('as root, refuses to run when the agent user does not exist', async () => {
    const run = await sandbox.run({ ...AGENT, FLAUDE_AGENT_USER: 'amt-no-such-user' });
    expect(run.output).toContain('[flaude:error] user amt-no-such-user does not exist; refusing to run the agent as root');
    expectEnd(run, 2);
    expect(argv()).toBeUndefined();
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
    expect(argv()).toEqual(['-p', '--dangerously-skip-permissions', '--', 'Fix the tests']);
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

  it('passes a prompt that starts with a dash as one argument after --', async () => {
    const prompt = '--version\nthen $(touch pwned) `touch pwned` "quoted"';
    const run = await sandbox.run({ ...AGENT, FLAUDE_PROMPT: prompt });
    expectEnd(run, 0);
    expect(argv()).toEqual(['-p', '--dangerously-skip-permissions', '--', prompt]);
    expect(readdirSync(sandbox.workspace)).toEqual([]);
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
    expect(run.output).toContain(`[flaude:pushed:agent/fix-1:${sha}]\n[flaude:exit:0]`);
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
    expect(sandbox.git(bare, 'log', '-1', '--format=%an <%ae>|%s', 'main')).toBe('agent-machine-action[bot] <agent-machine-action[bot]@users.noreply.github.com>|agent made this');
    expect(run.output).toContain(`[flaude:pushed:main:${sandbox.git(bare, 'rev-parse', 'main')}]`);
  });

  it('says [flaude:pushed:none] when the agent changed nothing', async () => {
    const url = sandbox.remote('app');
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'agent/fix-2' });
    expect(run.output).toContain('[flaude:pushed:none]\n[flaude:exit:0]');
    expectEnd(run, 0);
    expect(sandbox.git(new URL(url).pathname, 'branch', '--list', 'agent/fix-2')).toBe('');
  });

  it.each([
    [0, 4],
    [9, 9],
  ])('a rejected push after agent exit %i ends the run with %i', async (agentCode, code) => {
    const url = sandbox.remote('app');
    const hook = join(new URL(url).pathname, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "protected by policy"\nexit 1\n');
    chmodSync(hook, 0o755);
    const run = await sandbox.run({ ...AGENT, FLAUDE_REPOS: single(url), FLAUDE_PUSH_BRANCH: 'agent/fix-3', FAKE_EDIT: 'x', FAKE_EXIT: String(agentCode) });
    expect(run.output).toContain('protected by policy');
    expect(run.output).toContain('[flaude:error] pushing to branch agent/fix-3 failed');
    expect(run.output).not.toContain('[flaude:pushed:');
    expectEnd(run, code);
  });
});

describe('GitHub token', () => {
  let remotes: string;
  beforeEach(() => { remotes = mkdtempSync(join(tmpdir(), 'amt-http-remotes-')); });
  afterEach(() => rmSync(remotes, { recursive: true, force: true }));

  /** Every file under `dir`, .git included. */
  const files = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());

  it('reaches the GitHub server through the credential helper, and nowhere else', async () => {
    sandbox.remote('app', remotes);
    const server = await startGitHttpServer(remotes, TOKEN);
    try {
      const run = await sandbox.run({
        ...AGENT,
        FLAUDE_REPOS: JSON.stringify([{ url: `${server.url}/app.git` }]),
        FLAUDE_PUSH_BRANCH: 'agent/token',
        FAKE_EDIT: 'pushed over http',
        GITHUB_TOKEN: TOKEN,
        GITHUB_USERNAME: 'amt-user',
        GITHUB_SERVER_URL: server.url,
      }, { gitShim: true });
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
