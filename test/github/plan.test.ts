// planRun against real webhook payloads (@octokit/webhooks-examples, changed only where a
// case needs it) and the fake GitHub REST API, through the real @actions/github Context.
import * as github from '@actions/github';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../src/config/config.js';
import { STICKY_MARKER } from '../../src/github/replies.js';
import { readContext } from '../../src/github/api.js';
import { planRun, type Context } from '../../src/github/plan.js';
import type { RunOutcome } from '../../src/run/outcome.js';
import { testOutcome } from '../helpers/factories.js';
import { Secrets } from '../../src/secrets.js';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from '../fakes/github-server.js';
import { example, prComment, REPO_URL, type Payload } from '../helpers/webhooks.js';

const TOKEN = 'ghs_fakeGitHubToken0123456789abcdef';
const CLAUDE = 'sk-ant-oat01-fakeClaudeToken-0123456789';
const SHA = '4f1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const RUN_URL = `${REPO_URL}/actions/runs/4242`;

const thePullRequest = () => example('pull_request', 'opened').pull_request;

function asFork(pr: Payload): void {
  pr.head.repo = {
    ...pr.head.repo,
    full_name: 'outsider/Hello-World',
    clone_url: 'https://github.com/outsider/Hello-World.git',
    fork: true,
    owner: { ...pr.head.repo.owner, login: 'outsider' },
  };
  pr.head.label = 'outsider:changes';
}

const outcome = testOutcome;

let fake: FakeGitHub;
let eventDir: string;
let stdout: string[];

async function startFake(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  fake = await startFakeGitHub({ roles: { Codertocat: 'write' }, pulls: [thePullRequest()], defaultBranch: 'master', ...options });
  return fake;
}

