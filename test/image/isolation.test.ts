// The privilege boundary of docker/entrypoint.sh, tried as an attacker would, with real bash, git
// and node: root clones, holds the tokens and pushes; test/image/hostile-agent.mjs runs as the
// agent user (`nobody`, in a PID namespace like a container's) and searches for every token,
// forges markers, plants code for root's git and leaves a process behind.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-api.js';
import { startGitHttpServer, type GitHttpServer } from '../fakes/git-http-server.js';
import { expectNoRootProof, expectNothingStolen, HOSTILE_AGENT, hostileEnv, nonceLines, readReport, runTokens, type RunTokens } from './hostile.js';
import { AGENT_USER, Sandbox, type EntrypointRun, type RunOptions } from './sandbox.js';

const AS_ROOT = process.getuid?.() === 0;
const HELPER = resolve(import.meta.dirname, '../../docker/git-credential-flaude');

let sandbox: Sandbox;
let tokens: RunTokens;
let git: GitHttpServer;
let model: FakeAnthropic;
let remotes: string;

beforeEach(async () => {
  sandbox = new Sandbox();
  tokens = runTokens();
  remotes = join(sandbox.root, 'http-remotes');
  sandbox.remote('app', remotes);
  git = await startGitHttpServer(remotes, tokens.githubToken);
  model = await startFakeAnthropic({ script: [] });
});
afterEach(async () => {
  await git.close();
  await model.close();
  sandbox.cleanup();
});

const agentUid = () => Number(execFileSync('id', ['-u', AGENT_USER], { encoding: 'utf8' }).trim());

/** The entrypoint running `command` as the agent on a clone of app.git from the git server. */
function runOnApp(command: string[], env: Record<string, string> = {}, options?: RunOptions): Promise<EntrypointRun> {
  return sandbox.run(
    {
      AGENT_COMMAND: JSON.stringify(command),
      FLAUDE_REPOS: JSON.stringify([{ url: `${git.url}/app.git` }]),
      GITHUB_TOKEN: tokens.githubToken,
      GITHUB_SERVER_URL: git.url,
      ...env,
    },
    options,
  );
}

/** The hostile agent against the git server and the fake model, with every token root holds. */
function runHostile(credential: Record<string, string>, extra: Record<string, string> = {}): Promise<EntrypointRun> {
  return runOnApp(
    ['node', HOSTILE_AGENT],
    {
      FLAUDE_PUSH_BRANCH: 'agent/hostile',
      FLAUDE_MARKER_NONCE: tokens.nonce,
      ANTHROPIC_BASE_URL: model.url,
      ...credential,
      ...hostileEnv(tokens, sandbox.recordPath('report.json'), { AMT_HELPER: HELPER, AMT_PLANT: '1', AMT_LINGER: '1', ...extra }),
    },
    { extraFd: true },
  );
}

const bare = () => join(remotes, 'app.git');

