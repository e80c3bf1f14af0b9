import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/report/format.js';
import { isBot, taskAfterPhrase } from '../../src/github/trigger.js';

describe('taskAfterPhrase', () => {
  it.each([
    ['/fix make the tests pass', '/fix', 'make the tests pass'],
    ['/fix', '/fix', ''],
    ['Could you /fix: the flaky test\nin CI?', '/fix', ': the flaky test\nin CI?'],
    ['/FIX it', '/fix', 'it'],
    ['hey @agent-bot please rename x', '@agent-bot', 'please rename x'],
    ['> /fix old\n/fix new', '/fix', 'new'],
  ])('%j with %s → %j', (body, phrase, task) => {
    expect(taskAfterPhrase(body, phrase)).toBe(task);
  });

  it.each([
    ['no phrase here', '/fix'],
    ['/fixture', '/fix'],
    ['path/fix it', '/fix'],
    ['> /fix quoted only', '/fix'],
    ['a.b', '.'], // the phrase is matched literally, not as a pattern
  ])('%j does not hold %s', (body, phrase) => {
    expect(taskAfterPhrase(body, phrase)).toBeNull();
  });
});

it('isBot knows bots by type and by the [bot] suffix', () => {
  expect(isBot({ login: 'dependabot[bot]', type: 'Bot' })).toBe(true);
  expect(isBot({ login: 'my-app[bot]', type: 'User' })).toBe(true);
  expect(isBot({ login: 'Codertocat', type: 'User' })).toBe(false);
});

it.each([
  [0, '0s'],
  [59.4, '59s'],
  [65, '1m 5s'],
  [3600, '1h 0m'],
  [7322, '2h 2m'],
])('formatDuration(%d) = %s', (s, text) => {
  expect(formatDuration(s)).toBe(text);
});