/** The runner's way: the event written to GITHUB_EVENT_PATH, then the context read from the environment. */
function contextFor(eventName: string, payload: Payload): Context {
  const path = join(eventDir, `${eventName}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(payload));
  vi.stubEnv('GITHUB_EVENT_PATH', path);
  vi.stubEnv('GITHUB_EVENT_NAME', eventName);
  vi.stubEnv('GITHUB_REPOSITORY', payload.repository.full_name);
  vi.stubEnv('GITHUB_RUN_ID', '4242');
  vi.stubEnv('GITHUB_SERVER_URL', 'https://github.com');
  vi.stubEnv('GITHUB_API_URL', fake.url);
  vi.stubEnv('GITHUB_ACTOR', payload.sender.login);
  return readContext();
}

describe('readContext', () => {
  /** @actions/github's own Context, built fresh from the stubbed environment. */
  const actionsContext = () => new (github.context.constructor as new () => Context)();
  const fields = (ctx: Context) => ({
    eventName: ctx.eventName,
    payload: ctx.payload,
    actor: ctx.actor,
    runId: ctx.runId,
    serverUrl: ctx.serverUrl,
    apiUrl: ctx.apiUrl,
    repo: ctx.repo,
  });

  beforeEach(() => startFake());

  it.each([
    ['issue_comment', prComment('/fix the tests')],
    ['pull_request', example('pull_request', 'opened')],
    ['workflow_dispatch', example('workflow_dispatch', undefined, (p) => (p.repository = example('pull_request', 'opened').repository))],
  ])('reads a %s event as @actions/github does', (eventName, payload) => {
    const ours = contextFor(eventName, payload);
    expect(fields(ours)).toEqual(fields(actionsContext()));
  });

  it('falls back to the payload for the repository and to github.com for the URLs, as @actions/github does', () => {
    contextFor('issue_comment', prComment('/fix'));
    for (const name of ['GITHUB_REPOSITORY', 'GITHUB_SERVER_URL', 'GITHUB_API_URL']) vi.stubEnv(name, undefined);
    expect(fields(readContext())).toEqual(fields(actionsContext()));
    expect(readContext().repo).toEqual({ owner: 'Codertocat', repo: 'Hello-World' });
  });
});

function plan(eventName: string, payload: Payload, inputs: Record<string, string> = {}) {
  const config = readConfig(
    (name) =>
      ({
        image: 'agent:test',
        dockerfile: fileURLToPath(import.meta.url),
        build_context: '.',
        github_token: TOKEN,
        claude_code_oauth_token: CLAUDE,
        ...inputs,
      })[name] ?? '',
  );
  return planRun(config, new Secrets(config.secrets), contextFor(eventName, payload));
}

const warnings = () => stdout.filter((line) => line.startsWith('::warning'));
const callsTo = (method: string, path: RegExp) => fake.calls.filter((c) => c.method === method && path.test(c.path));
const stickies = (issue: number) => fake.comments.filter((c) => c.issue_number === issue && c.body.includes(STICKY_MARKER));

beforeEach(() => {
  eventDir = mkdtempSync(join(tmpdir(), 'amt-github-'));
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  rmSync(eventDir, { recursive: true, force: true });
  await fake?.close();
});

describe('a /fix comment on a pull request', () => {
  it('by a writer: reacts, plans the PR head branch, keeps one comment from running to the pushed commit', async () => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix make the tests pass'));

    expect(p.skip).toBeUndefined();
    expect(p.repos).toEqual([{ url: 'https://github.com/Codertocat/Hello-World.git', branch: 'changes' }]);
    expect(p.pushBranch).toBe('changes');
    expect(p.pullRequest.pullRequestNumber).toBe(2);
    expect(p.prompt).toMatch(/^make the tests pass\n/);
    for (const part of [
      'Repository: Codertocat/Hello-World',
      'Pull request: #2 "Update the README with new information."',
      `${REPO_URL}/pull/2`,
      'Base branch: master; head branch: changes',
      `Requested by: @Codertocat (${REPO_URL}/issues/1#issuecomment-492700400)`,
      'pushed to the branch changes',
    ]) {
      expect(p.prompt).toContain(part);
    }
    expect(fake.reactions).toEqual([{ commentId: 492700400, kind: 'issue', content: 'eyes' }]);
    expect(callsTo('GET', /\/collaborators\/Codertocat\/permission$/)).toHaveLength(1);
    expect(callsTo('GET', /^\/repos\/Codertocat\/Hello-World\/pulls\/2$/)).toHaveLength(1);

    await p.pullRequest.started({ backend: 'local', id: 'c0ffee42' });
    expect(stickies(2)).toHaveLength(1);
    const running = stickies(2)[0];
    expect(running.body).toContain('Agent running');
    expect(running.body).toContain('machine `c0ffee42`');
    expect(running.body).toContain('backend `local`');
    expect(running.body).toContain(`(${RUN_URL})`);
    expect(running.body).toContain('> make the tests pass');
    expect(p.pullRequest.commentId).toBe(running.id);

    await p.pullRequest.finished(outcome({ pushed: { branch: 'changes', sha: SHA } }));
    expect(stickies(2)).toHaveLength(1);
    const done = stickies(2)[0];
    expect(done.id).toBe(running.id);
    expect(done.body).toContain('Agent finished after 1m 5s');
    expect(done.body).toContain(`[\`4f1b2c3\`](${REPO_URL}/commit/${SHA}) to \`changes\``);
    expect(callsTo('PATCH', new RegExp(`/issues/comments/${running.id}$`))).toHaveLength(1);
    expect(callsTo('POST', /\/pulls$/)).toHaveLength(0);
    expect(warnings()).toEqual([]);
  });

  it('by a maintainer runs; success without a push says so', async () => {
    await startFake({ roles: { Codertocat: 'maintain' } });
    const p = await plan('issue_comment', prComment('/fix'), { prompt: 'Run the tests and fix failures' });
    expect(p.skip).toBeUndefined();
    expect(p.prompt).toMatch(/^Run the tests and fix failures\n/);
    await p.pullRequest.finished(outcome());
    expect(stickies(2)[0].body).toContain('No changes.');
  });

  it.each([['read'], ['triage'], [undefined]])('by a user with %s access: skipped with a short reply, no reaction, no run', async (role) => {
    await startFake({ roles: role ? { Codertocat: role } : {} });
    const p = await plan('issue_comment', prComment('/fix delete everything'));

    expect(p.skip?.reason).toMatch(/@Codertocat has '(read|triage|none)' access .* needs write access/);
    expect(p.skip?.quiet).toBeUndefined();
    expect(p.prompt).toBeUndefined();
    expect(p.repos).toEqual([]);
    expect(fake.reactions).toEqual([]);
    expect(fake.comments).toHaveLength(1);
    expect(fake.comments[0].body).toMatch(/^<!-- agent-machine-action:reply -->\n@Codertocat only people with write access/);
    expect(callsTo('GET', /\/pulls\//)).toHaveLength(0);
    const before = fake.calls.length;
    await p.pullRequest.started({ backend: 'local', id: '' });
    await p.pullRequest.finished(outcome({ conclusion: 'skipped' }));
    expect(fake.calls).toHaveLength(before);
  });

  it.each([
    [
      'a bot',
      (p: Payload) => {
        p.comment.user = { ...p.comment.user, login: 'renovate[bot]', type: 'Bot' };
      },
      /@renovate\[bot\] is a bot/,
    ],
    [
      'a user on behalf of an app',
      (p: Payload) => {
        p.comment.user.login = 'my-app[bot]';
      },
      /is a bot/,
    ],
    [
      'the action itself (a PAT: a user)',
      (p: Payload) => {
        p.comment.body = `${STICKY_MARKER}\n### Agent running\n> /fix it`;
      },
      /this action's own/,
    ],
  ])('by %s: ignored without a single API call', async (_who, change, reason) => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix it', change));
    expect(p.skip).toEqual({ reason: expect.stringMatching(reason), quiet: true });
    expect(fake.calls).toEqual([]);
  });

  it.each([
    ['no phrase', "You are totally right! I'll get this fixed right away."],
    ['the phrase inside a longer word', 'see /fixtures/data.json'],
    ['the phrase only in a quoted reply', '> /fix make the tests pass\n\nthat did not work'],
  ])('with %s: ignored, no comment', async (_case, body) => {
    await startFake();
    const p = await plan('issue_comment', prComment(body));
    expect(p.skip).toEqual({ reason: "the comment does not contain '/fix'", quiet: true });
    expect(fake.calls).toEqual([]);
  });

  it('ignores a marker pasted into a comment by someone else, and posts its own', async () => {
    const planted = { issue_number: 2, body: `${STICKY_MARKER}\nnot the action's`, user: { login: 'mallory', type: 'User' } };
    await startFake({ comments: [planted] });
    const p = await plan('issue_comment', prComment('/fix x'));
    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    expect(callsTo('PATCH', /\/issues\/comments\//)).toEqual([]);
    expect(fake.comments.find((c) => c.id === p.pullRequest.commentId)?.user.type).toBe('Bot');
    expect(fake.comments.find((c) => c.user.login === 'mallory')?.body).toBe(planted.body);
  });

  it('a second /fix on the same PR updates the one comment (found past a page of others), never adds one', async () => {
    const chatter = Array.from({ length: 130 }, (_, i) => ({ issue_number: 2, body: `comment ${i}`, user: { login: 'someone', type: 'User' } }));
    await startFake({ comments: chatter });
    const first = await plan('issue_comment', prComment('/fix first try'));
    await first.pullRequest.started({ backend: 'local', id: 'm1' });
    await first.pullRequest.finished(outcome({ conclusion: 'failure', exitCode: 1, logTail: ['boom'] }));
    const id = first.pullRequest.commentId;

    const second = await plan(
      'issue_comment',
      prComment('/fix second try', (p) => {
        p.comment.id = 492700999;
      }),
    );
    expect(second.pullRequest.commentId).toBeUndefined();
    await second.pullRequest.started({ backend: 'fly', id: 'm2' });
    expect(second.pullRequest.commentId).toBe(id);
    await second.pullRequest.finished(outcome({ backend: 'fly', machineId: 'm2', pushed: { branch: 'changes', sha: SHA } }));

    expect(stickies(2)).toHaveLength(1);
    expect(stickies(2)[0].id).toBe(id);
    expect(stickies(2)[0].body).toContain('machine `m2`');
    expect(stickies(2)[0].body).not.toContain('first try');
    expect(callsTo('POST', /\/issues\/2\/comments$/)).toHaveLength(1);
    // Each run looked through both pages of 130 others: the first found none, the second found it on page 2.
    expect(callsTo('GET', /\/issues\/2\/comments$/).map((c) => c.query.page ?? '1')).toEqual(['1', '2', '1', '2']);
    expect(fake.reactions.map((r) => r.commentId)).toEqual([492700400, 492700999]);
  });

  it('when the comment was deleted between runs, posts a new one', async () => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix'), { prompt: 'fix' });
    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    fake.comments.splice(0);
    await p.pullRequest.finished(outcome());
    expect(stickies(2)).toHaveLength(1);
    expect(p.pullRequest.commentId).toBe(stickies(2)[0].id);
    expect(warnings()).toEqual([]);
  });

  it('a failed run: the comment shows exit code, state and the log tail in a collapsible block', async () => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix make the tests pass'));
    await p.pullRequest.started({ backend: 'local', id: 'c0ffee42' });
    const tail = ['> vitest run', 'FAIL test/a.test.ts', 'expected ```3``` to be 4', 'Tests: 1 failed'];
    await p.pullRequest.finished(
      outcome({ conclusion: 'failure', exitCode: 3, state: 'stopped', logTail: tail, error: 'Machine c0ffee42 exited with code 3' }),
    );
    const body = stickies(2)[0].body;
    expect(body).toContain('Agent failed after 1m 5s');
    expect(body).toContain('Exit code 3, state `stopped`.');
    expect(body).toContain('Nothing was pushed.');
    expect(body).toContain('<details><summary>Last 4 log lines</summary>');
    // The log holds ``` so the fence is longer: the block can't be closed early.
    expect(body).toContain(`\`\`\`\`text\n${tail.join('\n')}\n\`\`\`\`\n\n</details>`);
  });

  it.each([
    [
      'timeout',
      { conclusion: 'timeout', exitCode: null, state: 'started', durationSeconds: 3601 },
      ['Agent timed out after 1h 0m', 'Exit code unknown, state `started`.'],
    ],
    ['cancelled', { conclusion: 'cancelled', exitCode: null, state: 'destroyed' }, ['Agent run cancelled after 1m 5s', 'state `destroyed`']],
    [
      'an image build failure',
      { conclusion: 'failure', machineId: undefined, exitCode: null, state: '', error: 'docker build failed with exit code 1:\nstep 3' },
      ['Agent failed', 'docker build failed with exit code 1:'],
    ],
  ] as [string, Partial<RunOutcome>, string[]][])('%s is reported in the same comment', async (_case, change, parts) => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix x'));
    await p.pullRequest.finished(outcome({ logTail: ['last line'], ...change }));
    for (const part of parts) expect(stickies(2)[0].body).toContain(part);
    expect(stickies(2)[0].body).toContain('last line');
  });
});

