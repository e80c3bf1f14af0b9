// The runner executes dist/, not src/: a commit whose dist/ lags behind src/ ships old code.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/action.js';

it('dist/ is built from the current source (run `npm run build` and commit dist/)', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'amt-dist-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out', fresh], { stdio: 'inherit' });
  const committed = join(ROOT, 'dist');
  expect(readdirSync(committed).sort()).toEqual(readdirSync(fresh).sort());
  for (const file of readdirSync(fresh)) {
    const same = readFileSync(join(fresh, file)).equals(readFileSync(join(committed, file)));
    expect(same, `dist/${file} differs from a fresh build`).toBe(true);
  }
});
