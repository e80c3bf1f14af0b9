// Content-addressed tags: the same Dockerfile and context always give the same tag, so an
// image that exists already is never rebuilt, and any change gets a new one.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function contentTag(dockerfile: string, context: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await readFile(dockerfile));
  for (const path of await listEntries(context)) {
    const stat = await lstat(path);
    // The executable bit changes what an image does (an entrypoint); other mode bits vary
    // with the checkout's umask and would only cause rebuilds.
    hash.update(`\0${relative(context, path)}\0${stat.mode & 0o100 ? 'x' : '-'}\0`);
    hash.update(stat.isSymbolicLink() ? `-> ${await readlink(path)}` : await readFile(path));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Files and symlinks below `dir`, sorted, without VCS and dependency folders. */
async function listEntries(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const paths = await Promise.all(
    entries
      .filter((e) => e.name !== '.git' && e.name !== 'node_modules')
      .map((e) => (e.isDirectory() ? listEntries(join(dir, e.name)) : e.isFile() || e.isSymbolicLink() ? [join(dir, e.name)] : [])),
  );
  return paths.flat().sort();
}