describe('a GitHub API error while commenting', () => {
  it('becomes a warning; planRun and the comment methods still resolve', async () => {
    await startFake({
      faults: [
        { method: 'POST', path: /\/reactions$/, status: 500 },
        { method: 'POST', path: /\/comments$/, status: 403 },
      ],
    });
    const p = await plan('issue_comment', prComment('/fix make the tests pass'));
    expect(p.pushBranch).toBe('changes');
    await expect(p.pullRequest.started({ backend: 'local', id: 'm1' })).resolves.toBeUndefined();
    await expect(p.pullRequest.finished(outcome({ conclusion: 'failure', exitCode: 2 }))).resolves.toEqual({
      commentId: undefined,
      commentUrl: undefined,
      pullRequestNumber: 2,
    });
    expect(p.pullRequest.commentId).toBeUndefined();
    expect(warnings()).toEqual([
      expect.stringMatching(/^::warning::Could not react to the triggering comment: 500 Injected fault/),
      expect.stringMatching(/^::warning::Could not update the run comment: 403 Injected fault/),
      expect.stringMatching(/^::warning::Could not update the run comment: 403/),
    ]);
  });

  it('a failing update after a successful post is a warning too, and the next write recovers', async () => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix x'));
    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    fake.fault({ method: 'PATCH', path: /\/issues\/comments\//, status: 422, times: 1 });
    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    await p.pullRequest.finished(outcome());
    expect(warnings()).toHaveLength(1);
    expect(stickies(2)).toHaveLength(1);
    expect(stickies(2)[0].body).toContain('Agent finished');
  });

  it('retries a passing 5xx on a repeatable call and a 429 on any, but never resends a create after a 5xx', async () => {
    await startFake({
      faults: [
        { path: /\/permission$/, status: 502, times: 1 },
        { method: 'POST', path: /\/reactions$/, status: 429, times: 1 },
      ],
    });
    const p = await plan('issue_comment', prComment('/fix x'));
    expect(p.skip).toBeUndefined();
    expect(callsTo('GET', /\/permission$/).map((c) => c.status)).toEqual([502, 200]);
    expect(callsTo('POST', /\/reactions$/).map((c) => c.status)).toEqual([429, 201]);
    fake.fault({ method: 'POST', path: /\/issues\/2\/comments$/, status: 502, times: 1 });
    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    expect(callsTo('POST', /\/issues\/2\/comments$/).map((c) => c.status)).toEqual([502]);
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::Could not update the run comment: 502/)]);
  });

  it('the permission check failing is not a comment: planRun rejects with GITHUB_API', async () => {
    await startFake({ faults: [{ path: /\/permission$/, status: 503 }] });
    await expect(plan('issue_comment', prComment('/fix x'))).rejects.toMatchObject({ code: 'GITHUB_API', statusCode: 503 });
  });
});

