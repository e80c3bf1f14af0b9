// Bundles the two entry points the runner executes into dist/index.js and dist/post.js.
// ncc writes one folder per entry; the action wants two files side by side, so use its API.
import ncc from '@vercel/ncc';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--out DIR` builds elsewhere (the staleness test compares that build with dist/).
const outIndex = process.argv.indexOf('--out');
const dist = outIndex > 0 ? process.argv[outIndex + 1] : join(root, 'dist');
const entries = { 'index.js': 'src/index.ts', 'post.js': 'src/post.ts' };

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
// Lazily loaded chunks (@actions/github, @actions/artifact) of both bundles share the folder.
const written = new Map();
for (const [out, entry] of Object.entries(entries)) {
  const { code, assets } = await ncc(join(root, entry), {
    target: 'es2022',
    // One licence file per bundle: a shared name would keep only the last bundle's list.
    license: out.replace(/\.js$/, '.licenses.txt'),
    quiet: true,
  });
  await writeFile(join(dist, out), code);
  for (const [name, asset] of Object.entries(assets ?? {})) {
    if (name === 'package.json') continue; // ncc's module-type marker; the root package.json already says "module"
    const source = Buffer.from(asset.source);
    if (written.has(name) && !written.get(name).equals(source)) throw new Error(`${entry} and another entry both make a different ${name}`);
    written.set(name, source);
    await writeFile(join(dist, name), source);
  }
}
