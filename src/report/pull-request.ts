// The pull-request side of the report, as one object: the sticky comment a run keeps on its
// pull request or issue (posted when the machine starts, updated with the result) and, for
// issue runs, the pull request opened from the pushed branch. A courtesy: no GitHub error
// here fails the run.
import { statusOf, type GitHub } from '../github/api.js';
import { STICKY_MARKER, warnOnError, type IssueRef } from '../github/replies.js';
import * as core from '@actions/core';
import { hostPort } from '../egress.js';
import type { MachineRef } from '../machine/machine.js';
import { STEP_STATE } from '../step-state.js';
import type { RunOutcome } from '../run/outcome.js';
import type { Secrets } from '../secrets.js';
import { formatDuration, HEADLINES } from './format.js';

const TRUSTED = new Set(['OWNER', 'MEMBER', 'COLLABORATOR']);

/** What the comment tells besides the outcome. */
export interface CommentView {
  asker: string;
  task?: string;
  runUrl: string;
  /** `SERVER/owner/repo` of the repository pushed to, for commit links. */
  repositoryUrl: string;
  /** Set when nothing may be pushed, saying why. */
  readOnly?: string;
}

/** What the pull-request side adds to the step's outputs and summary. */
export interface PullRequestResult {
  commentId?: number;
  commentUrl?: string;
  pullRequestNumber?: number;
}

export interface PullRequestReportParts {
  secrets: Secrets;
  /** The sticky comment; absent with `comment: never` or nothing to comment on. */
  comment?: StickyComment;
  /** The pull request the run works on, if any. */
  pullRequestNumber?: number;
  /** Issue runs: opens (or finds) the pull request from the pushed branch. */
  openPullRequest?: (branch: string) => Promise<number>;
}

/** What the running comment shows while the agent works. */
export interface Progress {
  elapsedSeconds: number;
  turns?: number;
  lastActivity?: string;
}

/** GitHub's comment edits are a courtesy to readers, not a live feed: at most one per this. */
export const PROGRESS_INTERVAL_MS = 30_000;

export class PullRequestReport {
  /** Every comment write, in order: a progress edit never overtakes the final one. */
  private writes: Promise<void> = Promise.resolve();
  private ticker?: NodeJS.Timeout;

  constructor(
    private readonly parts: PullRequestReportParts,
    private readonly progressIntervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  get commentId(): number | undefined {
    return this.parts.comment?.id;
  }

  get pullRequestNumber(): number | undefined {
    return this.parts.pullRequestNumber;
  }

  /**
   * The machine is up: the comment says so, then shows `progress()` every interval when it
   * changed. The run need not wait for any of it: `finished` does.
   */
  started(ref: MachineRef, progress?: () => Progress): Promise<void> {
    const { comment } = this.parts;
    if (!comment) return this.writes;
    this.write(() => comment.running(ref));
    if (progress) {
      let shown = '';
      this.ticker = setInterval(() => {
        const now = progress();
        const key = `${now.turns}\0${now.lastActivity}`;
        if (key === shown) return;
        shown = key;
        this.write(() => comment.running(ref, now));
      }, this.progressIntervalMs).unref();
    }
    return this.writes;
  }

  /** Opens the pull request when there is one to open, then finishes the comment, in that order. */
  async finished(outcome: RunOutcome): Promise<PullRequestResult> {
    const { comment, openPullRequest, secrets } = this.parts;
    clearInterval(this.ticker);
    await this.writes;
    let opened: number | undefined;
    const pushed = outcome.pushed;
    // A failed run's work (pushed only with push_on_failure) never becomes a pull request.
    if (openPullRequest && pushed && outcome.conclusion === 'success') {
      await warnOnError(secrets, `open a pull request from ${pushed.branch}`, async () => {
        opened = await openPullRequest(pushed.branch);
      });
    }
    if (comment) await this.write(() => comment.finish(outcome, opened));
    return { commentId: comment?.id, commentUrl: comment?.url, pullRequestNumber: opened ?? this.parts.pullRequestNumber };
  }

  private write(update: () => Promise<void>): Promise<void> {
    this.writes = this.writes.then(update);
    return this.writes;
  }
}

/** A comment left at "running", as the main step saves it for the post step. */
export interface LeftComment extends IssueRef {
  id: number;
  runUrl: string;
}

/** The post step's word on a comment the main step never finished: it was killed. */
export async function closeLeftComment(api: GitHub, left: LeftComment, secrets: Secrets): Promise<void> {
  const body = [
    STICKY_MARKER,
    '### ⚠️ Agent run ended without a report',
    '',
    `The step was stopped before it could report (the job was cancelled, or the runner killed it). Its machine was cleaned up. See the [workflow run](${left.runUrl}).`,
  ].join('\n');
  await warnOnError(secrets, 'close the run comment', () => api.rest.issues.updateComment({ owner: left.owner, repo: left.repo, comment_id: left.id, body }));
}

export class StickyComment {
  #id?: number;
  #url?: string;