describe('pull request from a fork', () => {
  it('is skipped with an explanation', async () => {
    await startFake();
    const p = await plan(
      'pull_request',
      example('pull_request', 'opened', (e) => asFork(e.pull_request)),
      { prompt: 'fix the build' },
    );
    expect(p.skip?.reason).toBe('pull request #2 comes from the fork outsider/Hello-World; set allow_forks: true to run it read-only');
    expect(fake.comments).toHaveLength(1);
    expect(fake.comments[0].body).toContain('comes from the fork `outsider/Hello-World`');
    expect(fake.comments[0].body).toContain('allow_forks: true');
  });

  it('with allow_forks runs read-only: the fork head is cloned, nothing pushed, and the comment says so', async () => {
    const fork = thePullRequest();
    asFork(fork);
    await startFake({ pulls: [fork] });
    const p = await plan('issue_comment', prComment('/fix look at this'), { allow_forks: 'true' });
    expect(p.skip).toBeUndefined();
    // The fork's head as it was when the run was accepted: a push after the /fix doesn't run.
    expect(p.repos).toEqual([{ url: 'https://github.com/outsider/Hello-World.git', branch: 'changes', commit: fork.head.sha }]);
    expect(p.pushBranch).toBeUndefined();
    expect(p.prompt).toContain('head branch: changes in the fork outsider/Hello-World');
    expect(p.prompt).toContain('This run is read-only: nothing you change will be pushed.');
    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    expect(stickies(2)[0].body).toContain(
      `Read-only: pull request from the fork outsider/Hello-World, at commit ${fork.head.sha.slice(0, 12)}; nothing will be pushed.`,
    );
    await p.pullRequest.finished(outcome());
    expect(stickies(2)[0].body).toContain('nothing was pushed.');
  });
});

