// Machines resource: create (never twice), get, list, destroy, exec.
import { randomUUID } from 'node:crypto';
import { FlyAPIError } from '../../errors.js';
import { realClock as clock } from '../../http/clock.js';
import type { FlyClient } from './client.js';

export interface FlyExitEvent {
  exit_code?: number;
  oom_killed?: boolean;
  signal?: number;
  guest_signal?: number;
  requested_stop?: boolean;
  exited_at?: number | string;
}

export interface FlyEvent {
  type?: string;
  /** A state name today; an object with exit_code in the legacy shape the seed reads. */
  status?: string | { exit_code?: number };
  timestamp?: number;
  request?: { exit_event?: FlyExitEvent; MonitorEvent?: { exit_event?: FlyExitEvent } };
}

export interface FlyMachineObject {
  id: string;
  name?: string;
  state: string;
  region?: string;
  /** RFC 3339. */
  created_at?: string;
  config?: { metadata?: Record<string, string> };
  /** Newest first. */
  events?: FlyEvent[];
  /** Legacy top-level status the seed reads. */
  status?: { exit_code?: number };
}

export interface CreateMachineBody {
  name?: string;
  region?: string;
  config: {
    image: string;
    env: Record<string, string>;
    guest: { cpu_kind: string; cpus: number; memory_mb: number };
    auto_destroy: boolean;
    restart: { policy: 'no' | 'always' | 'on-failure' };
    metadata: Record<string, string>;
    init?: { exec?: string[] };
  };
}

export interface FlyExecAnswer {
  exit_code?: number;
  exit_signal?: number;
  stdout?: string;
  stderr?: string;
}

/** Metadata key holding a value unique to one create call, to find its machine if the answer is lost. */
export const CREATE_KEY = 'amt_create_id';

/** Pacing buckets: Fly limits per machine, and per app for create and list. */
export const machineKey = (id: string) => `machine:${id}`;
const appKey = (app: string) => `app:${app}`;

const machinesPath = (app: string) => `/v1/apps/${encodeURIComponent(app)}/machines`;
export const machinePath = (app: string, id: string) => `${machinesPath(app)}/${encodeURIComponent(id)}`;

/** `signal` (a cancel) ends it at once; a machine it may have made then carries the caller's labels for a sweep. */
export async function createMachine(client: FlyClient, app: string, body: CreateMachineBody, signal?: AbortSignal): Promise<FlyMachineObject> {
  const key = randomUUID();
  const withKey = { ...body, config: { ...body.config, metadata: { ...body.config.metadata, [CREATE_KEY]: key } } };
  // Deleted ones too: a short run may have finished and auto-destroyed before we look.
  const findOurs = async (within?: AbortSignal) => (await listMachines(client, app, { [CREATE_KEY]: key }, { includeDeleted: true, signal: within }))[0];
  let machine: FlyMachineObject;
  try {
    ({ body: machine } = await client.machines.request<FlyMachineObject>({
      method: 'POST',
      path: machinesPath(app),
      json: withKey,
      paceKey: appKey(app),
      signal,
      reconcile: findOurs,
    }));
  } catch (err) {
    // A resend after an ambiguous failure meets the name the first attempt took: that machine
    // exists after all (the list had not caught up with it). It is ours: find it, never leave it.
    if (!(err instanceof FlyAPIError && err.statusCode === 422 && err.status === 'name_taken')) throw err;
    const found = await eventually(() => findOurs(signal), signal);
    if (!found) throw err;
    machine = found;
  }
  client.pacer.record(machineKey(machine.id));
  return machine;
}

/** The list may lag a create by a moment: ask a few times, a second apart. */
async function eventually<T>(lookup: () => Promise<T | undefined>, signal?: AbortSignal): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    const found = await lookup();
    if (found !== undefined || attempt === 5) return found;
    await clock.sleep(1000, signal);
  }
}

/** undefined once the machine is gone for good. */
export async function getMachine(client: FlyClient, app: string, id: string, signal?: AbortSignal): Promise<FlyMachineObject | undefined> {
  const answer = await client.machines.request<FlyMachineObject>({ method: 'GET', path: machinePath(app, id), paceKey: machineKey(id), signal, accept: [404] });
  return answer.status === 404 ? undefined : answer.body;
}

export async function listMachines(
  client: FlyClient,
  app: string,
  metadata: Record<string, string>,
  options: { includeDeleted?: boolean; signal?: AbortSignal } = {},
): Promise<FlyMachineObject[]> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) query[`metadata.${key}`] = value;
  if (options.includeDeleted) query.include_deleted = 'true';
  const { body } = await client.machines.request<FlyMachineObject[]>({
    method: 'GET',
    path: machinesPath(app),
    query,
    paceKey: appKey(app),
    signal: options.signal,
  });
  // Filter here as well, in case a server honours only some metadata filters: a machine
  // without our labels is never ours (sweep would destroy it, reconcile would adopt it).
  return (body ?? []).filter((m) => Object.entries(metadata).every(([k, v]) => m.config?.metadata?.[k] === v));
}

/** Force-destroys (killing it if running); already gone is fine. */
export async function destroyMachine(client: FlyClient, app: string, id: string): Promise<void> {
  await client.machines.request({ method: 'DELETE', path: machinePath(app, id), query: { force: 'true' }, paceKey: machineKey(id), accept: [404] });
}

export async function execMachine(client: FlyClient, app: string, id: string, command: string[], timeoutSeconds: number): Promise<FlyExecAnswer> {
  const { body } = await client.machines.request<FlyExecAnswer>({
    method: 'POST',
    path: `${machinePath(app, id)}/exec`,
    json: { command, timeout: timeoutSeconds },
    paceKey: machineKey(id),
    timeoutMs: (timeoutSeconds + 30) * 1000,
  });
  return body ?? {};
}
