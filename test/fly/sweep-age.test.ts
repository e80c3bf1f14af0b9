// Sweep by age on the fake Fly: only machines with this action's labels whose created_at is
// at least `olderThanSeconds` ago are destroyed; younger ones, runs still going, stay.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { startFakeFly } from '../fakes/fly-server.js';
import { TEST_LABEL, testSpec } from '../helpers/factories.js';
import { flyBackend } from './harness.js';

const fake = await startFakeFly({ script: { lines: [], durationMs: Infinity } });
afterAll(() => fake.close());

it('destroys the labelled machines older than the age asked, and spares the younger', async () => {
  const warnings: string[] = [];
  const backend = flyBackend(fake, { warn: (w) => void warnings.push(w) });
  const labels = { [TEST_LABEL]: 'sweep-age' };
  const old = await backend.create(testSpec({ labels }));
  await sleep(5000);
  const young = await backend.create(testSpec({ labels }));
  const other = await backend.create(testSpec({ labels: { [TEST_LABEL]: 'someone-else' } }));
  // Two seconds past the young one's age (the pacer may hold the lists a second): the old one,
  // five seconds older, has it.
  const youngCreated = Date.parse(fake.machines().find((m) => m.id === young.ref.id)!.created_at);
  const age = Math.ceil((Date.now() - youngCreated) / 1000) + 2;

  expect(await backend.sweep(labels, { olderThanSeconds: 3600 })).toEqual([]);
  expect(await backend.sweep(labels, { olderThanSeconds: age })).toEqual([old.ref.id]);
  expect(
    fake
      .liveMachines()
      .map((m) => m.id)
      .sort(),
  ).toEqual([young.ref.id, other.ref.id].sort());
  // Without an age, every one carrying the labels goes, as the post step's sweep needs.
  expect(await backend.sweep(labels)).toEqual([young.ref.id]);
  expect(fake.liveMachines().map((m) => m.id)).toEqual([other.ref.id]);
  expect(warnings).toEqual([]);
  await expect(backend.sweep({})).rejects.toThrow('sweep needs at least one label');
});
