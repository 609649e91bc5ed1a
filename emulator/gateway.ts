// An embedded emulator of the Virtuozzo Hybrid Infrastructure S3 gateway: the `?ostor-*` admin API
// and the plain-S3 calls the project makes, over real HTTP, with Signature V2/V4 verification, a
// record of every request and fault injection. `npm start` runs against it; so do client tests.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleAdmin, isAdminService } from './admin-api.ts';
import { authenticate, claimedVersion, type SignatureVersion } from './auth.ts';
import { accessDenied, badRequest, errorXml, GatewayError, headerSafe } from './errors.ts';
import { type Fault, type FaultInjector, FaultQueue, MALFORMED_BODY } from './faults.ts';
import { Params, parseQuery, type QueryParam } from './query.ts';
import type { EmulatorBehaviour, Reply } from './reply.ts';
import { handleS3 } from './s3-api.ts';
import { EmulatorState } from './state.ts';

export type { SignatureVersion } from './auth.ts';
export type { Fault, FaultInjector, FaultMatch, FaultSpec } from './faults.ts';
export type { EmulatorBehaviour } from './reply.ts';
export * from './state.ts';
export { seedUsageObjects, type UsageSeedOptions } from './usage-generator.ts';

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Added before every response: models a LAN round trip (benchmarks). Default 0. */
  latencyMs?: number;
  /** The gateway's clock (request-date checks, creation dates, size statistics). Default: real time. */
  clock?: () => Date;
  /** Default page size of the `?ostor-usage` listing. Default 1000. */
  usagePageSize?: number;
  /** `GET ?ostor-users` as a bare array (default, as the 5.x guide) or `{"Users": [...]}`. */
  userListFormat?: 'array' | 'wrapped';
  /** Status of successful admin deletes (default 204; some doc samples print 203). */
  deleteStatus?: number;
  /** Model the reported defect: `&limit=` above this number returns broken JSON. Default off. */
  brokenUsageJsonAboveLimit?: number | null;
  /** Keep a record of every request in `emulator.requests` (default true). */
  recordRequests?: boolean;
  /** Largest request body accepted (default 64 MiB); larger ones get 400 EntityTooLarge. */
  maxBodyBytes?: number;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path as on the wire (percent-encoded), without the query. */
  readonly path: string;
  /** Query as on the wire, without '?'. */
  readonly query: string;
  /** Decoded parameters in order (`+` → space, `%2B` → '+'); a valueless flag has value ''. Empty if the query could not be decoded. */
  readonly params: readonly QueryParam[];
  readonly headers: IncomingHttpHeaders;
  /** The admin service (`'ostor-users'`, ...) or `'s3'`. */
  readonly service: string;
  /** The status answered; null while in flight, or when the connection was reset or left hanging. */
  readonly status: number | null;
  /** The access key that authenticated the request, or null when authentication failed or did not run. */
  readonly accessKeyId: string | null;
  /** The signature scheme the request used (claimed, whether or not it verified); null when unsigned. */
  readonly signatureVersion: SignatureVersion | null;
  /** The injected fault that hit the request, if any. */
  readonly fault: Fault['kind'] | null;
  readonly receivedAt: Date;
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

