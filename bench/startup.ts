// How soon the agent starts: from spawning dist/index.js the runner's way to the agent's first
// request to the model API (the scripted fake, on the Docker bridge), with the bundled image
// (a) already in the engine, (b) absent but prebuilt in a registry (Debian's docker-registry on
// 127.0.0.1 standing in for ghcr.io), (c) absent and built, cold. And the action's own start:
// spawn to its first request to a (fake) Docker engine, where nothing else can slow it.
//
// The action runs from a copy of itself (dist/, action.yml, docker/) whose Dockerfile names, as
// its default BASE_IMAGE, a base made for the round: a copy, in one layer of its own, of a
// stand-in for debian:bookworm-slim (no registry is reachable here). No build has used it, so (c)
// has no layer cache, and (b) pulls every layer, as on a fresh runner; every image the round
// makes is the bench's own, removed at its end.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentTag } from '../src/image/tag.js';
import { startFakeAnthropic, type FakeAnthropic } from '../test/fakes/anthropic-api.js';
import { runnerStep, type StepOptions } from '../test/helpers/action.js';
import { bridgeGateway } from '../test/helpers/bridge.js';
import { ensureDebianSlimBase } from '../test/helpers/debian-base.js';
import { startLocalRegistry } from '../test/helpers/registry.js';
import { MB, ROOT, figure, median, type Figure } from './lib.js';

const API_KEY = 'sk-ant-api03-amtBenchFakeKey-0123456789abcdef';
/** The action's repository as the runner would name it; the registry is the local one. */
const ACTION_REPOSITORY = 'bench/agent-machine-action';

interface Step {
  code: number | null;
  output: string;
  /** performance.now() at spawn. */
  spawnedAt: number;
}

