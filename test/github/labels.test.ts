// Only the `agent` label starts a run: any other label added to an issue or a pull request
// (bug, triage, …) is routine and starts nothing. Real webhook payloads, whose example label is `bug`.
import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/github/api.js';
import { readTrigger, TRIGGER_LABEL } from '../../src/github/trigger.js';
import { testConfig } from '../helpers/factories.js';
import { example, type Payload } from '../helpers/webhooks.js';

function read(eventName: string, payload: Payload) {
  const ctx: Context = {
    eventName,
    payload,
    actor: payload.sender.login,
    runId: 4242,
    serverUrl: 'https://github.com',
    apiUrl: 'https://api.github.com',
    repo: { owner: 'Codertocat', repo: 'Hello-World' },
  };
  return readTrigger(ctx, testConfig({ prompt: 'go' }));
}

const labelled = (event: 'issues' | 'pull_request', name: string) =>
  example(event, 'labeled', (p) => {
    p.label.name = name;
  });

describe.each(['issues', 'pull_request'] as const)('%s labeled', (event) => {
  it('with another label starts nothing, and says which label does', () => {
    expect(example(event, 'labeled').label.name).toBe('bug');
    expect(read(event, example(event, 'labeled'))).toEqual({ ignored: "the label 'bug' does not start a run (only 'agent' does)" });
    expect(read(event, labelled(event, 'agents'))).toHaveProperty('ignored');
  });

  it.each([TRIGGER_LABEL, 'Agent', 'AGENT'])('with %s starts a run (label names are case-insensitive)', (name) => {
    const read_ = read(event, labelled(event, name));
    expect(read_).toHaveProperty('trigger');
    expect(read_).toMatchObject({ trigger: { asker: 'Codertocat', checkPermission: true, target: { kind: event === 'issues' ? 'issue' : 'pull_request' } } });
  });
});

it('other actions are untouched by the label rule: an opened issue or PR still starts a run', () => {
  expect(read('issues', example('issues', 'opened'))).toHaveProperty('trigger');
  expect(read('pull_request', example('pull_request', 'opened'))).toHaveProperty('trigger');
});
