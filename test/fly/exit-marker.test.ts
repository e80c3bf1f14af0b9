// When the platform's exit code and the image's last `[flaude:exit:N]` line disagree, the run
// says so in a warning and keeps the platform's code (the contract's order), through the
// action's own run loop against the fake Fly.
import { afterAll, describe, expect, it } from 'vitest';
import type { Scenario } from '../fakes/fly-server.js';
import { runOnFake, type FlyRun } from './harness.js';

const runs: FlyRun[] = [];
afterAll(async () => {
  await Promise.all(runs.splice(0).map((r) => r.fake.close()));
});

async function run(scenario: Scenario): Promise<FlyRun> {
  const outcome = await runOnFake(scenario);
  runs.push(outcome);
  return outcome;
}

describe.concurrent('exit code: Fly exit event against the last marker', () => {
  it('warns when they disagree, and the outputs keep the exit event', async () => {
    // The image said 0, then the VM's own shutdown ended it with SIGTERM's 143.
    const o = await run({ script: { lines: ['work done', '[flaude:exit:0]'], durationMs: 200, exit: { code: 143 } } });
    expect(o.result).toMatchObject({ exitCode: 143, exitCodeSource: 'api', conclusion: 'failure' });
    const warning = o.warnings.find((w) => w.includes('[flaude:exit:0]'));
    expect(warning).toMatch(
      new RegExp(
        `^Machine ${o.ref!.id}: the platform reported exit code 143, but the image's last line says \\[flaude:exit:0\\]\\. The outputs use 143 \\(exit_code_source: api\\)`,
      ),
    );
    expect(warning).toContain("the VM's own shutdown");
  });

  it('says nothing when they agree, or when only one of them answered', async () => {
    const agree = await run({ script: { lines: ['[flaude:exit:3]'], durationMs: 200, exit: { code: 3 } } });
    const apiOnly = await run({ script: { lines: ['no marker'], durationMs: 200, exit: { code: 5 } } });
    const markerOnly = await run({ script: { lines: ['[flaude:exit:4]'], durationMs: 200, exit: { code: 4, report: 'none' } } });
    expect(agree.result).toMatchObject({ exitCode: 3, exitCodeSource: 'api' });
    expect(apiOnly.result).toMatchObject({ exitCode: 5, exitCodeSource: 'api' });
    expect(markerOnly.result).toMatchObject({ exitCode: 4, exitCodeSource: 'log-marker' });
    for (const o of [agree, apiOnly, markerOnly]) expect(o.warnings.filter((w) => w.includes('exit code'))).toEqual([]);
  });

  it('compares only the last line: an earlier marker is output like any other', async () => {
    const o = await run({ script: { lines: ['[flaude:exit:0]', 'then it went on'], durationMs: 200, exit: { code: 2 } } });
    expect(o.result).toMatchObject({ exitCode: 2, exitCodeSource: 'api' });
    expect(o.warnings.filter((w) => w.includes('[flaude:exit:'))).toEqual([]);
  });
});