/** Runs ROOT/dist/index.js as the runner runs a step, stdout and stderr together. */
function runStep(root: string, options: StepOptions): Promise<Step> {
  const { workDir, env } = runnerStep(options);
  return new Promise((resolve, reject) => {
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, [join(root, 'dist', 'index.js')], { env, cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(workDir, { recursive: true, force: true });
      resolve({ code, output, spawnedAt });
    });
  });
}

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
const quietly = (...args: string[]) => {
  try {
    execFileSync('docker', args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
};

/** Spawn to the first request a fake engine gets (it answers 500, so the step ends at once). */
export async function actionStart(runs: number, root = ROOT): Promise<Figure[]> {
  const start = figure('action start (spawn → first engine request, fake engine)', 'ms');
  const dir = mkdtempSync(join(tmpdir(), 'amt-bench-engine-'));
  const socket = join(dir, 'docker.sock');
  let firstAt: number | undefined;
  const engine = createServer((_req, res) => {
    firstAt ??= performance.now();
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"bench: a fake engine"}');
  });
  await new Promise<void>((resolve) => engine.listen(socket, resolve));
  try {
    for (let i = 0; i < runs; i++) {
      firstAt = undefined;
      const run = await runStep(root, {
        inputs: { image: 'amt-bench:none', command: '["true"]', comment: 'never', upload_artifacts: 'false' },
        env: { DOCKER_HOST: `unix://${socket}` },
      });
      if (firstAt === undefined) start.problems.push(`no engine request (exit ${run.code}): ${run.output.slice(-300)}`);
      else start.values.push(firstAt - run.spawnedAt);
    }
  } finally {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return [start];
}

export interface AgentStartupOptions {
  /** The image's folder (default docker/): its Dockerfile's `ARG BASE_IMAGE=` default is replaced. */
  dockerDir?: string;
  /** The image each round's fresh base is made from (default the debian:bookworm-slim stand-in). */
  base?: string;
  /** Figure names start with this (e.g. "before: "). */
  label?: string;
}

/** (a) image present, (b) pulled prebuilt, (c) built: spawn → the agent's first request to the model. */
export async function agentStartup(runs: number, options: AgentStartupOptions = {}): Promise<Figure[]> {
  const label = options.label ?? '';
  const present = figure(`${label}agent start, image in the engine (a)`, 's');
  const pulled = figure(`${label}agent start, image pulled from a registry (b)`, 's');
  const pull = figure(`${label}  (b)'s pull alone (the action's own count)`, 's');
  const overPresent = figure(`${label}(b) − its pull, over (a)`, '×', { op: '<=', value: 3 });
  const built = figure(`${label}agent start, image built (c)`, 's');
  const size = figure(`${label}agent image size`, 'MB', { op: '<=', value: 500 });
  const base = options.base ?? (await ensureDebianSlimBase());
  const registry = await startLocalRegistry();
  const fake = await startFakeAnthropic({ script: [], host: bridgeGateway() });
  try {
    for (let i = 0; i < runs; i++) {
      const round = new Round(options.dockerDir ?? join(ROOT, 'docker'), base, registry.host, fake);
      try {
        await round.prepare();
        const c = await round.run('built', /Building image agent-machine-action:/);
        if (c.problem) built.problems.push(c.problem);
        else built.values.push(c.seconds!);
        size.values.push(Number(docker('image', 'inspect', '--format', '{{.Size}}', round.tag)) / MB);
        round.push();
        // (a) is quick: a few of them, for a steadier figure to hold (b) against.
        const a: number[] = [];
        for (let j = 0; j < 3; j++) {
          const run = await round.run('present', /Using image agent-machine-action:\S+ from the Docker engine/);
          if (run.problem) present.problems.push(run.problem);
          else a.push(run.seconds!);
        }
        present.values.push(...a);
        round.removeImages();
        const b = await round.run('pulled', /Pulled prebuilt image \S+ in (\d+\.\d) s/);
        if (b.problem) pulled.problems.push(b.problem);
        else {
          pulled.values.push(b.seconds!);
          pull.values.push(b.pullSeconds!);
          if (a.length) overPresent.values.push((b.seconds! - b.pullSeconds!) / median(a));
        }
      } finally {
        round.cleanUp();
      }
    }
  } finally {
    await fake.close();
    registry.stop();
  }
  return [present, pulled, pull, overPresent, built, size];
}

interface AgentRun {
  seconds?: number;
  pullSeconds?: number;
  problem?: string;
}

/** One round: a fresh base, the action's copy naming it, and every image made on it. */
class Round {
  private readonly root = mkdtempSync(join(tmpdir(), 'amt-bench-action-'));
  private readonly base = `amt-bench-base:${randomUUID().slice(0, 8)}`;
  private baseId = '';
  tag = '';
  private remote = '';

  constructor(
    private readonly dockerDir: string,
    private readonly standIn: string,
    private readonly registryHost: string,
    private readonly fake: FakeAnthropic,
  ) {}

  async prepare(): Promise<void> {
    // The stand-in copied into one layer of the round's own (a file of the round's in it): an
    // image id no build has seen, and a layer the engine holds under no other image, so that (b)
    // pulls the base too, as a fresh runner does. (An imported image has no command to create a
    // container with; the image's ENTRYPOINT resets it.)
    const container = docker('create', this.standIn, 'true');
    try {
      const marker = join(this.root, 'round');
      writeFileSync(marker, `${this.base}\n`);
      docker('cp', marker, `${container}:/etc/amt-bench-round`);
      const env = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config.Env}}', this.standIn)) as string[] | null;
      const changes = (env ?? []).flatMap((variable) => ['--change', `ENV ${variable}`]);
      this.baseId = execFileSync('sh', ['-c', 'docker export "$0" | docker import "$@"', container, ...changes, '-', this.base], { encoding: 'utf8' }).trim();
    } finally {
      quietly('rm', container);
    }
    for (const entry of ['action.yml', 'dist']) cpSync(join(ROOT, entry), join(this.root, entry), { recursive: true });
    cpSync(this.dockerDir, join(this.root, 'docker'), { recursive: true });
    const dockerfile = join(this.root, 'docker', 'Dockerfile');
    const text = readFileSync(dockerfile, 'utf8');
    if (!/^ARG BASE_IMAGE=\S+$/m.test(text)) throw new Error(`${this.dockerDir}/Dockerfile has no ARG BASE_IMAGE= default to replace`);
    writeFileSync(dockerfile, text.replace(/^ARG BASE_IMAGE=\S+$/m, `ARG BASE_IMAGE=${this.base}`));
    const content = await contentTag(dockerfile, join(this.root, 'docker'));
    this.tag = `agent-machine-action:${content}`;
    this.remote = `${this.registryHost}/${ACTION_REPOSITORY}:${content}`;
  }

  /** The action with the bundled image and the fake model; `expect` must be in its log. */
  async run(what: string, expect: RegExp): Promise<AgentRun> {
    const before = this.fake.requests.length;
    const step = await runStep(this.root, {
      inputs: { prompt: 'Say hello', anthropic_api_key: API_KEY, anthropic_base_url: this.fake.url, comment: 'never', upload_artifacts: 'false' },
      env: { GITHUB_ACTION_REPOSITORY: ACTION_REPOSITORY, GITHUB_ACTION_REF: 'v0', AGENT_IMAGE_REGISTRY: this.registryHost },
    });
    const first = this.fake.requests[before];
    const seen = expect.exec(step.output);
    if (step.code !== 0 || !first || !seen) {
      const why = step.code !== 0 ? `exit ${step.code}` : !first ? 'no model request' : `no ${expect} in the log`;
      return { problem: `${what}: ${why}: ${step.output.slice(-600)}` };
    }
    return { seconds: (first.at - (performance.timeOrigin + step.spawnedAt)) / 1000, pullSeconds: seen[1] ? Number(seen[1]) : undefined };
  }

  /** The built image into the registry, as the release workflow pushes it. */
  push(): void {
    docker('tag', this.tag, this.remote);
    docker('push', this.remote);
    docker('image', 'rm', this.remote);
  }

  /** Every image of the round: the base, all made on it (the build's intermediate ones too) and the pulled one. */
  removeImages(): void {
    if (this.tag) quietly('image', 'rm', '--force', this.tag, this.remote);
    // No base made, nothing built on it; and an empty id would match every image without a parent.
    if (!this.baseId.startsWith('sha256:')) return;
    const ids = docker('images', '--all', '--quiet', '--no-trunc').split('\n').filter(Boolean);
    const parents = (JSON.parse(docker('image', 'inspect', ...new Set(ids))) as { Id: string; Parent: string }[]).map((image) => [image.Id, image.Parent]);
    const made: string[] = [];
    for (let level = new Set([this.baseId]); level.size;) {
      const children = parents.filter(([, parent]) => level.has(parent)).map(([id]) => id);
      made.push(...children);
      level = new Set(children);
    }
    // Children before parents: the engine keeps an image that still has one.
    for (const id of made.reverse()) quietly('image', 'rm', '--force', id);
    quietly('image', 'rm', this.base);
  }

  cleanUp(): void {
    this.removeImages();
    rmSync(this.root, { recursive: true, force: true });
  }
}