describe.runIf(AS_ROOT)('a hostile agent, dropped to the agent user', () => {
  it.each([
    ['ANTHROPIC_API_KEY', 'x-api-key'],
    ['CLAUDE_CODE_OAUTH_TOKEN', 'authorization'],
  ])('finds no token anywhere while clone, push and the model API work (%s)', async (variable, header) => {
    const credential = variable === 'ANTHROPIC_API_KEY' ? tokens.apiKey : tokens.oauthToken;
    const run = await runHostile({ [variable]: credential });
    const end = `[flaude:${tokens.nonce}:exit:0]`;
    expect(run.lines.at(-1), run.output).toBe(end);
    expect(run.code).toBe(0);

    const report = readReport(sandbox.recordPath('report.json'));
    expectNothingStolen(report, agentUid());
    expect(report.fds['0']).toBe('/dev/null');
    // stdout and stderr are one pipe, the relay's; nothing else of root's is open.
    expect(report.fds['1']).toMatch(/^pipe:/);
    expect(report.fds['2']).toBe(report.fds['1']);
    expect(Object.values(report.fds).filter((target) => target.startsWith('/tmp/'))).toEqual([]);
    // A descriptor the entrypoint itself was started with stays root's.
    expect(run.extraFd).toMatch(/^(pipe|socket):\[\d+\]$/);
    expect(Object.values(report.fds)).not.toContain(run.extraFd);

    // The model API worked through the proxy, which sent the real credential; the agent's own
    // request carried the placeholder, and a route other than the Messages API was refused.
    expect(report.model).toEqual({ messages: 200, files: 403 });
    expect(model.requests).toHaveLength(1);
    const sent = model.requests[0].headers[header];
    expect(sent).toBe(header === 'authorization' ? `Bearer ${credential}` : credential);
    expect(model.requests[0].headers[header === 'authorization' ? 'x-api-key' : 'authorization']).toBeUndefined();
    expect(JSON.stringify(model.requests[0].body)).toContain(`hostile ${tokens.runId}`);

    // Clone and push presented the token, and the agent's work landed.
    expect(git.logins.length).toBeGreaterThanOrEqual(2);
    expect(git.logins.every((login) => login.token === tokens.githubToken)).toBe(true);
    const sha = sandbox.git(bare(), 'rev-parse', 'refs/heads/agent/hostile');
    expect(sandbox.git(bare(), 'show', `${sha}:hostile.txt`)).toBe('written by the hostile agent');
    expect(run.lines).toContain(`[flaude:${tokens.nonce}:pushed:agent/hostile:${sha}]`);
    // The diffstat too, though the agent's .gitmodules is one git refuses to read.
    expect(run.lines.some((line) => line.startsWith(`[flaude:${tokens.nonce}:diffstat:`))).toBe(true);

    // Forged markers are text; only root's lines carry the nonce.
    expect(run.lines).toContain('[flaude:exit:0]');
    expect(run.lines).toContain(`[flaude:pushed:main:${'0'.repeat(40)}]`);
    for (const line of nonceLines(run.lines, tokens.nonce)) {
      expect(line).toMatch(new RegExp(`^\\[flaude:${tokens.nonce}:(diffstat|pushed|exit):[^\\]]*\\]$`));
    }
    // The agent's last words had no line break (the process it left may have gone on with that
    // line): root's next line is still a line of its own.
    expect(run.lines.some((line) => line.startsWith('hostile agent done, no newline'))).toBe(true);
    const exited = run.lines.indexOf('[flaude] agent exited with 0');
    expect(exited).toBeGreaterThan(0);
    // Its process left behind was ended before root went on: nothing of it after the agent's exit.
    expect(run.lines.slice(0, exited).some((line) => line.startsWith('LINGER'))).toBe(true);
    expect(run.lines.slice(exited).filter((line) => line.startsWith('LINGER'))).toEqual([]);
    // Killed, not waited out: the relay ended by itself once no process of the agent held it.
    expect(run.output).not.toContain('output was cut off');

    // None of the planted hooks, fsmonitor, filters or helpers ran as root, and the push went
    // where root's own config says, not to the agent's pushurl.
    expectNoRootProof(sandbox.recordPath());
    expect(run.output).not.toContain(tokens.githubToken);
    expect(run.output).not.toContain(credential);
  });

  it("takes the agent's commits, and no more than its tree, with root's own git", async () => {
    const command = [
      'sh',
      '-c',
      [
        'echo one > one.txt && git add one.txt && git commit -q -m "agent commit one"',
        // A file committed, then deleted: the tree wins. A file changed but not committed: it is in.
        'echo gone > gone.txt && git add gone.txt && git commit -q -m "agent commit two" && rm gone.txt',
        'echo changed >> README',
      ].join(' && '),
    ];
    const run = await runOnApp(command, { FLAUDE_PUSH_BRANCH: 'agent/commits' });
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
    const log = sandbox.git(bare(), 'log', '--format=%s', 'main..agent/commits').split('\n');
    expect(log).toEqual(['agent: changes from sh', 'agent commit two', 'agent commit one']);
    expect(sandbox.git(bare(), 'ls-tree', '--name-only', 'agent/commits').split('\n').sort()).toEqual(['README', 'one.txt']);
    expect(sandbox.git(bare(), 'show', 'agent/commits:README')).toBe('app\nchanged');
  });

  it('leaves out commits that do not descend from the clone, and keeps the tree', async () => {
    const command = [
      'sh',
      '-c',
      'git checkout -q --orphan other && git rm -rqf . && echo alone > alone.txt && git add alone.txt && git commit -q -m unrelated',
    ];
    const run = await runOnApp(command, { FLAUDE_PUSH_BRANCH: 'agent/orphan' });
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
    expect(run.output).toContain("[flaude] the agent's HEAD does not descend from the cloned commit: its commits are left out, not its files");
    expect(sandbox.git(bare(), 'rev-parse', 'agent/orphan^')).toBe(sandbox.git(bare(), 'rev-parse', 'main'));
    expect(sandbox.git(bare(), 'ls-tree', '--name-only', 'agent/orphan')).toBe('alone.txt');
  });

  it('refuses to commit a work tree the agent replaced with a symlink', async () => {
    // Root would read through the link: here, into a directory of root's own.
    const secret = join(sandbox.root, 'root-only');
    mkdirSync(secret, { mode: 0o700 });
    writeFileSync(join(secret, 'secret.txt'), `not for the agent ${tokens.runId}\n`);
    const command = ['sh', '-c', `cd .. && mv app app.moved && ln -s ${secret} app`];
    const run = await runOnApp(command, { FLAUDE_PUSH_BRANCH: 'agent/swapped', FLAUDE_MARKER_NONCE: tokens.nonce });
    expect(run.lines).toContain(`[flaude:${tokens.nonce}:error:the work tree app was replaced; nothing is pushed]`);
    expect(run.lines.at(-1), run.output).toBe(`[flaude:${tokens.nonce}:exit:4]`);
    expect(run.code).toBe(4);
    expect(sandbox.git(bare(), 'branch', '--list', 'agent/swapped')).toBe('');
  });

  it("refuses to push a file that is not the agent's, as a hard link to one of root's would be", async () => {
    // The kernel's protected_hardlinks stops the agent making one here; the test (root) puts the
    // file in its tree while it runs, to the same effect.
    const command = ['sh', '-c', 'echo mine > mine.txt; while [ ! -e "$FAKE_RECORD/go" ]; do sleep 0.1; done'];
    const running = runOnApp(command, { FLAUDE_PUSH_BRANCH: 'agent/stray', FLAUDE_MARKER_NONCE: tokens.nonce });
    const tree = join(sandbox.workspace, 'app');
    await expect.poll(() => existsSync(join(tree, 'mine.txt')), { timeout: 20_000 }).toBe(true);
    writeFileSync(join(tree, 'root-file'), 'root only\n', { mode: 0o600 });
    writeFileSync(sandbox.recordPath('go'), '');
    const run = await running;
    expect(run.lines).toContain(`[flaude:${tokens.nonce}:error:root-file in the work tree is not the agent's (a hard link?); nothing is pushed]`);
    expect(run.lines.at(-1), run.output).toBe(`[flaude:${tokens.nonce}:exit:4]`);
    expect(sandbox.git(bare(), 'branch', '--list', 'agent/stray')).toBe('');
  });

  it('never follows a symlink from the repository when it hands the workspace to the agent', async () => {
    // A fork's repository can hold a link to any path; root chowns the clone for the agent.
    const target = join(sandbox.root, 'root-owned.txt');
    writeFileSync(target, 'root\n', { mode: 0o600 });
    const seed = join(sandbox.root, 'seed', 'app');
    symlinkSync(target, join(seed, 'link'));
    sandbox.git(seed, 'add', 'link');
    sandbox.git(seed, 'commit', '-q', '-m', 'a link out');
    sandbox.git(seed, 'push', '-q', bare(), 'main');
    const run = await runOnApp(['sh', '-c', 'cat link; echo "status $?"']);
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
    expect(lstatSync(join(sandbox.workspace, 'app', 'link')).isSymbolicLink()).toBe(true);
    expect(statSync(target).uid).toBe(0);
    expect(run.output).toContain('status 1');
    expect(readFileSync(target, 'utf8')).toBe('root\n');
  });
});
