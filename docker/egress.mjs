#!/usr/bin/env node
// The egress allowlist (issue 12): root starts it while it clones (its own traffic passes), the
// agent starts once it is ready, and it holds the firewall for the agent's whole run. Two parts:
// - an nftables table, `inet flaude`, on the output hook: root's own packets (skuid 0: clone,
//   push, the model proxy, this forwarder) pass; every other user's go to the machine's original
//   nameservers never (even on loopback: Docker's 127.0.0.11), to other loopback addresses,
//   established flows and the allow sets freely, and anywhere else only through the `denied`
//   chain, which counts (address, protocol, original port) in a dynamic set and then rejects
//   (enforce: a TCP reset or port unreachable, so tools fail at once) or accepts (audit);
// - a DNS forwarder on 127.0.0.1:53 (UDP and TCP), the machine's only resolver while it runs
//   (/etc/resolv.conf rewritten, restored when it stops): an allowed name is forwarded to the
//   original nameservers, and every A/AAAA address of the answer is in the allow sets before the
//   answer goes back; a name not allowed is REFUSED (enforce) or forwarded and remembered
//   (audit). Root's own lookups (the model proxy's) are forwarded as they are.
//
// stdin: the mode (enforce|audit), the entries, an empty line. stdout: `ready`, or `invalid TEXT`
// (an entry it refuses; exit 2) or `error TEXT` (exit 1). Then each `report` line on stdin is
// answered with one JSON line (the blocked report); EOF or SIGTERM restores /etc/resolv.conf and
// ends it. The rules stay: no process of the agent's may outlive them.
// Nothing here is secret. Plain node, no dependencies: node >= 18.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

const RESOLV_CONF = '/etc/resolv.conf';
const TABLE = 'flaude';
const UPSTREAM_TIMEOUT_MS = 2500;
const LOOKUP_WINDOW_MS = 500;
const REPORT_LIMIT = 50;
const HOST_LIMIT = 200; // 50 entries of this stay well under the marker line's 16 KiB

// --- Entries: `name`, `*.name`, an IPv4/IPv6 address or CIDR.

const LABEL = /^(?!-)[a-z0-9_-]{1,63}$/;

