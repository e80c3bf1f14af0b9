// One line per tool call: the tool and its key argument.
import { describe, expect, it } from 'vitest';
import { LINE_MAX, errorGist, firstLine, money, oneLine, renderToolUse } from '../../src/agent/render.js';

const cwd = '/workspace/app';

describe('renderToolUse', () => {
  it.each([
    ['Bash', { command: 'npm test', description: 'Run the tests' }, '$ npm test'],
    ['Bash', { command: '\n  cd src &&\n  make all\n' }, '$ cd src && …'],
    ['Edit', { file_path: `${cwd}/src/app.ts`, old_string: 'a', new_string: 'b' }, 'Edit src/app.ts'],
    ['MultiEdit', { file_path: `${cwd}/src/app.ts`, edits: [] }, 'MultiEdit src/app.ts'],
    ['Write', { file_path: '/etc/x', content: 'x' }, 'Write /etc/x'],
    ['Read', { file_path: `${cwd}/README.md`, offset: 10 }, 'Read README.md'],
    ['NotebookEdit', { notebook_path: `${cwd}/n.ipynb`, new_source: '' }, 'NotebookEdit n.ipynb'],
    ['Grep', { pattern: 'TODO' }, 'Grep "TODO"'],
    ['Grep', { pattern: 'a"b', path: `${cwd}/src`, glob: '*.ts' }, 'Grep "a\\"b" in src'],
    ['Glob', { pattern: '**/*.ts' }, 'Glob "**/*.ts"'],
    ['WebFetch', { url: 'https://example.com/a', prompt: 'p' }, 'WebFetch https://example.com/a'],
    ['WebSearch', { query: 'vitest config' }, 'WebSearch "vitest config"'],
    ['Task', { description: 'Find the flaky test', prompt: 'long…', subagent_type: 'Explore' }, 'Task Find the flaky test (Explore)'],
    ['Agent', { prompt: 'Look around' }, 'Agent Look around'],
    ['TodoWrite', { todos: [{}, {}, {}] }, 'TodoWrite (3 items)'],
    ['TodoWrite', { todos: [{}] }, 'TodoWrite (1 item)'],
    ['mcp__github__get_issue', { owner: 'o', repo: 'r', number: 7 }, 'mcp__github__get_issue {"owner":"o","repo":"r","number":7}'],
    ['ExitPlanMode', {}, 'ExitPlanMode'],
    // A known tool without its key argument falls back to the generic form.
    ['Bash', { timeout: 5 }, 'Bash {"timeout":5}'],
  ])('%s %j → %s', (name, input, expected) => {
    expect(renderToolUse(name, input, cwd)).toBe(expected);
  });

  it('keeps every line short and on one line, whatever the input', () => {
    const long = renderToolUse('Bash', { command: `echo ${'x'.repeat(5000)}` }, cwd);
    expect(long.length).toBeLessThanOrEqual(LINE_MAX);
    expect(long.length).toBeGreaterThan(LINE_MAX - 10);
    expect(long.endsWith('…')).toBe(true);
    const generic = renderToolUse('Custom', { data: 'y'.repeat(5000) });
    expect(generic.length).toBeLessThanOrEqual(LINE_MAX);
    expect(renderToolUse('Read', { file_path: 'a\u001b[31m\nb\tc' })).toBe('Read a [31m b c');
  });

  it('leaves a path outside the session directory whole', () => {
    expect(renderToolUse('Read', { file_path: '/workspace/application/x' }, cwd)).toBe('Read /workspace/application/x');
  });
});

describe('line helpers', () => {
  it('oneLine collapses whitespace and cuts', () => {
    expect(oneLine('  a\n\n b\t\tc  ')).toBe('a b c');
    expect(oneLine('abcdef', 4)).toBe('abc…');
  });

  it('firstLine finds the first line with text and says whether more follow', () => {
    expect(firstLine('\n\n  first  \nsecond')).toEqual({ line: 'first', more: true });
    expect(firstLine('only\n\n')).toEqual({ line: 'only', more: false });
    expect(firstLine('   ')).toEqual({ line: '', more: false });
  });

  it('errorGist drops Claude Code’s tags and a leading Error:', () => {
    expect(errorGist('<tool_use_error>Error: No such file</tool_use_error>')).toBe('No such file');
    expect(errorGist([{ type: 'image' }, { type: 'text', text: 'Exit code 2\nmore' }])).toBe('Exit code 2');
    expect(errorGist(undefined)).toBe('');
  });

  it('money shows four decimals, more for a fraction of a hundredth of a cent', () => {
    expect(money(0.0123456)).toBe('$0.0123');
    expect(money(12.5)).toBe('$12.5000');
    expect(money(0.00001234)).toBe('$0.000012');
  });
});
