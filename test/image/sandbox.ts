// Runs docker/entrypoint.sh outside a container, with real bash and real git: bare repositories
// as remotes, a fake `claude` on PATH, a workspace in a temp directory.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ENTRYPOINT = resolve(import.meta.dirname, '../../docker/entrypoint.sh');

const AS_ROOT = process.getuid?.() === 0;
/**
 * As root the entrypoint always drops privileges: it has no switch to stay root. `nobody` exists
 * on every system, so the tests make the drop really happen (and hand the sandbox to `nobody`).
 * Not root, the entrypoint runs as it is.
 */
export const AGENT_USER = AS_ROOT ? 'nobody' : userInfo().username;

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

export interface EntrypointRun {
  code: number | null;
  /** stdout and stderr as they arrived. */
  output: string;
  lines: string[];
}

export interface RunOptions {
  /** Put test/image/git-shim.sh on PATH as `git` (logs calls, shows clone overlap). */
  gitShim?: boolean;
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

  /** What the fake claude (or the git shim) wrote to `record/NAME`; undefined when it didn't run. */
  recorded(name: string): string | undefined {
    const file = join(this.record, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  run(env: Record<string, string>, options: RunOptions = {}): Promise<EntrypointRun> {
    if (AS_ROOT) execFileSync('chown', ['-R', `${AGENT_USER}:`, this.root]);
    const child = spawn(ENTRYPOINT, [], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A clean environment: the runner's own GITHUB_TOKEN and friends must not leak in.
      env: {
        PATH: [...(options.gitShim ? [this.shim] : []), this.bin, process.env.PATH].join(':'),
        HOME: this.root,
        FLAUDE_WORKSPACE: this.workspace,
        FLAUDE_AGENT_USER: AGENT_USER,
        FAKE_RECORD: this.record,
        REAL_GIT,
        ...env,
      },
    });
    let output = '';
    let terminated = false;
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.terminateWhen && !terminated && output.includes(options.terminateWhen)) {
        terminated = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    return new Promise((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, output, lines: output.trimEnd().split('\n') }));
    });
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
