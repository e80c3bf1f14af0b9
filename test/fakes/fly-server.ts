// A fake of Fly's Machines API, logs API and registry exists-check on 127.0.0.1, written
// from ../../../shared/fly-machines-api.md, with faults injected per scenario. Every machine
// "runs" the scenario's script: log lines spread over a duration, then an exit reported in
// one of the shapes Fly has used. Every request is recorded (time, operation, machine).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../helpers/servers.js';

export type Op = 'create' | 'list' | 'get' | 'wait' | 'destroy' | 'exec' | 'logs' | 'manifest';

export interface ExitSpec {
  /** Default 0. */
  code?: number;
  /**
   * Where the exit is reported: `event` request.exit_event (exit_code omitted when 0, as
   * Fly's omitempty does), `monitor` request.MonitorEvent.exit_event, `legacy`
   * events[].status.exit_code, `top-level` status.exit_code, `none` an exit event with no
   * code anywhere. Default `event`.
   */
  report?: 'event' | 'monitor' | 'legacy' | 'top-level' | 'none';
  /** The OOM killer ended it: state `failed`, oom_killed in the exit event. */
  oom?: boolean;
}

export interface Script {
  lines: string[];
  /** Infinity: a run that never ends (until destroyed). Lines are spread over it. */
  durationMs: number;
  exit?: ExitSpec;
}

export interface Fault {
  op: Op | Op[];
  /** How many matching requests get the fault (default 1), after letting `skip` pass. */
  times?: number;
  skip?: number;
  /**
   * A status (with an error body and optional Retry-After), `drop` (socket destroyed before
   * anything happens) or `lose-answer` (the request takes effect, then the socket is destroyed).
   */
  answer: { status: number; retryAfter?: string; body?: unknown } | 'drop' | 'lose-answer';
}

export interface Scenario {
  app?: string;
  /** As the action is given it; the fake expects the Authorization Fly's rules make of it. */
  token?: string;
  script?: Script;
  faults?: Fault[];
  /** Each request of these ops (default: all) answers 503 with this probability; seeded, so runs repeat. */
  random503?: { probability: number; seed?: number; ops?: Op[] };
  /** How long /wait blocks before its 408; stands in for the `timeout` seconds asked (≤ 60 s). */
  waitCapMs?: number;
  bootMs?: number;
  /** Between stop and auto-destroy. */
  autoDestroyMs?: number;
  /** How long a destroyed machine can still be read; 0: 404 at once. */
  keepDestroyedMs?: number;
  /** Lines reach the logs API this long after they are printed. */
  logDelayMs?: number;
  pageSize?: number;
  /** `repository:tag` manifests the registry has. */
  images?: string[];
}

export interface FakeRequest {
  at: number;
  method: string;
  path: string;
  api: 'machines' | 'logs' | 'registry';
  /** undefined: no such route. */
  op?: Op;
  machineId?: string;
  /** HTTP status, or how the connection was cut. */
  outcome: number | 'dropped' | 'lost';
}

export interface FakeMachine {
  id: string;
  name?: string;
  state: string;
  region: string;
  config: Record<string, any>;
  events: Record<string, any>[];
  status?: { exit_code: number };
  created_at: string;
  updated_at: string;
}

export interface FakeFly {
  url: string;
  app: string;
  token: string;
  machines(): FakeMachine[];
  /** Machines not destroyed. */
  liveMachines(): FakeMachine[];
  requests(): FakeRequest[];
  /** Most Machines API requests for one machine (or the worst machine) in any 1 s window. */
  busiestSecond(machineId?: string): number;
  addImage(repositoryAndTag: string): void;
  close(): Promise<void>;
}

interface Sim {
  machine: FakeMachine;
  logs: { at: number; message: string }[];
  timers: NodeJS.Timeout[];
  destroyedAt?: number;
  waiters: Set<{ state: string; done: (status: number, body: unknown) => void }>;
}