export interface SystemUserCredentials {
  userId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly state: EmulatorState;
  readonly faults: FaultInjector;
  readonly requests: readonly RecordedRequest[];
  /** Documented variations and latency, switchable while running. */
  readonly behaviour: EmulatorBehaviour;
  /** Like `ostor-s3-admin create-user -S -e <email>`: a system user with one key pair. */
  createSystemUser(email: string): SystemUserCredentials;
  clearRequests(): void;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 64 * 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** `'ostor-<x>'` when the first parameter of a request to `/` names an admin service, else `'s3'`. */
function classify(rawPath: string, params: readonly QueryParam[]): string {
  const first = params[0]?.[0];
  return rawPath === '/' && first?.startsWith('ostor-') === true ? first : 's3';
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = options.clock ?? (() => new Date());
  const state = new EmulatorState(clock);
  const faults = new FaultQueue();
  const behaviour: EmulatorBehaviour = {
    userListFormat: options.userListFormat ?? 'array',
    deleteStatus: options.deleteStatus ?? 204,
    usagePageSize: options.usagePageSize ?? 1000,
    brokenUsageJsonAboveLimit: options.brokenUsageJsonAboveLimit ?? null,
    latencyMs: options.latencyMs ?? 0,
  };
  const record = options.recordRequests ?? true;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  let requests: MutableRecord[] = [];
  const closing = new AbortController();
  let requestCounter = 0;
  const requestIdPrefix = randomBytes(4).toString('hex').toUpperCase();

  const pause = async (ms: number): Promise<void> => {
    if (ms > 0) await sleep(ms, undefined, { signal: closing.signal });
  };

  async function serve(
    req: IncomingMessage,
    entry: MutableRecord,
    params: readonly QueryParam[],
    body: Buffer,
  ): Promise<Reply> {
    const method = entry.method;
    const auth = await authenticate({
      method,
      rawPath: entry.path,
      rawQuery: entry.query,
      params,
      headers: req.headers,
      body,
      now: clock(),
      state,
    });
    entry.accessKeyId = auth.holder.key.accessKeyId;
    const user = auth.holder.user;
    if (user.state === 'disabled') throw accessDenied('The user is disabled');
    const query = new Params(params);
    if (entry.service !== 's3') {
      if (!state.isSystem(user)) throw accessDenied('Only system users may call the ostor admin API');
      const service = entry.service;
      if (!isAdminService(service)) throw badRequest(`Unknown service: ${service}`);
      if (params[0]?.[1] !== '') throw badRequest(`The service parameter ${service} takes no value`);
      return handleAdmin({ method, service, params: query, state, behaviour });
    }
    const misplaced = entry.path === '/' ? params.find(([name]) => name.startsWith('ostor-')) : undefined;
    if (misplaced !== undefined)
      throw badRequest(`The admin service ${misplaced[0]} must be the first parameter`);
    return handleS3({
      method,
      rawPath: entry.path,
      params: query,
      headers: req.headers,
      body,
      state,
      caller: user,
    });
  }

  function errorReply(error: unknown, entry: MutableRecord, requestId: string): Reply {
    const gatewayError =
      error instanceof GatewayError
        ? error
        : new GatewayError(500, 'InternalError', 'We encountered an internal error.');
    if (!(error instanceof GatewayError)) console.error('emulator: internal error', error);
    return {
      status: gatewayError.status,
      headers: { 'content-type': 'application/xml', 'x-amz-err-message': headerSafe(gatewayError.message) },
      body: errorXml(gatewayError.code, gatewayError.message, entry.path, requestId, gatewayError.details),
    };
  }

  function send(res: ServerResponse, reply: Reply, entry: MutableRecord, requestId: string): void {
    if (res.destroyed || res.headersSent) return;
    entry.status = reply.status;
    const headers: Record<string, string> = { 'x-amz-request-id': requestId, ...reply.headers };
    const body = entry.method === 'HEAD' || reply.status === 204 ? undefined : reply.body;
    if (headers['content-length'] === undefined) {
      headers['content-length'] = String(
        body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
      );
    }
    if (reply.status === 204) delete headers['content-length'];
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  /** Answers with an injected fault (a `delay` or `hang` has nothing to answer). */
  function deliverFault(fault: Fault, res: ServerResponse, entry: MutableRecord, requestId: string): void {
    switch (fault.kind) {
      case 'status': {
        const message = fault.message ?? `Injected fault: ${fault.status}`;
        const reply = errorReply(new GatewayError(fault.status, 'InjectedFault', message), entry, requestId);
        if (fault.body !== undefined) reply.body = fault.body;
        send(res, reply, entry, requestId);
        return;
      }
      case 'malformed':
        send(
          res,
          {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: fault.body ?? MALFORMED_BODY,
          },
          entry,
          requestId,
        );
        return;
      case 'reset':
        res.socket?.resetAndDestroy();
        return;
      case 'hang':
      case 'delay':
        return;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const entry: MutableRecord = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: q === -1 ? target : target.slice(0, q),
      query: q === -1 ? '' : target.slice(q + 1),
      params: [],
      headers: req.headers,
      service: 's3',
      status: null,
      accessKeyId: null,
      signatureVersion: null,
      fault: null,
      receivedAt: clock(),
    };
    if (record) requests.push(entry);
    requestCounter += 1;
    const requestId = `${requestIdPrefix}${requestCounter.toString(16).toUpperCase().padStart(8, '0')}`;

    let params: QueryParam[] = [];
    let early: GatewayError | undefined;
    try {
      params = parseQuery(entry.query);
      entry.params = params;
    } catch (error) {
      early = error instanceof GatewayError ? error : badRequest('Malformed query string');
    }
    entry.service = classify(entry.path, params);
    entry.signatureVersion = claimedVersion(req.headers, params);

    let body: Buffer = Buffer.alloc(0);
    try {
      body = await readBody(req, maxBody);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) return;
      early ??= badRequest('Your proposed upload exceeds the maximum allowed object size.', 'EntityTooLarge');
    }

    const fault = faults.take({
      method: entry.method,
      service: entry.service,
      paramNames: params.map(([n]) => n),
    });
    if (fault !== undefined) entry.fault = fault.kind;
    const afterApply = fault !== undefined && 'afterApply' in fault && fault.afterApply === true;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'delay') await pause(fault.ms);
    else if (fault !== undefined && !afterApply) {
      await pause(behaviour.latencyMs);
      deliverFault(fault, res, entry, requestId);
      return;
    }

    let reply: Reply;
    try {
      reply =
        early === undefined ? await serve(req, entry, params, body) : errorReply(early, entry, requestId);
    } catch (error) {
      reply = errorReply(error, entry, requestId);
    }
    await pause(behaviour.latencyMs);
    if (fault !== undefined && afterApply) {
      deliverFault(fault, res, entry, requestId);
      return;
    }
    send(res, reply, entry, requestId);
  }

  const server = createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 5000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Aborted sleeps when the emulator closes; anything else is a defect worth seeing.
      if (!closing.signal.aborted) console.error('emulator: request failed', error);
      if (!res.destroyed && !res.headersSent) res.destroy();
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    state,
    faults,
    behaviour,
    get requests(): readonly RecordedRequest[] {
      return requests;
    },
    createSystemUser(email: string): SystemUserCredentials {
      const user = state.createUser(email, { system: true });
      const key = user.keys[0];
      if (key === undefined) throw new Error('a new system user has a key pair');
      return { userId: user.id, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    },
    clearRequests(): void {
      requests = [];
    },
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
