// The few Docker Engine API calls the local backend needs, over the engine's unix socket
// (or tcp://) with undici. Every HTTP request of the backend lives here.
//
// Paths carry no version prefix: the engine then serves its own current API version, and
// every field used here is the same from 1.41 (Debian's 20.10) to today's engines, which
// reject too-old pinned versions.
import type { NetConnectOpts } from 'node:net';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { AgentMachineError } from '../../errors.js';
import { demux, type StreamOutput } from './demux.js';
import { HijackError, hijack, type HijackedStream } from './hijack.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** The engine answered ≥ 400; `engineMessage` is its own explanation. */
export class DockerApiError extends AgentMachineError {
  constructor(readonly statusCode: number, readonly engineMessage: string, method: string, path: string) {
    super('DOCKER_API', `Docker engine answered ${statusCode} to ${method} ${path.split('?')[0]}: ${engineMessage}`);
  }
}

export interface ContainerCreateBody {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  Labels: Record<string, string>;
  HostConfig: { Memory: number; MemorySwap: number; NanoCpus: number; AutoRemove: boolean; LogConfig: { Type: string } };
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
  signal?: AbortSignal;
  /** Waits and attached streams stay silent as long as the container runs. */
  unbounded?: boolean;
}

export class DockerApi {
  private readonly pool: Pool;
  /** The engine's address for the connections attach takes over. */
  private readonly target: NetConnectOpts;

  /** `host` as in DOCKER_HOST: unix:///path or tcp://host:port. */
  constructor(readonly host: string = DEFAULT_DOCKER_HOST) {
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

  static fromEnv(env: NodeJS.ProcessEnv = process.env): DockerApi {
    return new DockerApi(env.DOCKER_HOST?.trim() || DEFAULT_DOCKER_HOST);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  async hostCpus(): Promise<number> {
    return (await this.json<{ NCPU: number }>('GET', '/info')).NCPU;
  }

  async imageExists(name: string): Promise<boolean> {
    return (await this.optional(this.json('GET', `/images/${imagePath(name)}/json`))) !== undefined;
  }

  /** Pulls an image; resolves to the registry's reason when it could not (the engine reports pull errors inside a 200 stream). */
  async pullImage(name: string, signal: AbortSignal): Promise<string | undefined> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.send('POST', `/images/create?fromImage=${encodeURIComponent(name)}`, { signal, unbounded: true });
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

  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    return (await this.json<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, { body })).Id;
  }

  async startContainer(id: string): Promise<void> {
    await this.json('POST', `/containers/${id}/start`);
  }

  /** Whether the engine reported an `oom` event for the container in the last `seconds`. */
  async oomEventSeen(id: string, seconds: number): Promise<boolean> {
    const now = Math.ceil(Date.now() / 1000);
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], container: [id], event: ['oom'] }));
    const res = await this.send('GET', `/events?since=${now - Math.ceil(seconds)}&until=${now}&filters=${filters}`, {});
    return (await res.body.text()).includes('"oom"');
  }

  async inspectContainer(id: string): Promise<ContainerState> {
    return (await this.json<{ State: ContainerState }>('GET', `/containers/${id}/json`)).State;
  }

  /** Resolves when the container is not running; the engine answers at that moment. */
  async waitContainer(id: string, signal: AbortSignal): Promise<void> {
    await this.json('POST', `/containers/${id}/wait?condition=not-running`, { signal, unbounded: true });
  }

  /**
   * The container's stdout and stderr, multiplexed, until its output closes. Attach before
   * start to miss nothing: the engine answers once the attach is in place.
   */
  async attachContainer(id: string): Promise<HijackedStream> {
    const path = `/containers/${id}/attach?stream=1&stdout=1&stderr=1`;
    try {
      return await hijack(this.target, path);
    } catch (err) {
      if (err instanceof HijackError) throw new DockerApiError(err.statusCode, engineMessage(err.body), 'POST', path);
      throw this.unreachable(err) ?? err;
    }
  }

  /** Force-removes the container and its anonymous volumes; already gone (or going) is fine. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.json('DELETE', `/containers/${id}?force=1&v=1`);
    } catch (err) {
      const gone = err instanceof DockerApiError && (err.statusCode === 404 || (err.statusCode === 409 && /already in progress/.test(err.engineMessage)));
      if (!gone) throw err;
    }
  }

  /** Ids of containers, running or not, that carry every one of these labels. */
  async listContainers(labels: Record<string, string>): Promise<string[]> {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) });
    const list = await this.json<Array<{ Id: string }>>('GET', `/containers/json?all=1&filters=${encodeURIComponent(filters)}`);
    return list.map((c) => c.Id);
  }

  async execCreate(containerId: string, command: string[]): Promise<string> {
    const body = { Cmd: command, AttachStdout: true, AttachStderr: true, Tty: false };
    return (await this.json<{ Id: string }>('POST', `/containers/${containerId}/exec`, { body })).Id;
  }

  /** Runs the exec and streams its output; ends when the command's output is closed. */
  async *execStart(execId: string, signal?: AbortSignal): AsyncGenerator<StreamOutput> {
    const res = await this.send('POST', `/exec/${execId}/start`, { body: { Detach: false, Tty: false }, signal, unbounded: true });
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
    const res = await this.send(method, path, options);
    const text = await res.body.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: Method, path: string, { body, signal, unbounded }: SendOptions): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method,
        path,
        signal,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        ...(unbounded ? { headersTimeout: 0, bodyTimeout: 0 } : {}),
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
    return this.unavailable(`Cannot reach the Docker engine at ${this.host} (${code}). Is Docker running on this runner, and may this user use its socket? ` +
      `GitHub-hosted Linux runners have it; on a self-hosted runner install and start Docker, or set DOCKER_HOST to where ` +
      `the engine listens (now DOCKER_HOST=${this.host}). Or run on backend: fly.`, err);
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
