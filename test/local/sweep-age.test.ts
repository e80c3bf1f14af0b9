// Sweep by age on the real Docker engine: only this action's containers (by label) created
// at least `olderThanSeconds` ago go; younger ones, a run still going, stay.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { DockerApi } from '../../src/machine/local/docker-api.js';
import { cleanUp, localBackend, testRun } from './helpers.js';

const api = DockerApi.fromEnv();
const backend = localBackend(api);
const { labels, spec } = testRun();

afterAll(() => cleanUp(api, labels));

it('destroys the labelled containers older than the age asked, and spares the younger', async () => {
  const old = await backend.create(spec(['sleep', '60']));
  await sleep(5000);
  const young = await backend.create(spec(['sleep', '60']));
  const other = await backend.create(spec(['sleep', '60'], { labels: { ...labels, other: 'run' } }));
  // Docker keeps creation times in whole seconds: ask for an age two seconds past the young
  // one's, which the old one (five seconds older) has and the young one has not.
  const youngCreated = (await api.containersLabelled(labels)).find((c) => c.id === young.ref.id)!.created;
  const age = Math.ceil(Date.now() / 1000 - youngCreated) + 2;

  expect(await backend.sweep(labels, { olderThanSeconds: 3600 })).toEqual([]);
  expect(await backend.sweep(labels, { olderThanSeconds: age })).toEqual([old.ref.id]);
  expect((await api.listContainers(labels)).sort()).toEqual([young.ref.id, other.ref.id].sort());
  // Without an age, every one carrying the labels goes, as the post step's sweep needs.
  expect((await backend.sweep({ ...labels, other: 'run' })).sort()).toEqual([other.ref.id]);
  expect(await backend.sweep(labels)).toEqual([young.ref.id]);
});
