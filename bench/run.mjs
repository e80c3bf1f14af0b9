// `npm run bench [-- --quick] [-- --only …]`: bundles bench/main.ts (TypeScript, with the
// src/ and test/ parts it drives) into bench/out/ with ncc, as scripts/build.mjs bundles
// the action, and runs it. The action measured is dist/index.js: `npm run build` first
// after changing src/.
import ncc from '@vercel/ncc';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('dist/index.js is missing: run `npm run build` first');
  process.exit(1);
}
const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });
const { code } = await ncc(join(root, 'bench', 'main.ts'), { target: 'es2022', quiet: true });
writeFileSync(join(out, 'bench.js'), code);
const { status } = spawnSync(process.execPath, [join(out, 'bench.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, BENCH_ROOT: root },
});
process.exit(status ?? 1);