class Answer {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const WAIT_STATES = new Set(['started', 'stopped', 'suspended', 'destroyed']);

export async function startFakeFly(scenario: Scenario = {}): Promise<FakeFly> {
  const app = scenario.app ?? 'amt-test';
  const token = scenario.token ?? 'FlyV1 fm2_fake-secret-token';
  const bare = token.replace(/^(FlyV1|Bearer) /, '');
  const expectedAuth = /^(FlyV1|Bearer) /.test(token) ? token : /^(fm1r|fm1a|fm2)_/.test(bare) ? `FlyV1 ${bare}` : `Bearer ${bare}`;
  const basicAuth = `Basic ${Buffer.from(`x:${bare}`).toString('base64')}`;
  const script: Script = scenario.script ?? { lines: ['hello', '[flaude:exit:0]'], durationMs: 200 };
  const pageSize = scenario.pageSize ?? 100;
  const keepDestroyedMs = scenario.keepDestroyedMs ?? 60_000;
  const images = new Set(scenario.images ?? []);
  const sims = new Map<string, Sim>();
  const log: FakeRequest[] = [];
  const faultUse = (scenario.faults ?? []).map(() => ({ seen: 0, used: 0 }));
  const random = mulberry32(scenario.random503?.seed ?? 1);
  let closing = false;

  const now = () => Date.now();
  const iso = (t = now()) => new Date(t).toISOString();
  const later = (sim: Sim, ms: number, fn: () => void) => {
    if (Number.isFinite(ms)) sim.timers.push(setTimeout(fn, ms));
  };

  function setState(sim: Sim, state: string, event?: Record<string, any>): void {
    sim.machine.state = state;
    sim.machine.updated_at = iso();
    if (event) sim.machine.events.unshift({ id: randomBytes(8).toString('hex'), source: 'flyd', timestamp: now(), ...event });
    for (const waiter of [...sim.waiters]) {
      if (waiter.state === state) waiter.done(200, { ok: true });
      else if (state === 'destroyed') waiter.done(404, { error: 'machine not found' });
    }
  }

  function exitEvent(spec: ExitSpec, status: string): Record<string, any> {
    const code = spec.code ?? (spec.oom ? 137 : 0);
    const exit = {
      ...(code !== 0 ? { exit_code: code } : {}),
      exited_at: iso(),
      guest_exit_code: code,
      guest_signal: -1,
      oom_killed: spec.oom === true,
      requested_stop: false,
      restarting: false,
      signal: -1,
    };
    switch (spec.report ?? 'event') {
      case 'event':
        return { type: 'exit', status, request: { exit_event: exit, restart_count: 0 } };
      case 'monitor':
        return { type: 'exit', status, request: { MonitorEvent: { exit_event: exit } } };
      case 'legacy':
        return { type: 'exit', status: { exit_code: code } };
      case 'top-level':
      case 'none':
        return { type: 'exit', status };
    }
  }

  function finish(sim: Sim): void {
    const spec = script.exit ?? {};
    const state = spec.oom ? 'failed' : 'stopped';
    if (spec.report === 'top-level') sim.machine.status = { exit_code: spec.code ?? 0 };
    setState(sim, state, exitEvent(spec, state));
    // 0: gone in the same instant it stopped, so no later request can catch it readable.
    if (scenario.autoDestroyMs === 0) destroy(sim);
    else later(sim, scenario.autoDestroyMs ?? 50, () => destroy(sim));
  }

  function destroy(sim: Sim): void {
    sim.timers.forEach(clearTimeout);
    sim.timers = [];
    if (sim.machine.state === 'started' || sim.machine.state === 'created') {
      // Force-destroyed while running: killed by SIGKILL.
      setState(sim, 'stopping', {
        type: 'exit',
        status: 'stopped',
        request: { exit_event: { exited_at: now(), signal: 9, requested_stop: true, oom_killed: false } },
      });
    }
    sim.destroyedAt = now();
    setState(sim, 'destroyed', { type: 'destroy', status: 'destroyed', source: 'user' });
  }

  function boot(sim: Sim): void {
    setState(sim, 'started', { type: 'start', status: 'started' });
    const start = now();
    const n = script.lines.length;
    const spread = Number.isFinite(script.durationMs) ? script.durationMs / (n + 1) : 10;
    sim.logs = script.lines.map((message, i) => ({ at: start + spread * (i + 1), message }));
    later(sim, script.durationMs, () => finish(sim));
  }

  /** undefined once purged (GET answers 404). */
  function find(id: string): Sim | undefined {
    const sim = sims.get(id);
    if (sim?.destroyedAt !== undefined && now() - sim.destroyedAt >= keepDestroyedMs) return undefined;
    return sim;
  }

  const notFound = (what: string) => new Answer(404, { error: `${what} not found` });

  function route(target: Target, url: URL, body: any, req: IncomingMessage, res: ServerResponse, record: FakeRequest): Answer | Promise<Answer> {
    if (target.api === 'registry') {
      if (req.headers.authorization !== basicAuth) return new Answer(401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'www-authenticate': 'Basic realm="fake"' });
      const name = `${target.repository}:${target.reference}`;
      return images.has(name)
        ? new Answer(200, undefined, {
            'docker-content-digest': `sha256:${createHash('sha256').update(name).digest('hex')}`,
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
          })
        : new Answer(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    }
    if (req.headers.authorization !== expectedAuth) return new Answer(401, { error: 'unauthorized' });
    if (target.app !== app) return notFound('app');
    if (target.op === 'logs') return logsPage(target.machineId, url.searchParams.get('next_token'));
    if (target.op === 'create') return create(body, record);
    if (target.op === 'list') return list(url.searchParams);
    const sim = find(target.machineId!);
    if (target.op === 'get') return sim ? new Answer(200, sim.machine) : notFound('machine');
    if (target.op === 'wait') return wait(sim, url.searchParams, res);
    if (target.op === 'exec') {
      if (!sim || sim.machine.state === 'destroyed') return notFound('machine');
      if (sim.machine.state !== 'started') return new Answer(412, { error: `failed_precondition: machine is ${sim.machine.state}` });
      const command: string[] = body?.command ?? [];
      const code = command[0] === 'false' ? 1 : 0;
      return new Answer(200, { ...(code ? { exit_code: code } : {}), stdout: code ? '' : `${command.slice(1).join(' ')}\n`, stderr: '' });
    }
    // destroy
    if (!sim || sim.machine.state === 'destroyed') return notFound('machine');
    if (url.searchParams.get('force') !== 'true' && ['started', 'created'].includes(sim.machine.state)) {
      return new Answer(412, { error: 'failed_precondition: unable to destroy machine, not currently stopped, suspended or failed' });
    }
    destroy(sim);
    return new Answer(200, { ok: true });
  }

  function create(body: any, record: FakeRequest): Answer {
    if (!body?.config?.image) return new Answer(422, { error: 'invalid config: image is required', status: 'invalid_config' });
    if (body.name && [...sims.values()].some((s) => s.machine.name === body.name && s.machine.state !== 'destroyed')) {
      return new Answer(422, { error: `unable to create machine: name '${body.name}' already taken`, status: 'name_taken' });
    }
    const id = randomBytes(7).toString('hex');
    const machine: FakeMachine = {
      id,
      name: body.name,
      state: 'created',
      region: body.region ?? 'iad',
      config: body.config,
      events: [{ id: randomBytes(8).toString('hex'), type: 'launch', status: 'created', source: 'user', timestamp: now() }],
      created_at: iso(),
      updated_at: iso(),
    };
    const sim: Sim = { machine, logs: [], timers: [], waiters: new Set() };
    sims.set(id, sim);
    record.machineId = id;
    later(sim, scenario.bootMs ?? 30, () => boot(sim));
    return new Answer(200, machine);
  }

  function list(params: URLSearchParams): Answer {
    const includeDeleted = params.get('include_deleted') === 'true';
    const filters = [...params].filter(([k]) => k.startsWith('metadata.')).map(([k, v]) => [k.slice('metadata.'.length), v]);
    const found = [...sims.keys()]
      .map(find)
      .filter((s): s is Sim => !!s)
      .filter((s) => includeDeleted || s.machine.state !== 'destroyed')
      .filter((s) => filters.every(([k, v]) => s.machine.config.metadata?.[k] === v));
    return new Answer(
      200,
      found.map((s) => s.machine),
    );
  }

  function wait(sim: Sim | undefined, params: URLSearchParams, res: ServerResponse): Answer | Promise<Answer> {
    const state = params.get('state') ?? 'started';
    const timeout = Number(params.get('timeout') ?? '60');
    if (!WAIT_STATES.has(state)) return new Answer(400, { error: `invalid state '${state}'` });
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 60) return new Answer(400, { error: 'timeout must be 1 to 60 seconds' });
    if (!sim) return notFound('machine');
    if (sim.machine.state === state) return new Answer(200, { ok: true });
    if (sim.machine.state === 'destroyed') return notFound('machine');
    return new Promise((resolve) => {
      const waiter = {
        state,
        done: (status: number, body: unknown) => {
          clearTimeout(timer);
          sim.waiters.delete(waiter);
          resolve(new Answer(status, body));
        },
      };
      const timer = setTimeout(
        () => waiter.done(408, { error: `deadline_exceeded: machine did not reach state ${state} in time` }),
        Math.min(timeout * 1000, scenario.waitCapMs ?? timeout * 1000),
      );
      sim.waiters.add(waiter);
      res.on('close', () => {
        clearTimeout(timer);
        sim.waiters.delete(waiter);
      });
    });
  }

