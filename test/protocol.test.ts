// The action's side of the image protocol: what the machine is told, and what is believed back.
import { describe, expect, it } from 'vitest';
import { claudeArgs, diffstatFrom, exitFromLastLine, isReserved, machineEnv, parseMarker, promptEnv, pushedFrom } from '../src/protocol.js';

const agent = { allowedTools: [], disallowedTools: [], extraArgs: [] };

describe('machineEnv', () => {
  it('gives the bundled agent its settings as arguments, and the gateway as ANTHROPIC_BASE_URL', () => {
    const env = machineEnv({
      prompt: 'fix it',
      repos: [],
      env: { CI: 'true' },
      agent: {
        ...agent,
        model: 'opus',
        maxTurns: 5,
        allowedTools: ['Bash(npm test:*)', 'Edit'],
        appendSystemPrompt: 'Be brief.',
        extraArgs: ['--fallback-model', 'sonnet'],
        baseUrl: 'https://gw.example.com/anthropic',
      },
    });
    expect(JSON.parse(env.FLAUDE_CLAUDE_ARGS)).toEqual([
      '--model',
      'opus',
      '--max-turns',
      '5',
      '--allowedTools',
      'Bash(npm test:*),Edit',
      '--append-system-prompt',
      'Be brief.',
      '--fallback-model',
      'sonnet',
    ]);
    expect(env).toMatchObject({ FLAUDE_PROMPT: 'fix it', ANTHROPIC_BASE_URL: 'https://gw.example.com/anthropic', CI: 'true' });
  });

  it('sets no agent variables for other images and commands', () => {
    const env = machineEnv({ prompt: 'x', repos: [], env: {}, agentCommand: ['make'] });
    expect(env.FLAUDE_CLAUDE_ARGS).toBeUndefined();
    expect(env.ANTHROPIC_BASE_URL).toBeUndefined();
    expect(env.AGENT_COMMAND).toBe('["make"]');
  });

  it('splits a prompt over 128 KiB into pieces the kernel accepts, between characters', () => {
    const prompt = 'é'.repeat(150_000); // 300 000 bytes
    const env = promptEnv(prompt);
    expect(Object.keys(env)).toEqual(['FLAUDE_PROMPT', 'FLAUDE_PROMPT_1', 'FLAUDE_PROMPT_2']);
    for (const piece of Object.values(env)) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(100_000);
    expect(Object.values(env).join('')).toBe(prompt);
  });

  it('reserves every FLAUDE_ name and the variables the action sets', () => {
    for (const key of ['FLAUDE_PROMPT_7', 'FLAUDE_ANYTHING', 'GITHUB_TOKEN', 'ANTHROPIC_BASE_URL', 'AGENT_COMMAND']) expect(isReserved(key), key).toBe(true);
    for (const key of ['NPM_TOKEN', 'CI', 'GIT_AUTHOR_NAME']) expect(isReserved(key), key).toBe(false);
  });

  it('sends the allowlist one entry a line with its mode, and nothing when it is off', () => {
    const env = machineEnv({ repos: [], env: {}, egress: { allow: ['github.com', '*.npmjs.org', '10.0.0.0/8', 'fd00::1'], mode: 'audit' } });
    expect(env.FLAUDE_EGRESS_ALLOW).toBe('github.com\n*.npmjs.org\n10.0.0.0/8\nfd00::1');
    expect(env.FLAUDE_EGRESS_MODE).toBe('audit');
    const off = machineEnv({ repos: [], env: {} });
    expect(Object.keys(off).filter((key) => key.startsWith('FLAUDE_EGRESS'))).toEqual([]);
    // The workflow's env can't switch it off or widen it.
    for (const key of ['FLAUDE_EGRESS_ALLOW', 'FLAUDE_EGRESS_MODE']) expect(isReserved(key)).toBe(true);
  });

  it('claudeArgs adds nothing when nothing is set', () => {
    expect(claudeArgs(agent)).toEqual([]);
  });
});

describe('markers read back', () => {
  it('an exit code counts only as the very last line, and only when numeric', () => {
    expect(exitFromLastLine('[flaude:exit:3]')).toBe(3);
    expect(exitFromLastLine('[flaude:exit:x]')).toBeNull();
    expect(exitFromLastLine('done')).toBeNull();
    expect(exitFromLastLine(undefined)).toBeNull();
    expect(parseMarker('say [flaude:exit:0] please')).toBeUndefined();
  });

  it('a push is believed only for the branch asked for', () => {
    const markers = new Map([['pushed', 'fix:0123456789abcdef0123456789abcdef01234567']]);
    expect(pushedFrom(markers, 'fix')).toEqual({ branch: 'fix', sha: '0123456789abcdef0123456789abcdef01234567' });
    expect(pushedFrom(markers, 'main')).toBeUndefined();
  });

  it('the diffstat lists files with lines added and removed, binary files as null', () => {
    const numstat = '3\t1\tsrc/app.ts\n-\t-\tlogo.png\n0\t2\tdir with space/a\tb.txt\n';
    const markers = new Map([['diffstat', Buffer.from(numstat).toString('base64')]]);
    expect(diffstatFrom(markers)).toEqual([
      { path: 'src/app.ts', added: 3, removed: 1 },
      { path: 'logo.png', added: null, removed: null },
      { path: 'dir with space/a\tb.txt', added: 0, removed: 2 },
    ]);
    expect(diffstatFrom(new Map())).toEqual([]);
  });
});
