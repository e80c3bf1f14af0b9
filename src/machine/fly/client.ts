// The Fly clients, one per origin: Machines API, logs API (api.fly.io) and registry.
// Base URLs come from the environment so tests can point them at a local fake.
import { HttpClient, type FailedAnswer, type HttpTimeouts, type NoAnswer } from '../../http/client.js';
import { Pacer } from '../../http/pacer.js';
import type { RetryPolicy } from '../../http/retry.js';
import { AgentMachineError, FlyAPIError } from '../../errors.js';
import { Secrets } from '../../secrets.js';

export interface FlyEndpoints {
  flaps: string;
  api: string;
  registry: string;
}

export function flyEndpoints(env: NodeJS.ProcessEnv = process.env): FlyEndpoints {
  return {
    flaps: env.FLY_FLAPS_BASE_URL || 'https://api.machines.dev',
    api: env.FLY_API_BASE_URL || 'https://api.fly.io',
    registry: env.FLY_REGISTRY_URL || 'https://registry.fly.io',
  };
}

const MACAROON = /^(fm1r|fm1a|fm2)_/;

/** `fly tokens create` prints `FlyV1 fm2_…` (send as-is); a bare macaroon needs the scheme; anything else is a Bearer token. */
export function authorization(token: string): string {
  if (/^(FlyV1|Bearer) /.test(token)) return token;
  return MACAROON.test(token) ? `FlyV1 ${token}` : `Bearer ${token}`;
}

/** The token without its scheme: the registry's Basic password. */
export function bareToken(token: string): string {
  return token.replace(/^(FlyV1|Bearer)\s+/, '');
}

export interface FlyClientOptions {
  token: string;
  env?: NodeJS.ProcessEnv;
  retry?: Partial<RetryPolicy>;
  /** Per attempt and per request (retries included); the defaults suit Fly, tests shorten them. */
  timeouts?: HttpTimeouts;
}

export class FlyClient {
  readonly machines: HttpClient;
  readonly logs: HttpClient;
  readonly registry: HttpClient;
  /** host[:port] of the registry, as image references spell it. */
  readonly registryHost: string;
  readonly pacer: Pacer;
  private readonly secrets: Secrets;

  constructor(options: FlyClientOptions) {
    const endpoints = flyEndpoints(options.env);
    const bare = bareToken(options.token);
    this.secrets = new Secrets([options.token, bare, ...bare.split(','), Buffer.from(`x:${bare}`).toString('base64')].filter((s) => s.length >= 8));
    this.pacer = new Pacer();
    const common = { retry: options.retry, timeouts: options.timeouts };
    this.machines = new HttpClient({
      ...common,
      ...this.errors('Fly Machines API'),
      baseUrl: endpoints.flaps,
      pacer: this.pacer,
      headers: { authorization: authorization(options.token) },
    });
    this.logs = new HttpClient({ ...common, ...this.errors('Fly logs API'), baseUrl: endpoints.api, headers: { authorization: authorization(options.token) } });
    this.registry = new HttpClient({
      ...common,
      ...this.errors('Fly registry'),
      baseUrl: endpoints.registry,
      headers: { authorization: `Basic ${Buffer.from(`x:${bare}`).toString('base64')}` },
    });
    this.registryHost = new URL(endpoints.registry).host;
  }

  /** Removes every form of the token from text that may end up in an error message. */
  redact(text: string): string {
    return this.secrets.redact(text);
  }

  private errors(what: string) {
    return {
      statusError: (answer: FailedAnswer) => {
        const { detail, status } = errorBody(answer);
        return new FlyAPIError(answer.status, this.redact(`${answer.method} ${answer.path}: ${detail}`), answer.headers['fly-request-id'], status, what);
      },
      transportError: (failure: NoAnswer) => {
        const message =
          failure.timedOutAfterMs === undefined
            ? `${what} did not answer ${failure.method} ${failure.path} after ${failure.attempts} attempt(s): ${causeText(failure.cause)}`
            : `${what} timed out: no answer to ${failure.method} ${failure.path} within ${failure.timedOutAfterMs / 1000}s (${failure.attempts} attempt(s))`;
        const error = new AgentMachineError('FLY_API', this.redact(message));
        error.cause = failure.cause;
        return error;
      },
    };
  }
}

/** Fly's error body is `{error, message?, status?}`; anything else is shown as text. */
function errorBody(answer: FailedAnswer): { detail: string; status?: string } {
  try {
    const body = JSON.parse(answer.text) as { error?: unknown; message?: unknown; status?: unknown };
    const status = typeof body.status === 'string' ? body.status : undefined;
    const parts = [body.error, body.message].filter((p): p is string => typeof p === 'string' && p !== '');
    if (parts.length) return { detail: [...new Set(parts)].join(': ') + (status ? ` [${status}]` : ''), status };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { detail: answer.text.trim().slice(0, 500) || (answer.headers['www-authenticate'] ?? 'no error body') };
}

function causeText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as NodeJS.ErrnoException).code;
  return code ? `${cause.message} (${code})` : cause.message;
}
