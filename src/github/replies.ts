// The action's answers to a trigger (a reaction, a one-off reply) and the markers that make
// every comment it writes recognisable, so it never triggers on itself.
import * as core from '@actions/core';
import type { Secrets } from '../secrets.js';
import { describe, type GitHub, type RepoRef } from './api.js';

/** Every comment the action writes starts with this. */
export const OWN_MARKER = '<!-- agent-machine-action';
/** Finds the sticky run comment again, across runs. */
export const STICKY_MARKER = `${OWN_MARKER} -->`;
const REPLY_MARKER = `${OWN_MARKER}:reply -->`;

export interface IssueRef extends RepoRef {
  number: number;
}

/** The eyes reaction: "seen, on it". */
export async function react(api: GitHub, repo: RepoRef, comment: { id: number; api: 'issue' | 'review' }, secrets: Secrets): Promise<void> {
  await warnOnError(secrets, 'react to the triggering comment', () =>
    comment.api === 'review'
      ? api.rest.reactions.createForPullRequestReviewComment({ ...repo, comment_id: comment.id, content: 'eyes' })
      : api.rest.reactions.createForIssueComment({ ...repo, comment_id: comment.id, content: 'eyes' }),
  );
}

/** A one-off answer (why nothing runs); separate from the sticky comment. */
export async function reply(api: GitHub, where: IssueRef, text: string, secrets: Secrets): Promise<void> {
  const body = secrets.redact(`${REPLY_MARKER}\n${text}`);
  await warnOnError(secrets, 'post a reply comment', () =>
    api.rest.issues.createComment({ owner: where.owner, repo: where.repo, issue_number: where.number, body }),
  );
}

/** A courtesy call to GitHub: its failure is a warning, never the run's failure. */
export async function warnOnError(secrets: Secrets, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    core.warning(secrets.redact(`Could not ${what}: ${describe(err)}`));
  }
}
