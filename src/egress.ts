// The agent machine's network allowlist (issue 12): `allowed_domains` and `egress_mode` read
// into the concrete list the image enforces (FLAUDE_EGRESS_ALLOW, presets expanded here so no
// preset name reaches the image), and what the image reports back: the mode in force
// (`[flaude:egress:MODE]`) and the hosts it blocked (`[flaude:blocked:JSON]`).
import { isIP, isIPv4 } from 'node:net';
import { InvalidConfigError } from './errors.js';
import type { Markers } from './protocol.js';

export type EgressMode = 'enforce' | 'audit';

/** The allowlist a run asks for. Absent from the config when `allowed_domains` is `*`. */
export interface Egress {
  /** Concrete entries: `name`, `*.name`, an address or a CIDR; deduplicated, in order. */
  allow: string[];
  mode: EgressMode;
  /** `allowed_domains` left at `defaults`: no promise made for an image that can't keep it. */
  isDefault: boolean;
}

/** Hosts the GitHub preset needs: git over https, the API, raw files, release assets, packages. */
const GITHUB_HOSTS = ['github.com', '*.github.com', '*.githubusercontent.com', 'ghcr.io'];

/**
 * Each preset's hosts. `*.name` covers every name under `name` (not `name` itself). The
 * GitHub and Anthropic presets add the run's own servers (GHES, an LLM gateway) when given.
 */
export const PRESETS: Readonly<Record<string, readonly string[]>> = {
  github: GITHUB_HOSTS,
  anthropic: ['api.anthropic.com'],
  npm: ['registry.npmjs.org', 'registry.yarnpkg.com', 'repo.yarnpkg.com'],
  pypi: ['pypi.org', 'files.pythonhosted.org'],
  go: ['proxy.golang.org', 'sum.golang.org'],
  crates: ['crates.io', 'index.crates.io', 'static.crates.io', 'static.rust-lang.org'],
  rubygems: ['rubygems.org', 'index.rubygems.org'],
  debian: ['deb.debian.org', 'security.debian.org'],
};

/** `defaults`: GitHub, the model API and the common language registries (apt needs root, which the agent isn't). */
export const DEFAULT_PRESETS = ['github', 'anthropic', 'npm', 'pypi', 'go', 'crates', 'rubygems'];

/** The servers a run talks to that the presets follow. */
export interface EgressContext {
  /** `anthropic_base_url`, when set. */
  anthropicBaseUrl?: string;
  /** GITHUB_SERVER_URL and GITHUB_API_URL of the runner (GHES, GHE.com). */
  githubUrls?: (string | undefined)[];
}

/**
 * `allowed_domains` and `egress_mode` as the run will use them, or undefined for `*` (no
 * allowlist). An entry that is not a domain, `*.domain`, address, CIDR or preset raises
 * InvalidConfigError naming the input and the entry.
 */
export function parseEgress(allowedDomains: string, egressMode: string, context: EgressContext = {}): Egress | undefined {
  const mode = (egressMode.trim() || 'enforce').toLowerCase();
  if (mode !== 'enforce' && mode !== 'audit') throw new InvalidConfigError('egress_mode', `'${egressMode.trim()}' is not one of enforce, audit`);
  const entries = allowedDomains
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry && !entry.startsWith('#'));
  if (!entries.length) entries.push('defaults');
  if (entries.includes('*')) {
    if (entries.length > 1) throw new InvalidConfigError('allowed_domains', "'*' turns the allowlist off and can't be combined with other entries");
    return undefined;
  }
  const allow = new Set<string>();
  for (const entry of entries) for (const concrete of expand(entry, context)) allow.add(concrete);
  return {
    allow: [...allow].filter((entry) => !coveredByWildcard(entry, allow)),
    mode,
    isDefault: entries.length === 1 && entries[0].toLowerCase() === 'defaults',
  };
}

/** `api.github.com` next to `*.github.com` says nothing more (a runner's own API URL, say). */
function coveredByWildcard(entry: string, allow: ReadonlySet<string>): boolean {
  if (isIP(entry) || entry.includes('/')) return false;
  const labels = entry.replace(/^\*\./, '').split('.');
  for (let i = 1; i < labels.length; i++) if (allow.has(`*.${labels.slice(i).join('.')}`)) return true;
  return false;
}

function expand(entry: string, context: EgressContext): string[] {
  const name = entry.toLowerCase();
  if (name === 'defaults') return DEFAULT_PRESETS.flatMap((preset) => expand(preset, context));
  if (name in PRESETS) {
    const extra =
      name === 'github' ? (context.githubUrls ?? []).map(hostOf) : name === 'anthropic' && context.anthropicBaseUrl ? [hostOf(context.anthropicBaseUrl)] : [];
    return [...PRESETS[name], ...extra.filter((host): host is string => !!host)];
  }
  return [concreteEntry(entry)];
}