function ipv6Words(text) {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const part = (s) => (s ? s.split(':') : []);
  let words = part(head);
  let rest = part(tail);
  // A dotted IPv4 tail is two words.
  const last = tail === undefined ? words : rest;
  if (last.length && last[last.length - 1].includes('.')) {
    const [a, b, c, d] = last.pop().split('.').map(Number);
    last.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  if (tail !== undefined) words = [...words, ...Array(8 - words.length - rest.length).fill('0'), ...rest];
  return words.map((word) => parseInt(word, 16));
}

/** A CIDR with its host bits cleared (nft refuses them set), in nft's syntax. */
function network(address, bits) {
  if (net.isIPv4(address)) {
    const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    const masked = bits === 0 ? 0 : value - (value % 2 ** (32 - bits));
    return `${[24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.')}/${bits}`;
  }
  let value = ipv6Words(address).reduce((sum, word) => (sum << 16n) | BigInt(word), 0n);
  value &= ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  const words = [];
  for (let i = 7; i >= 0; i--) words.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return `${words.join(':')}/${bits}`;
}

/** { kind: 'name'|'wildcard'|'v4'|'v6', value } or undefined when the entry is none of them. */
function parseEntry(text) {
  const entry = text.trim().toLowerCase().replace(/\.$/, '');
  if (entry.includes('%')) return undefined; // a zone (fe80::1%eth0) means nothing to the firewall
  const slash = entry.indexOf('/');
  if (slash !== -1) {
    const address = entry.slice(0, slash);
    const bitsText = entry.slice(slash + 1);
    const family = net.isIP(address);
    const bits = Number(bitsText);
    if (!family || !/^\d{1,3}$/.test(bitsText) || bits > (family === 4 ? 32 : 128)) return undefined;
    return { kind: family === 4 ? 'v4' : 'v6', value: network(address, bits) };
  }
  const family = net.isIP(entry);
  if (family) return { kind: family === 4 ? 'v4' : 'v6', value: entry };
  const wildcard = entry.startsWith('*.');
  const name = wildcard ? entry.slice(2) : entry;
  if (name.length > 253 || !name.split('.').every((label) => LABEL.test(label))) return undefined;
  return { kind: wildcard ? 'wildcard' : 'name', value: name };
}

/** Printable ASCII of a name or address for a report line, never longer than HOST_LIMIT. */
const sanitize = (text) =>
  String(text)
    .replace(/[^A-Za-z0-9._:*/-]/g, '?')
    .slice(0, HOST_LIMIT);

// --- The firewall.

function runNft(args, input) {
  return new Promise((resolve, reject) => {
    // No stdin unless there is input: nft's `list` exits without reading it, and a write to
    // that closed pipe (EPIPE) would end this process, the firewall's holder, mid-run.
    const child = spawn('nft', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: 20_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', (error) => reject(new Error(`nft could not run (${error.code ?? error.message})`)));
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`nft failed: ${err.trim().split('\n')[0] || `exit ${code}`}`));
    });
    if (input === undefined) return;
    // A ruleset nft refuses part way: its exit status says so, not an EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

const elements = (values) => (values.length ? ` elements = { ${values.join(', ')} };` : '');

function ruleset(mode, allow4, allow6, ns4, ns6) {
  // ct original proto-dst: the port the program asked for, before Docker's DNAT of 127.0.0.11:53
  // (nft needs the protocol named to know its type). Other protocols: no port is reported. Only
  // a flow's first packet counts (audit lets the rest of a nameserver's flow through here too).
  const record = (family, set) =>
    [
      ...['tcp', 'udp'].map((proto) => `meta l4proto ${proto} update @${set} { ${family} daddr . meta l4proto . ct original proto-dst counter }`),
      `meta l4proto != { tcp, udp } update @${set} { ${family} daddr . meta l4proto . th dport counter }`,
    ].map((rule) => `meta nfproto ${family === 'ip' ? 'ipv4' : 'ipv6'} ct state new ${rule}`);
  const verdict = mode === 'enforce' ? ['meta l4proto tcp reject with tcp reset', 'reject with icmpx type port-unreachable'] : ['accept'];
  const set = (name, type, flags, values) => `  set ${name} { type ${type};${flags ? ` flags ${flags};` : ''}${elements(values)} }`;
  const seen = (name, type) => `  set ${name} { type ${type} . inet_proto . inet_service; flags dynamic; counter; size 65535; }`;
  // One transaction: a table left by an earlier run is replaced, never merged.
  return [
    `add table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    set('ns4', 'ipv4_addr', 'interval', ns4),
    set('ns6', 'ipv6_addr', 'interval', ns6),
    set('allow4', 'ipv4_addr', 'interval', allow4),
    set('allow6', 'ipv6_addr', 'interval', allow6),
    set('dns4', 'ipv4_addr', '', []),
    set('dns6', 'ipv6_addr', '', []),
    seen('seen4', 'ipv4_addr'),
    seen('seen6', 'ipv6_addr'),
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    '    meta skuid 0 accept',
    // The kernel's own IPv6 neighbour discovery and multicast listener reports (no socket of
    // anyone's): without them no IPv6 address on the link is reachable at all.
    '    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report, mld-listener-done } accept',
    // Before `established`: a UDP flow of root's to a nameserver stays in conntrack after root's
    // socket is gone, and the agent could send on its port.
    '    ip daddr @ns4 goto denied',
    '    ip6 daddr @ns6 goto denied',
    '    ct state established,related accept',
    '    oif lo accept',
    '    ip daddr @allow4 accept',
    '    ip daddr @dns4 accept',
    '    ip6 daddr @allow6 accept',
    '    ip6 daddr @dns6 accept',
    '    goto denied',
    '  }',
    '  chain denied {',
    ...[...record('ip', 'seen4'), ...record('ip6', 'seen6')].map((rule) => `    ${rule}`),
    ...verdict.map((statement) => `    ${statement}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

const allowedAddresses = new Set();
/** Puts addresses in the dns sets; resolves once nft has them (the answer waits for this). */
async function allowAddresses(addresses) {
  const fresh = addresses.filter((address) => !allowedAddresses.has(address.addr));
  if (!fresh.length) return;
  const v4 = [...new Set(fresh.filter((a) => a.family === 4).map((a) => a.addr))];
  const v6 = [...new Set(fresh.filter((a) => a.family === 6).map((a) => a.addr))];
  const commands = [];
  if (v4.length) commands.push(`add element inet ${TABLE} dns4 { ${v4.join(', ')} }`);
  if (v6.length) commands.push(`add element inet ${TABLE} dns6 { ${v6.join(', ')} }`);
  await runNft(['-f', '-'], `${commands.join('\n')}\n`);
  for (const address of fresh) allowedAddresses.add(address.addr);
}

// --- DNS wire format (RFC 1035): only what a forwarder needs.

const TYPE_A = 1;
const TYPE_AAAA = 28;
const RCODE = { FORMERR: 1, SERVFAIL: 2, REFUSED: 5 };

/** The name at `offset` (compression pointers followed) and the offset after it in place. */
function readName(msg, offset) {
  const labels = [];
  let end;
  let at = offset;
  for (let jumps = 0; jumps < 64;) {
    if (at >= msg.length) return undefined;
    const length = msg[at];
    if (length === 0) {
      end ??= at + 1;
      const name = labels.join('.');
      return name.length > 253 ? undefined : { name, end };
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) return undefined;
      end ??= at + 2;
      at = ((length & 0x3f) << 8) | msg[at + 1];
      jumps++;
      continue;
    }
    if (length & 0xc0 || at + 1 + length > msg.length) return undefined;
    labels.push(msg.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return undefined;
}

/** The query's one question: { id, name, qtype, questionEnd }, or undefined. */
function parseQuery(msg) {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0 || msg.readUInt16BE(4) !== 1) return { id: msg.readUInt16BE(0), bad: true };
  const question = readName(msg, 12);
  if (!question || question.end + 4 > msg.length) return { id: msg.readUInt16BE(0), bad: true };
  return { id: msg.readUInt16BE(0), name: question.name.toLowerCase(), qtype: msg.readUInt16BE(question.end), questionEnd: question.end + 4 };
}

/** Every A and AAAA record in an answer's answer section, as { family, addr }. */
function answerAddresses(msg) {
  const found = [];
  if (msg.length < 12) return found;
  let at = 12;
  for (let i = msg.readUInt16BE(4); i > 0; i--) {
    const question = readName(msg, at);
    if (!question) return found;
    at = question.end + 4;
  }
  for (let i = msg.readUInt16BE(6); i > 0; i--) {
    const owner = readName(msg, at);
    if (!owner || owner.end + 10 > msg.length) return found;
    const type = msg.readUInt16BE(owner.end);
    const length = msg.readUInt16BE(owner.end + 8);
    const data = owner.end + 10;
    if (data + length > msg.length) return found;
    if (type === TYPE_A && length === 4) found.push({ family: 4, addr: [...msg.subarray(data, data + 4)].join('.') });
    if (type === TYPE_AAAA && length === 16) {
      const words = [];
      for (let w = 0; w < 8; w++) words.push(msg.readUInt16BE(data + w * 2).toString(16));
      // The URL parser writes it as nft's listing does (RFC 5952): the report maps it back.
      found.push({ family: 6, addr: new URL(`http://[${words.join(':')}]`).hostname.slice(1, -1) });
    }
    at = data + length;
  }
  return found;
}

/** An answer with no records: the query's header and question, QR and RA set, `rcode`. */
function emptyAnswer(msg, query, rcode) {
  const end = query.questionEnd ?? 12;
  const out = Buffer.alloc(end);
  msg.copy(out, 0, 0, end);
  out.writeUInt16BE((msg.readUInt16BE(2) & 0x7900) | 0x8080 | rcode, 2);
  out.writeUInt16BE(query.questionEnd ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

// --- Upstream: the machine's original nameservers, in order.

function askUdp(server, msg) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv4(server) ? 'udp4' : 'udp6');
    const timer = setTimeout(() => done(new Error('timeout')), UPSTREAM_TIMEOUT_MS);
    let finished = false;
    const done = (error, answer) => {
      if (finished) return; // a second answer, or an error after the first
      finished = true;
      clearTimeout(timer);
      socket.close();
      error ? reject(error) : resolve(answer);
    };
    socket.on('error', (error) => done(error));
    socket.on('message', (answer, from) => {
      // Only the server's answer to this query counts.
      if (from.address.replace(/%.*$/, '') === server.replace(/%.*$/, '') && answer.length >= 12 && answer.readUInt16BE(0) === msg.readUInt16BE(0))
        done(undefined, answer);
    });
    socket.send(msg, 53, server);
  });
}

function askTcp(server, msg) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server, port: 53 });
    let buffered = Buffer.alloc(0);
    socket.setTimeout(UPSTREAM_TIMEOUT_MS * 2, () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed')));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        resolve(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        socket.destroy();
      }
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(msg.length);
    socket.end(Buffer.concat([length, msg]));
  });
}

