// The bundled agent image as the release workflow (.github/workflows/agent-image.yml) pushes it:
// REGISTRY/OWNER/NAME:CONTENT_TAG, under the action's own repository. A runner pulls it instead
// of building docker/ (a minute or more); the content tag makes it the very image docker/ builds.
import { resolve } from 'node:path';
import { actionRoot } from '../config/action-root.js';
import { contentTag } from './tag.js';

export const DEFAULT_AGENT_IMAGE_REGISTRY = 'ghcr.io';

export interface PrebuiltSource {
  /** REGISTRY/owner/name, lowercased: registries refuse capitals, GitHub names allow them. */
  repository: string;
  /** owner/name@ref of the action, for messages. */
  action: string;
}

/**
 * Where this action's prebuilt image would be, from what the runner sets for a step of an action:
 * GITHUB_ACTION_REPOSITORY and GITHUB_ACTION_REF, and AGENT_IMAGE_REGISTRY (default ghcr.io; tests
 * point it at a local registry). Undefined when the action runs from a path (`uses: ./`), which
 * the runner gives no repository.
 */
export function prebuiltSource(env: NodeJS.ProcessEnv = process.env): PrebuiltSource | undefined {
  const repository = env.GITHUB_ACTION_REPOSITORY?.trim();
  if (!repository) return undefined;
  const registry = (env.AGENT_IMAGE_REGISTRY?.trim() || DEFAULT_AGENT_IMAGE_REGISTRY).replace(/\/+$/, '');
  const ref = env.GITHUB_ACTION_REF?.trim();
  return { repository: `${registry}/${repository.toLowerCase()}`, action: ref ? `${repository}@${ref}` : repository };
}

/** The action's own docker/ folder: the only build context a prebuilt image is pushed for. */
export function isBundledContext(dockerfile: string, buildContext: string, root = actionRoot()): boolean {
  return resolve(buildContext) === resolve(root, 'docker') && resolve(dockerfile) === resolve(root, 'docker', 'Dockerfile');
}

/** The tag the workflow pushes and the action pulls: the content tag of the action's docker/. */
export function bundledContentTag(root = actionRoot()): Promise<string> {
  return contentTag(resolve(root, 'docker', 'Dockerfile'), resolve(root, 'docker'));
}
