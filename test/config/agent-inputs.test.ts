// The inputs of the agent run: Claude Code's settings, secrets kept apart from plain env, bounds.
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config/config.js';
import { InvalidConfigError } from '../../src/errors.js';

const read = (inputs: Record<string, string>) => readConfig((name) => inputs[name] ?? '', {});
const fails = (inputs: Record<string, string>) => {
  try {
    read(inputs);
  } catch (err) {
    return err as InvalidConfigError;
  }
  throw new Error('expected an InvalidConfigError');
};

describe('Claude Code settings', () => {
  it('reads model, turns, tool rules, system prompt, extra arguments and the gateway', () => {
    const { agent } = read({
      model: 'claude-sonnet-4-5',
      max_turns: '12',
      allowed_tools: 'Bash(git diff:*), Edit\nRead',
      disallowed_tools: 'WebFetch',
      append_system_prompt: 'Be brief.',
      claude_args: `--fallback-model sonnet --add-dir "/tmp/a b" 'x y'`,
      anthropic_base_url: 'https://gw.example.com/anthropic/',
    });
    expect(agent).toEqual({
      model: 'claude-sonnet-4-5',
      maxTurns: 12,
      allowedTools: ['Bash(git diff:*)', 'Edit', 'Read'],
      disallowedTools: ['WebFetch'],
      appendSystemPrompt: 'Be brief.',
      extraArgs: ['--fallback-model', 'sonnet', '--add-dir', '/tmp/a b', 'x y'],
      baseUrl: 'https://gw.example.com/anthropic',
    });
  });

  it.each([
    ['model', 'opus; rm -rf /'],
    ['max_turns', '0'],
    ['allowed_tools', 'Bash(npm test), 1bad'],
    ['claude_args', '--output-format text'],
    ['claude_args', '--verbose=false'],
    ['claude_args', '"unclosed'],
    ['anthropic_base_url', 'ftp://gw'],
    ['idle_timeout', '-1'],
    ['wait_timeout', '2200000'],
    ['mode', 'clean'],
  ])('refuses %s %j, naming the input', (input, value) => {
    expect(fails({ [input]: value }).input).toBe(input);
  });

  it('never quotes a gateway URL that carries credentials', () => {
    const err = fails({ anthropic_base_url: 'https://user:s3cretPassw0rd@gw.example.com' });
    expect(err.message).not.toContain('s3cretPassw0rd');
  });
});

describe('env and secrets', () => {
  it('env is plain: nothing is guessed secret from its name', () => {
    const config = read({
      env: 'GIT_AUTHOR_NAME=Ada Lovelace\nAUTHOR=someone',
      secrets: 'GH_PAT=ghp_abcdefghij0123456789\nDEPLOY_KEY=deploy-key-value-123\nGPG_PASSPHRASE=correct horse battery',
    });
    expect(config.secrets).not.toContain('Ada Lovelace');
    expect(config.secrets).not.toContain('someone');
    for (const value of ['ghp_abcdefghij0123456789', 'deploy-key-value-123', 'correct horse battery']) expect(config.secrets).toContain(value);
    expect(config.agentSecrets).toEqual({ GH_PAT: 'ghp_abcdefghij0123456789', DEPLOY_KEY: 'deploy-key-value-123', GPG_PASSPHRASE: 'correct horse battery' });
  });

  it.each(['env', 'secrets'])('a bad %s line is named by its number, never quoted', (input) => {
    const err = fails({ [input]: 'OK=1\nghp_TopSecretValue0123456789' });
    expect(err.input).toBe(input);
    expect(err.message).toContain('line 2');
    expect(err.message).not.toContain('TopSecret');
  });
});
