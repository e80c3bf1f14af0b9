// Build stage only: downloads Claude Code's native binary package for this machine
// (@anthropic-ai/claude-code-linux-x64 or -arm64, the one `npm install @anthropic-ai/claude-code`
// links in on glibc Linux) from the npm registry, checks the tarball against the registry's sha512
// integrity as npm does, and writes it to OUT. No npm needed: Debian's takes over a minute to install.
// Usage: node fetch-claude.mjs VERSION OUT
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [version, out] = process.argv.slice(2);
const registry = (process.env.npm_config_registry || 'https://registry.npmjs.org').replace(/\/+$/, '');
const name = `@anthropic-ai/claude-code-linux-${process.arch}`;

async function get(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`);
  return res;
}

const { dist } = await (await get(`${registry}/${name}/${version}`)).json();
const dash = dist.integrity.indexOf('-');
const [algorithm, expected] = [dist.integrity.slice(0, dash), dist.integrity.slice(dash + 1)];
if (algorithm !== 'sha512') throw new Error(`${name}@${version}: unexpected integrity ${dist.integrity}`);
const tarball = Buffer.from(await (await get(dist.tarball)).arrayBuffer());
const actual = createHash('sha512').update(tarball).digest('base64');
if (actual !== expected) throw new Error(`${name}@${version}: the tarball's sha512 is ${actual}, the registry's ${expected}`);
writeFileSync(out, tarball);