describe('pull_request and review comment events', () => {
  it('pull_request opened by a writer runs the prompt input on the head branch, from the payload alone', async () => {
    await startFake();
    const p = await plan('pull_request', example('pull_request', 'opened'), { prompt: 'Review and fix lint' });
    expect(p.repos).toEqual([{ url: 'https://github.com/Codertocat/Hello-World.git', branch: 'changes' }]);
    expect(p.pushBranch).toBe('changes');
    expect(p.prompt).toMatch(/^Review and fix lint\n[\s\S]*Requested by: @Codertocat\n/);
    expect(callsTo('GET', /\/pulls\//)).toHaveLength(0);
    expect(fake.reactions).toEqual([]);
  });

  it.each(['labeled', 'synchronize', 'reopened'])('pull_request %s runs too', async (action) => {
    await startFake();
    // Labelled `agent`, the one label that starts a run (the example's own is `bug`).
    const p = await plan(
      'pull_request',
      example('pull_request', action, (e) => {
        if (e.label) e.label.name = 'agent';
      }),
      { prompt: 'go' },
    );
    expect(p.skip).toBeUndefined();
    expect(p.pushBranch).toBe('changes');
  });

  it('pull_request closed does not start a run', async () => {
    await startFake();
    const p = await plan('pull_request', example('pull_request', 'closed'), { prompt: 'go' });
    expect(p.skip).toEqual({ reason: "pull_request 'closed' does not start a run", quiet: true });
  });

  it('a review comment with the phrase reacts on the review comment endpoint', async () => {
    await startFake();
    const payload = example('pull_request_review_comment', 'created', (e) => {
      e.comment.body = 'nit: /fix use more emoji here';
    });
    const p = await plan('pull_request_review_comment', payload);
    expect(p.prompt).toMatch(/^use more emoji here\n/);
    expect(fake.reactions).toEqual([{ commentId: payload.comment.id, kind: 'review', content: 'eyes' }]);
    expect(p.pushBranch).toBe('changes');
  });
});

describe('a /fix comment on an issue', () => {
  const issueComment = (body: string) =>
    example('issue_comment', 'created', (p) => {
      p.comment.body = body;
    });

  it('works on agent/issue-N from the default branch and opens a pull request when something was pushed', async () => {
    await startFake();
    const p = await plan('issue_comment', issueComment('/fix correct the spelling'));
    expect(p.repos).toEqual([{ url: 'https://github.com/Codertocat/Hello-World.git', branch: 'master' }]);
    expect(p.pushBranch).toBe('agent/issue-1');
    expect(p.pullRequest.pullRequestNumber).toBeUndefined();
    expect(p.prompt).toContain('Issue: #1 "Spelling error in the README file"');
    expect(p.prompt).toContain("It looks like you accidently spelled 'commit' with two 't's.");
    expect(callsTo('GET', /\/branches\/agent%2Fissue-1$/)).toHaveLength(1);

    await p.pullRequest.started({ backend: 'local', id: 'm1' });
    const done = outcome({ pushed: { branch: 'agent/issue-1', sha: SHA } });
    expect((await p.pullRequest.finished(done)).pullRequestNumber).toBe(101);
    expect(callsTo('POST', /\/pulls$/).map((c) => c.body)).toEqual([
      expect.objectContaining({
        head: 'agent/issue-1',
        base: 'master',
        title: 'Agent: Spelling error in the README file',
        body: expect.stringContaining('Closes #1.'),
      }),
    ]);
    expect(stickies(1)[0].body).toContain(`to \`agent/issue-1\`. Opened #101.`);
  });

  it('opens no pull request when nothing was pushed', async () => {
    await startFake();
    const p = await plan('issue_comment', issueComment('/fix'), { prompt: 'fix it' });
    expect((await p.pullRequest.finished(outcome())).pullRequestNumber).toBeUndefined();
    expect(callsTo('POST', /\/pulls$/)).toHaveLength(0);
  });

  it('a second run continues the agent branch and finds the pull request the first one opened', async () => {
    await startFake({ branches: ['agent/issue-1'], pulls: [{ number: 7, state: 'open', head: { ref: 'agent/issue-1' } }] });
    const p = await plan('issue_comment', issueComment('/fix also the other typo'));
    expect(p.repos).toEqual([{ url: 'https://github.com/Codertocat/Hello-World.git', branch: 'agent/issue-1' }]);
    expect((await p.pullRequest.finished(outcome({ pushed: { branch: 'agent/issue-1', sha: SHA } }))).pullRequestNumber).toBe(7);
  });

  it('failing to open the pull request is a warning, not an error', async () => {
    await startFake({ faults: [{ method: 'POST', path: /\/pulls$/, status: 403 }] });
    const p = await plan('issue_comment', issueComment('/fix x'));
    expect((await p.pullRequest.finished(outcome({ pushed: { branch: 'agent/issue-1', sha: SHA } }))).pullRequestNumber).toBeUndefined();
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::Could not open a pull request from agent\/issue-1: 403/)]);
  });
});

