// A fake of what @actions/artifact (v2+) talks to on a runner, on 127.0.0.1:
// - the results service's Twirp JSON API (POST /twirp/github.actions.results.api.v1.ArtifactService/
//   CreateArtifact and FinalizeArtifact), found through ACTIONS_RESULTS_URL and authorised by
//   ACTIONS_RUNTIME_TOKEN, a JWT whose `scp` claim names the run and job
//   (`Actions.Results:<workflowRunBackendId>:<workflowJobRunBackendId>`);
// - the signed blob URL CreateArtifact hands out, spoken to with Azure's Blob REST API: the
//   library's BlockBlobClient.uploadStream always sends Put Block (8 MiB each) then Put Block List,
//   never a single Put Blob. A host that is an IP address makes the Azure SDK read the path as
//   /<account>/<container>/<blob>, the way it talks to Azurite.
// It keeps each finalized artifact (name, reported size and hash, zip bytes), records every call,
// and fails or hangs chosen routes on demand.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, inflateRawSync } from 'node:zlib';
import { closeServer } from '../helpers/servers.js';

export type ArtifactRoute = 'CreateArtifact' | 'FinalizeArtifact' | 'PutBlock' | 'PutBlockList';

export interface ArtifactFault {
  route: ArtifactRoute;
  /** Answer with this status (a Twirp or Azure error body to match)... */
  status?: number;
  /** ...or take the request and never answer (until close()). */
  hang?: boolean;
  /** How many calls fail; forever when absent. */
  times?: number;
}

export interface ArtifactCall {
  route: ArtifactRoute | 'unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  /** Parsed JSON for Twirp calls; for blob calls only how many bytes came. */
  body: unknown;
  status: number | 'hang';
}

/** What CreateArtifact started: kept while the upload runs, and with the artifact after. */
export interface CreatedArtifact {
  name: string;
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
  /** As CreateArtifact sent them (RFC 3339 and a MIME type). */
  expiresAt?: string;
  mimeType?: string;
  version?: number;
}

export interface StoredArtifact extends CreatedArtifact {
  id: number;
  /** What FinalizeArtifact reported. */
  size: string;
  hash?: string;
  /** What reached the blob. */
  bytes: Buffer;
}

export interface FakeArtifactService {
  /** ACTIONS_RESULTS_URL. */
  url: string;
  /** ACTIONS_RUNTIME_TOKEN: the only bearer token the fake accepts. */
  token: string;
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
  /** Both variables, to spread into process.env. */
  env: Record<'ACTIONS_RESULTS_URL' | 'ACTIONS_RUNTIME_TOKEN', string>;
  artifacts: StoredArtifact[];
  calls: ArtifactCall[];
  fault(fault: ArtifactFault): void;
  close(): Promise<void>;
}

export interface FakeArtifactServiceOptions {
  faults?: ArtifactFault[];
  /** Real IDs have passed 2^31, so the default starts above it: int64 travels as a JSON string. */
  firstArtifactId?: number;
}

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.ArtifactService/';
const ACCOUNT = 'devstoreaccount1';
const CONTAINER = 'actions-results';

/** Twirp's error codes by HTTP status (the library reads `msg`; `code` is for the record). */
const TWIRP_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  409: 'already_exists',
  412: 'failed_precondition',
  429: 'resource_exhausted',
  500: 'internal',
  502: 'unavailable',
  503: 'unavailable',
  504: 'deadline_exceeded',
};
/** Azure Storage's error codes by HTTP status, for injected faults. */
const AZURE_CODES: Record<number, string> = {
  400: 'InvalidInput',
  403: 'AuthenticationFailed',
  404: 'BlobNotFound',
  409: 'BlobAlreadyExists',
  500: 'InternalError',
  503: 'ServerBusy',
};

interface Pending extends CreatedArtifact {
  key: string;
  sig: string;
  blocks: Map<string, Buffer>;
  blob?: Buffer;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string };

