// Prints the content tag of docker/: the tag the release workflow (.github/workflows/agent-image.yml)
// pushes the bundled image under and the action pulls. It runs src/image/tag.ts itself, the
// action's own function, its types stripped by TypeScript (a devDependency): the workflow and the
// action cannot compute it two ways. Usage: node scripts/agent-image-tag.mjs
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = await readFile(join(root, 'src', 'image', 'tag.ts'), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
// tag.ts imports only node: builtins, which a data: module may import.
const { contentTag } = await import(`data:text/javascript,${encodeURIComponent(outputText)}`);
console.log(await contentTag(join(root, 'docker', 'Dockerfile'), join(root, 'docker')));
