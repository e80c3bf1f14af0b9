// The one comment a run keeps on its pull request or issue: posted when the machine starts,
// updated with the result. A comment is a courtesy: no GitHub error here fails the run.
import * as core from '@actions/core';
import type { RunOutcome } from '../run/outcome.js';
import type { Secrets } from '../secrets.js';
import { describe, statusOf, type GitHub, type RepoRef } from './api.js';

/** Every comment the action writes starts with this, so it never triggers on itself. */
export const OWN_MARKER = '<!-- agent-machine-action';
/** Finds the sticky comment again, across runs. */
export const STICKY_MARKER = `${OWN_MARKER} -->`;
const TRUSTED = new Set(['OWNER', 'MEMBER', 'COLLABORATOR']);
const REPLY_MARKER = `${OWN_MARKER}:reply -->`;

export interface RunComment {
  /** Sticky "running" comment, with a link to the workflow run. */
  running(details: { backend: string; machineId?: string }): Promise<void>;
  /** Updates the same comment with the result. */
  finish(outcome: RunOutcome): Promise<void>;
  /** For the `comment_id` output. */
  readonly id?: number;
  /** For the job summary's link. */
  readonly url?: string;
}

/** comment: never, or nothing to comment on. */
export const SILENT: RunComment = {
  async running() {},
  async finish() {},
};

export interface IssueRef extends RepoRef {
  number: number;
}

/** What the comment tells besides the outcome. */
export interface CommentView {
  asker: string;
  task?: string;
  runUrl: string;
  /** `SERVER/owner/repo` of the repository pushed to, for commit links. */
  repositoryUrl: string;
  /** Set when nothing may be pushed, saying why. */
  readOnly?: string;
  /** Filled in by afterRun when it opened a pull request. */
  openedPullRequest?: number;
}

export class StickyComment implements RunComment {
  #id?: number;
  #url?: string;

  constructor(
    private readonly api: GitHub,
    private readonly where: IssueRef,
    private readonly view: CommentView,
    private readonly secrets: Secrets,
  ) {}

  get id(): number | undefined {
    return this.#id;
  }

  get url(): string | undefined {
    return this.#url;
  }

  running(details: { backend: string; machineId?: string }): Promise<void> {
    return this.#write(runningText(this.view, details));
  }

  finish(outcome: RunOutcome): Promise<void> {
    return this.#write(finishedText(this.view, outcome));
  }

  async #write(text: string): Promise<void> {
    const body = this.secrets.redact(`${STICKY_MARKER}\n${text}`);
    await warnOnError(this.secrets, 'update the run comment', async () => {
      this.#id ??= await this.#find();
      if (this.#id !== undefined) {
        try {
          const { data } = await this.api.rest.issues.updateComment({ owner: this.where.owner, repo: this.where.repo, comment_id: this.#id, body });
          this.#url = data.html_url;
          return;
        } catch (err) {
          // Deleted meanwhile (404), or not ours to edit after all (403): post a new one.
          if (statusOf(err) !== 404 && statusOf(err) !== 403) throw err;
        }
      }
      const { data } = await this.api.rest.issues.createComment({ ...this.where, issue_number: this.where.number, body });
      this.#id = data.id;
      this.#url = data.html_url;
    });
  }

  async #find(): Promise<number | undefined> {
    const comments = await this.api.paginate(this.api.rest.issues.listComments, {
      owner: this.where.owner, repo: this.where.repo, issue_number: this.where.number, per_page: 100,
    });
    // Only a bot's comment (the action posts as one with GITHUB_TOKEN) or a trusted member's
    // (a personal token) is ours: anyone can paste the marker into a comment of their own.
    return comments.find((c) => c.body?.includes(STICKY_MARKER) && (c.user?.type === 'Bot' || TRUSTED.has(c.author_association)))?.id;
  }
}

