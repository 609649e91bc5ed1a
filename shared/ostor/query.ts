// The only place a query string is made. Every name and every value goes through RFC 3986
// encoding, so a raw input cannot add, drop or change a parameter: `a+b@x.com&disable` travels as
// one value `a%2Bb%40x.com%26disable`, never as a second operation.

/** Marks a valueless parameter (`&genKey`, `&disable`, the `ostor-users` service itself). */
export const FLAG: unique symbol = Symbol('flag');
export type QueryFlag = typeof FLAG;
export type QueryParam = readonly [name: string, value: string | QueryFlag];

/** The orchestration services the gateway answers under `/?ostor-<service>`. */
export type OstorService = 'users' | 'accounts' | 'buckets' | 'limits' | 'quotas' | 'usage';

/** encodeURIComponent plus `! ' ( ) *`: only unreserved characters travel unencoded. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `name=value&flag&...` in the given order, every part encoded. No leading `?`. */
export function encodeQuery(params: readonly QueryParam[]): string {
  return params
    .map(([name, value]) =>
      value === FLAG ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(value)}`,
    )
    .join('&');
}

/** The parameters of an orchestration call: the service sub-resource first, then `params`. */
export function ostorParams(service: OstorService, params: readonly QueryParam[]): QueryParam[] {
  return [[`ostor-${service}`, FLAG], ...params];
}

/** The query of an orchestration call, e.g. `ostor-users&emailAddress=a%2Bb%40x.com&genKey`. */
export function buildOstorQuery(service: OstorService, params: readonly QueryParam[]): string {
  return encodeQuery(ostorParams(service, params));
}

/**
 * The same parameters as Signature V4 wants them (decoded values; flags as ''). V4 canonicalises
 * a valueless flag as `genKey=`, which is what the gateway does with the wire form `&genKey`.
 */
export function toV4Query(params: readonly QueryParam[]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, raw] of params) {
    const value = raw === FLAG ? '' : raw;
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

/** A path-style S3 path: `/<bucket>` or `/<bucket>/<key>` with each key segment encoded, `/` kept. */
export function s3Path(bucket: string, key?: string): string {
  const base = `/${encodeRfc3986(bucket)}`;
  if (key === undefined) return base;
  return `${base}/${key.split('/').map(encodeRfc3986).join('/')}`;
}
