// A fake GitHub REST API on 127.0.0.1 for the routes the action calls: it keeps state
// (comments, reactions, pull requests, branches), records every call, and fails chosen
// routes on demand. Point the action at it with GITHUB_API_URL (or Context.apiUrl).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../helpers/servers.js';

export interface RecordedCall {
  method: string;
  /** Path without the query, e.g. `/repos/o/r/issues/1/comments`. */
  path: string;
  query: Record<string, string>;
  /** Raw request body: what a secrets check must search. */
  rawBody: string;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The status the fake answered. */
  status: number;
}

export interface Fault {
  method?: string;
  path: string | RegExp;
  status: number;
  /** How many calls fail; forever when absent. */
  times?: number;
}

export interface StoredComment {
  id: number;
  issue_number: number;
  body: string;
  html_url: string;
  user: { login: string; type: string };
}

/** Only what the fake reads; whole webhook `pull_request` objects fit. */
export interface StoredPull {
  number: number;
  state?: string;
  head: { ref: string };
  [key: string]: unknown;
}

export interface FakeGitHubOptions {
  /** login → repository role (admin, maintain, write, triage, read); anyone else is no collaborator (404). */
  roles?: Record<string, string>;
  /** Served by GET /repos/{o}/{r}/pulls/{n} and listed by GET /pulls. */
  pulls?: StoredPull[];
  branches?: string[];
  defaultBranch?: string;
  comments?: Omit<StoredComment, 'id' | 'html_url'>[];
  faults?: Fault[];
  /** Who the token belongs to: the author of comments it posts. */
  tokenUser?: string;
}

export interface FakeGitHub {
  url: string;
  calls: RecordedCall[];
  comments: StoredComment[];
  reactions: { commentId: number; kind: 'issue' | 'review'; content: string }[];
  pulls: StoredPull[];
  branches: Set<string>;
  fault(fault: Fault): void;
  close(): Promise<void>;
}

type Answer = [status: number, body?: unknown, headers?: Record<string, string>];
type Handler = (m: RegExpExecArray, body: Record<string, unknown>, query: Record<string, string>) => Answer;