  function logsPage(instance: string | undefined, nextToken: string | null): Answer {
    const from = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
    const sim = instance ? sims.get(instance) : undefined;
    const visibleBefore = now() - (scenario.logDelayMs ?? 0);
    // Lines are in time order, so the visible ones are a prefix.
    const page = (sim?.logs ?? []).slice(from, from + pageSize).filter((l) => l.at <= visibleBefore);
    const data = page.map((l, i) => ({
      id: `${instance}-${from + i}`,
      type: 'logs',
      attributes: { timestamp: iso(l.at), message: l.message, level: 'info', instance, region: sim!.machine.region, meta: {} },
    }));
    return new Answer(200, { data, meta: { next_token: Buffer.from(String(from + data.length)).toString('base64url') } });
  }

  function applyFault(op: Op): Fault['answer'] | undefined {
    for (const [i, fault] of (scenario.faults ?? []).entries()) {
      if (!([] as string[]).concat(fault.op).includes(op)) continue;
      const use = faultUse[i];
      use.seen += 1;
      if (use.seen > (fault.skip ?? 0) && use.used < (fault.times ?? 1)) {
        use.used += 1;
        return fault.answer;
      }
    }
    const flaky = scenario.random503;
    if (flaky && (!flaky.ops || flaky.ops.includes(op)) && random() < flaky.probability) {
      return { status: 503, body: { error: 'service unavailable (injected)' } };
    }
    return undefined;
  }