async function forward(nameservers, msg, transport) {
  for (const server of nameservers) {
    try {
      return await (transport === 'tcp' ? askTcp : askUdp)(server, msg);
    } catch {
      // the next one
    }
  }
  return undefined;
}

// --- Who asked: root's lookups (the model proxy's) are forwarded whatever the list says.

/** Whether every socket on the asker's local port is root's (/proc/net/{udp,tcp}{,6}). */
function askedByRoot(transport, port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const uids = [];
  for (const file of [`/proc/net/${transport}`, `/proc/net/${transport}6`]) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT; for TCP the peer must be our port 53 too.
      if (fields.length < 8 || !fields[1].endsWith(`:${hex}`)) continue;
      if (transport === 'tcp' && !fields[2].endsWith(':0035')) continue;
      uids.push(fields[7]);
    }
  }
  return uids.length > 0 && uids.every((uid) => uid === '0');
}

// --- The run.

function readResolvConf() {
  const text = readFileSync(RESOLV_CONF, 'utf8');
  const nameservers = [];
  const kept = [];
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    // A link-local one keeps its zone (%eth0) to be asked at; the firewall matches the address.
    if (key === 'nameserver' && value && net.isIP(value.replace(/%.*$/, ''))) nameservers.push(value);
    else if (['search', 'domain', 'options', 'sortlist'].includes(key)) kept.push(line.trim());
  }
  return { text, nameservers, kept };
}

