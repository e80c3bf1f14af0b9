// Runs docker/entrypoint.sh outside a container, with real bash and real git: bare repositories
// as remotes, a fake `claude` on PATH, a workspace in a temp directory. As root it runs the way a
// container runs it: PID 1 of a PID namespace of its own (`unshare --pid --fork`), so that its
// `kill -1` as the agent user reaches the agent's processes and no other of the host's.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
export { promptEnv } from '../../src/protocol.js';

export const ENTRYPOINT = resolve(import.meta.dirname, '../../docker/entrypoint.sh');

const AS_ROOT = process.getuid?.() === 0;
/**
 * As root the entrypoint always drops privileges: it has no switch to stay root. `nobody` exists
 * on every system, so the tests make the drop really happen (and hand the record dir to `nobody`).
 * Not root, the entrypoint runs as it is.
 */
export const AGENT_USER = AS_ROOT ? 'nobody' : userInfo().username;

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

export interface EntrypointRun {
  code: number | null;
  /** stdout and stderr as they arrived. */
  output: string;
  lines: string[];
  /** With `extraFd`: what that descriptor is (`pipe:[N]`), to be looked for among the agent's. */
  extraFd?: string;
}

/** What the harness itself hands the fake claude and the git shim: listed in FLAUDE_AGENT_ENV for them. */
const HARNESS_ENV = ['FAKE_RECORD', 'REAL_GIT'];

export interface RunOptions {
  /** Put test/image/git-shim.sh on PATH as `git` (logs calls, shows clone overlap). */
  gitShim?: boolean;
  /** Start the entrypoint with one more open descriptor (fd 3, a pipe), as a careless launcher might. */
  extraFd?: boolean;
  /** Send SIGTERM once the output contains this text. */
  terminateWhen?: string;
}

export class Sandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'amt-entrypoint-'));
  readonly workspace = join(this.root, 'workspace');
  private readonly record = join(this.root, 'record');
  private readonly bin = join(this.root, 'bin');
  private readonly shim = join(this.root, 'shim');
  private readonly gitEnv: NodeJS.ProcessEnv;

  constructor() {
    for (const dir of [this.record, this.bin, this.shim]) mkdirSync(dir);
    copyFileSync(resolve(import.meta.dirname, 'fake-claude.sh'), join(this.bin, 'claude'));
    copyFileSync(resolve(import.meta.dirname, 'git-shim.sh'), join(this.shim, 'git'));
    // The tests' own git: an identity for seeding, and leave to read repositories `nobody` owns.
    const gitconfig = join(this.root, 'gitconfig');
    writeFileSync(gitconfig, '[user]\n\tname = Seed\n\temail = seed@example.com\n[safe]\n\tdirectory = *\n');
    this.gitEnv = { PATH: process.env.PATH, HOME: this.root, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1' };
  }

  git(cwd: string, ...args: string[]): string {
    return execFileSync(REAL_GIT, args, { cwd, env: this.gitEnv, encoding: 'utf8' }).trim();
  }

  /** A bare repository `NAME.git` in `dir` with `main` (README) and `feature` (README, FEATURE); its file:// URL. */
  remote(name: string, dir = join(this.root, 'remotes')): string {
    const seed = join(this.root, 'seed', name);
    mkdirSync(seed, { recursive: true });
    this.git(seed, 'init', '-q', '-b', 'main');
    writeFileSync(join(seed, 'README'), `${name}\n`);
    this.git(seed, 'add', 'README');
    this.git(seed, 'commit', '-q', '-m', 'initial');
    this.git(seed, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(seed, 'FEATURE'), 'feature\n');
    this.git(seed, 'add', 'FEATURE');
    this.git(seed, 'commit', '-q', '-m', 'feature');
    this.git(seed, 'checkout', '-q', 'main');
    const bare = join(dir, `${name}.git`);
    this.git(this.root, 'clone', '-q', '--bare', seed, bare);
    return pathToFileURL(bare).href;
  }

  /** Where the agent may write (as the agent user): `record/NAME`. */
  recordPath(name = ''): string {
    return join(this.record, name);
  }

  /** What the fake claude (or the git shim) wrote to `record/NAME`; undefined when it didn't run. */
  recorded(name: string): string | undefined {
    const file = join(this.record, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  /**
   * Runs the entrypoint with `env` (and the harness's own variables). The agent gets the plain
   * ones the harness uses, FAKE_* and those `env.FLAUDE_AGENT_ENV` names: the entrypoint passes
   * nothing else on.
   */
  run(env: Record<string, string>, options: RunOptions = {}): Promise<EntrypointRun> {
    if (AS_ROOT) {
      // The agent may read the sandbox (nothing secret is in it) and write only the record.
      chmodSync(this.root, 0o755);
      execFileSync('chown', ['-R', `${AGENT_USER}:`, this.record]);
    }
    const agentEnv = [env.FLAUDE_AGENT_ENV, ...HARNESS_ENV, ...Object.keys(env).filter((key) => key.startsWith('FAKE_'))];
    const [command, args] = AS_ROOT ? ['unshare', ['--pid', '--fork', '--kill-child', '--', ENTRYPOINT]] : [ENTRYPOINT, []];
    const child = spawn(command, args, {
      stdio: options.extraFd ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      // A clean environment: the runner's own GITHUB_TOKEN and friends must not leak in.
      env: {
        PATH: [...(options.gitShim ? [this.shim] : []), this.bin, process.env.PATH].join(':'),
        HOME: this.root,
        FLAUDE_WORKSPACE: this.workspace,
        FLAUDE_AGENT_USER: AGENT_USER,
        FAKE_RECORD: this.record,
        REAL_GIT,
        ...env,
        FLAUDE_AGENT_ENV: agentEnv.filter(Boolean).join(','),
      },
    });
    const extraFd = options.extraFd ? readlinkSync(`/proc/${child.pid}/fd/3`) : undefined;
    (child.stdio[3] as Readable | null)?.resume();
    let output = '';
    let terminated = false;
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.terminateWhen && !terminated && output.includes(options.terminateWhen)) {
        terminated = true;
        this.terminate(child.pid!);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    return new Promise((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, output, lines: output.trimEnd().split('\n'), extraFd }));
    });
  }

  /** SIGTERM to the entrypoint itself: as root, the child `unshare --fork` made (PID 1 of its namespace). */
  private terminate(pid: number): void {
    const children = AS_ROOT ? readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean) : [String(pid)];
    for (const child of children) process.kill(Number(child), 'SIGTERM');
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