/** A URL's host as an allowlist entry (IPv6 without its brackets). */
function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    return host || undefined;
  } catch {
    return undefined;
  }
}

/** One entry written by the workflow, checked and normalised (lowercase, no trailing dot, CIDR at its network address). */
function concreteEntry(entry: string): string {
  // A URL may carry credentials: name the problem without quoting it.
  if (entry.includes('://') || entry.includes('@'))
    throw new InvalidConfigError('allowed_domains', 'an entry is a URL or holds an @: give only the host name (api.example.com)');
  const bad = (why: string) => new InvalidConfigError('allowed_domains', `'${entry}' ${why}`);
  const bare = entry.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) && !bare.includes('%')) return bare.toLowerCase();
  if (entry.includes('/')) return cidr(entry, bad);
  const wildcard = entry.startsWith('*.');
  const name = (wildcard ? entry.slice(2) : entry).toLowerCase();
  if (name.includes('*')) throw bad('has a * that is not a whole first label (*.example.com)');
  if (/:\d+$/.test(name)) throw bad('has a port: entries allow a host on every port');
  // A trailing dot marks a name as complete: the way to allow a single-label host (`db.`).
  const complete = name.endsWith('.');
  const labels = (complete ? name.slice(0, -1) : name).split('.');
  if (!labels.every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) || labels.join('.').length > 253)
    throw bad('is not a domain name, *.domain, IP address, CIDR or preset');
  if (labels.length === 1 && !complete)
    throw bad(
      `is neither a preset (defaults, ${Object.keys(PRESETS).join(', ')}) nor a full domain name; write a single-label host with a trailing dot ('${name}.')`,
    );
  return `${wildcard ? '*.' : ''}${labels.join('.')}`;
}

/** `ADDRESS/PREFIX`, with the host bits cleared (`10.1.2.3/8` → `10.0.0.0/8`). */
function cidr(entry: string, bad: (why: string) => InvalidConfigError): string {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  const bits = version === 4 ? 32 : 128;
  if (!version || rest.length || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) throw bad('is not an address/prefix CIDR (10.0.0.0/8, fd00::/8)');
  const value = toBigInt(address) & (((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - Number(prefix))) - 1n));
  return `${fromBigInt(value, version)}/${Number(prefix)}`;
}

function toBigInt(address: string): bigint {
  if (isIPv4(address)) return address.split('.').reduce((sum, octet) => (sum << 8n) + BigInt(octet), 0n);
  // IPv6: expand `::`, and an IPv4 tail (::ffff:1.2.3.4) into two groups.
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = toBigInt(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groups = (part?: string) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  return all.reduce((sum, group) => (sum << 16n) + BigInt(`0x${group}`), 0n);
}

function fromBigInt(value: bigint, version: number): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // The longest run of zero groups (two or more) becomes `::`, as RFC 5952 writes it.
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let length = 0;
    while (groups[i + length] === '0') length++;
    if (length > best.length) best = { at: i, length };
  }
  if (best.at === -1) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** One host the allowlist blocked (or, in audit mode, would have). */
export interface BlockedHost {
  /** The name a DNS lookup asked for, else the address. */
  host: string;
  /** Absent for a refused lookup (no connection was tried). */
  port?: number;
  count: number;
}

/** What the image says the allowlist did, from its markers. */
export interface EgressReport {
  /** The mode the image put in force; undefined when it never said it did. */
  mode?: EgressMode;
  blocked: BlockedHost[];
  /** The `blocked` marker was there but not a list the action reads (a garbled line). */
  unreadable: boolean;
}

/** The image lists at most this many hosts; more in a marker is not the image's doing. */
export const MAX_BLOCKED = 50;
const MAX_HOST = 253;

/**
 * `[flaude:egress:MODE]` and `[flaude:blocked:JSON]`, read strictly: an entry that is not a
 * printable host of at most 253 characters, a port 0–65535 and a positive count is dropped, and
 * at most 50 are kept. With the bundled image the nonce means only its privileged phase wrote
 * them; without one (another image) they are that image's word.
 */
export function egressFrom(markers: Markers): EgressReport {
  const announced = markers.get('egress');
  const mode = announced === 'enforce' || announced === 'audit' ? announced : undefined;
  const raw = markers.get('blocked');
  if (raw === undefined) return { mode, blocked: [], unreadable: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { mode, blocked: [], unreadable: true };
  }
  if (!Array.isArray(parsed)) return { mode, blocked: [], unreadable: true };
  const blocked = parsed.flatMap((item: unknown) => {
    const entry = readBlocked(item);
    return entry ? [entry] : [];
  });
  return { mode, blocked: blocked.slice(0, MAX_BLOCKED), unreadable: false };
}