/** The eyes reaction: "seen, on it". */
export async function react(api: GitHub, repo: RepoRef, comment: { id: number; api: 'issue' | 'review' }, secrets: Secrets): Promise<void> {
  await warnOnError(secrets, 'react to the triggering comment', () => (comment.api === 'review'
    ? api.rest.reactions.createForPullRequestReviewComment({ ...repo, comment_id: comment.id, content: 'eyes' })
    : api.rest.reactions.createForIssueComment({ ...repo, comment_id: comment.id, content: 'eyes' })));
}

/** A one-off answer (why nothing runs); separate from the sticky comment. */
export async function reply(api: GitHub, where: IssueRef, text: string, secrets: Secrets): Promise<void> {
  const body = secrets.redact(`${REPLY_MARKER}\n${text}`);
  await warnOnError(secrets, 'post a reply comment', () => api.rest.issues.createComment({ owner: where.owner, repo: where.repo, issue_number: where.number, body }));
}

export async function warnOnError(secrets: Secrets, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    core.warning(secrets.redact(`Could not ${what}: ${describe(err)}`));
  }
}

function runningText(view: CommentView, details: { backend: string; machineId?: string }): string {
  return [
    '### 🤖 Agent running',
    '',
    startedBy(view, details.backend, details.machineId),
    ...(view.readOnly ? ['', `Read-only: ${view.readOnly}; nothing will be pushed.`] : []),
    ...(view.task ? ['', quote(view.task)] : []),
  ].join('\n');
}

const HEADLINES: Record<RunOutcome['conclusion'], string> = {
  success: '✅ Agent finished',
  failure: '❌ Agent failed',
  timeout: '⏱️ Agent timed out',
  cancelled: '🚫 Agent run cancelled',
  skipped: '⏭️ Agent run skipped',
};

function finishedText(view: CommentView, o: RunOutcome): string {
  const ok = o.conclusion === 'success';
  const lines = [`### ${HEADLINES[o.conclusion]} after ${formatDuration(o.durationSeconds)}`, ''];
  if (!ok && o.machineId) lines.push(`Exit code ${o.exitCode ?? 'unknown'}, state \`${o.state || 'unknown'}\`${o.oomKilled ? ' (out of memory)' : ''}.`);
  // Without a machine the error (image build, config) is the only explanation there is.
  if (!ok && !o.machineId && o.error) lines.push(o.error.split('\n')[0]);
  lines.push(changes(view, o), '', startedBy(view, o.backend, o.machineId));
  if (!ok && o.logTail.length) lines.push('', logDetails(o.logTail));
  return lines.join('\n');
}

function changes(view: CommentView, o: RunOutcome): string {
  if (o.pushed) {
    const commit = `[\`${o.pushed.sha.slice(0, 7)}\`](${view.repositoryUrl}/commit/${o.pushed.sha})`;
    return `Pushed ${commit} to \`${o.pushed.branch}\`.${view.openedPullRequest ? ` Opened #${view.openedPullRequest}.` : ''}`;
  }
  if (view.readOnly) return `Read-only: ${view.readOnly}; nothing was pushed.`;
  return o.conclusion === 'success' ? 'No changes.' : 'Nothing was pushed.';
}

function startedBy(view: CommentView, backend: string, machineId?: string): string {
  return `Requested by @${view.asker} · backend \`${backend}\`${machineId ? `, machine \`${machineId}\`` : ''} · [workflow run](${view.runUrl})`;
}

const MAX_TASK_CHARS = 1000;
/** GitHub rejects comment bodies over 65536 characters. */
const MAX_LOG_CHARS = 60_000;

function quote(text: string): string {
  const short = text.length > MAX_TASK_CHARS ? `${text.slice(0, MAX_TASK_CHARS)}…` : text;
  return short.split('\n').map((line) => `> ${line}`).join('\n');
}

function logDetails(tail: string[]): string {
  const text = tail.join('\n').slice(-MAX_LOG_CHARS);
  // A fence longer than any backtick run in the log, so the log can't close it early.
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `<details><summary>Last ${tail.length} log lines</summary>\n\n${fence}text\n${text}\n${fence}\n\n</details>`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}
