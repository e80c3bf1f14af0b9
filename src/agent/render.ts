// One human line for what the agent does: the tool and its key argument, the way a person
// would type it (`$ npm test`, `Edit src/app.ts`), never the raw event.

/** A rendered line is cut to about this many characters. */
export const LINE_MAX = 200;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;
const SPACES = /\s+/g;
/** Whatever oneLine would change: a control character, whitespace other than one space, space at an end. */
const NOT_ONE_LINE = /[\u0000-\u001f\u007f-\u009f]|[^\S ]| {2}|^ | $/;

/** `text` cut to `max` characters, ending with … when cut. */
export function cut(text: string, max = LINE_MAX): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** All of `text` on one line: runs of whitespace and control characters become one space. */
export function oneLine(text: string, max = LINE_MAX): string {
  // Only the start matters: never flatten megabytes to show 200 characters.
  const head = text.length > 4 * max ? text.slice(0, 4 * max) : text;
  return cut(NOT_ONE_LINE.test(head) ? head.replace(CONTROL, ' ').replace(SPACES, ' ').trim() : head, max);
}

/** The first line of `text` that has something on it, and whether more lines follow. */
export function firstLine(text: string, max = LINE_MAX): { line: string; more: boolean } {
  const lines = text.slice(0, 64 * 1024).split('\n');
  const index = lines.findIndex((l) => l.trim() !== '');
  if (index === -1) return { line: '', more: false };
  const more = lines.slice(index + 1).some((l) => l.trim() !== '') || text.length > 64 * 1024;
  return { line: oneLine(lines[index], max), more };
}

type Input = Record<string, unknown>;

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** A path as the agent sees its workspace: relative to the session's directory when inside it. */
export function displayPath(path: string, cwd?: string): string {
  if (cwd && path.startsWith(`${cwd}/`)) return path.slice(cwd.length + 1);
  return path;
}

/** The file a tool call writes to, for the stats' list of files edited. */
export function editedFile(name: string, input: Input): string | undefined {
  switch (name) {
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
      return str(input.file_path);
    case 'NotebookEdit':
      return str(input.notebook_path);
    default:
      return undefined;
  }
}

export function renderToolUse(name: string, input: Input, cwd?: string): string {
  const path = (value: unknown) => {
    const p = str(value);
    return p === undefined ? undefined : displayPath(p, cwd);
  };
  const where = (value: unknown) => {
    const p = path(value);
    return p === undefined ? '' : ` in ${p}`;
  };
  const quoted = (value: unknown) => JSON.stringify(oneLine(str(value) ?? '', LINE_MAX / 2));
  let line: string | undefined;
  switch (name) {
    case 'Bash': {
      const command = str(input.command);
      if (command) {
        const { line: first, more } = firstLine(command, LINE_MAX - 4);
        line = `$ ${first}${more ? ' …' : ''}`;
      }
      break;
    }
    case 'Read':
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'NotebookEdit':
    case 'NotebookRead':
    case 'LS': {
      const p = path(input.file_path) ?? path(input.notebook_path) ?? path(input.path);
      if (p !== undefined) line = `${name} ${p}`;
      break;
    }
    case 'Grep':
    case 'Glob':
      if (str(input.pattern)) line = `${name} ${quoted(input.pattern)}${where(input.path)}`;
      break;
    case 'WebFetch':
      if (str(input.url)) line = `WebFetch ${str(input.url)}`;
      break;
    case 'WebSearch':
      if (str(input.query)) line = `WebSearch ${quoted(input.query)}`;
      break;
    case 'Task':
    case 'Agent': {
      const what = str(input.description) ?? str(input.prompt);
      const kind = str(input.subagent_type);
      if (what || kind) line = [name, what && oneLine(what, LINE_MAX / 2), kind && `(${kind})`].filter(Boolean).join(' ');
      break;
    }
    case 'TodoWrite':
      if (Array.isArray(input.todos)) line = `TodoWrite (${input.todos.length} ${input.todos.length === 1 ? 'item' : 'items'})`;
      break;
  }
  return oneLine(line ?? genericToolUse(name, input));
}

function genericToolUse(name: string, input: Input): string {
  const json = Object.keys(input).length ? JSON.stringify(input) : '';
  return json ? `${name} ${cut(json, LINE_MAX / 2)}` : name;
}

/** The gist of a failed tool's output: its first line, without Claude Code's error tags. */
export function errorGist(content: unknown): string {
  let text = '';
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    const block = content.find((b) => b && typeof b === 'object' && typeof (b as { text?: unknown }).text === 'string') as { text: string } | undefined;
    text = block?.text ?? '';
  }
  text = text.replace(/<\/?tool_use_error>/g, '').replace(/^\s*Error:\s*/, '');
  return firstLine(text, LINE_MAX - 30).line;
}

export function money(usd: number): string {
  return `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 0.0001 ? 6 : 4)}`;
}
