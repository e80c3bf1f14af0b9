// event → trigger: who asked, for what, on which pull request or issue, or why this event
// starts nothing. Pure: reads the webhook payload only, no API calls.
import type { Config } from '../config/config.js';
import type { Context } from './api.js';
import { OWN_MARKER } from './replies.js';

export interface User {
  login: string;
  type?: string;
}

/** The fields read from a pull request, as webhook payloads and `GET /pulls/{n}` both give them. */
export interface PullRequestInfo {
  number: number;
  title: string;
  html_url: string;
  state: string;
  head: { ref: string; sha: string; repo: { full_name: string; clone_url: string } | null };
  base: { ref: string; repo: { full_name: string } };
}

export interface IssueInfo {
  number: number;
  title: string;
  body?: string | null;
  html_url: string;
}

export type Target = { kind: 'pull_request'; number: number; pullRequest?: PullRequestInfo } | { kind: 'issue'; number: number; issue: IssueInfo };

export interface Trigger {
  /** Whose request this is: the commenter, or the event's sender. */
  asker: string;
  /** The text after the trigger phrase, when a comment gave one. */
  task?: string;
  comment?: { id: number; api: 'issue' | 'review'; url: string };
  checkPermission: boolean;
  target?: Target;
  /** The target came from the `pull_request_number` input, not from the event itself. */
  targetFromInput: boolean;
}

/** The webhook fields read here; which are present depends on the event. */
interface EventPayload {
  action?: string;
  comment?: { id: number; body?: string | null; html_url: string; user: User };
  issue?: IssueInfo & { pull_request?: unknown };
  pull_request?: PullRequestInfo;
  /** The label added, on a `labeled` action. */
  label?: { name: string };
  sender?: User;
}

export type TriggerRead = { trigger: Trigger } | { ignored: string };

const PULL_REQUEST_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'labeled']);
const ISSUE_ACTIONS = new Set(['opened', 'labeled']);
/**
 * The one label that starts a run (README: "label an issue `agent`"); any other label on the
 * same issue or PR (bug, triage…) is routine and starts nothing. GitHub's label names are
 * case-insensitive, so is this.
 */
export const TRIGGER_LABEL = 'agent';

export function readTrigger(ctx: Context, config: Config): TriggerRead {
  const p = ctx.payload as EventPayload;
  const event = ctx.eventName;
  switch (event) {
    case 'issue_comment':
    case 'pull_request_review_comment': {
      if (p.action !== 'created') return { ignored: `${event} '${p.action}' does not start a run` };
      const comment = p.comment!;
      const body = comment.body ?? '';
      if (body.includes(OWN_MARKER)) return { ignored: "the comment is this action's own" };
      if (isBot(comment.user)) return { ignored: `@${comment.user.login} is a bot` };
      const task = taskAfterPhrase(body, config.triggerPhrase);
      if (task === null) return { ignored: `the comment does not contain '${config.triggerPhrase}'` };
      const review = event === 'pull_request_review_comment';
      // An issue_comment payload's issue says only that it is a pull request; planRun fetches the rest.
      const target: Target = review
        ? { kind: 'pull_request', number: p.pull_request!.number, pullRequest: p.pull_request }
        : p.issue!.pull_request
          ? { kind: 'pull_request', number: p.issue!.number }
          : { kind: 'issue', number: p.issue!.number, issue: p.issue! };
      return {
        trigger: {
          asker: comment.user.login,
          task: task || undefined,
          comment: { id: comment.id, api: review ? 'review' : 'issue', url: comment.html_url },
          checkPermission: true,
          target,
          targetFromInput: false,
        },
      };
    }
    case 'pull_request':
    case 'issues': {
      const pr = event === 'pull_request';
      if (!(pr ? PULL_REQUEST_ACTIONS : ISSUE_ACTIONS).has(p.action ?? '')) return { ignored: `${event} '${p.action}' does not start a run` };
      if (p.action === 'labeled' && p.label?.name.toLowerCase() !== TRIGGER_LABEL) {
        return { ignored: `the label '${p.label?.name ?? ''}' does not start a run (only '${TRIGGER_LABEL}' does)` };
      }
      const sender = p.sender!;
      if (isBot(sender)) return { ignored: `@${sender.login} is a bot` };
      const target: Target = pr
        ? { kind: 'pull_request', number: p.pull_request!.number, pullRequest: p.pull_request }
        : { kind: 'issue', number: p.issue!.number, issue: p.issue! };
      return { trigger: { asker: sender.login, checkPermission: true, target, targetFromInput: false } };
    }
    default:
      // Only events that need write access to cause: anything else (pull_request_target,
      // discussion comments, workflow_run…) could be started by anyone, so it never runs.
      if (!TRUSTED_EVENTS.has(event)) return { ignored: `the ${event} event does not start a run (it needs no write access to cause)` };
      return {
        trigger: {
          asker: p.sender?.login ?? ctx.actor,
          checkPermission: false,
          target: config.pullRequestNumber ? { kind: 'pull_request', number: config.pullRequestNumber } : undefined,
          targetFromInput: true,
        },
      };
  }
}

/** Events only people (or workflows) with write access can cause. */
const TRUSTED_EVENTS = new Set(['workflow_dispatch', 'workflow_call', 'schedule', 'push', 'repository_dispatch']);

export function isBot(user: User | undefined): boolean {
  return !!user && (user.type === 'Bot' || user.login.endsWith('[bot]'));
}

/**
 * The text after the trigger phrase ('' when nothing follows), or null when the body does
 * not hold the phrase as a word of its own. Quoted lines are ignored, so replying to a
 * `/fix` comment does not start another run; case-insensitive like the workflow's contains().
 */
export function taskAfterPhrase(body: string, phrase: string): string | null {
  const text = body
    .split(/\r?\n/)
    .filter((line) => !/^\s*>/.test(line))
    .join('\n');
  const escaped = phrase.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`(?:^|\\s)${escaped}(?=$|[\\s.,:;!?)])`, 'i').exec(text);
  return match ? text.slice(match.index + match[0].length).trim() : null;
}
