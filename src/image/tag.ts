// Content-addressed tags: the same Dockerfile and context always give the same tag, so an
// image that exists already is never rebuilt, and any change gets a new one.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function contentTag(dockerfile: string, context: string, extra: Record<string, string> = {}): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await readFile(dockerfile));
  for (const file of await listFiles(context)) {
    hash.update(`\0${relative(context, file)}\0`);
    hash.update(await readFile(file));
  }
  for (const key of Object.keys(extra).sort()) hash.update(`\0${key}=${extra[key]}`);
  return hash.digest('hex').slice(0, 16);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(entries
    .filter((e) => e.name !== '.git' && e.name !== 'node_modules')
    .map((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [])));
  return files.flat().sort();
}
