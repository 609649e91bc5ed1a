// A bare signed HTTP client for the emulator's own tests: the wire path and query are sent exactly
// as written (so tests control every byte of encoding), signed with the project's signing library.

import { createHash } from 'node:crypto';
import { request } from 'undici';
import type { Emulator } from '../../../emulator/gateway.ts';
import { type Credentials, signRequestV2 } from '../../../shared/signing/sigv2.ts';
import { parseQueryV4, signRequestV4 } from '../../../shared/signing/sigv4.ts';

export interface Call {
  method: string;
  /** Path and query as on the wire, e.g. `/?ostor-users&emailAddress=a%40b.com`. */
  target: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Signature version (default 2); `null` sends the request unsigned. */
  version?: 2 | 4 | null;
  /** The signing time (default: the emulator's clock). */
  now?: Date;
  /** Client-side limit on the whole call: aborts with a TimeoutError (precise, unlike undici's coarse timers). */
  timeoutMs?: number;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** `X-Amz-Err-Message`. */
  message: string | undefined;
}

export async function send(emulator: Emulator, credentials: Credentials, call: Call): Promise<Answer> {
  const q = call.target.indexOf('?');
  const path = q === -1 ? call.target : call.target.slice(0, q);
  const query = q === -1 ? '' : call.target.slice(q + 1);
  let headers: Record<string, string> = { ...call.headers };
  const version = call.version === undefined ? 2 : call.version;
  if (version === 2) {
    headers = {
      ...headers,
      ...signRequestV2({ method: call.method, path, query, headers }, credentials, {
        now: call.now ?? emulator.state.now(),
      }),
    };
  } else if (version === 4) {
    const url = new URL(emulator.url);
    headers = await signRequestV4(
      {
        method: call.method,
        hostname: url.hostname,
        port: Number(url.port),
        protocol: 'http:',
        path,
        query: parseQueryV4(query),
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
      },
      credentials,
      { region: 'us-east-1', now: call.now ?? emulator.state.now() },
    );
  }
  const response = await request(`${emulator.url}${call.target}`, {
    method: call.method as 'GET',
    headers,
    ...(call.body === undefined ? {} : { body: call.body }),
    ...(call.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(call.timeoutMs) }),
  });
  const text = await response.body.text();
  const message = response.headers['x-amz-err-message'];
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    message: typeof message === 'string' ? message : undefined,
  };
}

/** A sender bound to one emulator and one key pair. */
export function client(emulator: Emulator, credentials: Credentials) {
  const call = (
    method: string,
    target: string,
    extra: Omit<Call, 'method' | 'target'> = {},
  ): Promise<Answer> => send(emulator, credentials, { method, target, ...extra });
  return {
    call,
    /** The parsed JSON body of a 2xx answer; fails the test otherwise. */
    async json<T = unknown>(
      method: string,
      target: string,
      extra: Omit<Call, 'method' | 'target'> = {},
    ): Promise<T> {
      const answer = await call(method, target, extra);
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`${method} ${target}: ${answer.status} ${answer.message ?? ''} ${answer.text}`);
      }
      return JSON.parse(answer.text) as T;
    },
  };
}

export function md5Base64(body: string | Buffer): string {
  return createHash('md5').update(body).digest('base64');
}

/** The XML body of DeleteObjects for these keys (keys escaped). */
export function deleteBody(keys: readonly string[], quiet = false): string {
  const escapeKey = (k: string): string =>
    k.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return `<?xml version="1.0" encoding="UTF-8"?><Delete>${quiet ? '<Quiet>true</Quiet>' : ''}${keys
    .map((k) => `<Object><Key>${escapeKey(k)}</Key></Object>`)
    .join('')}</Delete>`;
}

/** All values of one XML element, in order (test-side reading of small S3 answers). */
export function xmlValues(xml: string, element: string): string[] {
  const values: string[] = [];
  const pattern = new RegExp(`<${element}>([\\s\\S]*?)</${element}>`, 'g');
  for (const match of xml.matchAll(pattern)) values.push(match[1] ?? '');
  return values;
}

export function unescapeXml(text: string): string {
  return text
    .replace(/&#x([0-9A-Fa-f]+);/g, (_m, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
