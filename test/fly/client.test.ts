// The Fly client's pieces with no server: auth forms, endpoints, and image references as the
// registry check splits them.
import { describe, expect, it } from 'vitest';
import { parseImageRef } from '../../src/image/ref.js';
import { authorization, bareToken, flyEndpoints } from '../../src/machine/fly/client.js';

describe('Fly client basics', () => {
  it('chooses FlyV1 or Bearer by the token form', () => {
    expect(authorization('FlyV1 fm2_abc,fm2_def')).toBe('FlyV1 fm2_abc,fm2_def');
    expect(authorization('fm2_abc')).toBe('FlyV1 fm2_abc');
    expect(authorization('fm1r_abc')).toBe('FlyV1 fm1r_abc');
    expect(authorization('fm1a_abc')).toBe('FlyV1 fm1a_abc');
    expect(authorization('personal-token')).toBe('Bearer personal-token');
    expect(bareToken('FlyV1 fm2_abc,fm2_def')).toBe('fm2_abc,fm2_def');
  });

  it("defaults to Fly's real endpoints", () => {
    expect(flyEndpoints({})).toEqual({ flaps: 'https://api.machines.dev', api: 'https://api.fly.io', registry: 'https://registry.fly.io' });
    expect(flyEndpoints({ FLY_FLAPS_BASE_URL: 'http://127.0.0.1:1' }).flaps).toBe('http://127.0.0.1:1');
  });

  it('splits image references as docker does', () => {
    expect(parseImageRef('registry.fly.io/app:agent-1')).toEqual({ host: 'registry.fly.io', repository: 'app', reference: 'agent-1' });
    expect(parseImageRef('127.0.0.1:5000/app')).toEqual({ host: '127.0.0.1:5000', repository: 'app', reference: 'latest' });
    expect(parseImageRef('registry.fly.io/app@sha256:ab')).toEqual({ host: 'registry.fly.io', repository: 'app', reference: 'sha256:ab' });
    expect(parseImageRef('ubuntu:24.04').host).toBe('docker.io');
  });
});
