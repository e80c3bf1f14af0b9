// The image says what it pushed; the action looks for itself before it reports a push: the
// branch on the remote must point at that commit.
import { execFile } from 'node:child_process';

export type PushCheck = 'confirmed' | 'absent' | 'unknown';

interface Pushed {
  branch: string;
  sha: string;
}

const TIMEOUT_MS = 30_000;

/**
 * Asks the remote where `branch` points (`git ls-remote`). The token goes in an environment
 * variable git reads as config, never on the command line where `ps` shows it. `unknown`:
 * the remote could not be asked (no git, network, auth): the caller says so.
 */
export function confirmPush(url: string, branch: string, sha: string, token?: string): Promise<PushCheck> {
  const auth = token
    ? {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
      }
    : {};
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', ...auth };
  return new Promise((resolve) => {
    execFile('git', ['ls-remote', '--', url, `refs/heads/${branch}`], { env, timeout: TIMEOUT_MS }, (err, stdout) => {
      if (err) return resolve('unknown');
      const head = stdout
        .split('\n')
        .find((line) => line.endsWith(`\trefs/heads/${branch}`))
        ?.split('\t')[0];
      resolve(head === sha ? 'confirmed' : 'absent');
    });
  });
}

/** A push the image reported, once the remote shows it; warns when it can't be confirmed. */
export async function confirmedPush(
  pushed: Pushed | undefined,
  url: string | undefined,
  token: string | undefined,
  warn: (message: string) => void,
): Promise<Pushed | undefined> {
  if (!pushed || !url) return undefined;
  const check = await confirmPush(url, pushed.branch, pushed.sha, token);
  if (check === 'confirmed') return pushed;
  if (check === 'unknown') {
    warn(`Could not confirm the push of ${pushed.sha} to ${pushed.branch}: the remote did not answer`);
    return pushed;
  }
  warn(`The image reported pushing ${pushed.sha} to ${pushed.branch}, but the branch does not point there: not reported as pushed`);
  return undefined;
}