class Egress {
  constructor(mode, entries) {
    this.mode = mode;
    this.names = new Set(entries.filter((e) => e.kind === 'name').map((e) => e.value));
    this.suffixes = entries.filter((e) => e.kind === 'wildcard').map((e) => `.${e.value}`);
    this.allow4 = entries.filter((e) => e.kind === 'v4').map((e) => e.value);
    this.allow6 = entries.filter((e) => e.kind === 'v6').map((e) => e.value);
    /** name → lookups of a name not on the list (refused, or in audit forwarded). */
    this.lookups = new Map();
    /** name → when it was last asked: a resolver's retries and its A/AAAA pair are one lookup. */
    this.lastAsked = new Map();
    /** address → the name not on the list it was resolved for (audit). */
    this.resolvedFor = new Map();
  }

  allowed(name) {
    return this.names.has(name) || this.suffixes.some((suffix) => name.endsWith(suffix));
  }

  async start() {
    const resolv = readResolvConf();
    this.original = resolv.text;
    this.nameservers = resolv.nameservers;
    await this.listen();
    const addresses = this.nameservers.map((server) => server.replace(/%.*$/, ''));
    const ns4 = addresses.filter((a) => net.isIPv4(a));
    const ns6 = addresses.filter((a) => net.isIPv6(a));
    await runNft(['-f', '-'], ruleset(this.mode, this.allow4, this.allow6, ns4, ns6));
    const lines = ['# The egress allowlist: every lookup goes through its forwarder (egress.mjs).', 'nameserver 127.0.0.1', ...resolv.kept];
    // In place: Docker bind-mounts the file, it can't be replaced.
    writeFileSync(RESOLV_CONF, `${lines.join('\n')}\n`);
    this.rewritten = true;
  }

  restore() {
    if (!this.rewritten) return;
    try {
      writeFileSync(RESOLV_CONF, this.original);
      this.rewritten = false;
    } catch {
      // nothing more to do: the machine ends soon
    }
  }

