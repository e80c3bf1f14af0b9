// The agent that tries every way out (run as AGENT_COMMAND `node -e EGRESS_PROBE`, as the agent
// user, node 18 of the image): it reaches for the allowed hosts and for the blocked one by name,
// by address, over IPv6, with git (also through the blocked host as its proxy), through a
// resolver of its own and through the machine's original nameserver, then tries to undo the
// firewall and to take over /etc/resolv.conf, and
// tries the blocked host again. AMT_TARGETS (JSON) names the targets; the outcome of each try is
// one line, `EGRESS-PROBE {json}`.
export interface ProbeTargets {
  /** Allowed by name (its alias), serving /repo.git over dumb HTTP. */
  allowedName: string;
  /** Allowed by its address entry, and its IPv6 address by a CIDR entry. */
  allowedAddress: string;
  allowedV6: string;
  /** A name under an allowed wildcard, and the wildcard's apex (not allowed). */
  wildcardName: string;
  wildcardApex: string;
  blockedName: string;
  blockedV4: string;
  blockedV6: string;
  /** The machine's original nameserver (Docker's embedded DNS on a user network). */
  originalNameserver: string;
}

export type ProbeResults = Record<string, string>;

export const EGRESS_PROBE = `
const net = require('net'), dgram = require('dgram'), dns = require('dns'), fs = require('fs');
const { spawnSync } = require('child_process');
const t = JSON.parse(process.env.AMT_TARGETS);
const results = {};

// 'connected: FIRST LINE', or why not (ECONNREFUSED, timeout...).
function tcp(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let data = '';
    const done = (outcome) => { socket.destroy(); resolve(outcome); };
    socket.setTimeout(4000, () => done(data ? 'connected: ' + data.trim() : 'timeout'));
    socket.on('connect', () => socket.setTimeout(1500));
    socket.on('data', (chunk) => { data += chunk; if (data.includes('\\n')) done('connected: ' + data.trim()); });
    socket.on('end', () => done('connected: ' + data.trim()));
    socket.on('error', (err) => done(err.code || err.message));
  });
}

function lookup(name) {
  return dns.promises.lookup(name, { all: true }).then((all) => 'resolved ' + all.map((a) => a.address).join(' '), (err) => err.code || err.message);
}

function query(name) {
  const labels = name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)]));
  return Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

// A DNS query sent straight to server:53 over UDP: 'answered', or why not.
function udpDns(server, name) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server) ? 'udp6' : 'udp4');
    const done = (outcome) => { clearTimeout(timer); socket.close(); resolve(outcome); };
    const timer = setTimeout(() => done('timeout'), 3000);
    socket.on('message', () => done('answered'));
    socket.on('error', (err) => done(err.code || err.message));
    // Connected: an ICMP unreachable comes back as ECONNREFUSED.
    socket.connect(53, server, () => socket.send(query(name)));
  });
}

function tcpDns(server, name) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server, port: 53 });
    const done = (outcome) => { socket.destroy(); resolve(outcome); };
    socket.setTimeout(3000, () => done('timeout'));
    socket.on('connect', () => {
      const message = query(name);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', () => done('answered'));
    socket.on('error', (err) => done(err.code || err.message));
  });
}

function run(command, args, env = {}) {
  const child = spawnSync(command, args, { encoding: 'utf8', timeout: 20000, env: { ...process.env, ...env } });
  return 'exit ' + child.status + ': ' + (child.stderr || '').trim().split('\\n').join(' | ');
}

async function main() {
  results.uid = String(process.getuid());
  const resolvConf = fs.readFileSync('/etc/resolv.conf', 'utf8').split('\\n');
  results.resolvConf = resolvConf.filter((line) => line.startsWith('nameserver')).join(' ');
  results.resolvSearch = resolvConf.filter((line) => line.startsWith('search')).join(' ');
  results.allowedByName = await tcp(t.allowedName, 7000);
  results.allowedByAddress = await tcp(t.allowedAddress, 7000);
  results.allowedByV6Cidr = await tcp(t.allowedV6, 7000);
  results.gitAllowed = run('git', ['clone', '-q', 'http://' + t.allowedName + '/repo.git', '/tmp/allowed-clone']);
  results.gitAllowedReadme = fs.existsSync('/tmp/allowed-clone/README') ? fs.readFileSync('/tmp/allowed-clone/README', 'utf8').trim() : 'missing';
  results.wildcardName = await lookup(t.wildcardName);
  results.wildcardApex = await lookup(t.wildcardApex);
  results.blockedLookup = await lookup(t.blockedName);
  results.blockedByAddress = await tcp(t.blockedV4, 7000);
  results.blockedByV6 = await tcp(t.blockedV6, 7000);
  results.gitBlockedName = run('git', ['clone', '-q', 'http://' + t.blockedName + '/repo.git', '/tmp/blocked-name']);
  results.gitBlockedAddress = run('git', ['clone', '-q', 'http://' + t.blockedV4 + '/repo.git', '/tmp/blocked-address']);
  // A proxy-aware tool told to go through the blocked host, by name and by address, to an allowed one.
  results.gitViaProxyName = run('git', ['clone', '-q', 'http://' + t.allowedName + '/repo.git', '/tmp/proxied-name'], { http_proxy: 'http://' + t.blockedName + ':80' });
  results.gitViaProxyAddress = run('git', ['clone', '-q', 'http://' + t.allowedName + '/repo.git', '/tmp/proxied-address'], { http_proxy: 'http://' + t.blockedV4 + ':80' });
  results.outsideResolverUdp = await udpDns(t.blockedV4, 'exfil.amt.test');
  results.outsideResolverTcp = await tcpDns(t.blockedV4, 'exfil.amt.test');
  results.originalNameserver = await udpDns(t.originalNameserver, t.allowedName);
  results.originalNameserverTcp = await tcpDns(t.originalNameserver, t.allowedName);
  // Root's lookups go through too: the model proxy reaches a name that is on no list.
  results.modelProxy = await fetch(process.env.ANTHROPIC_BASE_URL + '/v1/messages', { method: 'POST', body: '{}' }).then((res) => 'status ' + res.status, (err) => String(err.cause?.code || err));
  results.nftFlush = run('nft', ['flush', 'ruleset']);
  results.nftDelete = run('nft', ['delete', 'table', 'inet', 'flaude']);
  try {
    fs.writeFileSync('/etc/resolv.conf', 'nameserver ' + t.blockedV4 + '\\n');
    results.resolvConfWrite = 'written';
  } catch (err) {
    results.resolvConfWrite = err.code;
  }
  results.blockedAfterwards = await tcp(t.blockedV4, 7000);
  console.log('EGRESS-PROBE ' + JSON.stringify(results));
}
main();
`;
