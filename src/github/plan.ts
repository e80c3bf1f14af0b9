// event → plan: whether this event starts a run, and if so on what (repos, branch to push,
// prompt with the pull request's or issue's context) and where it reports (the sticky comment).
import { InvalidConfigError } from '../errors.js';
import type { Config, RepoSpec } from '../config/config.js';
import { PullRequestReport, StickyComment, type CommentView } from '../report/pull-request.js';
import type { Secrets } from '../secrets.js';
import { createClient, readContext, required, statusOf, unlessNotFound, type Context, type GitHub, type RepoRef } from './api.js';
import { react, reply, type IssueRef } from './replies.js';
import { readTrigger, type IssueInfo, type PullRequestInfo, type Trigger } from './trigger.js';

export type { Context } from './api.js';

export interface RunPlan {
  /** Conclusion 'skipped': no machine is created. `quiet`: routine (not our comment, a bot…), worth an info line, not a notice. */
  skip?: { reason: string; quiet?: boolean };
  /** Task + PR/issue context; undefined when neither the comment nor the prompt input gives a task. */
  prompt?: string;
  repos: RepoSpec[];
  /** FLAUDE_PUSH_BRANCH; undefined for read-only runs (fork PRs, `repos` set by the workflow). */
  pushBranch?: string;
  /** The code comes from a fork: the machine gets no token (it clones a public fork without one). */
  untrusted?: boolean;
  /** `SERVER/owner/repo` the fix is pushed to, for commit links. */
  repositoryUrl?: string;
  /** Where the run reports on GitHub: the comment and, for issues, the pull request it opens. */
  pullRequest: PullRequestReport;
}

/** `permission` folds maintain into write and triage into read; custom roles into their base. */
const WRITE_PERMISSIONS = new Set(['admin', 'write']);

export async function planRun(config: Config, secrets: Secrets, ctx: Context = readContext()): Promise<RunPlan> {
  const read = readTrigger(ctx, config);
  if ('ignored' in read) return skipped(secrets, read.ignored, true);
  const { trigger } = read;
  if (!trigger.target) return { prompt: config.prompt, repos: config.repos, pullRequest: new PullRequestReport({ secrets }) };
  if (!config.githubToken)
    throw new InvalidConfigError('github_token', `needed to read and answer ${trigger.target.kind.replace('_', ' ')} #${trigger.target.number}`);

  const api = await createClient(config.githubToken, ctx);
  const repo = ctx.repo;
  const where: IssueRef = { ...repo, number: trigger.target.number };
  const commenting = config.comment === 'always' || (config.comment === 'auto' && !trigger.targetFromInput);
  const decline = async ({ reason, answer }: Declined): Promise<RunPlan> => {
    if (commenting) await reply(api, where, `@${trigger.asker} ${answer}`, secrets);
    return skipped(secrets, reason);
  };

  if (trigger.checkPermission) {
    const { permission, role } = await permissionOf(api, repo, trigger.asker);
    if (!WRITE_PERMISSIONS.has(permission)) {
      return decline({
        reason: `@${trigger.asker} has '${role}' access to ${repo.owner}/${repo.repo}; starting the agent needs write access`,
        answer: `only people with write access to this repository can start the agent (your access: \`${role}\`).`,
      });
    }
  }

  const target = trigger.target;
  const work =
    target.kind === 'pull_request'
      ? pullRequestWork(await pullRequest(api, repo, target.number, target.pullRequest), config, ctx)
      : await issueWork(api, repo, target.issue, ctx, secrets);
  if ('declined' in work) return decline(work.declined);

  const ownRepos = config.repos.length > 0;
  const view: CommentView = {
    asker: trigger.asker,
    task: trigger.task,
    runUrl: `${ctx.serverUrl}/${repo.owner}/${repo.repo}/actions/runs/${ctx.runId}`,
    repositoryUrl: work.repositoryUrl,
    // The workflow's own `repos` may be several or unrelated: pushing is for the default clone only.
    readOnly: work.readOnly ?? (ownRepos ? 'the workflow sets `repos`' : undefined),
  };
  const pushBranch = view.readOnly ? undefined : work.pushBranch;
  if (commenting && trigger.comment) await react(api, repo, trigger.comment, secrets);

  const { openPullRequest } = work;
  return {
    prompt: promptFor(trigger.task ?? config.prompt, repo, trigger, work.context, pushBranch),
    repos: ownRepos ? config.repos : work.repos,
    pushBranch,
    untrusted: work.untrusted,
    repositoryUrl: work.repositoryUrl,
    pullRequest: new PullRequestReport({
      secrets,
      comment: commenting ? new StickyComment(api, where, view, secrets) : undefined,
      pullRequestNumber: work.pullRequestNumber,
      openPullRequest: openPullRequest && ((branch) => openPullRequest(branch, view)),
    }),
  };
}

interface Declined {
  reason: string;
  /** The reply to the asker. */
  answer: string;
}

/** What the target (a pull request or an issue) gives the run. */
interface Work {
  repos: RepoSpec[];
  pushBranch: string;
  pullRequestNumber?: number;
  /** `SERVER/owner/repo` pushed to, for commit links. */
  repositoryUrl: string;
  readOnly?: string;
  untrusted?: boolean;
  /** Lines of the prompt's context section. */
  context: string[];
  /** Issues only: opens (or finds) the pull request from the pushed branch. */
  openPullRequest?: (branch: string, view: CommentView) => Promise<number>;
}