describe('comment modes and workflow_dispatch', () => {
  /** Dispatched in the repository the example pull request lives in. */
  const dispatch = () =>
    example('workflow_dispatch', undefined, (p) => {
      p.repository = example('pull_request', 'opened').repository;
    });

  it('never runs on an event anyone can cause without write access (pull_request_target)', async () => {
    await startFake();
    const p = await plan('pull_request_target', example('pull_request', 'opened'), { prompt: 'fix' });
    expect(p.skip).toEqual({ reason: expect.stringMatching(/pull_request_target event does not start a run/), quiet: true });
    expect(fake.calls).toEqual([]);
  });

  it('comment: never keeps the pull request silent but still runs', async () => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix x'), { comment: 'never' });
    expect(p.pushBranch).toBe('changes');
    await p.pullRequest.started({ backend: 'local', id: '' });
    await p.pullRequest.finished(outcome());
    expect(fake.reactions).toEqual([]);
    expect(fake.comments).toEqual([]);
  });

  it('workflow_dispatch with a pull request number: silent under auto, commented under always', async () => {
    await startFake();
    const auto = await plan('workflow_dispatch', dispatch(), { prompt: 'fix', pull_request_number: '2' });
    expect(auto.repos).toEqual([{ url: 'https://github.com/Codertocat/Hello-World.git', branch: 'changes' }]);
    expect(auto.pushBranch).toBe('changes');
    await auto.pullRequest.started({ backend: 'local', id: '' });
    expect(fake.comments).toEqual([]);
    expect(callsTo('GET', /\/permission$/)).toHaveLength(0);

    const always = await plan('workflow_dispatch', dispatch(), { prompt: 'fix', pull_request_number: '2', comment: 'always' });
    await always.pullRequest.started({ backend: 'fly', id: 'm9' });
    expect(stickies(2)).toHaveLength(1);
  });

  it('workflow_dispatch without a pull request runs the inputs as they are, with no API call', async () => {
    await startFake();
    const p = await plan('workflow_dispatch', dispatch(), { prompt: 'nightly cleanup', repos: 'https://github.com/o/r main' });
    expect(p).toMatchObject({ prompt: 'nightly cleanup', repos: [{ url: 'https://github.com/o/r', branch: 'main' }] });
    expect(p.pushBranch).toBeUndefined();
    expect(fake.calls).toEqual([]);
  });

  it('a `repos` input replaces the default clone and makes the run read-only', async () => {
    await startFake();
    const p = await plan('issue_comment', prComment('/fix x'), { repos: 'https://github.com/o/r main' });
    expect(p.repos).toEqual([{ url: 'https://github.com/o/r', branch: 'main' }]);
    expect(p.pushBranch).toBeUndefined();
  });
});

