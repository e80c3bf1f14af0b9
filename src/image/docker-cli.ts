// The docker CLI, for what the Engine API makes awkward: build (the CLI packs the context
// and drives BuildKit) and registry login/push (the CLI keeps the credentials).
import { spawn } from 'node:child_process';
import { ImageBuildError } from '../errors.js';

export interface DockerCommandOptions {
  /** Written to stdin, then closed (e.g. a registry password for --password-stdin). */
  stdin?: string;
  timeoutMs?: number;
  /** Kills the command (a cancelled job must not wait for a long build). */
  signal?: AbortSignal;
  /** Each line the command prints, as it prints it. */
  onLine?: (line: string) => void;
}

/** How much of each output stream is kept for the error. */
const OUTPUT_KEEP = 64 * 1024;

/** Runs `docker ARGS`; any failure (exit ≠ 0, timeout, no docker) is an ImageBuildError. */
export function runDocker(args: string[], options: DockerCommandOptions = {}): Promise<string> {
  const what = `docker ${args[0]}`;
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DOCKER_CLI_HINTS: 'false' }, signal: options.signal });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    const relay = (keep: (text: string) => void) => {
      let partial = '';
      return {
        take: (chunk: Buffer) => {
          const text = chunk.toString();
          keep(text);
          const lines = (partial + text).split('\n');
          partial = lines.pop()!;
          for (const line of lines) options.onLine?.(line);
        },
        /** A last line without a newline is a line too. */
        flush: () => {
          if (partial) options.onLine?.(partial);
        },
      };
    };
    const relays = [
      relay((t) => {
        stdout = (stdout + t).slice(-OUTPUT_KEEP);
      }),
      relay((t) => {
        stderr = (stderr + t).slice(-OUTPUT_KEEP);
      }),
    ];
    child.stdout.on('data', relays[0].take);
    child.stderr.on('data', relays[1].take);
    child.stdin.on('error', () => {}); // a command that exits before reading stdin is reported by its exit code
    child.stdin.end(options.stdin ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      if (!options.signal?.aborted) reject(new ImageBuildError(null, `cannot run docker: ${err.message}`, what));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      for (const r of relays) r.flush();
      if (options.signal?.aborted) reject(options.signal.reason);
      else if (timedOut) reject(new ImageBuildError(null, `${stderr}\ntimed out after ${options.timeoutMs! / 1000}s`.trim(), what));
      else if (code !== 0) reject(new ImageBuildError(code, stderr || stdout, what));
      else resolve(stdout);
    });
  });
}

export interface BuildRequest {
  tag: string;
  dockerfile: string;
  context: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export async function buildImage(request: BuildRequest): Promise<void> {
  // --force-rm: the classic builder otherwise keeps the container of a failed step (BuildKit ignores it).
  const args = ['build', '--force-rm', '--tag', request.tag, '--file', request.dockerfile, request.context];
  await runDocker(args, { timeoutMs: request.timeoutMs, signal: request.signal, onLine: request.onLine });
}

/** Gives image `source` the name `target` too (`docker image tag`). */
export async function tagImage(source: string, target: string, signal?: AbortSignal): Promise<void> {
  await runDocker(['image', 'tag', source, target], { timeoutMs: 30_000, signal });
}
