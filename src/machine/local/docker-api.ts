// The few Docker Engine API calls the local backend needs, over the engine's unix socket
// (or tcp://) with undici. Every HTTP request of the backend lives here.
//
// Paths carry no version prefix: the engine then serves its own current API version, and
// every field used here is the same from 1.41 (Debian's 20.10) to today's engines, which
// reject too-old pinned versions. Podman's Docker-compatible API serves the same calls.
//
// Every call has a deadline, and the ones a run makes take its cancel signal: a hung engine
// ends the step with an error that says so, never a step that waits forever.
import type { NetConnectOpts } from 'node:net';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { AgentMachineError } from '../../errors.js';
import { errorCode } from '../../http/retry.js';
import { demux, type StreamOutput } from './demux.js';
import { HijackError, HijackTimeoutError, hijack, type HijackedStream } from './hijack.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/**
 * An engine answers create, start, attach, inspect and list in well under a second, a few
 * seconds on a loaded runner (create lays out the rootfs, start sets up cgroups and network).
 * A minute is past anything a healthy engine takes, and short next to a run.
 */
const DEFAULT_TIMEOUT_MS = 60_000;
/** A remove also deletes the container's writable layer: minutes when the agent wrote gigabytes. */
const DEFAULT_REMOVE_TIMEOUT_MS = 180_000;

export interface DockerApiOptions {
  /** Deadline of each call the engine answers at once; of the answer's head for streams (wait, pull, exec). */
  timeoutMs?: number;
  removeTimeoutMs?: number;
}

/** The engine did not answer within the call's deadline (hung, or far too busy). */
export class DockerTimeoutError extends AgentMachineError {
  constructor(
    readonly host: string,
    method: string,
    path: string,
    readonly seconds: number,
  ) {
    super(
      'DOCKER_API',
      `Docker engine at ${host} timed out: no answer to ${method} ${path.split('?')[0]} within ${seconds}s. ` +
        'The engine may be hung or overloaded (docker info shows whether it answers at all).',
    );
  }
}

/** The engine answered ≥ 400; `engineMessage` is its own explanation. */
export class DockerApiError extends AgentMachineError {
  constructor(
    readonly statusCode: number,
    readonly engineMessage: string,
    method: string,
    path: string,
  ) {
    super('DOCKER_API', `Docker engine answered ${statusCode} to ${method} ${path.split('?')[0]}: ${engineMessage}`);
  }
}

export interface ContainerCreateBody {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  Labels: Record<string, string>;
  HostConfig: { Memory: number; MemorySwap: number; NanoCpus: number; AutoRemove: boolean; LogConfig: { Type: string }; CapAdd?: string[] };
}

/** A container in the engine's list: its id and when it was created (Unix seconds). */
export interface ListedContainer {
  id: string;
  created: number;
}

/** The part of `State` in a container inspect this backend reads. */
export interface ContainerState {
  Status: string;
  ExitCode: number;
  OOMKilled: boolean;
  Dead: boolean;
  Error: string;
}

/** Connection errors that mean "no engine there", as opposed to an engine that failed. */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

type Method = Dispatcher.HttpMethod;
interface SendOptions {
  body?: unknown;
  /** The caller's cancel: the call rejects with its reason. */
  signal?: AbortSignal;
  /** Replaces the deadline (the api's `timeoutMs`). */
  timeoutMs?: number;
}

export class DockerApi {
  private readonly pool: Pool;
  /** The engine's address for the connections attach takes over. */
  private readonly target: NetConnectOpts;
  private readonly timeoutMs: number;
  private readonly removeTimeoutMs: number;
  private engineReportsOom: Promise<boolean> | undefined;