export async function startFakeArtifactService(options: FakeArtifactServiceOptions = {}): Promise<FakeArtifactService> {
  const faults = [...(options.faults ?? [])];
  const workflowRunBackendId = uuid();
  const workflowJobRunBackendId = uuid();
  const token = runtimeToken(workflowRunBackendId, workflowJobRunBackendId);
  const pending = new Map<string, Pending>(); // by blob key
  let nextId = options.firstArtifactId ?? 5_000_000_001;
  let baseUrl = '';

  const fake: FakeArtifactService = {
    url: '',
    token,
    workflowRunBackendId,
    workflowJobRunBackendId,
    env: { ACTIONS_RESULTS_URL: '', ACTIONS_RUNTIME_TOKEN: token },
    artifacts: [],
    calls: [],
    fault: (f) => {
      faults.push(f);
    },
    close: () => closeServer(server),
  };

  const takeFault = (route: ArtifactRoute): ArtifactFault | undefined => {
    const index = faults.findIndex((f) => f.route === route && (f.times === undefined || f.times > 0));
    if (index < 0) return undefined;
    const fault = faults[index];
    if (fault.times !== undefined) fault.times--;
    return fault;
  };

  const twirp = (status: number, json: unknown): Answer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
  const twirpError = (status: number, msg: string): Answer => twirp(status, { code: TWIRP_CODES[status] ?? 'unknown', msg });
  const azureError = (status: number, code = AZURE_CODES[status] ?? 'InternalError', message = code): Answer => ({
    status,
    headers: { 'content-type': 'application/xml', 'x-ms-error-code': code, 'x-ms-request-id': uuid(), 'x-ms-version': '2025-11-05' },
    body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  });
  const created = (extra: Record<string, string> = {}): Answer => ({
    status: 201,
    headers: { 'x-ms-request-id': uuid(), 'x-ms-version': '2025-11-05', 'x-ms-request-server-encrypted': 'true', date: new Date().toUTCString(), ...extra },
  });

  // Answers to the service's rules; faults are applied before these run.
  const handleTwirp = (method: string, call: ArtifactCall, raw: Buffer): Answer => {
    if (call.authorization !== `Bearer ${token}`) return twirpError(401, 'the runtime token is missing or not valid');
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return twirpError(400, 'the request body is not JSON');
    }
    call.body = body;
    if (body.workflow_run_backend_id !== workflowRunBackendId || body.workflow_job_run_backend_id !== workflowJobRunBackendId) {
      return twirpError(403, 'the backend IDs do not match the token');
    }
    const name = String(body.name ?? '');
    if (!name) return twirpError(400, 'name is required');
    if (method === 'CreateArtifact') {
      if (fake.artifacts.some((a) => a.name === name) || [...pending.values()].some((p) => p.name === name)) {
        return twirpError(409, 'an artifact with this name already exists on the workflow run');
      }
      const key = `${workflowRunBackendId}/${workflowJobRunBackendId}/artifacts/${createHash('sha256').update(name).digest('hex').slice(0, 16)}.zip`;
      const sig = randomBytes(24).toString('base64url');
      pending.set(key, {
        key,
        sig,
        name,
        workflowRunBackendId,
        workflowJobRunBackendId,
        expiresAt: body.expires_at,
        mimeType: body.mime_type,
        version: body.version,
        blocks: new Map(),
      });
      const expiry = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const query = new URLSearchParams({ sv: '2025-11-05', sr: 'b', sp: 'cw', se: expiry, sig });
      return twirp(200, { ok: true, signed_upload_url: `${baseUrl}/${ACCOUNT}/${CONTAINER}/${key}?${query}` });
    }
    if (method === 'FinalizeArtifact') {
      const entry = [...pending.values()].find((p) => p.name === name);
      if (!entry) return twirpError(404, 'no artifact of that name is being uploaded');
      if (!entry.blob) return twirpError(412, 'the artifact has no uploaded content');
      pending.delete(entry.key);
      const id = nextId++;
      const { key: _key, sig: _sig, blocks: _blocks, blob, ...meta } = entry;
      fake.artifacts.push({ ...meta, id, size: String(body.size ?? '0'), hash: body.hash, bytes: blob });
      return twirp(200, { ok: true, artifact_id: String(id) });
    }
    return twirpError(404, `no method ${method}`);
  };

  const handleBlob = (call: ArtifactCall, raw: Buffer): Answer => {
    const key = call.path.slice(`/${ACCOUNT}/${CONTAINER}/`.length);
    const entry = pending.get(key);
    if (!entry || call.query.sig !== entry.sig) return azureError(403, 'AuthenticationFailed', 'Signature did not match.');
    if (Date.parse(call.query.se) < Date.now()) return azureError(403, 'AuthenticationFailed', 'Signed expiry time has passed.');
    if (call.method !== 'PUT') return azureError(405, 'UnsupportedHttpVerb');
    if (call.route === 'PutBlock') {
      if (!call.query.blockid) return azureError(400, 'InvalidQueryParameterValue', 'blockid is required');
      entry.blocks.set(call.query.blockid, raw);
      return created();
    }
    if (call.route === 'PutBlockList') {
      const ids = [...raw.toString('utf8').matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)].map((m) => m[2]);
      if (ids.some((id) => !entry.blocks.has(id))) return azureError(400, 'InvalidBlockList', 'The specified block list is invalid.');
      entry.blob = Buffer.concat(ids.map((id) => entry.blocks.get(id)!));
      entry.blocks.clear();
      return created({ etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`, 'last-modified': new Date().toUTCString() });
    }
    return azureError(400, 'UnsupportedQueryParameter', 'the fake takes Put Block and Put Block List only');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const call: ArtifactCall = {
        route: routeOf(req.method ?? '', url),
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers.authorization,
        body: url.pathname.startsWith(TWIRP_PREFIX) ? undefined : { bytes: raw.length },
        status: 0,
      };
      fake.calls.push(call);
      const send = (answer: Answer) => {
        call.status = answer.status;
        res.writeHead(answer.status, answer.headers).end(answer.body);
      };
      const twirpMethod = url.pathname.startsWith(TWIRP_PREFIX) ? url.pathname.slice(TWIRP_PREFIX.length) : undefined;
      const fault = call.route === 'unknown' ? undefined : takeFault(call.route);
      if (fault?.hang) {
        call.status = 'hang';
        return; // the socket stays open until close()
      }
      if (fault?.status) {
        if (twirpMethod) {
          try {
            call.body = JSON.parse(raw.toString('utf8'));
          } catch {
            /* recorded as undefined */
          }
          return send(twirpError(fault.status, `injected fault (${fault.status})`));
        }
        return send(azureError(fault.status));
      }
      if (twirpMethod !== undefined) {
        if (req.method !== 'POST') return send(twirpError(404, 'Twirp takes POST only'));
        return send(handleTwirp(twirpMethod, call, raw));
      }
      if (url.pathname.startsWith(`/${ACCOUNT}/${CONTAINER}/`)) return send(handleBlob(call, raw));
      send({ status: 404, body: 'not found' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = `${baseUrl}/`;
  fake.env.ACTIONS_RESULTS_URL = fake.url;
  return fake;
}

function routeOf(method: string, url: URL): ArtifactRoute | 'unknown' {
  if (url.pathname.startsWith(TWIRP_PREFIX)) {
    const name = url.pathname.slice(TWIRP_PREFIX.length);
    return name === 'CreateArtifact' || name === 'FinalizeArtifact' ? name : 'unknown';
  }
  if (method !== 'PUT') return 'unknown';
  const comp = url.searchParams.get('comp');
  if (comp === 'block') return 'PutBlock';
  return comp === 'blocklist' ? 'PutBlockList' : 'unknown';
}

function uuid(): string {
  return globalThis.crypto.randomUUID();
}

/** A signed JWT like the runner's; the library only decodes it, the fake compares it whole. */
function runtimeToken(runId: string, jobId: string): string {
  const part = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = part({ typ: 'JWT', alg: 'HS256' });
  const payload = part({ scp: `Actions.GenericRead:${runId} Actions.Results:${runId}:${jobId}`, iat: now, nbf: now, exp: now + 6 * 3600 });
  const signature = createHmac('sha256', randomBytes(32)).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/**
 * The entries of a zip, by name, read through its central directory (sizes in local headers are
 * zero when the writer streamed them). Stored and deflated entries; each CRC is checked.
 */
export function readZip(zip: Buffer): Map<string, Buffer> {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const content = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
    if (!content) throw new Error(`${name}: compression method ${method} not supported`);
    if (crc32(content) !== crc) throw new Error(`${name}: CRC mismatch`);
    entries.set(name, content);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
