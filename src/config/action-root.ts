import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The action's own folder (where action.yml and docker/ live), from src/ or from dist/. */
export function actionRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'action.yml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('action.yml not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}
