import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReadyToRun, readConfig } from '../../src/config/config.js';
import { InvalidConfigError } from '../../src/errors.js';
import { testConfig } from '../helpers/factories.js';

const base = { prompt: 'fix it', claude_code_oauth_token: 'sk-ant-oat-abc' };

/** Inputs are judged in two steps, both before any machine: their form, then what a run needs. */
function rejection(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): InvalidConfigError {
  try {
    const config = testConfig(inputs, env);
    checkReadyToRun(config, config.prompt);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).code).toBe('INVALID_CONFIG');
    return err as InvalidConfigError;
  }
  throw new Error('expected an InvalidConfigError');
}

describe('readConfig', () => {
  it('applies the contract defaults', () => {
    const config = testConfig(base);
    expect(config).toMatchObject({
      backend: 'local',
      waitTimeoutSeconds: 3600,
      raiseOnFailure: true,
      logTailLines: 20,
      comment: 'auto',
      triggerPhrase: '/fix',
      allowForks: false,
      repos: [],
      env: {},
      fly: { region: 'iad', cpus: 2, memoryMb: 4096, cpuKind: 'performance' },
    });
    expect(config.dockerfile).toMatch(/docker\/Dockerfile$/);
    expect(config.secrets).toContain('sk-ant-oat-abc');
  });

  it('parses repos, env and command', () => {
    const config = testConfig({
      ...base,
      repos: 'https://github.com/o/a\n# comment\nhttps://github.com/o/b dev\nfile:///srv/c.git - sub/dir\n',
      env: 'A=1\nB=x=y\n',
      command: '["bash","-c","make fix"]',
    });
    expect(config.repos).toEqual([
      { url: 'https://github.com/o/a' },
      { url: 'https://github.com/o/b', branch: 'dev' },
      { url: 'file:///srv/c.git', target_dir: 'sub/dir' },
    ]);
    expect(config.env).toEqual({ A: '1', B: 'x=y' });
    expect(config.command).toEqual(['bash', '-c', 'make fix']);
  });

  it.each([
    [{ backend: 'kubernetes' }, 'backend', /not one of local, fly/],
    [{ wait_timeout: '-5' }, 'wait_timeout', /not a number of seconds above 0/],
    [{ wait_timeout: 'soon' }, 'wait_timeout', /not a number of seconds above 0/],
    [{ vm_memory_mb: '0' }, 'vm_memory_mb', /at least 1/],
    [{ vm_memory_mb: '4g' }, 'vm_memory_mb', /whole number/],
    [{ env: 'NOEQUALS' }, 'env', /line 1 is not KEY=VALUE/],
    [{ env: 'OK=1\n1BAD=2' }, 'env', /line 2/],
    [{ env: 'FLAUDE_PROMPT=x' }, 'env', /set by the action/],
    [{ command: 'bash -c make' }, 'command', /JSON array/],
    [{ command: '[]' }, 'command', /non-empty/],
    [{ command: '["a", 1]' }, 'command', /strings/],
    [{ repos: 'ftp://host/repo' }, 'repos', /line 1.*not an https, ssh or file URL/],
    [{ repos: 'https://github.com/o/a main ../escape' }, 'repos', /stay inside the workspace/],
    [{ repos: 'https://github.com/o/a bad..branch' }, 'repos', /not a valid branch/],
    [{ repos: 'https://user:pw@github.com/o/a' }, 'repos', /credentials/],
    [{ raise_on_failure: 'maybe' }, 'raise_on_failure', /not a boolean/],
    [{ log_tail_lines: '5000' }, 'log_tail_lines', /0 to 1000/],
    [{ comment: 'sometimes' }, 'comment', /auto, always, never/],
    [{ cpu_kind: 'gpu' }, 'cpu_kind', /shared, performance/],
    [{ region: 'US-East' }, 'region', /region code/],
    [{ backend: 'fly', fly_api_token: 't' }, 'app_name', /required when backend is fly/],
    [{ backend: 'fly', app_name: 'My_App', fly_api_token: 't' }, 'app_name', /not a Fly app name/],
    [{ backend: 'fly', app_name: 'agents' }, 'fly_api_token', /required when backend is fly/],
    [{ prompt_file: '/nonexistent/prompt.md', prompt: '' }, 'prompt_file', /cannot read/],
    [{ prompt_file: '/etc/hostname' }, 'prompt_file', /not both/],
  ])('rejects %j naming %s', (inputs, input, problem) => {
    const err = rejection({ ...base, ...inputs });
    expect(err.input).toBe(input);
    expect(err.message).toMatch(new RegExp(`^Input '${input}': `));
    expect(err.message).toMatch(problem);
  });

  it('requires agent credentials for the bundled agent, not for a command', () => {
    expect(rejection({ prompt: 'x' }).input).toBe('claude_code_oauth_token');
    const config = testConfig({ command: '["true"]' });
    expect(() => checkReadyToRun(config, undefined)).not.toThrow();
  });

  it('leaves what only a run needs to checkReadyToRun, so a skipped event never fails for it', () => {
    const config = testConfig({ backend: 'fly' });
    expect(config.backend).toBe('fly');
    expect(rejection({ prompt: '' }).input).toBe('prompt');
  });

  it('masks what the secrets input gives, never env (plain by contract), and never quotes a URL with credentials', () => {
    const { secrets } = testConfig({ ...base, env: 'NPM_TOKEN=plain-by-contract\nDEBUG=1', secrets: 'NPM_TOKEN=npm_abcdef123' });
    expect(secrets).toEqual(expect.arrayContaining(['sk-ant-oat-abc', 'npm_abcdef123']));
    expect(secrets).not.toContain('plain-by-contract');
    expect(rejection({ ...base, repos: 'ftp://bob:hunter2secret@host/r.git' }).message).not.toContain('hunter2secret');
    expect(testConfig({ ...base, repos: 'ssh://git@github.com/o/r.git' }).repos).toEqual([{ url: 'ssh://git@github.com/o/r.git' }]);
  });

  it('takes the Fly token from the environment and masks both its forms', () => {
    const config = testConfig({ ...base, backend: 'fly', app_name: 'agents' }, { FLY_API_TOKEN: 'FlyV1 fm2_abc,fm2_def' });
    expect(config.fly.apiToken).toBe('FlyV1 fm2_abc,fm2_def');
    expect(config.secrets).toEqual(expect.arrayContaining(['FlyV1 fm2_abc,fm2_def', 'fm2_abc,fm2_def']));
  });

  it('reads the prompt from a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'amt-prompt-')), 'task.md');
    writeFileSync(file, 'Run the tests\nand fix them\n');
    expect(testConfig({ claude_code_oauth_token: 't', prompt_file: file }).prompt).toBe(readFileSync(file, 'utf8'));
  });

  it('documents every input it reads in action.yml', () => {
    const read = new Set<string>();
    readConfig((name) => {
      read.add(name);
      return base[name as keyof typeof base] ?? '';
    }, {});
    const documented = [...readFileSync(join(import.meta.dirname, '..', '..', 'action.yml'), 'utf8').matchAll(/^  ([a-z_]+):\n    description:/gm)].map(
      (m) => m[1],
    );
    const inputs = documented.slice(0, documented.indexOf('exit_code'));
    expect(new Set(inputs)).toEqual(read);
  });
});
