// The allowlist's one capability: a container gets CAP_NET_ADMIN exactly when the spec asks for
// it (the run sends FLAUDE_EGRESS_ALLOW), read from the kernel's own view of PID 1.
import { afterAll, describe, expect, it } from 'vitest';
import { DockerApi } from '../../src/machine/local/docker-api.js';
import { cleanUp, localBackend, readAll, testRun } from './helpers.js';

const api = DockerApi.fromEnv();
const backend = localBackend(api);
const { labels, spec } = testRun();

afterAll(() => cleanUp(api, labels));

/** CAP_NET_ADMIN is capability 12 (linux/capability.h). */
const CAP_NET_ADMIN = 1n << 12n;

/** PID 1's effective and bounding capability sets, as the kernel reports them. */
async function capabilities(netAdmin: boolean | undefined): Promise<{ effective: bigint; bounding: bigint }> {
  const machine = await backend.create(spec(['sh', '-c', 'grep -E "^Cap(Eff|Bnd):" /proc/1/status'], { netAdmin }));
  const output = readAll(machine);
  await machine.wait(new AbortController().signal);
  const text = await output;
  await machine.destroy();
  const read = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(text)![1]}`);
  return { effective: read('CapEff'), bounding: read('CapBnd') };
}

describe('CAP_NET_ADMIN on local', () => {
  it('is added when the spec asks for it, and nothing else is', async () => {
    const plain = await capabilities(undefined);
    const granted = await capabilities(true);
    expect(plain.effective & CAP_NET_ADMIN).toBe(0n);
    expect(plain.bounding & CAP_NET_ADMIN).toBe(0n);
    expect(granted.effective & CAP_NET_ADMIN).toBe(CAP_NET_ADMIN);
    // Only that bit differs from Docker's default set.
    expect(granted.effective ^ plain.effective).toBe(CAP_NET_ADMIN);
  });

  it('is not there when the spec says false', async () => {
    expect((await capabilities(false)).effective & CAP_NET_ADMIN).toBe(0n);
  });
});
