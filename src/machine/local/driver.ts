// The `local` backend: containers on the runner's own Docker engine.
import type { Config } from '../../config/config.js';
import { AgentMachineError } from '../../errors.js';
import { buildImage } from '../../image/docker-cli.js';
import { parseImageRef } from '../../image/ref.js';
import { contentTag } from '../../image/tag.js';
import type { BackendDriver, Machine, MachineRef, MachineSpec } from '../machine.js';
import { DockerApi, DockerApiError } from './docker-api.js';
import type { HijackedStream } from './hijack.js';
import { LocalMachine } from './machine.js';

export const BUNDLED_IMAGE_REPO = 'agent-machine-action';

export interface LocalDriverOptions {
  api?: DockerApi;
  buildTimeoutMs?: number;
}

const MIB = 1024 * 1024;

export class LocalDriver implements BackendDriver {
  readonly name = 'local' as const;
  private readonly api: DockerApi;
  private readonly buildTimeoutMs: number;

  constructor(private readonly config: Pick<Config, 'image' | 'dockerfile' | 'buildContext'>, options: LocalDriverOptions = {}) {
    this.api = options.api ?? DockerApi.fromEnv();
    this.buildTimeoutMs = options.buildTimeoutMs ?? 30 * 60_000;
  }

  /** `image` if the engine has it or can pull it, else built under that name; no `image`: the bundled one, by content tag. */
  async prepareImage(log: (line: string) => void, signal?: AbortSignal): Promise<string> {
    const { dockerfile, buildContext } = this.config;
    const tag = this.config.image ?? `${BUNDLED_IMAGE_REPO}:${await contentTag(dockerfile, buildContext)}`;
    if (await this.api.imageExists(tag)) {
      log(`Using image ${tag} from the Docker engine`);
      return tag;
    }
    if (this.config.image) {
      const deadline = AbortSignal.timeout(this.buildTimeoutMs);
      // A name without a tag would pull every tag of the repository: ask for the one docker runs.
      const { reference } = parseImageRef(tag);
      const pullRef = tag.endsWith(`:${reference}`) || tag.endsWith(`@${reference}`) ? tag : `${tag}:${reference}`;
      const failure = await this.api.pullImage(pullRef, signal ? AbortSignal.any([deadline, signal]) : deadline).catch((err: Error) => {
        if (signal?.aborted) throw err;
        return err.message; // the pull's own deadline: build instead
      });
      if (!failure) {
        log(`Pulled image ${tag}`);
        return tag;
      }
      log(`Could not pull ${tag} (${failure})`);
    }
    log(`Building image ${tag} from ${dockerfile}`);
    await buildImage({ tag, dockerfile, context: buildContext, timeoutMs: this.buildTimeoutMs, signal, onLine: log });
    return tag;
  }

  async create(spec: MachineSpec): Promise<Machine> {
    // The engine refuses NanoCpus above the host's count; a runner smaller than asked still runs.
    const cpus = Math.min(spec.guest.cpus, await this.api.hostCpus());
    const memory = spec.guest.memoryMb * MIB;
    let id: string;
    try {
      id = await this.api.createContainer(spec.name, {
        Image: spec.image,
        // A command replaces the image's whole argv, entrypoint included.
        Entrypoint: spec.command?.slice(0, 1),
        Cmd: spec.command?.slice(1),
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Labels: spec.labels,
        // MemorySwap = Memory: no swap on top, so the limit is the limit (OOM, not thrashing).
        // No log driver: the output reaches us only through the attach below. The default
        // json-file driver would keep a second copy under /var/lib/docker (a GiB for a GiB)
        // and cap the rate at which it can be read back at ~10 MB/s.
        HostConfig: { Memory: memory, MemorySwap: memory, NanoCpus: Math.round(cpus * 1e9), AutoRemove: false, LogConfig: { Type: 'none' } },
      });
    } catch (err) {
      if (err instanceof DockerApiError && err.statusCode === 404) {
        throw new AgentMachineError('IMAGE_NOT_FOUND', `Image ${spec.image} is not in the Docker engine (${err.engineMessage}); prepareImage builds it first`);
      }
      throw err;
    }
    let output: HijackedStream | undefined;
    try {
      output = await this.api.attachContainer(id);
      await this.api.startContainer(id);
    } catch (err) {
      // A container that never ran (e.g. its command does not exist) is no use to anyone.
      output?.destroy();
      await this.api.removeContainer(id).catch(() => {});
      throw err;
    }
    return new LocalMachine(this.api, id, output);
  }

  destroy(ref: MachineRef): Promise<void> {
    return this.api.removeContainer(ref.id);
  }

  async sweep(labels: Record<string, string>): Promise<string[]> {
    // No label would match every container on the engine, ours or not.
    if (Object.keys(labels).length === 0) throw new Error('sweep needs at least one label');
    const ids = await this.api.listContainers(labels);
    const results = await Promise.allSettled(ids.map((id) => this.api.removeContainer(id)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${(r.reason as Error).message}`] : []));
    // One container that will not go must not hide the others that did.
    if (failed.length) throw new AgentMachineError('DOCKER_API', `Could not remove container(s) ${failed.join('; ')}`);
    return ids;
  }

  ref(machine: Machine): MachineRef {
    return { backend: 'local', id: machine.id };
  }
}
