// Registry resource: does a manifest exist? (v2 API, HEAD, Basic x:<bare token>)
import type { FlyClient } from './client.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** true on 2xx, false on 404; any other answer is a FlyAPIError. */
export async function manifestExists(client: FlyClient, repository: string, reference: string, signal?: AbortSignal): Promise<boolean> {
  const answer = await client.registry.request({
    method: 'HEAD',
    path: `/v2/${repository}/manifests/${reference}`,
    headers: { accept: MANIFEST_TYPES },
    signal,
    accept: [404],
  });
  return answer.status !== 404;
}