  const server = createServer(async (req, res) => {
    const record: FakeRequest = { at: now(), method: req.method ?? 'GET', path: req.url ?? '/', api: 'machines', op: undefined, outcome: 0 };
    log.push(record);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: unknown;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    } catch {
      return send(res, record, new Answer(400, { error: 'invalid JSON body' }));
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const target = classify(url, record.method);
    Object.assign(record, { api: target.api, op: target.op, machineId: target.machineId });
    if (!target.op) return send(res, record, notFound('route'));
    const fault = applyFault(target.op);
    if (fault === 'drop') {
      record.outcome = 'dropped';
      return res.socket?.destroy();
    }
    if (fault && fault !== 'lose-answer') {
      return send(
        res,
        record,
        new Answer(fault.status, fault.body ?? { error: `injected ${fault.status}` }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
      );
    }
    const answer = await route(target as Target & { op: Op }, url, body, req, res, record);
    if (fault === 'lose-answer') {
      record.outcome = 'lost';
      return res.socket?.destroy();
    }
    send(res, record, answer);
  });

  function send(res: ServerResponse, record: FakeRequest, answer: Answer): void {
    record.outcome = answer.status;
    if (res.destroyed || closing) return;
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      'fly-request-id': randomBytes(10).toString('hex'),
      ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}),
      ...answer.headers,
    });
    res.end(record.method === 'HEAD' ? undefined : text);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    app,
    token,
    machines: () => [...sims.values()].map((s) => s.machine),
    liveMachines: () => [...sims.values()].map((s) => s.machine).filter((m) => m.state !== 'destroyed'),
    requests: () => [...log],
    busiestSecond: (machineId) => {
      const ids = machineId ? [machineId] : [...sims.keys()];
      return Math.max(0, ...ids.map((id) => busiest(log.filter((r) => r.api === 'machines' && r.machineId === id).map((r) => r.at))));
    },
    addImage: (name) => images.add(name),
    close: async () => {
      closing = true;
      for (const sim of sims.values()) sim.timers.forEach(clearTimeout);
      await closeServer(server);
    },
  };
}

interface Target {
  api: FakeRequest['api'];
  op?: Op;
  app?: string;
  machineId?: string;
  repository?: string;
  reference?: string;
}

/** Which API and operation a request is, and for which machine, before acting on it. */
function classify(url: URL, method: string): Target {
  const path = url.pathname;
  let m: RegExpExecArray | null;
  if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path)) && (method === 'HEAD' || method === 'GET')) {
    return { api: 'registry', op: 'manifest', repository: m[1], reference: m[2] };
  }
  if ((m = /^\/api\/v1\/apps\/([^/]+)\/logs$/.exec(path)) && method === 'GET') {
    return { api: 'logs', op: 'logs', app: m[1], machineId: url.searchParams.get('instance') ?? undefined };
  }
  if ((m = /^\/v1\/apps\/([^/]+)\/machines(?:\/([^/]+)(?:\/(wait|exec))?)?$/.exec(path))) {
    const [, app, machineId, action] = m;
    const op: Op | undefined = !machineId
      ? ({ POST: 'create', GET: 'list' } as const)[method as 'POST' | 'GET']
      : action === 'wait'
        ? method === 'GET'
          ? 'wait'
          : undefined
        : action === 'exec'
          ? method === 'POST'
            ? 'exec'
            : undefined
          : ({ GET: 'get', DELETE: 'destroy' } as const)[method as 'GET' | 'DELETE'];
    return { api: 'machines', op, app, machineId };
  }
  return { api: 'machines' };
}

function busiest(times: number[]): number {
  times.sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j] - times[i] >= 1000) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