  listen() {
    const udp = dgram.createSocket('udp4');
    // A query that breaks something here gets no answer, and the forwarder lives on.
    const answer = (msg, transport, port) => this.answer(msg, transport, port).catch(() => undefined);
    udp.on('message', (msg, from) => {
      answer(msg, 'udp', from.port).then((reply) => reply && udp.send(reply, from.port, from.address));
    });
    const tcp = net.createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.setTimeout(30_000, () => socket.destroy());
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          answer(msg, 'tcp', socket.remotePort).then((reply) => {
            if (!reply || socket.destroyed) return;
            const length = Buffer.alloc(2);
            length.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([length, reply]));
          });
        }
      });
    });
    return Promise.all([
      new Promise((resolve, reject) => {
        udp.on('error', (error) => reject(new Error(`cannot listen on 127.0.0.1:53/udp (${error.code ?? error.message})`)));
        udp.bind(53, '127.0.0.1', resolve);
      }),
      new Promise((resolve, reject) => {
        tcp.on('error', (error) => reject(new Error(`cannot listen on 127.0.0.1:53/tcp (${error.code ?? error.message})`)));
        tcp.listen(53, '127.0.0.1', resolve);
      }),
    ]);
  }

  /** The answer to one query (undefined: none at all). */
  async answer(msg, transport, port) {
    const query = parseQuery(msg);
    if (!query) return undefined;
    if (query.bad) return emptyAnswer(msg, {}, RCODE.FORMERR);
    if (askedByRoot(transport, port)) return (await forward(this.nameservers, msg, transport)) ?? emptyAnswer(msg, query, RCODE.SERVFAIL);
    const allowed = this.allowed(query.name);
    if (!allowed) {
      const now = Date.now();
      if (now - (this.lastAsked.get(query.name) ?? -Infinity) > LOOKUP_WINDOW_MS) this.lookups.set(query.name, (this.lookups.get(query.name) ?? 0) + 1);
      this.lastAsked.set(query.name, now);
      if (this.mode === 'enforce') return emptyAnswer(msg, query, RCODE.REFUSED);
    }
    const answer = await forward(this.nameservers, msg, transport);
    if (!answer) return emptyAnswer(msg, query, RCODE.SERVFAIL);
    const addresses = answerAddresses(answer);
    if (!allowed) {
      for (const { addr } of addresses) this.resolvedFor.set(addr, query.name);
      return answer;
    }
    try {
      await allowAddresses(addresses);
    } catch (error) {
      process.stderr.write(`[flaude] egress: ${error.message}\n`);
      return emptyAnswer(msg, query, RCODE.SERVFAIL);
    }
    return answer;
  }

  /** The blocked report: refused lookups and the firewall's counters, most often first. */
  async report() {
    const counts = new Map();
    const add = (host, port, count) => {
      const key = `${host}\n${port ?? ''}`;
      const entry = counts.get(key) ?? { host: sanitize(host), ...(port === undefined ? {} : { port }), count: 0 };
      entry.count += count;
      counts.set(key, entry);
    };
    for (const [name, count] of this.lookups) add(name, undefined, count);
    for (const set of ['seen4', 'seen6']) {
      let listing;
      try {
        listing = JSON.parse(await runNft(['-j', 'list', 'set', 'inet', TABLE, set]));
      } catch (error) {
        process.stderr.write(`[flaude] egress: ${error.message}\n`);
        continue;
      }
      for (const item of listing.nftables ?? []) {
        for (const element of item.set?.elem ?? []) {
          const [addr, proto, port] = element.elem?.val?.concat ?? [];
          const packets = element.elem?.counter?.packets ?? 0;
          if (typeof addr !== 'string' || !packets) continue;
          // A port only for the protocols that have one (tcp, udp, dccp, sctp).
          const ported = [6, 17, 33, 132, 'tcp', 'udp', 'dccp', 'sctp'].includes(proto);
          add(this.resolvedFor.get(addr) ?? addr, ported ? Number(port) : undefined, packets);
        }
      }
    }
    const entries = [...counts.values()].sort((a, b) => b.count - a.count || a.host.localeCompare(b.host) || (a.port ?? 0) - (b.port ?? 0));
    return entries.slice(0, REPORT_LIMIT);
  }
}

async function main() {
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const lines = input[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    return done ? undefined : value;
  };
  const fail = (kind, text, code) => {
    process.stdout.write(`${kind} ${text.replace(/[\r\n]+/g, ' ')}\n`);
    process.exit(code);
  };
  const mode = await next();
  if (mode !== 'enforce' && mode !== 'audit') fail('error', 'the mode must be enforce or audit', 1);
  const entries = [];
  for (let line = await next(); line; line = await next()) {
    const entry = parseEntry(line);
    if (!entry) fail('invalid', `not a domain, *.domain, IP address or CIDR: ${sanitize(line)}`, 2);
    entries.push(entry);
  }
  const egress = new Egress(mode, entries);
  const stop = () => {
    egress.restore();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  // The entrypoint gone (its end, a failed clone): resolv.conf goes back all the same.
  process.stdout.on('error', stop);
  try {
    await egress.start();
  } catch (error) {
    egress.restore();
    fail('error', error.message, 1);
  }
  process.stdout.write('ready\n');
  for (let line = await next(); line !== undefined; line = await next()) {
    if (line.trim() === 'report') process.stdout.write(`${JSON.stringify(await egress.report())}\n`);
  }
  stop();
}

main();
