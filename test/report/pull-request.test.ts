// The pull-request side of the report: the sticky comment shows progress while the agent works
// (edited only when something changed, at most once an interval), then the result; a comment
// the step never finished is closed by the post step.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyStats } from '../../src/agent/stats.js';
import { createClient } from '../../src/github/api.js';
import { closeLeftComment, PullRequestReport, StickyComment, type Progress } from '../../src/report/pull-request.js';
import { testOutcome } from '../helpers/factories.js';
import { Secrets } from '../../src/secrets.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github-server.js';

const TOKEN = 'ghs_prReportFakeToken0123456789';
let fake: FakeGitHub;

afterEach(async () => {
  vi.restoreAllMocks();
  await fake?.close();
});

async function report(intervalMs: number) {
  fake = await startFakeGitHub();
  const api = await createClient(TOKEN, { apiUrl: fake.url });
  const secrets = new Secrets([TOKEN]);
  const comment = new StickyComment(
    api,
    { owner: 'o', repo: 'r', number: 7 },
    { asker: 'octocat', runUrl: 'https://github.com/o/r/actions/runs/1', repositoryUrl: 'https://github.com/o/r' },
    secrets,
  );
  return { api, secrets, pr: new PullRequestReport({ secrets, comment, pullRequestNumber: 7 }, intervalMs) };
}

const outcome = testOutcome({
  image: 'i',
  machineId: 'm1',
  durationSeconds: 75,
  pushed: { branch: 'fix', sha: 'abcdef0123456789abcdef0123456789abcdef01' },
  agent: { ...emptyStats(), result: 'Fixed the flaky test.', costUsd: 0.4213, numTurns: 6, inputTokens: 52000, outputTokens: 1800 },
});

describe('the sticky comment', () => {
  it('shows progress when it changed, never more often than the interval, then the result', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // saveState's file command is not under test
    const { pr } = await report(150);
    let progress: Progress = { elapsedSeconds: 12, turns: 1, lastActivity: '$ npm test' };
    await pr.started({ backend: 'local', id: 'm1' }, () => progress);
    await new Promise((resolve) => setTimeout(resolve, 400)); // two intervals, nothing new after the first
    const edits = () => fake.calls.filter((c) => c.method === 'PATCH').length;
    expect(edits()).toBe(1);
    expect(fake.comments[0].body).toContain('1 turn · last: ` $ npm test `');
    progress = { elapsedSeconds: 40, turns: 3, lastActivity: 'Edit src/app.ts' };
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(edits()).toBe(2);
    expect(fake.comments[0].body).toContain('3 turns · last: ` Edit src/app.ts `');

    const result = await pr.finished(outcome);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(edits()).toBe(3); // the ticker stopped with the result
    expect(fake.comments).toHaveLength(1);
    const body = fake.comments[0].body;
    expect(body).toContain('Agent finished after 1m 15s');
    expect(body).toContain('> Fixed the flaky test.');
    expect(body).toContain('$0.42 · 6 turns · 52,000 tokens in, 1,800 out');
    expect(body).toContain('[`abcdef0`](https://github.com/o/r/commit/abcdef0123456789abcdef0123456789abcdef01)');
    expect(result).toMatchObject({ commentId: fake.comments[0].id, pullRequestNumber: 7 });
  });

  it('lists what the allowlist blocked, each host in code a hostile name cannot close', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { pr } = await report(1000);
    const hostile = '`](https://evil.example)<b>@octo-org/team</b>';
    const blocked = [
      { host: 'registry.npmjs.org', port: 443, count: 12 },
      { host: hostile, count: 1 },
      { host: '2001:db8::1', port: 22, count: 2 },
      ...Array.from({ length: 9 }, (_, i) => ({ host: `h${i}.example`, port: 80, count: 1 })),
    ];
    await pr.finished(testOutcome({ ...outcome, conclusion: 'failure', egress: { mode: 'enforce', blocked } }));
    const body = fake.comments[0].body;
    const section = body.slice(body.indexOf('**Blocked network access**'));
    expect(section).toMatch(/^\*\*Blocked network access\*\*\n`allowed_domains` blocked these:\n- ` registry\.npmjs\.org:443 `: connection, 12 attempts\n/);
    // A fence of two backticks around a name holding one: the name stays inside the code span.
    expect(section).toContain(`- \`\` ${hostile} \`\`: DNS lookup, 1 attempt`);
    expect(section).toContain('- ` [2001:db8::1]:22 `: connection, 2 attempts');
    expect(section).toContain('- and 2 more (see the job summary)');
    expect(section).not.toContain('h9.example');
  });

  it('the post step closes a comment left at running', async () => {
    const { api, secrets } = await report(1000);
    const { data } = await api.rest.issues.createComment({
      owner: 'o',
      repo: 'r',
      issue_number: 7,
      body: '<!-- agent-machine-action -->\n### 🤖 Agent running',
    });
    await closeLeftComment(api, { owner: 'o', repo: 'r', number: 7, id: data.id, runUrl: 'https://github.com/o/r/actions/runs/1' }, secrets);
    expect(fake.comments[0].body).toContain('Agent run ended without a report');
    expect(fake.comments[0].body).toContain('<!-- agent-machine-action -->');
  });
});
