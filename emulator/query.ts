// Query strings as the gateway reads them: `&`-separated, each name and value percent-decoded the
// way HTTP servers decode form-style queries, so `%2B` is a plus sign and a raw `+` is a space.

import { badRequest } from './errors.ts';

export type QueryParam = readonly [name: string, value: string];

/** Decodes one query component: `+` becomes a space, then RFC 3986 percent-decoding (UTF-8). */
export function decodeQueryComponent(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw badRequest(`Malformed percent-encoding in the query string: ${text}`);
  }
}

/** Splits a raw query (without `?`) into decoded [name, value] pairs; a valueless flag has value ''. */
export function parseQuery(raw: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (raw === '') return params;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    params.push([decodeQueryComponent(name), decodeQueryComponent(value)]);
  }
  return params;
}

/** Decodes a request path segment: percent-decoding only (`+` is literal in a path). */
export function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`Malformed percent-encoding in the request path: ${raw}`);
  }
}

/** Parameters that carry query-string authentication rather than an operation's input. */
const AUTH_PARAMS = new Set([
  'AWSAccessKeyId',
  'Signature',
  'Expires',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

export function isAuthParam(name: string): boolean {
  return AUTH_PARAMS.has(name);
}

/** Read access to an operation's parameters (query-string authentication parameters left out). */
export class Params {
  readonly list: readonly QueryParam[];
  private readonly byName = new Map<string, string>();

  constructor(list: readonly QueryParam[]) {
    this.list = list.filter(([name]) => !isAuthParam(name));
    for (const [name, value] of this.list) {
      if (!this.byName.has(name)) this.byName.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Refuses a parameter given twice: it is how an unencoded `&` in a value would show. */
  rejectDuplicates(): void {
    if (this.byName.size === this.list.length) return;
    const seen = new Set<string>();
    for (const [name] of this.list) {
      if (seen.has(name)) throw badRequest(`Parameter '${name}' is given more than once`);
      seen.add(name);
    }
  }

  /** Refuses any parameter outside `allowed`: the gateway has no use for it, and a stray one signals a broken client. */
  allowOnly(allowed: readonly string[], operation: string): void {
    for (const [name] of this.list) {
      if (!allowed.includes(name)) throw badRequest(`Unexpected parameter '${name}' for ${operation}`);
    }
  }

  /** A flag such as `&genKey` must be valueless (`genKey=` is the same flag, as V4 canonicalises it). */
  flag(name: string): boolean {
    const value = this.byName.get(name);
    if (value === undefined) return false;
    if (value !== '') throw badRequest(`Parameter '${name}' takes no value`);
    return true;
  }
}