/** repository role → the `permission` GitHub reports alongside it. */
const PERMISSION: Record<string, string> = { admin: 'admin', maintain: 'write', write: 'write', triage: 'read', read: 'read' };

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const roles = options.roles ?? {};
  const faults = [...(options.faults ?? [])];
  const tokenUser = options.tokenUser ?? 'github-actions[bot]';
  let nextId = 1000;
  const fake: FakeGitHub = {
    url: '',
    calls: [],
    comments: [],
    reactions: [],
    pulls: structuredClone(options.pulls ?? []),
    branches: new Set(options.branches ?? []),
    fault: (f) => {
      faults.push(f);
    },
    close: () => closeServer(server),
  };
  const addComment = (issue: number, body: string, user: StoredComment['user'], slug = 'owner/repo'): StoredComment => {
    const id = nextId++;
    const comment = { id, issue_number: issue, body, user, html_url: `https://github.com/${slug}/issues/${issue}#issuecomment-${id}` };
    fake.comments.push(comment);
    return comment;
  };
  for (const c of options.comments ?? []) addComment(c.issue_number, c.body, c.user);

  const repo = '/repos/([^/]+)/([^/]+)';
  const routes: [string, RegExp, Handler][] = [
    ['GET', new RegExp(`^${repo}$`), () => [200, { default_branch: options.defaultBranch ?? 'main' }]],
    [
      'GET',
      new RegExp(`^${repo}/collaborators/([^/]+)/permission$`),
      (m) => {
        const role = roles[decodeURIComponent(m[3])];
        return role ? [200, { permission: PERMISSION[role], role_name: role, user: { login: m[3] } }] : [404, { message: 'Not Found' }];
      },
    ],
    [
      'GET',
      new RegExp(`^${repo}/pulls/(\\d+)$`),
      (m) => {
        const pull = fake.pulls.find((p) => p.number === Number(m[3]));
        return pull ? [200, pull] : [404, { message: 'Not Found' }];
      },
    ],
    [
      'GET',
      new RegExp(`^${repo}/pulls$`),
      (_m, _b, q) => {
        const head = q.head?.split(':').pop();
        return [200, fake.pulls.filter((p) => (!head || p.head.ref === head) && (!q.state || q.state === 'all' || (p.state ?? 'open') === q.state))];
      },
    ],
    [
      'POST',
      new RegExp(`^${repo}/pulls$`),
      (m, b) => {
        if (fake.pulls.some((p) => p.head.ref === b.head && (p.state ?? 'open') === 'open')) {
          return [
            422,
            {
              message: 'Validation Failed',
              errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${m[1]}:${b.head}.` }],
            },
          ];
        }
        const number = Math.max(100, ...fake.pulls.map((p) => p.number)) + 1;
        const pull: StoredPull = {
          number,
          state: 'open',
          title: b.title,
          body: b.body,
          head: { ref: String(b.head) },
          base: { ref: b.base },
          html_url: `https://github.com/${m[1]}/${m[2]}/pull/${number}`,
        };
        fake.pulls.push(pull);
        return [201, pull];
      },
    ],
    [
      'GET',
      new RegExp(`^${repo}/branches/([^/]+)$`),
      (m) => {
        const name = decodeURIComponent(m[3]);
        return fake.branches.has(name) ? [200, { name }] : [404, { message: 'Branch not found' }];
      },
    ],
    [
      'GET',
      new RegExp(`^${repo}/issues/(\\d+)/comments$`),
      (m, _b, q) => {
        const all = fake.comments.filter((c) => c.issue_number === Number(m[3]));
        const perPage = Number(q.per_page ?? 30);
        const page = Number(q.page ?? 1);
        const next =
          page * perPage < all.length
            ? { link: `<${fake.url}/repos/${m[1]}/${m[2]}/issues/${m[3]}/comments?per_page=${perPage}&page=${page + 1}>; rel="next"` }
            : undefined;
        return [200, all.slice((page - 1) * perPage, page * perPage), next];
      },
    ],
    [
      'POST',
      new RegExp(`^${repo}/issues/(\\d+)/comments$`),
      (m, b) => [201, addComment(Number(m[3]), String(b.body), { login: tokenUser, type: 'Bot' }, `${m[1]}/${m[2]}`)],
    ],
    [
      'PATCH',
      new RegExp(`^${repo}/issues/comments/(\\d+)$`),
      (m, b) => {
        const comment = fake.comments.find((c) => c.id === Number(m[3]));
        if (!comment) return [404, { message: 'Not Found' }];
        comment.body = String(b.body);
        return [200, comment];
      },
    ],
    [
      'POST',
      new RegExp(`^${repo}/(issues|pulls)/comments/(\\d+)/reactions$`),
      (m, b) => {
        fake.reactions.push({ commentId: Number(m[4]), kind: m[3] === 'pulls' ? 'review' : 'issue', content: String(b.content) });
        return [201, { id: nextId++, content: b.content }];
      },
    ],
  ];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const body = rawBody ? JSON.parse(rawBody) : {};
      const query = Object.fromEntries(url.searchParams);
      const method = req.method ?? 'GET';
      const [status, answer, headers] = injected(method, url.pathname) ?? route(method, url.pathname, body, query);
      fake.calls.push({ method, path: url.pathname, query, rawBody, body, headers: req.headers, status });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(answer === undefined ? '' : JSON.stringify(answer));
    });
  });

  function injected(method: string, path: string): Answer | undefined {
    const i = faults.findIndex((f) => (!f.method || f.method === method) && (typeof f.path === 'string' ? f.path === path : f.path.test(path)));
    if (i < 0) return undefined;
    const fault = faults[i];
    if (fault.times !== undefined && --fault.times <= 0) faults.splice(i, 1);
    return [fault.status, { message: 'Injected fault' }];
  }

  function route(method: string, path: string, body: Record<string, unknown>, query: Record<string, string>): Answer {
    for (const [m, pattern, handler] of routes) {
      const match = m === method ? pattern.exec(path) : null;
      if (match) return handler(match, body, query);
    }
    return [404, { message: `fake GitHub has no route ${method} ${path}` }];
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
