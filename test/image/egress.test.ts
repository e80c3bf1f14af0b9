// The egress allowlist (issue 12) of the bundled image, with real containers only: the image's
// entrypoint runs a hostile agent (test/helpers/egress-probe.ts) on a Docker network of the test's
// own, next to hosts that count every connection and DNS query they get
// (test/helpers/egress-hosts.ts). `allowed` is allowed by name (and a wildcard under it), `byip`
// by its addresses, `blocked` by nothing: it doubles as an outside resolver. Root's clone and
// model proxy reach `byip` by a name on no list (model.amt.test). Then the real Claude Code CLI,
// with the scripted fake model on the host, works behind the same firewall.
// Cold: the images take minutes (debian-base.ts, agent-image.ts); warm, a run is a few seconds.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fakes/anthropic-api.js';
import { ensureAgentImage } from '../helpers/agent-image.js';
import { bridgeGateway } from '../helpers/bridge.js';
import { ensureDebianNodeBase } from '../helpers/debian-base.js';
import { EgressNetwork } from '../helpers/egress-hosts.js';
import { EGRESS_PROBE, type ProbeResults, type ProbeTargets } from '../helpers/egress-probe.js';
import { Sandbox } from './sandbox.js';

const sandbox = new Sandbox();
let image: string;
let world: EgressNetwork;
let targets: ProbeTargets;
let allowList: string;
const containers: string[] = [];

beforeAll(async () => {
  const [agentImage, base] = await Promise.all([ensureAgentImage(), ensureDebianNodeBase()]);
  image = agentImage;
  // /srv of the hosts: repo.git, served as plain files (git's dumb HTTP protocol).
  const srv = join(sandbox.root, 'srv');
  mkdirSync(srv);
  sandbox.remote('repo', srv);
  sandbox.git(join(srv, 'repo.git'), 'update-server-info');
  world = new EgressNetwork();
  await Promise.all([
    world.host('allowed', base, ['allowed.amt.test', 'www.wild.amt.test', 'wild.amt.test'], srv),
    world.host('byip', base, ['model.amt.test'], srv),
    world.host('blocked', base, ['blocked.amt.test'], srv),
  ]);
  const byip = world.address('byip');
  const blocked = world.address('blocked');
  targets = {
    allowedName: 'allowed.amt.test',
    allowedAddress: byip.v4,
    allowedV6: byip.v6,
    wildcardName: 'www.wild.amt.test',
    wildcardApex: 'wild.amt.test',
    blockedName: 'blocked.amt.test',
    blockedV4: blocked.v4,
    blockedV6: blocked.v6,
    originalNameserver: '127.0.0.11',
  };
  allowList = ['allowed.amt.test', '*.wild.amt.test', byip.v4, `${byip.v6}/128`].join('\n');
}, 900_000);

afterAll(() => {
  for (const name of containers) quietly('rm', '-f', name);
  world?.cleanup();
  sandbox.cleanup();
});

