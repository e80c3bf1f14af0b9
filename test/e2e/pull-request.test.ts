// A `/fix` comment on a pull request, end to end: dist/index.js run the runner's way on the
// local backend, the real bundled agent image (docker/), a fake agent command that changes a
// file, real git over HTTP as the PR's remote (token-checked like GitHub's), and the fake
// GitHub API. The commit must land on the PR's branch and the comment must name it.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STICKY_MARKER } from '../../src/github/comment.js';
import { contentTag } from '../../src/image/tag.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github-server.js';
import { startGitHttpServer, type GitHttpServer } from '../fakes/git-http-server.js';
import { runAction } from '../helpers/action.js';
import { ensureDebianNodeBase } from '../helpers/debian-base.js';
import { example, prComment } from '../helpers/webhooks.js';

const exec = promisify(execFile);
const DOCKER_DIR = resolve(import.meta.dirname, '..', '..', 'docker');
const TOKEN = 'ghs_e2eFakeToken0123456789abcdefABCDEF';
const BRANCH = 'changes';

let git: GitHttpServer;
let gitRoot: string;
let github: FakeGitHub;
let cloneUrl: string;

/** The address containers reach the host at: the default bridge's gateway (its subnet's first address when unnamed). */
function bridgeGateway(): string {
  const [ipam] = JSON.parse(execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{json .IPAM.Config}}'], { encoding: 'utf8' })) as { Subnet: string; Gateway?: string }[];
  return ipam.Gateway || ipam.Subnet.replace(/\.0\/\d+$/, '.1');
}

beforeAll(async () => {
  // The action looks for the bundled image under its content tag: build it here on a Debian
  // base made from Debian packages, since no registry image can be pulled.
  const base = await ensureDebianNodeBase();
  const tag = `agent-machine-action:${await contentTag(join(DOCKER_DIR, 'Dockerfile'), DOCKER_DIR)}`;
  await exec('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', tag, DOCKER_DIR], { maxBuffer: 16 << 20 });

  gitRoot = mkdtempSync(join(tmpdir(), 'amt-e2e-git-'));
  const seed = mkdtempSync(join(tmpdir(), 'amt-e2e-seed-'));
  const sh = (cmd: string, cwd: string) => execFileSync('sh', ['-c', cmd], { cwd, stdio: 'pipe' });
  sh(`git init -q --bare -b master Hello-World.git`, gitRoot);
  sh(`git init -q -b ${BRANCH} . && echo hello > README.md && git add . && git -c user.name=dev -c user.email=dev@example.com commit -qm init && git push -q ${join(gitRoot, 'Hello-World.git')} ${BRANCH}`, seed);
  git = await startGitHttpServer(gitRoot, TOKEN);
  cloneUrl = `http://${bridgeGateway()}:${git.port}/Hello-World.git`;
}, 900_000);

afterAll(async () => {
  await git?.close();
  await github?.close();
});

function branchHead(): string {
  return execFileSync('git', ['--git-dir', join(gitRoot, 'Hello-World.git'), 'rev-parse', BRANCH], { encoding: 'utf8' }).trim();
}

describe('/fix on a pull request through dist/index.js', () => {
  it('pushes the fix to the PR branch and the comment names the commit', async () => {
    const pullRequest = example('pull_request', 'opened').pull_request;
    pullRequest.head.ref = BRANCH;
    pullRequest.head.repo.clone_url = cloneUrl;
    github = await startFakeGitHub({ roles: { Codertocat: 'write' }, pulls: [pullRequest], defaultBranch: 'master' });
    const before = branchHead();

    const event = prComment('/fix write the FIX file');
    const result = await runAction({
      eventName: 'issue_comment',
      event,
      // The git server stands in for github.com: the image's credential helper gives the token to it alone.
      env: { GITHUB_API_URL: github.url, GITHUB_SERVER_URL: new URL(cloneUrl).origin, GITHUB_REPOSITORY: event.repository.full_name },
      inputs: {
        github_token: TOKEN,
        command: JSON.stringify(['bash', '-c', 'echo "fixed: $FLAUDE_PROMPT" > FIX.md; echo agent wrote FIX.md']),
        wait_timeout: '300',
      },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);

    const after = branchHead();
    expect(after).not.toBe(before);
    const fixFile = execFileSync('git', ['--git-dir', join(gitRoot, 'Hello-World.git'), 'show', `${after}:FIX.md`], { encoding: 'utf8' });
    expect(fixFile).toMatch(/^fixed: write the FIX file/);
    expect(git.logins.length).toBeGreaterThan(0); // the token reached git through the credential helper

    expect(result.outputs).toMatchObject({ conclusion: 'success', exit_code: '0', pushed_branch: BRANCH, pushed_sha: after, pull_request_number: '2' });
    const sticky = github.comments.filter((c) => c.issue_number === 2 && c.body.includes(STICKY_MARKER));
    expect(sticky).toHaveLength(1);
    expect(result.outputs.comment_id).toBe(String(sticky[0].id));
    expect(sticky[0].body).toContain(after.slice(0, 7));
    expect(github.reactions.some((r) => r.content === 'eyes')).toBe(true);
    expect(result.summary).toContain(after.slice(0, 12));
    expect(result.summary).toContain(`/commit/${after}`);
    expect(result.summary).toContain('/pull/2">#2</a>');
    expect(result.summary).toContain(sticky[0].html_url);

    for (const call of github.calls) expect(JSON.stringify(call.body ?? '')).not.toContain(TOKEN);
    const runnerLog = result.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    expect(runnerLog).not.toContain(TOKEN);
  });

  it('a comment without the phrase runs nothing and stays quiet', async () => {
    github = await startFakeGitHub({ roles: { Codertocat: 'write' }, pulls: [example('pull_request', 'opened').pull_request] });
    const event = prComment('looks good to me');
    const result = await runAction({
      eventName: 'issue_comment', event,
      env: { GITHUB_API_URL: github.url, GITHUB_REPOSITORY: event.repository.full_name },
      inputs: { github_token: TOKEN, command: '["true"]' },
    });
    expect(result.code).toBe(0);
    expect(result.outputs).toMatchObject({ conclusion: 'skipped', machine_id: '', exit_code: '' });
    expect(github.calls.filter((c) => c.method !== 'GET')).toEqual([]);
  });
});
