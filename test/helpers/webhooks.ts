// Real webhook payloads from @octokit/webhooks-examples, changed only where a case needs it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Payload = Record<string, any>;

export const REPO_URL = 'https://github.com/Codertocat/Hello-World';

const definitions: { name: string; examples: Payload[] }[] = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('@octokit/webhooks-examples'), 'utf8'),
);

/** A fresh copy of the first example of `event` with `action`, then `change` applied. */
export function example(event: string, action: string | undefined, change: (p: Payload) => void = () => {}): Payload {
  const found = definitions.find((d) => d.name === event)?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${event}.${action} example`);
  const payload = structuredClone(found);
  change(payload);
  return payload;
}

/** A /fix comment on pull request #2: the example comment is on an issue, so it gains `issue.pull_request`. */
export function prComment(body: string, change: (p: Payload) => void = () => {}): Payload {
  return example('issue_comment', 'created', (p) => {
    p.issue.number = 2;
    p.issue.pull_request = { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/2', html_url: `${REPO_URL}/pull/2` };
    p.comment.body = body;
    change(p);
  });
}