it('no secret reaches any request GitHub receives, whatever path the text took', async () => {
  await startFake({ roles: { Codertocat: 'write', lurker: 'read' } });
  const leaky = `/fix use ${TOKEN} and ${CLAUDE}`;
  const denied = await plan(
    'issue_comment',
    prComment(leaky, (p) => {
      p.comment.user.login = 'lurker';
    }),
  );
  expect(denied.skip).toBeDefined();

  const p = await plan(
    'issue_comment',
    example('issue_comment', 'created', (e) => {
      e.comment.body = leaky;
      e.issue.title = `Leaks ${CLAUDE}`;
    }),
  );
  await p.pullRequest.started({ backend: 'local', id: 'm1' });
  const failed = outcome({
    conclusion: 'failure',
    exitCode: 1,
    logTail: [`token=${TOKEN}`, `key ${CLAUDE}`],
    error: `bad ${TOKEN}`,
    pushed: { branch: 'agent/issue-1', sha: SHA },
  });
  await p.pullRequest.finished(failed);

  const bodies = fake.calls.map((c) => c.rawBody).filter(Boolean);
  expect(bodies.length).toBeGreaterThanOrEqual(4); // reply, running, PR, finish
  for (const body of bodies) {
    expect(body).not.toContain(TOKEN);
    expect(body).not.toContain(CLAUDE);
  }
  expect(stickies(1)[0].body).toContain('token=***');
  // The token went where it belongs: the Authorization header.
  expect(fake.calls[0].headers.authorization).toBe(`token ${TOKEN}`);
});
