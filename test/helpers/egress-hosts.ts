// The egress allowlist's world: a Docker network of the test's own (IPv4 and IPv6) with host
// containers on it that count every connection and DNS query they get. No outside address is ever
// a target: the agent's container joins this network and sees nothing else but Docker's own DNS.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

// Run by node in each host container: HTTP on 80 (files under /srv: a dumb git repository),
// a greeting on 7000, a DNS responder on 53 (UDP and TCP) that answers every query with one A
// record. Each connection and each query is a JSON line on stdout, read back with `docker logs`.
const HOST_SOURCE = `
const net = require('net'), dgram = require('dgram'), http = require('http'), fs = require('fs'), path = require('path');
const me = process.env.AMT_HOST;
const log = (event) => console.log(JSON.stringify(event));
const server = http.createServer((req, res) => {
  const file = path.join('/srv', path.normalize(decodeURIComponent(req.url.split('?')[0])));
  fs.readFile(file, (err, data) => {
    res.writeHead(err ? 404 : 200);
    res.end(err ? 'not here\\n' : data);
  });
});
server.on('connection', (socket) => log({ event: 'tcp', port: 80, from: socket.remoteAddress }));
const greeter = net.createServer((socket) => {
  log({ event: 'tcp', port: 7000, from: socket.remoteAddress });
  socket.end('hello from ' + me + '\\n');
});
function answer(query) {
  let at = 12;
  const labels = [];
  while (at < query.length && query[at]) { labels.push(query.toString('latin1', at + 1, at + 1 + query[at])); at += 1 + query[at]; }
  log({ event: 'dns', name: labels.join('.') });
  const question = query.subarray(12, at + 5);
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, 2);
  head.writeUInt16BE(0x8180, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(1, 6);
  const record = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 9]);
  return Buffer.concat([head, question, record]);
}
const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
udp.on('message', (msg, from) => udp.send(answer(msg), from.port, from.address));
const tcpDns = net.createServer((socket) => {
  log({ event: 'tcp', port: 53, from: socket.remoteAddress });
  socket.once('data', (chunk) => {
    const reply = answer(chunk.subarray(2));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(reply.length);
    socket.end(Buffer.concat([length, reply]));
  });
  socket.on('error', () => {});
});
let pending = 4;
const up = () => { if (--pending === 0) log({ event: 'ready' }); };
server.listen(80, '::', up);
greeter.listen(7000, '::', up);
tcpDns.listen(53, '::', up);
udp.bind(53, '::', up);
`;

export interface HostEvent {
  event: 'tcp' | 'dns' | 'ready';
  port?: number;
  from?: string;
  name?: string;
}

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

export class EgressNetwork {
  readonly name = `amt-egress-${randomBytes(4).toString('hex')}`;
  private readonly containers = new Map<string, string>();

  /** A user-defined network (so Docker's embedded DNS at 127.0.0.11 answers its aliases). */
  constructor() {
    // A unique-local /64 of its own: the last bytes of the name keep parallel networks apart.
    const tag = this.name.slice(-4);
    docker('network', 'create', '--ipv6', '--subnet', `fd00:a3e7:${tag}::/64`, this.name);
  }

  /** Starts host `host` (node image `image`) with DNS names `aliases`, serving `srv` read-only at /srv. */
  async host(host: string, image: string, aliases: string[], srv?: string): Promise<void> {
    const container = `${this.name}-${host}`;
    this.containers.set(host, container);
    docker(
      'run',
      '-d',
      '--name',
      container,
      '--network',
      this.name,
      ...aliases.flatMap((alias) => ['--network-alias', alias]),
      ...(srv ? ['-v', `${srv}:/srv:ro`] : []),
      '-e',
      `AMT_HOST=${host}`,
      '--entrypoint',
      'node',
      image,
      '-e',
      HOST_SOURCE,
    );
    for (let tries = 0; !this.events(host, true).some((event) => event.event === 'ready'); tries++) {
      if (tries > 100) throw new Error(`host ${host} did not start: ${docker('logs', container)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The host's IPv4 and IPv6 addresses on the network. */
  address(host: string): { v4: string; v6: string } {
    const format = `{{with index .NetworkSettings.Networks "${this.name}"}}{{.IPAddress}} {{.GlobalIPv6Address}}{{end}}`;
    const [v4, v6] = docker('inspect', '--format', format, this.containers.get(host)!).split(' ');
    return { v4, v6 };
  }

  /** Every connection and DNS query the host got (without `all`, its `ready` line left out). */
  events(host: string, all = false): HostEvent[] {
    const lines = docker('logs', this.containers.get(host)!)
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const events = lines.map((line) => JSON.parse(line) as HostEvent);
    return all ? events : events.filter((event) => event.event !== 'ready');
  }

  cleanup(): void {
    for (const container of this.containers.values()) quietly('rm', '-f', container);
    quietly('network', 'rm', this.name);
  }
}

function quietly(...args: string[]): void {
  try {
    execFileSync('docker', args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
