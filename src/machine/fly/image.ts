// The image a Fly machine runs must be in a registry Fly can pull from. The bundled agent
// image goes to the app's own repository on Fly's registry under a content-addressed tag,
// so it is built and pushed once per change and found by the exists-check ever after.
import { buildImage, runDocker } from '../../image/docker-cli.js';
import { parseImageRef } from '../../image/ref.js';
import { contentTag } from '../../image/tag.js';
import { bareToken, type FlyClient } from './client.js';
import { manifestExists } from './registry.js';

export interface FlyImageSource {
  app: string;
  token: string;
  /** Undefined: the bundled agent image. */
  image?: string;
  dockerfile: string;
  buildContext: string;
}

export async function prepareFlyImage(client: FlyClient, source: FlyImageSource, log: (line: string) => void, signal?: AbortSignal): Promise<string> {
  const ref = source.image ?? `${client.registryHost}/${source.app}:agent-${await contentTag(source.dockerfile, source.buildContext)}`;
  const { host, repository, reference } = parseImageRef(ref);
  if (host !== client.registryHost) {
    log(`Image ${ref} is not on ${client.registryHost}: Fly pulls it as given when the machine starts`);
    return ref;
  }
  if (await manifestExists(client, repository, reference)) {
    log(`Image ${ref} is in the registry`);
    return ref;
  }
  log(`Image ${ref} is not in the registry: building it from ${source.dockerfile}`);
  await buildImage({ tag: ref, dockerfile: source.dockerfile, context: source.buildContext, signal, onLine: log });
  await push(host, ref, bareToken(source.token), log, signal);
  return ref;
}

async function push(host: string, ref: string, password: string, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  // The password goes through stdin, never argv (where `ps` and error messages would show it).
  await runDocker(['login', host, '--username', 'x', '--password-stdin'], { stdin: password, signal });
  try {
    await runDocker(['push', ref], { onLine: log, signal });
  } finally {
    // Leave no credentials behind on a self-hosted runner.
    await runDocker(['logout', host]).catch(() => {});
  }
}