  /** `host` as in DOCKER_HOST: unix:///path or tcp://host:port. */
  constructor(
    readonly host: string = DEFAULT_DOCKER_HOST,
    options: DockerApiOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.removeTimeoutMs = options.removeTimeoutMs ?? DEFAULT_REMOVE_TIMEOUT_MS;
    if (host.startsWith('unix://')) {
      const path = host.slice('unix://'.length);
      this.pool = new Pool('http://localhost', { connect: { socketPath: path } });
      this.target = { path };
    } else if (host.startsWith('tcp://')) {
      const url = new URL(`http://${host.slice('tcp://'.length)}`);
      url.port ||= '2375'; // Docker's own default for tcp://, as the CLI reads DOCKER_HOST
      this.pool = new Pool(url.origin);
      this.target = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) };
    } else {
      throw this.unavailable(`DOCKER_HOST=${host} is not supported by the local backend (use unix:///path/to/docker.sock or tcp://host:port)`);
    }
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: DockerApiOptions = {}): DockerApi {
    return new DockerApi(env.DOCKER_HOST?.trim() || DEFAULT_DOCKER_HOST, options);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  async hostCpus(signal?: AbortSignal): Promise<number> {
    return (await this.json<{ NCPU: number }>('GET', '/info', { signal })).NCPU;
  }

  /**
   * Whether the engine says when it OOM-kills a container (State.OOMKilled or an `oom` event).
   * Docker does. Podman's Docker-compatible API (4.3 on cgroup v1, runc) reports an OOM kill
   * as a plain exit 137: no flag, no event. Asked once per api.
   */
  reportsOomKills(signal?: AbortSignal): Promise<boolean> {
    this.engineReportsOom ??= this.json<{ Components?: { Name?: string }[] }>('GET', '/version', { signal }).then(
      (version) => !(version.Components ?? []).some((c) => /podman/i.test(c.Name ?? '')),
      (err: unknown) => {
        this.engineReportsOom = undefined; // a failed ask is not an answer
        throw err;
      },
    );
    return this.engineReportsOom;
  }

  async imageExists(name: string): Promise<boolean> {
    return (await this.optional(this.json('GET', `/images/${imagePath(name)}/json`))) !== undefined;
  }

  /** Pulls an image; resolves to the registry's reason when it could not (the engine reports pull errors inside a 200 stream). */
  async pullImage(name: string, signal: AbortSignal): Promise<string | undefined> {
    let res: Dispatcher.ResponseData;
    try {
      // The engine answers at once and streams progress for as long as the pull takes: `signal` bounds that.
      res = await this.stream('POST', `/images/create?fromImage=${encodeURIComponent(name)}`, { signal });
    } catch (err) {
      if (err instanceof DockerApiError) return err.engineMessage;
      throw err;
    }
    let failure: string | undefined;
    for (const line of (await res.body.text()).split('\n')) {
      if (line.includes('"error"')) failure = (JSON.parse(line) as { error: string }).error;
    }
    return failure;
  }

  async createContainer(name: string, body: ContainerCreateBody, signal?: AbortSignal): Promise<string> {
    return (await this.json<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, { body, signal })).Id;
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<void> {
    await this.json('POST', `/containers/${id}/start`, { signal });
  }

  /** Whether the engine reported an `oom` event for the container in the last `seconds`. */
  async oomEventSeen(id: string, seconds: number): Promise<boolean> {
    const now = Math.ceil(Date.now() / 1000);
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], container: [id], event: ['oom'] }));
    return (await this.text('GET', `/events?since=${now - Math.ceil(seconds)}&until=${now}&filters=${filters}`)).includes('"oom"');
  }

  async inspectContainer(id: string): Promise<ContainerState> {
    return (await this.json<{ State: ContainerState }>('GET', `/containers/${id}/json`)).State;
  }

  /**
   * Resolves when the container is not running. The engine sends the answer's head at once
   * and its body at that moment: `signal` (the run's own deadline and cancel) bounds the rest.
   */
  async waitContainer(id: string, signal: AbortSignal): Promise<void> {
    const res = await this.stream('POST', `/containers/${id}/wait?condition=not-running`, { signal });
    await res.body.text();
  }

  /**
   * The container's stdout and stderr, multiplexed, until its output closes. Attach before
   * start to miss nothing: the engine answers once the attach is in place. The deadline and
   * `signal` bound that answer; the stream itself lasts as long as the container.
   */
  async attachContainer(id: string, signal?: AbortSignal): Promise<HijackedStream> {
    const path = `/containers/${id}/attach?stream=1&stdout=1&stderr=1`;
    try {
      return await hijack(this.target, path, { signal, timeoutMs: this.timeoutMs });
    } catch (err) {
      if (err instanceof HijackError) throw new DockerApiError(err.statusCode, engineMessage(err.body), 'POST', path);
      if (err instanceof HijackTimeoutError) throw new DockerTimeoutError(this.host, 'POST', path, this.timeoutMs / 1000);
      if (signal?.aborted) throw signal.reason;
      throw this.unreachable(err) ?? err;
    }
  }

  /** Force-removes the container and its anonymous volumes; already gone (or going) is fine. */
  async removeContainer(id: string, options: { timeoutMs?: number } = {}): Promise<void> {
    try {
      await this.json('DELETE', `/containers/${id}?force=1&v=1`, { timeoutMs: options.timeoutMs ?? this.removeTimeoutMs });
    } catch (err) {
      const gone = err instanceof DockerApiError && (err.statusCode === 404 || (err.statusCode === 409 && /already in progress/.test(err.engineMessage)));
      if (!gone) throw err;
    }
  }

  /** Ids of containers, running or not, that carry every one of these labels. */
  async listContainers(labels: Record<string, string>): Promise<string[]> {
    return (await this.containersLabelled(labels)).map((c) => c.id);
  }

  /** Containers, running or not, that carry every one of these labels, with their creation time. */
  async containersLabelled(labels: Record<string, string>): Promise<ListedContainer[]> {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) });
    const list = await this.json<Array<{ Id: string; Created: number }>>('GET', `/containers/json?all=1&filters=${encodeURIComponent(filters)}`);
    return list.map((c) => ({ id: c.Id, created: c.Created }));
  }

  async execCreate(containerId: string, command: string[]): Promise<string> {
    const body = { Cmd: command, AttachStdout: true, AttachStderr: true, Tty: false };
    return (await this.json<{ Id: string }>('POST', `/containers/${containerId}/exec`, { body })).Id;
  }

  /** Runs the exec and streams its output; ends when the command's output is closed, or `signal` fires. */
  async *execStart(execId: string, signal: AbortSignal): AsyncGenerator<StreamOutput> {
    const res = await this.stream('POST', `/exec/${execId}/start`, { body: { Detach: false, Tty: false }, signal });
    yield* demux(res.body);
  }

  async execExitCode(execId: string): Promise<number | null> {
    return (await this.json<{ ExitCode: number | null }>('GET', `/exec/${execId}/json`)).ExitCode;
  }

  /** A 404 answer as `undefined`, for lookups where "not there" is an answer. */
  private async optional<T>(pending: Promise<T>): Promise<T | undefined> {
    try {
      return await pending;
    } catch (err) {
      if (err instanceof DockerApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  private async json<T = unknown>(method: Method, path: string, options: SendOptions = {}): Promise<T> {
    const text = await this.text(method, path, options);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A call the engine answers at once: the deadline covers it whole, answer and body. */
  private async text(method: Method, path: string, options: SendOptions = {}): Promise<string> {
    const ms = options.timeoutMs ?? this.timeoutMs;
    const deadline = AbortSignal.timeout(ms);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const res = await this.send(method, path, options.body, { signal });
      return await res.body.text();
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (deadline.aborted) throw new DockerTimeoutError(this.host, method, path, ms / 1000);
      throw err;
    }
  }

  /**
   * A call whose body lasts as long as what it follows (a wait, a pull, an exec's output): the
   * deadline covers the answer's head; `signal` is all that bounds the body.
   */
  private async stream(method: Method, path: string, options: SendOptions & { signal: AbortSignal }): Promise<Dispatcher.ResponseData> {
    const ms = options.timeoutMs ?? this.timeoutMs;
    try {
      return await this.send(method, path, options.body, { signal: options.signal, headersTimeout: ms, bodyTimeout: 0 });
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason;
      if (errorCode(err) === 'UND_ERR_HEADERS_TIMEOUT') throw new DockerTimeoutError(this.host, method, path, ms / 1000);
      throw err;
    }
  }

  private async send(
    method: Method,
    path: string,
    body: unknown,
    limits: { signal: AbortSignal; headersTimeout?: number; bodyTimeout?: number },
  ): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method,
        path,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        ...limits,
      });
    } catch (err) {
      throw this.unreachable(err) ?? err;
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      throw new DockerApiError(res.statusCode, engineMessage(text), method, path);
    }
    return res;
  }

  /** DOCKER_UNAVAILABLE for an error that means no engine is there; undefined for any other. */
  private unreachable(err: unknown): AgentMachineError | undefined {
    const code = unreachableCode(err);
    if (!code) return undefined;
    return this.unavailable(
      `Cannot reach the Docker engine at ${this.host} (${code}). Is Docker running on this runner, and may this user use its socket? ` +
        `GitHub-hosted Linux runners have it; on a self-hosted runner install and start Docker, or set DOCKER_HOST to where ` +
        `the engine listens (now DOCKER_HOST=${this.host}). Or run on backend: fly.`,
      err,
    );
  }

  private unavailable(message: string, cause?: unknown): AgentMachineError {
    const err = new AgentMachineError('DOCKER_UNAVAILABLE', message);
    if (cause !== undefined) err.cause = cause;
    return err;
  }
}

/** Image references keep their slashes (the engine routes `/images/{name:.*}/json`). */
function imagePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function engineMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the text itself is the best explanation there is
  }
  return text.trim() || '(no message)';
}

/** undici may wrap socket errors, so the errno code can sit on the error or on a cause. */
function unreachableCode(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && UNREACHABLE.has(code)) return code;
  }
  return undefined;
}