  constructor(
    private readonly api: GitHub,
    private readonly where: IssueRef,
    readonly view: CommentView,
    private readonly secrets: Secrets,
  ) {}

  get id(): number | undefined {
    return this.#id;
  }

  get url(): string | undefined {
    return this.#url;
  }

  async running(ref: MachineRef, progress?: Progress): Promise<void> {
    await this.#write(runningText(this.view, ref, progress));
    // If the step dies before `finish`, the post step finds the comment here and closes it.
    if (this.#id !== undefined)
      core.saveState(STEP_STATE.comment, JSON.stringify({ ...this.where, id: this.#id, runUrl: this.view.runUrl } satisfies LeftComment));
  }

  async finish(outcome: RunOutcome, openedPullRequest?: number): Promise<void> {
    await this.#write(finishedText(this.view, outcome, openedPullRequest));
    core.saveState(STEP_STATE.comment, '');
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
      owner: this.where.owner,
      repo: this.where.repo,
      issue_number: this.where.number,
      per_page: 100,
    });
    // Only a bot's comment (the action posts as one with GITHUB_TOKEN) or a trusted member's
    // (a personal token) is ours: anyone can paste the marker into a comment of their own.
    return comments.find((c) => c.body?.includes(STICKY_MARKER) && (c.user?.type === 'Bot' || TRUSTED.has(c.author_association)))?.id;
  }
}

function runningText(view: CommentView, ref: MachineRef, progress?: Progress): string {
  return [
    '### 🤖 Agent running',
    '',
    ...(progress ? [progressLine(progress), ''] : []),
    startedBy(view, ref.backend, ref.id),
    ...(view.readOnly ? ['', `Read-only: ${view.readOnly}; nothing will be pushed.`] : []),
    ...(view.task ? ['', quote(view.task)] : []),
  ].join('\n');
}

function progressLine({ elapsedSeconds, turns, lastActivity }: Progress): string {
  const parts = [`${formatDuration(elapsedSeconds)} so far`];
  if (turns !== undefined) parts.push(`${turns} turn${turns === 1 ? '' : 's'}`);
  if (lastActivity) parts.push(`last: ${inlineCode(lastActivity)}`);
  return parts.join(' · ');
}

const MAX_RESULT_CHARS = 3000;

function finishedText(view: CommentView, o: RunOutcome, openedPullRequest?: number): string {
  const ok = o.conclusion === 'success';
  const lines = [`### ${HEADLINES[o.conclusion]}${o.failureReason ? ` (${o.failureReason})` : ''} after ${formatDuration(o.durationSeconds)}`, ''];
  const result = o.agent?.result?.trim();
  if (result) lines.push(quote(result.length > MAX_RESULT_CHARS ? `${result.slice(0, MAX_RESULT_CHARS)}…` : result), '');
  const figures = usageLine(o);
  if (figures) lines.push(figures, '');
  if (!ok && o.machineId) lines.push(`Exit code ${o.exitCode ?? 'unknown'}, state \`${o.state || 'unknown'}\`${o.oomKilled ? ' (out of memory)' : ''}.`);
  // Without a machine the error (image build, config) is the only explanation there is.
  if (!ok && !o.machineId && o.error) lines.push(o.error.split('\n')[0]);
  if (o.headMoved)
    lines.push(`The branch moved on to \`${o.headMoved.slice(0, 12)}\` after this run was accepted; the run worked on the commit it was accepted for.`, '');
  const network = blockedSection(o);
  if (network) lines.push(network, '');
  lines.push(changes(view, o, openedPullRequest), '', startedBy(view, o.backend, o.machineId));
  if (!ok && o.logTail.length) lines.push('', logDetails(o.logTail));
  return lines.join('\n');
}

/** At most this many blocked hosts are listed in the comment; the summary and blocked_hosts have them all. */
const MAX_COMMENT_HOSTS = 10;

/** The hosts the allowlist blocked, each in code so a hostile name can't turn into markdown, a link or a mention. */
function blockedSection(o: RunOutcome): string {
  const hosts = o.egress?.blocked ?? [];
  if (!hosts.length) return '';
  const audit = o.egress?.mode === 'audit';
  const items = hosts
    .slice(0, MAX_COMMENT_HOSTS)
    .map((h) => `- ${inlineCode(hostPort(h))}: ${h.port === undefined ? 'DNS lookup' : 'connection'}, ${h.count} attempt${h.count === 1 ? '' : 's'}`);
  if (hosts.length > MAX_COMMENT_HOSTS) items.push(`- and ${hosts.length - MAX_COMMENT_HOSTS} more (see the job summary)`);
  return [
    '**Blocked network access**',
    audit ? '`egress_mode: audit`: these were let through, and `allowed_domains` would have blocked them.' : '`allowed_domains` blocked these:',
    ...items,
  ].join('\n');
}

function changes(view: CommentView, o: RunOutcome, openedPullRequest?: number): string {
  if (o.pushed) {
    const commit = `[\`${o.pushed.sha.slice(0, 7)}\`](${view.repositoryUrl}/commit/${o.pushed.sha})`;
    return `Pushed ${commit} to \`${o.pushed.branch}\`.${openedPullRequest ? ` Opened #${openedPullRequest}.` : ''}`;
  }
  if (view.readOnly) return `Read-only: ${view.readOnly}; nothing was pushed.`;
  return o.conclusion === 'success' ? 'No changes.' : 'Nothing was pushed.';
}

function usageLine(o: RunOutcome): string {
  const a = o.agent;
  if (!a) return '';
  const parts: string[] = [];
  if (a.costUsd !== undefined) parts.push(`$${a.costUsd.toFixed(2)}`);
  if (a.numTurns !== undefined) parts.push(`${a.numTurns} turn${a.numTurns === 1 ? '' : 's'}`);
  if (a.inputTokens !== undefined && a.outputTokens !== undefined)
    parts.push(`${a.inputTokens.toLocaleString('en-US')} tokens in, ${a.outputTokens.toLocaleString('en-US')} out`);
  if (o.artifactUrl) parts.push(`[log and transcript](${o.artifactUrl})`);
  return parts.join(' · ');
}

/** Inline code that the text can't close early, on one line. */
function inlineCode(text: string): string {
  const line = text.replace(/\s+/g, ' ').slice(0, 200);
  const longest = Math.max(0, ...Array.from(line.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence} ${line} ${fence}`;
}

function startedBy(view: CommentView, backend: string, machineId?: string): string {
  return `Requested by @${view.asker} · backend \`${backend}\`${machineId ? `, machine \`${machineId}\`` : ''} · [workflow run](${view.runUrl})`;
}

const MAX_TASK_CHARS = 1000;
/** GitHub rejects comment bodies over 65536 characters. */
const MAX_LOG_CHARS = 60_000;

function quote(text: string): string {
  const short = text.length > MAX_TASK_CHARS ? `${text.slice(0, MAX_TASK_CHARS)}…` : text;
  return short
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

function logDetails(tail: string[]): string {
  const text = tail.join('\n').slice(-MAX_LOG_CHARS);
  // A fence longer than any backtick run in the log, so the log can't close it early.
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `<details><summary>Last ${tail.length} log lines</summary>\n\n${fence}text\n${text}\n${fence}\n\n</details>`;
}
