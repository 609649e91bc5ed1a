// The local HTTP server of `npm start`: the deployed HTTP API's routes on one base URL, each turning
// the request into the event a deployed function receives from it (payload format 2.0) and calling
// the same handler.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteName } from './functions.ts';
import { isRouteName, loadHandler } from './functions.ts';
import { localContext } from './lambda-context.ts';

/** The HTTP API accepts at most 10 MB; billing webhooks are a few hundred bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface LocalServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export interface LocalServerOptions {
  readonly host: string;
  readonly port: number;
  /** Answers /healthz with 503 until this says ready. */
  readonly ready?: () => boolean;
}

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const server = createServer((req, res) => {
    route(req, res, options).catch((error: unknown) => {
      // Handlers answer their own errors; reaching here is a bug in the server itself (a handler
      // that fails to load, say): say so on the console, and only "internal" to the caller.
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      process.stderr.write(`local server: ${req.method ?? ''} ${req.url ?? ''} failed: ${detail}\n`);
      if (!res.headersSent) send(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: LocalServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const name = url.pathname.replace(/^\/+|\/+$/g, '');
  if (name === 'healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, methodNotAllowed('GET'), 'GET, HEAD');
    const ready = options.ready?.() ?? true;
    return send(res, ready ? 200 : 503, { status: ready ? 'ok' : 'starting' });
  }
  if (!isRouteName(name)) {
    return send(res, 404, { error: { code: 'not_found', message: `path: no function at ${url.pathname}` } });
  }
  if (req.method !== 'POST') return send(res, 405, methodNotAllowed('POST'), 'POST');

  const body = await readBody(req);
  if (body === undefined) {
    return send(res, 413, {
      error: { code: 'invalid_input', message: `body: larger than ${MAX_BODY_BYTES} bytes` },
    });
  }
  const handler = await loadHandler(name);
  const event = httpApiEvent(req, url, body, name);
  const response = (await handler(event, localContext(`local-${name satisfies RouteName}`))) as {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
  };
  res.writeHead(response.statusCode, response.headers ?? {});
  res.end(response.body ?? '');
}

function httpApiEvent(req: IncomingMessage, url: URL, body: Buffer, name: RouteName) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  const routeKey = `${req.method ?? 'POST'} /${name}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    // The HTTP API base64-encodes bodies it does not consider text; doing it always keeps the bytes exact.
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function methodNotAllowed(allowed: string) {
  return { error: { code: 'invalid_input', message: `method: use ${allowed}` } };
}

function send(res: ServerResponse, status: number, body: unknown, allow?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (allow !== undefined) headers.allow = allow;
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}
