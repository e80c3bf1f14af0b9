// GitHub REST calls have deadlines: the fake GitHub behind a proxy that holds the chosen
// requests and never answers them. A call ends with a GITHUB_API error that says it timed out,
// or at once on the caller's cancel.
import { describe, expect, it } from 'vitest';
import { createClient, required, type ClientTimeouts, type Context } from '../../src/github/api.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github-server.js';
import { closeAfterEach, timed } from '../helpers/deadlines.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

const TOKEN = 'ghs_fakeGitHubToken0123456789abcdef';
/** Short enough for a test; the defaults (30 s an attempt, 2 min a call) are what runs use. */
const TIMEOUTS: ClientTimeouts = { attemptMs: 300, deadlineMs: 1500 };

const closeLater = closeAfterEach();
let fake: FakeGitHub;
let proxy: Proxy;

/** A client of the fake GitHub, through a proxy that holds what `hang` picks. */
async function hungGitHub(hang: (method: string, path: string) => boolean, timeouts: ClientTimeouts = TIMEOUTS) {
  fake = closeLater(await startFakeGitHub({ roles: { Codertocat: 'write' } }));
  proxy = closeLater(await startProxy({ upstream: { url: fake.url }, hang }));
  const ctx: Context = {
    eventName: 'workflow_dispatch',
    payload: {},
    actor: 'Codertocat',
    runId: 1,
    serverUrl: 'https://github.com',
    apiUrl: proxy.url,
    repo: { owner: 'o', repo: 'r' },
  };
  return createClient(TOKEN, ctx, timeouts);
}

describe('a GitHub API that never answers', { timeout: 30_000 }, () => {
  it('ends a repeatable call by its deadline, each silent attempt cut and retried', async () => {
    const octokit = await hungGitHub((method, path) => method === 'GET' && path.endsWith('/permission'));
    const call = required('permission of @Codertocat', () =>
      octokit.rest.repos.getCollaboratorPermissionLevel({ owner: 'o', repo: 'r', username: 'Codertocat' }),
    );
    const { ms, error } = await timed(call);
    expect(error).toMatchObject({
      code: 'GITHUB_API',
      message: expect.stringMatching(
        /^GitHub API \(permission of @Codertocat\) failed: timed out: no answer to GET \/repos\/\{owner\}\/\{repo\}\/collaborators\/\{username\}\/permission within (0.3|1.5)s/,
      ),
    });
    expect(proxy.held.length).toBeGreaterThanOrEqual(2);
    expect(ms).toBeLessThan(4000);
    // Other calls of the same client still work.
    expect((await octokit.rest.repos.get({ owner: 'o', repo: 'r' })).data).toMatchObject({ default_branch: 'main' });
  });

  it('does not resend a call that may have done its work (a new comment): one attempt, then the error', async () => {
    const octokit = await hungGitHub((method) => method === 'POST');
    const { ms, error } = await timed(required('comment', () => octokit.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: 1, body: 'hi' })));
    expect(error).toMatchObject({
      code: 'GITHUB_API',
      message: expect.stringContaining('timed out: no answer to POST /repos/{owner}/{repo}/issues/{issue_number}/comments within 0.3s (1 attempt(s))'),
    });
    expect(proxy.held).toHaveLength(1);
    expect(ms).toBeLessThan(2500);
    expect(fake.comments).toEqual([]);
  });

  it("ends at once on the caller's cancel, with its reason (deadlines far off)", async () => {
    const octokit = await hungGitHub(() => true, {});
    const cancel = new AbortController();
    const reason = new Error('SIGINT');
    setTimeout(() => cancel.abort(reason), 200);
    const { ms, error } = await timed(octokit.rest.repos.get({ owner: 'o', repo: 'r', request: { signal: cancel.signal } }));
    expect(error).toBe(reason);
    expect(ms).toBeLessThan(1000);
  });
});