function skipped(secrets: Secrets, reason: string, quiet?: true): RunPlan {
  return { skip: { reason, ...(quiet ? { quiet } : {}) }, repos: [], pullRequest: new PullRequestReport({ secrets }) };
}

async function permissionOf(api: GitHub, repo: RepoRef, username: string): Promise<{ permission: string; role: string }> {
  const answer = await unlessNotFound(`permission of @${username}`, () => api.rest.repos.getCollaboratorPermissionLevel({ ...repo, username }));
  if (!answer) return { permission: 'none', role: 'none' }; // not a collaborator
  return { permission: answer.data.permission, role: answer.data.role_name || answer.data.permission };
}

async function pullRequest(api: GitHub, repo: RepoRef, number: number, fromPayload?: PullRequestInfo): Promise<PullRequestInfo> {
  if (fromPayload) return fromPayload;
  const { data } = await required(`pull request #${number}`, () => api.rest.pulls.get({ ...repo, pull_number: number }));
  return data;
}

function pullRequestWork(pr: PullRequestInfo, config: Config, ctx: Context): Work | { declined: Declined } {
  const n = pr.number;
  if (pr.state !== 'open')
    return { declined: { reason: `pull request #${n} is ${pr.state}`, answer: `#${n} is ${pr.state}; the agent only works on open pull requests.` } };
  const head = pr.head.repo;
  if (!head)
    return {
      declined: {
        reason: `the head repository of pull request #${n} was deleted`,
        answer: 'the head repository of this pull request was deleted, so there is no branch to work on.',
      },
    };
  const fork = head.full_name !== pr.base.repo.full_name;
  if (fork && !config.allowForks) {
    return {
      declined: {
        reason: `pull request #${n} comes from the fork ${head.full_name}; set allow_forks: true to run it read-only`,
        answer: `this pull request comes from the fork \`${head.full_name}\`. The agent does not run on forks: the workflow's token cannot push there, and running a fork's code with this repository's secrets is unsafe. The workflow can set \`allow_forks: true\` to run it read-only.`,
      },
    };
  }
  // A fork's branch is the fork's to move: its code runs as it was when the run was accepted,
  // not whatever was pushed after a maintainer said /fix.
  const pinned = fork ? pr.head.sha : undefined;
  return {
    repos: [{ url: head.clone_url, branch: pr.head.ref, ...(pinned ? { commit: pinned } : {}) }],
    pushBranch: pr.head.ref,
    pullRequestNumber: n,
    repositoryUrl: `${ctx.serverUrl}/${head.full_name}`,
    readOnly: pinned ? `pull request from the fork ${head.full_name}, at commit ${pinned.slice(0, 12)}` : undefined,
    untrusted: fork,
    context: [
      `Pull request: #${n} "${pr.title}" (${pr.html_url})`,
      `Base branch: ${pr.base.ref}; head branch: ${pr.head.ref}${fork ? ` in the fork ${head.full_name}` : ''}`,
    ],
  };
}

async function issueWork(api: GitHub, repo: RepoRef, issue: IssueInfo, ctx: Context, secrets: Secrets): Promise<Work> {
  const branch = `agent/issue-${issue.number}`;
  const base =
    (ctx.payload.repository?.default_branch as string | undefined) ?? (await required('repository', () => api.rest.repos.get({ ...repo }))).data.default_branch;
  // A second run on the same issue builds on what the first one pushed.
  const from = (await branchExists(api, repo, branch)) ? branch : base;
  return {
    repos: [{ url: `${ctx.serverUrl}/${repo.owner}/${repo.repo}.git`, branch: from }],
    pushBranch: branch,
    repositoryUrl: `${ctx.serverUrl}/${repo.owner}/${repo.repo}`,
    context: [
      `Issue: #${issue.number} "${issue.title}" (${issue.html_url})`,
      `Default branch: ${base}`,
      ...(issue.body?.trim() ? ['Issue description:', issue.body.trim()] : []),
    ],
    openPullRequest: async (head, view) => {
      try {
        const { data } = await api.rest.pulls.create({
          ...repo,
          head,
          base,
          title: secrets.redact(`Agent: ${issue.title}`),
          body: secrets.redact(`Closes #${issue.number}.\n\nThe agent's work for @${view.asker}, from [this workflow run](${view.runUrl}).`),
        });
        return data.number;
      } catch (err) {
        // 422 also when a pull request from this branch exists: an earlier run opened it.
        if (statusOf(err) !== 422) throw err;
        const { data } = await api.rest.pulls.list({ ...repo, head: `${repo.owner}:${head}`, state: 'open' });
        if (!data[0]) throw err;
        return data[0].number;
      }
    },
  };
}

async function branchExists(api: GitHub, repo: RepoRef, branch: string): Promise<boolean> {
  return (await unlessNotFound(`branch ${branch}`, () => api.rest.repos.getBranch({ ...repo, branch }))) !== undefined;
}

function promptFor(task: string | undefined, repo: RepoRef, trigger: Trigger, context: string[], pushBranch?: string): string | undefined {
  if (!task) return undefined;
  return [
    task,
    '',
    '---',
    'Context from GitHub:',
    `Repository: ${repo.owner}/${repo.repo}`,
    ...context,
    `Requested by: @${trigger.asker}${trigger.comment ? ` (${trigger.comment.url})` : ''}`,
    pushBranch
      ? `When you finish, your changes (committed or not) are committed and pushed to the branch ${pushBranch}; do not push yourself.`
      : 'This run is read-only: nothing you change will be pushed.',
  ].join('\n');
}
