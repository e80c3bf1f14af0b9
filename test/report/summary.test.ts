// The job summary as a person reads it, and its size whatever the agent did.
import { describe, expect, it } from 'vitest';
import { emptyStats, type AgentStats } from '../../src/agent/stats.js';
import { summaryHtml } from '../../src/report/summary.js';
import type { RunOutcome } from '../../src/run/outcome.js';
import { testOutcome } from '../helpers/factories.js';

const outcome = (overrides: Partial<RunOutcome> = {}) =>
  testOutcome({
    image: 'agent-machine-action:abc',
    machineId: 'c0ffee',
    durationSeconds: 125,
    logTail: ['$ npm test', 'Result (success)'],
    logFile: '/tmp/run.log',
    ...overrides,
  });

function stats(overrides: Partial<AgentStats> = {}): AgentStats {
  return {
    ...emptyStats(),
    result: 'Fixed the failing test.\n\nThe loop was off by one.',
    costUsd: 0.01234,
    numTurns: 3,
    inputTokens: 12345,
    outputTokens: 678,
    model: 'claude-sonnet-4-5',
    sessionId: 's-1',
    toolCounts: { Bash: 2, Edit: 1 },
    commands: ['npm test', 'npm test -- --watch=false'],
    filesEdited: ['src/app.ts'],
    ...overrides,
  };
}

describe('the job summary', () => {
  it('leads with the conclusion and the final message, then figures, activity and what was pushed', () => {
    const html = summaryHtml(
      outcome({
        agent: stats(),
        pushed: { branch: 'fix', sha: 'a'.repeat(40) },
        changedFiles: [
          { path: 'src/app.ts', added: 3, removed: 1 },
          { path: 'logo.png', added: null, removed: null },
        ],
      }),
      { commitUrl: 'https://github.com/o/r/commit/aaa' },
    );
    const order = [
      'Agent finished in 2m 5s',
      'Fixed the failing test.',
      '$0.0123',
      '12,345',
      'Bash ×2 · Edit ×1',
      '<code>src/app.ts</code>',
      '$ npm test',
      'What was pushed',
      '2 files, +3 −1',
      'binary',
      'Run details',
      'Last 2 log lines',
    ];
    const at = order.map((text) => html.indexOf(text));
    expect(
      at.every((i) => i >= 0),
      JSON.stringify(order.filter((_, i) => at[i] < 0)),
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(html).toContain('<a href="https://github.com/o/r/commit/aaa">');
  });

  it('heads a failure with the error in its own words, its log lines shown once, folded', () => {
    const tail = ['Write NOTES.md', 'Result (error_max_turns, 2 turns, $0.0109): Reached maximum number of turns (1)'];
    const html = summaryHtml(
      outcome({
        conclusion: 'failure',
        failureReason: 'max_turns',
        agent: stats({ result: undefined, subtype: 'error_max_turns', errors: ['Reached maximum number of turns (1)'] }),
        error: `Machine c0ffee exited with code 1 (state 'stopped') (failure_reason: max_turns)\nClaude Code: Reached maximum number of turns (1)\nLast 2 log lines:\n${tail.join('\n')}`,
        logTail: tail,
      }),
    );
    expect(html).toContain(
      "<pre>Machine c0ffee exited with code 1 (state 'stopped') (failure_reason: max_turns)\nClaude Code: Reached maximum number of turns (1)</pre>",
    );
    expect(html.split('Write NOTES.md')).toHaveLength(2);
    expect(html.indexOf('Write NOTES.md')).toBeGreaterThan(html.indexOf('<summary>Last 2 log lines</summary>'));
  });

  it('shows what is known of a run that timed out, never a made-up zero', () => {
    const html = summaryHtml(
      outcome({
        conclusion: 'timeout',
        agent: stats({ result: undefined, costUsd: undefined, numTurns: undefined, outputTokens: 40 }),
        error: 'Machine c0ffee did not exit within 60s',
      }),
    );
    expect(html).toContain('Agent timed out');
    expect(html).toContain('Output tokens');
    expect(html).not.toContain('Cost');
    expect(html).not.toContain('Turns');
  });

  it('escapes what the agent wrote', () => {
    const html = summaryHtml(outcome({ agent: stats({ result: '<img src=x onerror=alert(1)>', commands: ['echo "<script>"'] }) }));
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;img');
  });

  it('lists what the allowlist blocked, after what was pushed, and notes the allowlist in the details', () => {
    const html = summaryHtml(
      outcome({
        pushed: { branch: 'fix', sha: 'a'.repeat(40) },
        egress: {
          mode: 'enforce',
          blocked: [
            { host: 'evil.example', port: 443, count: 3 },
            { host: 'leak.example', count: 1 },
          ],
        },
      }),
    );
    const section = html.slice(html.indexOf('<h3>Blocked network access</h3>'), html.indexOf('Run details'));
    expect(html.indexOf('What was pushed')).toBeLessThan(html.indexOf('Blocked network access'));
    expect(section).toContain('<code>allowed_domains</code> blocked these');
    expect(section).toContain('<tr><td><code>evil.example</code></td><td>443</td><td>3</td></tr>');
    expect(section).toContain('<tr><td><code>leak.example</code></td><td>DNS lookup</td><td>1</td></tr>');
    expect(html).toContain('<td>Network allowlist</td><td>enforce, 2 hosts blocked</td>');
  });

  it('in audit mode says the hosts were let through; with nothing blocked there is no section', () => {
    const audit = summaryHtml(outcome({ egress: { mode: 'audit', blocked: [{ host: 'pypi.org', port: 443, count: 1 }] } }));
    expect(audit).toContain('<code>egress_mode</code> is <code>audit</code>: these were let through');
    const clean = summaryHtml(outcome({ egress: { mode: 'enforce', blocked: [] } }));
    expect(clean).not.toContain('Blocked network access');
    expect(clean).toContain('<td>Network allowlist</td><td>enforce, nothing blocked</td>');
    expect(summaryHtml(outcome())).not.toContain('Network allowlist');
  });

  it('escapes a hostile host name', () => {
    const html = summaryHtml(outcome({ egress: { mode: 'enforce', blocked: [{ host: '<img/src=x/onerror=alert(1)>&amp;', port: 80, count: 1 }] } }));
    expect(html).not.toContain('<img');
    expect(html).toContain('<code>&lt;img/src=x/onerror=alert(1)&gt;&amp;amp;</code>');
  });

  it('stays under 1 MiB whatever the agent did', () => {
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const html = summaryHtml(
      outcome({
        agent: stats({
          result: huge,
          commands: Array.from({ length: 100 }, () => huge.slice(0, 1000)),
          filesEdited: Array.from({ length: 200 }, (_, i) => `${huge.slice(0, 1000)}${i}`),
          toolCounts: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`tool${i}`, i])),
        }),
        error: huge,
        logTail: Array.from({ length: 1000 }, () => huge.slice(0, 2000)),
        pushed: { branch: 'b', sha: 'f'.repeat(40) },
        changedFiles: Array.from({ length: 100 }, (_, i) => ({ path: `${huge.slice(0, 4000)}${i}`, added: i, removed: i })),
        egress: { mode: 'enforce', blocked: Array.from({ length: 50 }, (_, i) => ({ host: `${'h'.repeat(250)}${i}`, port: 443, count: i + 1 })) },
      }),
    );
    expect(Buffer.byteLength(html)).toBeLessThan(1024 * 1024);
  });
});