function readBlocked(item: unknown): BlockedHost | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const { host, port, count } = item as Record<string, unknown>;
  // Printable ASCII only: no control character, no space, nothing a terminal or renderer acts on.
  if (typeof host !== 'string' || !host.length || host.length > MAX_HOST || !/^[\x21-\x7e]+$/.test(host)) return undefined;
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65535)) return undefined;
  if (!(Number.isSafeInteger(count) && (count as number) > 0)) return undefined;
  return port === undefined ? { host, count: count as number } : { host, port: port as number, count: count as number };
}

/** `host:port`, `[v6]:port`, or the bare host for a refused lookup. */
export function hostPort({ host, port }: BlockedHost): string {
  if (port === undefined) return host;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The warning each blocked host gets in the step's log. */
export function blockedWarning(blocked: BlockedHost, mode: EgressMode): string {
  const attempts = `${blocked.count} attempt${blocked.count === 1 ? '' : 's'}`;
  const what = blocked.port === undefined ? 'DNS lookup' : 'connection';
  return mode === 'audit'
    ? `Network access that allowed_domains would have blocked (egress_mode: audit): ${hostPort(blocked)} (${what}, ${attempts})`
    : `Blocked network access: ${hostPort(blocked)} (${what}, ${attempts}); add the host to allowed_domains if the agent needs it`;
}

/** The line a failed run's error gets when the allowlist blocked something: a blocked registry is the usual cause. */
export function blockedErrorLine(blocked: BlockedHost[]): string | undefined {
  if (!blocked.length) return undefined;
  const hosts = blocked.length === 1 ? '1 host was' : `${blocked.length} hosts were`;
  return `${hosts} blocked by allowed_domains (first: ${hostPort(blocked[0])}); a blocked registry is the usual cause (see blocked_hosts)`;
}

/** What the run knows when it reads the allowlist's markers. */
export interface EgressReading {
  /** The allowlist asked for; undefined when `allowed_domains` was `*`. */
  requested?: Egress;
  /** The bundled image (its entrypoint sets the firewall up); false for a workflow's `image`. */
  bundledImage: boolean;
  /** The machine got as far as running the agent (so the firewall should have been in place). */
  ranAgent: boolean;
  redact(text: string): string;
  warn(message: string): void;
}

/**
 * The outcome's `egress`, with a warning for each blocked host and for an allowlist that was
 * asked for but never confirmed. Host names go through `redact`: a hostile agent can spell a
 * secret as a DNS name.
 */
export function readEgress(
  markers: Markers,
  { requested, bundledImage, ranAgent, redact, warn }: EgressReading,
): { mode: EgressMode; blocked: BlockedHost[] } | undefined {
  const report = egressFrom(markers);
  if (report.unreadable) warn("The image's list of blocked hosts ([flaude:blocked:…]) was not a JSON list the action reads; blocked_hosts is empty");
  if (requested && !report.mode) {
    if (bundledImage && ranAgent)
      warn('The network allowlist (allowed_domains) was not confirmed: the image never reported it in force ([flaude:egress:…]) before the agent ran');
    else if (!bundledImage && !requested.isDefault)
      warn(
        'allowed_domains is enforced by the bundled image only (or one built from `dockerfile`): the machine of an `image` of your own runs with its network unrestricted',
      );
  } else if (requested && report.mode !== requested.mode) {
    warn(`egress_mode ${requested.mode} was asked for, but the image put ${report.mode} in force`);
  }
  const mode = report.mode ?? (report.blocked.length ? (requested?.mode ?? 'enforce') : undefined);
  if (!mode) return undefined;
  const blocked = report.blocked.map((entry) => ({ ...entry, host: redact(entry.host) }));
  for (const entry of blocked) warn(blockedWarning(entry, mode));
  return { mode, blocked };
}

/** What a failed run's error adds about the allowlist: the setup that failed, or what it blocked. */
export function egressErrorLines(
  failureReason: string | undefined,
  egress: { mode: EgressMode; blocked: BlockedHost[] } | undefined,
  backend: string,
): string[] {
  if (failureReason === 'egress_setup')
    return [
      `The network allowlist (allowed_domains) could not be set up in the machine, so the agent never started${backend === 'local' ? ': the container gets CAP_NET_ADMIN for it, and the host kernel must have nf_tables' : ''}. allowed_domains: '*' runs without it.`,
    ];
  if (!failureReason || failureReason === 'cancelled' || egress?.mode !== 'enforce') return [];
  const line = blockedErrorLine(egress.blocked);
  return line ? [line] : [];
}