function quietly(...args: string[]): void {
  try {
    execFileSync('docker', args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

interface BlockedEntry {
  host: string;
  port?: number;
  count: number;
}

interface Run {
  code: number | null;
  output: string;
  lines: string[];
  probe?: ProbeResults;
  blocked?: BlockedEntry[];
}

const API_KEY = 'sk-ant-api03-amtEgressFakeKey-0123456789';

/** The image on the test's network running the probe as its agent; `capAdd`: NET_ADMIN given. */
function runProbe(env: Record<string, string>, capAdd = true, dockerArgs: string[] = []): Promise<Run> {
  return runImage(
    {
      AGENT_COMMAND: JSON.stringify(['node', '-e', EGRESS_PROBE]),
      AMT_TARGETS: JSON.stringify(targets),
      FLAUDE_AGENT_ENV: 'AMT_TARGETS',
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: 'http://model.amt.test',
      ...env,
    },
    capAdd,
    dockerArgs,
  );
}

/** `dockerArgs` go before the image (mounts). */
async function runImage(vars: Record<string, string>, capAdd: boolean, dockerArgs: string[] = []): Promise<Run> {
  const name = `amt-egress-agent-${randomBytes(4).toString('hex')}`;
  containers.push(name);
  const args = ['run', '--rm', '--name', name, '--network', world.name, ...(capAdd ? ['--cap-add', 'NET_ADMIN'] : []), ...dockerArgs];
  // Values through the client's environment: the probe's source is no argument of the test's.
  const child = spawn('docker', [...args, ...Object.keys(vars).flatMap((key) => ['-e', key]), image], {
    env: { ...process.env, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const lines = output.trimEnd().split('\n');
  const probeLine = lines.find((line) => line.startsWith('EGRESS-PROBE '));
  const blockedLine = lines.find((line) => line.startsWith('[flaude:blocked:'));
  return {
    code,
    output,
    lines,
    probe: probeLine && JSON.parse(probeLine.slice('EGRESS-PROBE '.length)),
    blocked: blockedLine && JSON.parse(blockedLine.slice('[flaude:blocked:'.length, -1)),
  };
}

const entry = (run: Run, host: string, port?: number) => run.blocked?.find((item) => item.host === host && item.port === port);

describe('the egress allowlist in the bundled image', () => {
  it('enforce: the agent reaches the allowed hosts, and the blocked host gets nothing, however it tries', async () => {
    // Root clones by a name on no list while the firewall is being set up. resolv.conf is a file
    // of the test's, to see it given back as it was once the agent is done.
    const resolvConf = join(sandbox.root, 'resolv.conf');
    const original = 'nameserver 127.0.0.11\nsearch amt.test\noptions ndots:0\n';
    writeFileSync(resolvConf, original);
    const run = await runProbe({ FLAUDE_EGRESS_ALLOW: allowList, FLAUDE_REPOS: JSON.stringify([{ url: 'http://model.amt.test/repo.git' }]) }, true, [
      '-v',
      `${resolvConf}:/etc/resolv.conf`,
    ]);
    expect(readFileSync(resolvConf, 'utf8')).toBe(original);
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
    expect(run.code).toBe(0);
    expect(run.lines).toContain('[flaude] running node in /workspace/repo');
    // The firewall is in place before the agent runs.
    const egress = run.lines.indexOf('[flaude:egress:enforce]');
    expect(egress).toBeGreaterThanOrEqual(0);
    expect(run.lines.findIndex((line) => line.startsWith('[flaude] running node'))).toBeGreaterThan(egress);
    const probe = run.probe!;
    expect(probe, run.output).toBeDefined();
    expect(probe.uid).not.toBe('0');
    expect(probe.resolvConf).toBe('nameserver 127.0.0.1');
    expect(probe.resolvSearch).toBe('search amt.test');

    // Allowed: by name, by address, by CIDR over IPv6, with git, and a name under the wildcard.
    expect(probe.allowedByName).toBe('connected: hello from allowed');
    expect(probe.allowedByAddress).toBe('connected: hello from byip');
    expect(probe.allowedByV6Cidr).toBe('connected: hello from byip');
    expect(probe.gitAllowed).toMatch(/^exit 0/);
    expect(probe.gitAllowedReadme).toBe('repo');
    expect(probe.wildcardName).toMatch(/^resolved /);
    // Root's model proxy looked up a name on no list, and reached it (the host's 404).
    expect(probe.modelProxy).toBe('status 404');

    // Blocked: at once (a reset or unreachable, no timeout), whatever the way.
    expect(probe.wildcardApex).not.toMatch(/^resolved/);
    expect(probe.blockedLookup).not.toMatch(/^resolved/);
    expect(probe.blockedByAddress).toBe('ECONNREFUSED');
    expect(probe.blockedByV6).toBe('ECONNREFUSED');
    expect(probe.gitBlockedName).toMatch(/^exit 128: .*Could not resolve host/);
    expect(probe.gitBlockedAddress).toMatch(/^exit 128: .*(Failed to connect|Couldn't connect)/);
    expect(probe.gitViaProxyName).toMatch(/^exit 128: .*Could not resolve proxy/);
    expect(probe.gitViaProxyAddress).toMatch(/^exit 128: .*(Failed to connect|Couldn't connect)/);
    expect(probe.outsideResolverUdp).toBe('ECONNREFUSED');
    expect(probe.outsideResolverTcp).toBe('ECONNREFUSED');
    expect(probe.originalNameserver).toBe('ECONNREFUSED');
    expect(probe.originalNameserverTcp).toBe('ECONNREFUSED');
    // The agent can't undo it, or take the resolver over.
    expect(probe.nftFlush).toMatch(/^exit 1: .*Operation not permitted/);
    expect(probe.nftDelete).toMatch(/^exit 1: .*Operation not permitted/);
    expect(probe.resolvConfWrite).toBe('EACCES');
    expect(probe.blockedAfterwards).toBe('ECONNREFUSED');

    // Seen from the hosts: the blocked one got no connection and no query at all.
    expect(world.events('blocked')).toEqual([]);
    const allowed = world.events('allowed');
    expect(allowed.filter((event) => event.event === 'tcp').map((event) => event.port)).toEqual(expect.arrayContaining([7000, 80]));

    // The report names every way it tried, with the port the agent asked for, most often first.
    const blocked = run.blocked!;
    expect(blocked, run.output).toBeDefined();
    expect(entry(run, targets.blockedV4, 7000)?.count).toBeGreaterThanOrEqual(2);
    expect(entry(run, targets.blockedV4, 80)?.count).toBeGreaterThanOrEqual(1);
    expect(entry(run, targets.blockedV4, 53)?.count).toBeGreaterThanOrEqual(2);
    expect(entry(run, targets.blockedV6, 7000)?.count).toBeGreaterThanOrEqual(1);
    expect(entry(run, '127.0.0.11', 53)?.count).toBeGreaterThanOrEqual(2);
    // A lookup's queries (A, AAAA, retries) within half a second count once.
    expect(entry(run, 'blocked.amt.test')?.count).toBeGreaterThanOrEqual(1);
    expect(entry(run, 'wild.amt.test')?.count).toBeGreaterThanOrEqual(1);
    const hosts = blocked.map((item) => item.host);
    for (const allowedHost of ['allowed.amt.test', 'www.wild.amt.test', 'model.amt.test', targets.allowedAddress]) expect(hosts).not.toContain(allowedHost);
    expect(blocked.map((item) => item.count)).toEqual([...blocked.map((item) => item.count)].sort((a, b) => b - a));
    // The marker comes after the agent, before the exit marker.
    const marker = run.lines.findIndex((line) => line.startsWith('[flaude:blocked:'));
    expect(marker).toBeGreaterThan(run.lines.indexOf('[flaude] agent exited with 0'));
  });

  it('audit: the same attempts go through, and each is reported, by the name it was looked up by', async () => {
    const before = world.events('blocked').length;
    const run = await runProbe({ FLAUDE_EGRESS_ALLOW: allowList, FLAUDE_EGRESS_MODE: 'audit' });
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
    expect(run.lines).toContain('[flaude:egress:audit]');
    const probe = run.probe!;
    expect(probe.allowedByName).toBe('connected: hello from allowed');
    expect(probe.blockedLookup).toMatch(/^resolved /);
    expect(probe.blockedByAddress).toBe('connected: hello from blocked');
    expect(probe.blockedByV6).toBe('connected: hello from blocked');
    expect(probe.gitBlockedName).toMatch(/^exit 0/);
    expect(probe.outsideResolverUdp).toBe('answered');
    expect(probe.originalNameserver).toBe('answered');
    // Audit is no leave to change the rules.
    expect(probe.nftFlush).toMatch(/^exit 1: .*Operation not permitted/);
    expect(probe.resolvConfWrite).toBe('EACCES');

    const got = world.events('blocked').slice(before);
    expect(got.filter((event) => event.event === 'tcp').map((event) => event.port)).toEqual(expect.arrayContaining([7000, 80, 53]));
    expect(got.filter((event) => event.event === 'dns').map((event) => event.name)).toContain('exfil.amt.test');

    // The blocked host's address was looked up by name: the report says the name.
    expect(entry(run, 'blocked.amt.test', 7000)?.count).toBeGreaterThanOrEqual(2);
    expect(entry(run, 'blocked.amt.test', 80)?.count).toBeGreaterThanOrEqual(1);
    expect(entry(run, 'blocked.amt.test')?.count).toBeGreaterThanOrEqual(1);
    expect(entry(run, '127.0.0.11', 53)?.count).toBeGreaterThanOrEqual(1);
    // Its IPv6 address too (the AAAA answer): no entry is left under a bare address of its.
    const hosts = run.blocked!.map((item) => item.host);
    expect(hosts).not.toContain(targets.blockedV4);
    expect(hosts).not.toContain(targets.blockedV6);
    expect(hosts).not.toContain('allowed.amt.test');
  });

  it('lets the real Claude Code CLI reach the model through the proxy, and stops its tools', async () => {
    const fake = await startFakeAnthropic({
      host: bridgeGateway(),
      script: [
        {
          tools: [
            {
              name: 'Bash',
              input: {
                command: `(exec 3<>/dev/tcp/${targets.blockedV4}/7000) 2>/dev/null && echo blocked-reached || echo blocked-refused; exec 3<>/dev/tcp/allowed.amt.test/7000 && head -1 <&3`,
                description: 'Try the network',
              },
            },
          ],
        },
        { text: 'Done.' },
      ],
    });
    const before = world.events('blocked').length;
    try {
      const run = await runImage(
        { FLAUDE_PROMPT: 'Try the network', FLAUDE_EGRESS_ALLOW: allowList, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url },
        true,
      );
      expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
      expect(run.lines).toContain('[flaude:egress:enforce]');
      // Both turns reached the fake with the real key; the tool's output came back in the second.
      expect(fake.mainRequests).toHaveLength(2);
      expect(fake.mainRequests[0].headers['x-api-key']).toBe(API_KEY);
      const toolResult = JSON.stringify(fake.mainRequests[1].body);
      expect(toolResult).toContain('blocked-refused');
      expect(toolResult).toContain('hello from allowed');
      expect(entry(run, targets.blockedV4, 7000)?.count).toBeGreaterThanOrEqual(1);
      expect(world.events('blocked').slice(before)).toEqual([]);
      // The fake's address (root's proxy went there) is no blocked host of the agent's.
      expect(run.blocked!.map((item) => item.host)).not.toContain(new URL(fake.url).hostname);
    } finally {
      await fake.close();
    }
  });

  it('reports at most 50 entries, most often first, in one line of printable ASCII', async () => {
    // 60 ports of the blocked host (1000 five times, 1001 three), and a name of raw bytes looked
    // up twice, far enough apart to count twice.
    const script = `
      const net = require('net'), dgram = require('dgram');
      const tryPort = (port) => new Promise((resolve) => net.connect(port, process.env.AMT_BLOCKED).on('error', resolve).on('connect', resolve));
      const label = Buffer.from('odd"]\\x07\\u00ffname', 'latin1');
      const query = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, label.length]), label, Buffer.from([4]), Buffer.from('test'), Buffer.from([0, 0, 1, 0, 1])]);
      const ask = () => new Promise((resolve) => { const s = dgram.createSocket('udp4'); s.on('message', () => { s.close(); resolve(); }); s.send(query, 53, '127.0.0.1'); });
      (async () => {
        for (let port = 1000; port < 1060; port++) await tryPort(port);
        for (let i = 0; i < 4; i++) await tryPort(1000);
        for (let i = 0; i < 2; i++) await tryPort(1001);
        await ask();
        await new Promise((resolve) => setTimeout(resolve, 700));
        await ask();
        console.log('tried');
      })();`;
    const before = world.events('blocked').length;
    const run = await runImage(
      {
        AGENT_COMMAND: JSON.stringify(['node', '-e', script]),
        AMT_BLOCKED: targets.blockedV4,
        FLAUDE_AGENT_ENV: 'AMT_BLOCKED',
        FLAUDE_EGRESS_ALLOW: allowList,
      },
      true,
    );
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:0]');
    expect(run.lines).toContain('tried');
    const line = run.lines.find((item) => item.startsWith('[flaude:blocked:'))!;
    expect(line.length).toBeLessThan(16 * 1024);
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    expect(run.blocked).toHaveLength(50);
    expect(run.blocked!.slice(0, 3)).toEqual([
      { host: targets.blockedV4, port: 1000, count: 5 },
      { host: targets.blockedV4, port: 1001, count: 3 },
      { host: 'odd????name.test', count: 2 },
    ]);
    expect(run.blocked!.slice(3).every((item) => item.count === 1 && item.host === targets.blockedV4)).toBe(true);
    expect(world.events('blocked').slice(before)).toEqual([]);
  });

  it('reports what was blocked when the run is stopped too (its deadline)', async () => {
    const command = `(exec 3<>/dev/tcp/${targets.blockedV4}/7000) 2>/dev/null || echo refused; sleep 60`;
    const run = await runImage({ AGENT_COMMAND: JSON.stringify(['bash', '-c', command]), FLAUDE_EGRESS_ALLOW: allowList, FLAUDE_DEADLINE_SECONDS: '4' }, true);
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:143]');
    expect(run.lines).toContain('refused');
    expect(run.blocked).toEqual([{ host: targets.blockedV4, port: 7000, count: 1 }]);
  });

  it('fails closed without CAP_NET_ADMIN: exit 5 before the agent runs', async () => {
    const run = await runProbe({ FLAUDE_EGRESS_ALLOW: allowList }, false);
    expect(run.lines.at(-1), run.output).toBe('[flaude:exit:5]');
    expect(run.code).toBe(5);
    expect(run.output).toMatch(/\[flaude:error\] the egress firewall could not be set up .*Operation not permitted/);
    expect(run.output).not.toContain('[flaude] running');
    expect(run.probe).toBeUndefined();
    expect(run.output).not.toContain('[flaude:egress:');
  });

  it('refuses a bad mode or entry (exit 2, naming the variable), and sets no firewall without a list', async () => {
    const mode = await runProbe({ FLAUDE_EGRESS_ALLOW: allowList, FLAUDE_EGRESS_MODE: 'block' });
    expect(mode.lines.at(-1), mode.output).toBe('[flaude:exit:2]');
    expect(mode.output).toContain('[flaude:error] FLAUDE_EGRESS_MODE must be enforce or audit');
    const bad = await runProbe({ FLAUDE_EGRESS_ALLOW: 'allowed.amt.test\nhttp://evil.example/' });
    expect(bad.lines.at(-1), bad.output).toBe('[flaude:exit:2]');
    expect(bad.output).toMatch(/\[flaude:error\] FLAUDE_EGRESS_ALLOW: not a domain, \*\.domain, IP address or CIDR: http\S*evil\.example/);
    expect(bad.probe).toBeUndefined();
    // Shaped like a CIDR, but no IPv4 prefix is that long: egress.mjs refuses it, still exit 2.
    const prefix = await runProbe({ FLAUDE_EGRESS_ALLOW: 'allowed.amt.test, 10.0.0.0/40' });
    expect(prefix.lines.at(-1), prefix.output).toBe('[flaude:exit:2]');
    expect(prefix.output).toContain('[flaude:error] FLAUDE_EGRESS_ALLOW: not a domain, *.domain, IP address or CIDR: 10.0.0.0/40');
    expect(prefix.probe).toBeUndefined();

    // Off: no capability needed, no markers, and nothing stands between the agent and the host.
    const before = world.events('blocked').length;
    const off = await runProbe({ FLAUDE_EGRESS_ALLOW: '' }, false);
    expect(off.lines.at(-1), off.output).toBe('[flaude:exit:0]');
    expect(off.output).not.toMatch(/\[flaude:(egress|blocked):/);
    expect(off.probe?.blockedByAddress).toBe('connected: hello from blocked');
    expect(off.probe?.resolvConf).toBe('nameserver 127.0.0.11');
    expect(world.events('blocked').length).toBeGreaterThan(before);
  });
});
