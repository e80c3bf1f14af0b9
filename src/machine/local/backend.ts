// The `local` backend: containers on the runner's own Docker engine.
import { AgentMachineError } from '../../errors.js';
import { buildImage, tagImage } from '../../image/docker-cli.js';
import { isBundledContext, prebuiltSource, type PrebuiltSource } from '../../image/prebuilt.js';
import { parseImageRef } from '../../image/ref.js';
import { contentTag } from '../../image/tag.js';
import type { Backend, ImageSource, Machine, MachineRef, MachineSpec, SweepOptions } from '../machine.js';
import { DockerApi, DockerApiError } from './docker-api.js';
import type { HijackedStream } from './hijack.js';
import { LocalMachine } from './machine.js';

export const BUNDLED_IMAGE_REPO = 'agent-machine-action';

export interface LocalBackendOptions extends ImageSource {
  api?: DockerApi;
  buildTimeoutMs?: number;
  /** Deadline of the prebuilt image's pull; past it the image is built instead (default 2 minutes). */
  pullTimeoutMs?: number;
  /** Where the bundled image is pulled from before it is built; default: this action's release image (prebuiltSource), for its own docker/ only. */
  prebuilt?: PrebuiltSource;
  /** Where GITHUB_ACTION_REPOSITORY, GITHUB_ACTION_REF and AGENT_IMAGE_REGISTRY are read. */
  env?: NodeJS.ProcessEnv;
  /** Worth a notice, not a failure: why the prebuilt image was not pulled. It is in the log either way. */
  notice?: (message: string) => void;
}

const MIB = 1024 * 1024;
/** A pull slower than this would likely be beaten by the build it stands in for. */
const PREBUILT_PULL_TIMEOUT_MS = 120_000;
/**
 * Removing a container that never ran is quick on a healthy engine. When create failed because
 * the engine hung or the run was cancelled (the runner sends SIGTERM 7.5 s after SIGINT), the
 * step must not wait on it: the post step sweeps by label whatever is left.
 */
const FAILED_CREATE_CLEANUP_MS = 5000;

export class LocalBackend implements Backend {
  readonly name = 'local' as const;
  private readonly api: DockerApi;
  private readonly buildTimeoutMs: number;

  constructor(private readonly source: LocalBackendOptions) {
    this.api = source.api ?? DockerApi.fromEnv();
    this.buildTimeoutMs = source.buildTimeoutMs ?? 30 * 60_000;
  }

  /**
   * `image` if the engine has it or can pull it, else built under that name. No `image`: the
   * bundled one by content tag: from the engine, else pulled prebuilt (and tagged with the local
   * name), else built.
   */
  async prepareImage(log: (line: string) => void, signal?: AbortSignal): Promise<string> {
    const { image, dockerfile, buildContext } = this.source;
    const tag = image ?? `${BUNDLED_IMAGE_REPO}:${await contentTag(dockerfile, buildContext)}`;
    if (await this.api.imageExists(tag)) {
      log(`Using image ${tag} from the Docker engine`);
      return tag;
    }
    if (image) {
      // A name without a tag would pull every tag of the repository: ask for the one docker runs.
      const { reference } = parseImageRef(tag);
      const pullRef = tag.endsWith(`:${reference}`) || tag.endsWith(`@${reference}`) ? tag : `${tag}:${reference}`;
      const failure = await this.pull(pullRef, this.buildTimeoutMs, signal);
      if (!failure) {
        log(`Pulled image ${tag}`);
        return tag;
      }
      log(`Could not pull ${tag} (${failure})`);
    } else if (await this.pullPrebuilt(tag, log, signal)) {
      return tag;
    }
    log(`Building image ${tag} from ${dockerfile}`);
    await buildImage({ tag, dockerfile, context: buildContext, timeoutMs: this.buildTimeoutMs, signal, onLine: log });
    return tag;
  }

