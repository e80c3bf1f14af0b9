// Claude Code's events read one line at a time: the human line each becomes, and the stats.
import { describe, expect, it } from 'vitest';
import { AgentEvents } from '../../src/agent/events.js';
import { MAX_COMMANDS, MAX_FILES, MAX_TOOL_NAMES, OTHER_TOOLS, RESULT_MAX } from '../../src/agent/stats.js';
import { CWD, SESSION, allRecordings, assistant, init, line, recorded, result, text, toolResult, toolUse } from './helpers.js';

/** Reads every line of `text` and returns what each shows (undefined: passes as it is). */
function readAll(events: AgentEvents, lines: string[]): Array<string | null | undefined> {
  return lines.map((l) => events.read(Buffer.from(l)));
}

/** What a whole recording shows, as the log file would hold it. */
function shown(bytes: Buffer): { lines: string[]; events: AgentEvents } {
  const events = new AgentEvents();
  const lines: string[] = [];
  for (const raw of bytes.toString('utf8').split('\n')) {
    if (!raw) continue;
    const out = events.read(Buffer.from(raw));
    if (out === undefined) lines.push(raw);
    else if (out !== null) lines.push(out);
  }
  return { lines, events };
}

describe('a recorded session of the pinned CLI', () => {
  it('reads as the steps a person would type, failures marked, results silent', () => {
    const { lines, events } = shown(recorded('tools'));
    expect(lines).toEqual([
      'Claude Code started (model claude-opus-5-5, session 4be0bb9c-3bcc-4337-875a-b7692879bb45)',
      'Let me look.',
      '$ ls -la && echo multi …',
      'Read README.md',
      '$ echo oops >&2; exit 3',
      'Grep "TODO"',
      'Glob "**/*.md"',
      '  ✗ Bash failed: Exit code 3',
      '  ✗ Grep failed: No such tool available: Grep. Grep is not available in this session — search file contents with `grep` via the Bash tool instead.',
      '  ✗ Glob failed: No such tool available: Glob. Glob is not available in this session — find files with `find` via the Bash tool instead.',
      'Write x.txt',
      'Edit x.txt',
      'TodoWrite (2 items)',
      '  ✗ TodoWrite failed: No such tool available: TodoWrite. TodoWrite is disabled for this session, in subagents as well as here.',
      'Read /nope/missing.txt',
      '  ✗ Read failed: File does not exist. Note: your current working directory is /home/agent/w.',
      'All done. Second line.',
      'Result (success, 10 turns, $0.0047): All done.',
    ]);
    const { lastEventAt, ...stats } = events.stats;
    expect(lastEventAt).toBeGreaterThan(Date.now() - 60_000);
    expect(stats).toEqual({
      result: 'All done.\nSecond line.',
      subtype: 'success',
      isError: false,
      costUsd: 0.00469,
      numTurns: 10,
      turns: 6,
      // 550 uncached + 30 cache creation + 1000 cache read
      inputTokens: 1580,
      outputTokens: 107,
      cacheReadTokens: 1000,
      cacheCreationTokens: 30,
      usageSource: 'result',
      sessionId: '4be0bb9c-3bcc-4337-875a-b7692879bb45',
      model: 'claude-opus-5-5',
      toolCounts: { Bash: 2, Read: 2, Grep: 1, Glob: 1, Write: 1, Edit: 1, TodoWrite: 1 },
      commands: ['ls -la && echo multi\necho line', 'echo oops >&2; exit 3'],
      filesEdited: ['/home/agent/w/x.txt'],
      lastActivity: 'Read /nope/missing.txt',
      events: 22,
    });
  });

  it('names the API status of an overloaded or unauthorized run', () => {
    const overloaded = shown(recorded('e529'));
    expect(overloaded.lines[1]).toBe('API error 529 (overloaded): retrying in 0.5 s (attempt 1/1)');
    expect(overloaded.lines[2]).toMatch(/^✗ API Error: 529 Overloaded\. /);
    expect(overloaded.lines[3]).toMatch(/^Result \(error, 1 turn, \$0\.0000\): API Error: 529/);
    expect(overloaded.events.stats).toMatchObject({ apiErrorStatus: 529, isError: true, subtype: 'success', turns: 0 });

    const unauthorized = shown(recorded('e401'));
    expect(unauthorized.lines[2]).toBe('✗ API error 401: Invalid API key · Fix external API key');
    expect(unauthorized.events.stats).toMatchObject({
      apiErrorStatus: 401,
      apiError: 'authentication_failed',
      result: 'Invalid API key · Fix external API key',
    });
  });

  it('says why a run that hit max turns stopped', () => {
    const { lines, events } = shown(recorded('maxturns'));
    expect(lines.at(-1)).toBe('Result (error_max_turns, 3 turns, $0.0016): Reached maximum number of turns (2)');
    expect(events.stats).toMatchObject({
      subtype: 'error_max_turns',
      isError: true,
      errors: ['Reached maximum number of turns (2)'],
      commands: ['echo 1', 'echo 2'],
    });
    expect(events.stats.result).toBeUndefined();
    expect(events.stats.apiErrorStatus).toBeUndefined();
  });

  it.each(allRecordings().map((r) => [r.name, r.bytes] as const))('%s: every event is read, none shows as JSON', (_, bytes) => {
    const events = new AgentEvents();
    let results = 0;
    for (const raw of bytes.toString('utf8').split('\n')) {
      if (!raw) continue;
      const out = events.read(Buffer.from(raw));
      if (raw.startsWith('{"type":') || raw.includes('"type":"result"')) {
        expect(out, raw.slice(0, 120)).not.toBeUndefined();
        if (out) expect(out).not.toMatch(/^\s*\{"/);
        if (out) expect(out.length).toBeLessThanOrEqual(210);
      }
      if (raw.includes('"type":"result"')) results++;
    }
    expect(results).toBe(1);
    expect(events.stats.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events.stats.numTurns).toBeGreaterThan(0);
  });
});

describe('rendering', () => {
  it('shows the init, the agent text on one line, tools, and a failure with the tool named', () => {
    const events = new AgentEvents();
    const long = `${'word '.repeat(60)}end`;
    expect(
      readAll(events, [
        line(init('claude-x')),
        line(text('m1', 'First line.\n\n  Second   line.')),
        line(text('m1', long)),
        line(toolUse('m1', 't1', 'Bash', { command: 'npm test' })),
        line(toolResult('t1', 'all good')),
        line(toolUse('m2', 't2', 'Edit', { file_path: `${CWD}/src/app.ts`, old_string: 'a', new_string: 'b' })),
        line(toolResult('t2', '<tool_use_error>String to replace not found in file.\nString: a</tool_use_error>', true)),
        line(toolResult('t9', [{ type: 'text', text: 'Error: boom\nstack' }], true)),
      ]),
    ).toEqual([
      `Claude Code started (model claude-x, session ${SESSION})`,
      'First line. Second line.',
      `${long.slice(0, 199)}…`,
      '$ npm test',
      null,
      'Edit src/app.ts',
      '  ✗ Edit failed: String to replace not found in file.',
      '  ✗ Tool failed: boom',
    ]);
  });

  it('indents a subagent’s steps and does not count them as turns', () => {
    const events = new AgentEvents();
    events.read(Buffer.from(line(init())));
    const nested = assistant('m9', { type: 'tool_use', id: 't9', name: 'Read', input: { file_path: `${CWD}/a.ts` } }, undefined, {
      parent_tool_use_id: 'task-1',
    });
    expect(
      events.read(Buffer.from(line(toolUse('m1', 'task-1', 'Task', { description: 'Find the bug', subagent_type: 'general-purpose', prompt: 'x' })))),
    ).toBe('Task Find the bug (general-purpose)');
    expect(events.read(Buffer.from(line(nested)))).toBe('  Read a.ts');
    expect(events.stats.turns).toBe(1);
    expect(events.stats.toolCounts).toEqual({ Task: 1, Read: 1 });
  });

  it('shows the result with its subtype, turns and cost, and an error subtype as such', () => {
    expect(new AgentEvents().read(Buffer.from(line(result())))).toBe('Result (success, 3 turns, $0.0123): Fixed it.');
    expect(
      new AgentEvents().read(
        Buffer.from(line(result({ subtype: 'error_during_execution', is_error: true, result: undefined, num_turns: 1, total_cost_usd: undefined }))),
      ),
    ).toBe('Result (error_during_execution, 1 turn)');
  });

  it('passes anything that is not an event: text, broken JSON, JSON that is no event', () => {
    const events = new AgentEvents();
    const lines = [
      '[flaude] cloning https://github.com/o/r into r',
      '{"type":"assistant","message":{"id":"m1"',
      '{ not json }',
      '{"level":"info","msg":"hello"}',
      '{"type":"log","msg":"a type but no session"}',
      '[1,2,3]',
      '',
      '{}',
      '"a string"',
    ];
    expect(readAll(events, lines)).toEqual(lines.map(() => undefined));
    expect(events.stats.events).toBe(0);
  });

  it('reads an event line ending in CRLF or spaces, and an unknown event type with a session as an event that shows nothing', () => {
    const events = new AgentEvents();
    expect(events.read(Buffer.from(`${line(text('m1', 'hi'))}\r`))).toBe('hi');
    expect(events.read(Buffer.from(`${line({ type: 'rate_limit_event', session_id: SESSION })}  `))).toBeNull();
    expect(events.read(Buffer.from(line({ type: 'system', subtype: 'compact_boundary', session_id: SESSION })))).toBeNull();
    expect(events.stats.events).toBe(3);
  });
});

describe('stats', () => {
  it('counts each message’s usage once though it comes with every block, and takes a later, bigger figure', () => {
    const events = new AgentEvents();
    const usage = { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000 };
    readAll(events, [
      line(text('m1', 'looking', usage)),
      line(toolUse('m1', 't1', 'Bash', { command: 'ls' }, usage)),
      line(toolUse('m1', 't2', 'Bash', { command: 'pwd' }, { ...usage, output_tokens: 30 })),
      line(toolUse('m2', 't3', 'Read', { file_path: 'x' }, { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: 2000 })),
    ]);
    expect(events.stats).toMatchObject({
      usageSource: 'messages',
      inputTokens: 10 + 100 + 1000 + 5 + 2000,
      outputTokens: 30 + 2,
      cacheReadTokens: 3000,
      cacheCreationTokens: 100,
      turns: 2,
    });
    // What a run cut short reports: what was seen, the rest unknown rather than zero.
    expect(events.stats.result).toBeUndefined();
    expect(events.stats.costUsd).toBeUndefined();
    expect(events.stats.numTurns).toBeUndefined();
    expect(events.stats.subtype).toBeUndefined();
  });

  it('knows no token count before any message, and takes the result’s totals over the sum', () => {
    const events = new AgentEvents();
    events.read(Buffer.from(line(init())));
    expect(events.stats.inputTokens).toBeUndefined();
    expect(events.stats.outputTokens).toBeUndefined();
    readAll(events, [line(text('m1', 'a', { input_tokens: 7, output_tokens: 1 })), line(result())]);
    expect(events.stats).toMatchObject({
      usageSource: 'result',
      inputTokens: 420,
      outputTokens: 50,
      cacheReadTokens: 300,
      cacheCreationTokens: 20,
      costUsd: 0.0123,
      numTurns: 3,
    });
    // A message after the result does not undo its totals.
    events.read(Buffer.from(line(text('m2', 'b', { input_tokens: 1000, output_tokens: 1000 }))));
    expect(events.stats.inputTokens).toBe(420);
  });

  it('keeps its lists bounded whatever the agent does', () => {
    const events = new AgentEvents();
    const many = 3 * Math.max(MAX_COMMANDS, MAX_FILES, MAX_TOOL_NAMES);
    for (let i = 0; i < many; i++) {
      events.read(Buffer.from(line(toolUse(`m${i}`, `b${i}`, 'Bash', { command: `echo ${i} ${'x'.repeat(i === 0 ? 5000 : 0)}` }))));
      events.read(Buffer.from(line(toolUse(`m${i}`, `e${i}`, 'Edit', { file_path: `src/f${i % (2 * MAX_FILES)}.ts` }))));
      events.read(Buffer.from(line(toolUse(`m${i}`, `x${i}`, `mcp__srv__tool${i}`, {}))));
    }
    const { stats } = events;
    expect(stats.commands).toHaveLength(MAX_COMMANDS);
    expect(stats.commands[0].length).toBeLessThanOrEqual(1000);
    expect(stats.commands[1]).toBe('echo 1 ');
    expect(stats.filesEdited).toHaveLength(MAX_FILES);
    expect(new Set(stats.filesEdited).size).toBe(MAX_FILES);
    expect(Object.keys(stats.toolCounts)).toHaveLength(MAX_TOOL_NAMES + 1);
    expect(stats.toolCounts.Bash).toBe(many);
    expect(stats.toolCounts[OTHER_TOOLS]).toBe(many - (MAX_TOOL_NAMES - 2));
    const long = 'r'.repeat(RESULT_MAX + 10);
    events.read(Buffer.from(line(result({ result: long }))));
    expect(stats.result!.length).toBe(RESULT_MAX);
  });

  it('files: deduplicated, only for tools that write', () => {
    const events = new AgentEvents();
    readAll(events, [
      line(toolUse('m1', 'a', 'Write', { file_path: '/w/a.ts', content: 'x' })),
      line(toolUse('m1', 'b', 'Edit', { file_path: '/w/a.ts' })),
      line(toolUse('m1', 'c', 'Read', { file_path: '/w/b.ts' })),
      line(toolUse('m1', 'd', 'NotebookEdit', { notebook_path: '/w/n.ipynb' })),
      line(toolUse('m1', 'e', 'MultiEdit', { file_path: '/w/c.ts', edits: [] })),
    ]);
    expect(events.stats.filesEdited).toEqual(['/w/a.ts', '/w/n.ipynb', '/w/c.ts']);
  });
});

describe('API errors', () => {
  it('clears a retried error once the API answers, keeps a final one', () => {
    const events = new AgentEvents();
    events.read(
      Buffer.from(
        line({
          type: 'system',
          subtype: 'api_retry',
          attempt: 1,
          max_retries: 10,
          retry_delay_ms: 1200,
          error_status: 429,
          error: 'rate_limit',
          session_id: SESSION,
        }),
      ),
    );
    expect(events.stats).toMatchObject({ apiErrorStatus: 429, apiError: 'rate_limit' });
    events.read(Buffer.from(line(text('m1', 'back'))));
    expect(events.stats.apiErrorStatus).toBeUndefined();

    // An error message in the older shape: only the text says the status.
    const older = {
      type: 'assistant',
      message: { id: 'e1', model: '<synthetic>', role: 'assistant', content: [{ type: 'text', text: 'API Error (503 {"type":"error"}) · Retrying' }] },
      session_id: SESSION,
    };
    expect(events.read(Buffer.from(line(older)))).toBe('✗ API Error (503 {"type":"error"}) · Retrying');
    expect(events.stats.apiErrorStatus).toBe(503);
    // A category alone still names its status.
    events.read(Buffer.from(line({ ...assistant('e2', { type: 'text', text: 'You have hit your limit' }), error: 'rate_limit' })));
    expect(events.stats).toMatchObject({ apiErrorStatus: 429, apiError: 'rate_limit' });
    expect(events.stats.turns).toBe(1);
  });

  it('takes the result’s status, and a clean result clears what came before', () => {
    const events = new AgentEvents();
    events.read(Buffer.from(line(result({ is_error: true, api_error_status: 401, result: 'Invalid API key' }))));
    expect(events.stats.apiErrorStatus).toBe(401);
    events.read(Buffer.from(line(result())));
    expect(events.stats.apiErrorStatus).toBeUndefined();
  });
});

describe('big lines', () => {
  const huge = (n: number) => Array.from({ length: n }, (_, i) => `line ${i} "quoted" \\ tab\t — ü`).join('\n');

  it('a big successful tool result shows nothing and is not parsed', () => {
    const events = new AgentEvents();
    const big = Buffer.from(line(toolResult('t1', huge(50_000))));
    expect(big.length).toBeGreaterThan(1 << 20);
    const parse = JSON.parse;
    let parsed = 0;
    JSON.parse = (...args: Parameters<typeof JSON.parse>) => (parsed++, parse(...args));
    try {
      expect(events.read(big)).toBeNull();
    } finally {
      JSON.parse = parse;
    }
    expect(parsed).toBe(0);
    expect(events.stats.events).toBe(1);
  });

  it('a big failed result shows its first line; a big Write shows its file', () => {
    const events = new AgentEvents();
    events.read(Buffer.from(line(init())));
    events.read(Buffer.from(line(toolUse('m1', 't1', 'Bash', { command: 'npm test' }))));
    expect(events.read(Buffer.from(line(toolResult('t1', `Exit code 1\n${huge(20_000)}`, true))))).toBe('  ✗ Bash failed: Exit code 1');
    const write = Buffer.from(line(toolUse('m2', 't2', 'Write', { file_path: `${CWD}/big.txt`, content: huge(20_000) })));
    expect(write.length).toBeGreaterThan(64 * 1024);
    expect(events.read(write)).toBe('Write big.txt');
    expect(events.stats.filesEdited).toEqual([`${CWD}/big.txt`]);
    // A big result: its message kept up to RESULT_MAX.
    expect(events.read(Buffer.from(line(result({ result: `Done.\n${huge(20_000)}` }))))).toBe('Result (success, 3 turns, $0.0123): Done.');
    expect(events.stats.result!.startsWith('Done.\nline 0 "quoted" \\ tab\t — ü\n')).toBe(true);
    expect(events.stats.result!.length).toBeLessThanOrEqual(RESULT_MAX);
  });

  it('a big line that is not valid JSON passes through', () => {
    const events = new AgentEvents();
    const broken = Buffer.from(`${line(text('m1', huge(20_000))).slice(0, -3)}}`);
    expect(events.read(broken)).toBeUndefined();
  });
});
