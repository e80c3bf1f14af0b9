// The README is the user's contract: every input, output, error code and failure reason the
// code has must be in it, in the section a user would look in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { machineEnv, PROMPT_PIECE_BYTES } from '../src/protocol.js';

const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const readme = read('README.md');

/** The README's text from `## title` to the next `## `. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Names in backticks in a section's table rows (`a` / `b` rows name two). */
function tableNames(text: string): Set<string> {
  const rows = text.split('\n').filter((line) => line.startsWith('| `'));
  return new Set(rows.flatMap((row) => [...row.split(' | ')[0].matchAll(/`([a-z_]+)`/g)].map((m) => m[1])));
}

/** The members of a string-literal union type in a source file. */
function unionMembers(path: string, type: string): string[] {
  const source = read(path);
  const start = source.indexOf(`export type ${type} =`);
  expect(start, `${type} in ${path}`).toBeGreaterThanOrEqual(0);
  const body = source.slice(start, source.indexOf(';', start));
  return [...body.matchAll(/\|\s*'([a-zA-Z_]+)'/g)].map((m) => m[1]);
}

const actionYml = read('action.yml');
const outputsAt = actionYml.indexOf('\noutputs:\n');
const declared = (text: string) => [...text.matchAll(/^ {2}([a-z_]+):\n {4}description:/gm)].map((m) => m[1]);

describe('the README', () => {
  it('lists every input of action.yml in its Inputs table', () => {
    const inputs = declared(actionYml.slice(0, outputsAt));
    expect(inputs.length).toBeGreaterThan(30);
    expect(inputs.filter((name) => !tableNames(section('Inputs')).has(name))).toEqual([]);
  });

  it('lists every output of action.yml in its Outputs table', () => {
    const outputs = declared(actionYml.slice(outputsAt));
    expect(outputs.length).toBeGreaterThan(20);
    expect(outputs.filter((name) => !tableNames(section('Outputs')).has(name))).toEqual([]);
  });

  it('names every failure_reason in the output row', () => {
    const reasons = unionMembers('src/run/failure-reason.ts', 'FailureReason');
    expect(reasons).toContain('egress_setup');
    const row = section('Outputs')
      .split('\n')
      .find((line) => line.startsWith('| `failure_reason`'));
    expect(reasons.filter((reason) => !row?.includes(`\`${reason}\``))).toEqual([]);
  });

  it('names every error code in its Errors section', () => {
    const codes = unionMembers('src/errors.ts', 'ErrorCode');
    expect(codes).toContain('INVALID_CONFIG');
    const errors = readme.slice(readme.indexOf('\n### Errors\n'), readme.indexOf('\n## Fast start\n'));
    expect(codes.filter((code) => !errors.includes(`\`${code}\``))).toEqual([]);
  });

  it('names every variable the machine can be given in its image protocol table', () => {
    const env = machineEnv({
      prompt: 'x'.repeat(PROMPT_PIECE_BYTES + 1),
      repos: [{ url: 'https://github.com/acme/app' }],
      pushBranch: 'fix',
      claudeCodeOauthToken: 'o',
      anthropicApiKey: 'k',
      github: { token: 't', serverUrl: 'https://github.com' },
      agentCommand: ['true'],
      agent: { model: 'm', allowedTools: [], disallowedTools: [], extraArgs: [], baseUrl: 'https://llm.example' },
      env: { PLAIN: 'v' },
      secrets: { NAME: 's' },
      pushOnFailure: true,
      markerNonce: 'n',
      deadlineSeconds: 60,
      egress: { allow: ['github.com'], mode: 'enforce' },
    });
    const names = Object.keys(env).filter((name) => name !== 'PLAIN');
    expect(names).toEqual(expect.arrayContaining(['FLAUDE_PROMPT_1', 'FLAUDE_SECRET_NAME', 'FLAUDE_EGRESS_MODE']));
    const table = readme.slice(readme.indexOf('\n## The image protocol\n'), readme.indexOf('\n## Development\n'));
    expect(names.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });
});
