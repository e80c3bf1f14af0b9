// What the egress allowlist costs at start: from `docker run` of the bundled image to the agent's
// first instruction (AGENT_COMMAND `date +%s%N`: the container shares the host's clock), with
// the firewall (nftables rules, the DNS forwarder, resolv.conf) and without, runs interleaved so
// that drift hits both alike. The extra time is each pair's difference.
import { spawn } from 'node:child_process';
import { ensureAgentImage } from '../test/helpers/agent-image.js';
import { figure, type Figure } from './lib.js';

// A list of the size the action's defaults expand to: names, wildcards, a CIDR.
const ALLOW = [
  'github.com',
  '*.github.com',
  '*.githubusercontent.com',
  'api.anthropic.com',
  'registry.npmjs.org',
  'pypi.org',
  'files.pythonhosted.org',
  'deb.debian.org',
  '140.82.112.0/20',
];

interface Start {
  ms?: number;
  problem?: string;
}

/** One container: ms from spawning `docker run` to the agent's `date`. */
function startOnce(image: string, egress: boolean): Promise<Start> {
  const env: Record<string, string> = { AGENT_COMMAND: '["date","+AGENT-START %s%N"]' };
  if (egress) env.FLAUDE_EGRESS_ALLOW = ALLOW.join('\n');
  const args = ['run', '--rm', ...(egress ? ['--cap-add', 'NET_ADMIN'] : []), ...Object.keys(env).flatMap((key) => ['-e', key]), image];
  return new Promise((resolve) => {
    const spawnedAt = Date.now();
    const child = spawn('docker', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err) => resolve({ problem: err.message }));
    child.on('close', (code) => {
      const started = /^AGENT-START (\d+)$/m.exec(output);
      const markers = egress ? output.includes('[flaude:egress:enforce]') && output.includes('[flaude:blocked:[]]') : !output.includes('[flaude:egress:');
      if (code !== 0 || !started || !markers) return resolve({ problem: `exit ${code}: ${output.slice(-400)}` });
      resolve({ ms: Number(BigInt(started[1]) / 1_000_000n) - spawnedAt });
    });
  });
}

/** Agent start with the egress firewall off and on (enforce), and what the firewall adds. */
export async function egressStartup(runs: number): Promise<Figure[]> {
  const off = figure('agent start, egress off (docker run → first command)', 'ms');
  const on = figure('agent start, egress enforce (docker run → first command)', 'ms');
  const extra = figure('egress firewall: extra start time (pairwise)', 'ms', { op: '<=', value: 500 });
  const image = await ensureAgentImage();
  // A first run of each warms the engine's caches: not counted.
  await startOnce(image, false);
  await startOnce(image, true);
  for (let i = 0; i < runs; i++) {
    const a = await startOnce(image, false);
    const b = await startOnce(image, true);
    if (a.problem) off.problems.push(a.problem);
    else off.values.push(a.ms!);
    if (b.problem) on.problems.push(b.problem);
    else on.values.push(b.ms!);
    if (a.ms !== undefined && b.ms !== undefined) extra.values.push(b.ms - a.ms);
  }
  return [off, on, extra];
}