  /** The release workflow's image of this content, named `tag` once pulled; false, and why in a notice, when it could not be pulled. */
  private async pullPrebuilt(tag: string, log: (line: string) => void, signal?: AbortSignal): Promise<boolean> {
    const { dockerfile, buildContext } = this.source;
    let prebuilt = this.source.prebuilt;
    if (!prebuilt) {
      // Only the action's own docker/ is pushed; a workflow's own Dockerfile is simply built.
      if (!isBundledContext(dockerfile, buildContext)) return false;
      prebuilt = prebuiltSource(this.source.env);
      if (!prebuilt) {
        log('No prebuilt image to pull: GITHUB_ACTION_REPOSITORY is not set (the action runs from a path, not from its repository)');
        return false;
      }
    }
    const ref = `${prebuilt.repository}:${parseImageRef(tag).reference}`;
    const started = performance.now();
    const timeoutMs = this.source.pullTimeoutMs ?? PREBUILT_PULL_TIMEOUT_MS;
    const failure = await this.pull(ref, timeoutMs, signal);
    if (failure) {
      const message = `No prebuilt agent image for ${prebuilt.action}: pulling ${ref} failed (${failure}). Building it from ${dockerfile} instead, which takes a minute or more.`;
      log(message);
      this.source.notice?.(message);
      return false;
    }
    await tagImage(ref, tag, signal);
    log(`Pulled prebuilt image ${ref} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return true;
  }

  /** Pulls `ref` within `timeoutMs`: undefined once the engine has it, else the reason it could not. Cancel rejects. */
  private async pull(ref: string, timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      return await this.api.pullImage(ref, signal ? AbortSignal.any([deadline, signal]) : deadline);
    } catch (err) {
      if (signal?.aborted) throw err;
      return deadline.aborted ? `no answer within ${timeoutMs / 1000} s` : (err as Error).message;
    }
  }

  async create(spec: MachineSpec, signal?: AbortSignal): Promise<Machine> {
    // The engine refuses NanoCpus above the host's count; a runner smaller than asked still runs.
    const cpus = Math.min(spec.cpus, await this.api.hostCpus(signal));
    const memory = spec.memoryMb * MIB;
    let id: string;
    try {
      id = await this.api.createContainer(
        spec.name,
        {
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
          HostConfig: {
            Memory: memory,
            MemorySwap: memory,
            NanoCpus: Math.round(cpus * 1e9),
            AutoRemove: false,
            LogConfig: { Type: 'none' },
            // Only for the allowlist's firewall, set up by root before the agent (which has no capabilities) starts.
            ...(spec.netAdmin ? { CapAdd: ['NET_ADMIN'] } : {}),
          },
        },
        signal,
      );
    } catch (err) {
      if (err instanceof DockerApiError && err.statusCode === 404) {
        throw new AgentMachineError('IMAGE_NOT_FOUND', `Image ${spec.image} is not in the Docker engine (${err.engineMessage}); prepareImage builds it first`);
      }
      throw err;
    }
    let output: HijackedStream | undefined;
    try {
      output = await this.api.attachContainer(id, signal);
      await this.api.startContainer(id, signal);
    } catch (err) {
      // A container that never ran (e.g. its command does not exist) is no use to anyone.
      output?.destroy();
      await this.api.removeContainer(id, { timeoutMs: FAILED_CREATE_CLEANUP_MS }).catch(() => {});
      throw err;
    }
    return new LocalMachine(this.api, id, output, memory);
  }

  destroy(ref: MachineRef): Promise<void> {
    return this.api.removeContainer(ref.id);
  }

  async sweep(labels: Record<string, string>, options: SweepOptions = {}): Promise<string[]> {
    // No label would match every container on the engine, ours or not.
    if (Object.keys(labels).length === 0) throw new Error('sweep needs at least one label');
    const { olderThanSeconds } = options;
    const now = Date.now() / 1000;
    const ids = (await this.api.containersLabelled(labels))
      .filter((c) => olderThanSeconds === undefined || now - c.created >= olderThanSeconds)
      .map((c) => c.id);
    const results = await Promise.allSettled(ids.map((id) => this.api.removeContainer(id)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${(r.reason as Error).message}`] : []));
    // One container that will not go must not hide the others that did.
    if (failed.length) throw new AgentMachineError('DOCKER_API', `Could not remove container(s) ${failed.join('; ')}`);
    return ids;
  }
}
