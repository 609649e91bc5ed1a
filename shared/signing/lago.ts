// Lago's webhook signatures (`X-Lago-Signature`, lago-api app/models/webhook.rb): `hmac` is the
// base64 HMAC-SHA256 of the raw body keyed with the organisation's HMAC key; `jwt` is an RS256 JWS
// whose payload is `{ data: <the raw body>, iss: <Lago's LAGO_API_URL> }`. Neither carries a time.
import type { KeyObject } from 'node:crypto';
import {
  createHash,
  createHmac,
  createPublicKey,
  createSign,
  createVerify,
  timingSafeEqual,
} from 'node:crypto';
import { ConfigurationError, UnauthorizedError } from '../errors.ts';

export type LagoSignatureAlgorithm = 'hmac' | 'jwt';

/** An organisation HMAC key (the text Lago shows under Developers > Webhooks) and a fingerprint for logs. */
export type LagoHmacKey = { readonly key: Uint8Array; readonly id: string };
/** A public key Lago signs JWTs for, and a fingerprint for logs. */
export type LagoPublicKey = { readonly key: KeyObject; readonly id: string };

export interface VerifyLagoInput {
  /** Lower-case header names: `x-lago-signature`, `x-lago-signature-algorithm`. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body bytes as received; never a re-serialised object. */
  readonly body: string | Uint8Array;
  readonly hmacKeys: readonly LagoHmacKey[];
  readonly publicKeys: readonly LagoPublicKey[];
  /**
   * When given, a JWT's `iss` must equal it (trailing slashes aside): Lago puts its own
   * LAGO_API_URL there, and its documentation checks it.
   */
  readonly issuer?: string | undefined;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;
// Every key Lago serves is base64 of a PEM, so each one starts with the encoding of "-----BEGIN".
const BASE64_PEM_START = 'LS0tLS1CRUdJTi';
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Lago's organisation keys are UUIDs (36 characters). */
const MIN_HMAC_KEY_LENGTH = 16;
// Far above any real header (API Gateway refuses requests whose headers pass 10 KB), so an absurd
// token is refused before it is decoded.
const MAX_TOKEN_LENGTH = 1 << 20;

function fingerprint(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 8);
}

function toBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
}

/**
 * Organisation HMAC keys, whitespace-separated (several while the billing side rotates). Throws
 * ConfigurationError naming `field` and the entry's position, never its value.
 */
export function parseLagoHmacKeys(input: string, field = 'LAGO_WEBHOOK_HMAC_KEY'): LagoHmacKey[] {
  const entries = input.split(/\s+/).filter((entry) => entry !== '');
  if (entries.length === 0) throw new ConfigurationError(field, 'no HMAC key given');
  return entries.map((entry, index) => {
    const where = entries.length === 1 ? 'the key' : `key ${index + 1} of ${entries.length}`;
    if (/\p{Cc}/u.test(entry)) throw new ConfigurationError(field, `${where} contains control characters`);
    // Lago's keys are UUIDs; a short value is a placeholder (the stack's `unset`) that anyone could sign with.
    if (entry.length < MIN_HMAC_KEY_LENGTH) {
      throw new ConfigurationError(
        field,
        `${where} is shorter than ${MIN_HMAC_KEY_LENGTH} characters: not Lago's HMAC signature token`,
      );
    }
    const key = new Uint8Array(Buffer.from(entry, 'utf8'));
    return { key, id: fingerprint(key) };
  });
}

/**
 * Public keys as PEM text, or as Lago serves them (`webhook.public_key`: base64 of the PEM, in
 * 60-character lines, a literal `\n` between lines when copied out of the JSON); several may be
 * given one after the other. Throws ConfigurationError naming `field`.
 */
export function parseLagoPublicKeys(input: string, field = 'LAGO_WEBHOOK_PUBLIC_KEY'): LagoPublicKey[] {
  const text = input.replaceAll('\\n', '\n');
  const pems = [...text.matchAll(PEM_BLOCK)].map((match) => match[0]);
  const rest = text.replace(PEM_BLOCK, '').replace(/\s+/g, '');
  if (rest !== '') {
    if (!rest.startsWith(BASE64_PEM_START)) {
      throw new ConfigurationError(field, 'must be PEM public keys or base64 of them, as Lago serves them');
    }
    for (const part of rest.split(BASE64_PEM_START).slice(1)) {
      const decoded = Buffer.from(`${BASE64_PEM_START}${part}`, 'base64').toString('utf8');
      if (!/^-----BEGIN [A-Z ]+-----[\s\S]*-----END [A-Z ]+-----\s*$/.test(decoded)) {
        throw new ConfigurationError(field, 'a base64 value does not decode to a PEM public key');
      }
      pems.push(decoded);
    }
  }
  if (pems.length === 0) throw new ConfigurationError(field, 'no public key given');
  return pems.map((pem, index) => {
    const where = pems.length === 1 ? 'the key' : `key ${index + 1} of ${pems.length}`;
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (error) {
      throw new ConfigurationError(field, `${where} is not a readable public key`, { cause: error });
    }
    if (key.asymmetricKeyType !== 'rsa') {
      throw new ConfigurationError(field, `${where} is not an RSA key (Lago signs with RS256)`);
    }
    return { key, id: fingerprint(key.export({ type: 'spki', format: 'der' })) };
  });
}

/** The `hmac` form of `X-Lago-Signature` for `body` (tests and local senders). */
export function signLagoHmac(body: string | Uint8Array, key: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(toBytes(body)).digest('base64');
}

/**
 * The `jwt` form for `body`, as lago-api makes it: `JWT.encode({data:, iss:}, key, "RS256")`
 * (tests and local senders; `privateKey` is a PEM or KeyObject).
 */
export function signLagoJwt(
  body: string | Uint8Array,
  privateKey: string | KeyObject,
  issuer: string,
): string {
  const data = toBytes(body).toString('utf8');
  const header = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ data, iss: issuer })).toString('base64url');
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey, 'base64url');
  return `${header}.${payload}.${signature}`;
}

/** The headers Lago sends with a delivery (tests and local senders). */
export function lagoHeaders(
  signature: { algorithm: LagoSignatureAlgorithm; value: string },
  uniqueKey: string,
): Record<string, string> {
  return {
    'x-lago-signature': signature.value,
    'x-lago-signature-algorithm': signature.algorithm,
    'x-lago-unique-key': uniqueKey,
  };
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function verifyHmac(signature: string, body: Buffer, keys: readonly LagoHmacKey[]): void {
  if (keys.length === 0) {
    throw new UnauthorizedError('invalid_secret', 'no Lago HMAC key is configured');
  }
  const received = Buffer.from(signature.trim(), 'utf8');
  // Every key is tried, without stopping at the first match, so the time taken does not tell
  // which one matched.
  let matched = false;
  for (const key of keys) {
    const expected = Buffer.from(createHmac('sha256', key.key).update(body).digest('base64'), 'utf8');
    if (constantTimeEqual(received, expected)) matched = true;
  }
  if (!matched) throw new UnauthorizedError('no_matching_signature', 'no Lago HMAC signature matches');
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new UnauthorizedError('invalid_token', `the Lago JWT's ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnauthorizedError('invalid_token', `the Lago JWT's ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

function verifyJwt(
  token: string,
  body: Buffer,
  keys: readonly LagoPublicKey[],
  issuer: string | undefined,
  now: number,
): void {
  if (keys.length === 0) {
    throw new UnauthorizedError('invalid_secret', 'no Lago public key is configured');
  }
  const parts = token.trim().split('.');
  if (token.length > MAX_TOKEN_LENGTH || parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new UnauthorizedError('invalid_token', 'the Lago signature is not a compact JWT');
  }
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  // Only RS256: a token that names another algorithm (`none`, HS256 keyed with the public key) is
  // refused before any key is used.
  if (decodeJson(headerPart, 'header').alg !== 'RS256') {
    throw new UnauthorizedError('invalid_token', 'the Lago JWT is not signed with RS256');
  }
  const signature = Buffer.from(signaturePart, 'base64url');
  let matched = false;
  for (const key of keys) {
    const verifier = createVerify('RSA-SHA256').update(`${headerPart}.${payloadPart}`);
    if (verifier.verify(key.key, signature)) matched = true;
  }
  if (!matched) throw new UnauthorizedError('no_matching_signature', 'no Lago JWT signature matches');
  // Signed by Lago: now its claims can be read.
  const claims = decodeJson(payloadPart, 'payload');
  if (typeof claims.exp === 'number' && now >= claims.exp) {
    throw new UnauthorizedError('token_expired', 'the Lago JWT has expired');
  }
  if (typeof claims.nbf === 'number' && now < claims.nbf) {
    throw new UnauthorizedError('token_not_yet_valid', 'the Lago JWT is not valid yet');
  }
  if (issuer !== undefined) {
    if (typeof claims.iss !== 'string' || withoutTrailingSlash(claims.iss) !== withoutTrailingSlash(issuer)) {
      throw new UnauthorizedError(
        'issuer_mismatch',
        'the Lago JWT was issued by another Lago (iss differs from LAGO_API_URL)',
      );
    }
  }
  if (typeof claims.data !== 'string' || !constantTimeEqual(Buffer.from(claims.data, 'utf8'), body)) {
    throw new UnauthorizedError('body_mismatch', "the Lago JWT's data is not this request's body");
  }
}

/**
 * Verifies a Lago delivery by the algorithm it names in `X-Lago-Signature-Algorithm` (without that
 * header: a three-part token is a JWT, anything else HMAC). Any configured key of that kind may
 * match. Throws UnauthorizedError with a stable `reason`; never echoes a key or the signature.
 */
export function verifyLagoSignature(
  input: VerifyLagoInput,
  now: Date = new Date(),
): {
  algorithm: LagoSignatureAlgorithm;
} {
  const signature = input.headers['x-lago-signature'];
  if (signature === undefined || signature.trim() === '') {
    throw new UnauthorizedError('missing_headers', 'missing header: x-lago-signature');
  }
  const algorithm = lagoSignatureAlgorithm(input.headers);
  if (algorithm === undefined) {
    throw new UnauthorizedError('unknown_algorithm', 'x-lago-signature-algorithm must be jwt or hmac');
  }
  const body = toBytes(input.body);
  if (algorithm === 'hmac') verifyHmac(signature, body, input.hmacKeys);
  else verifyJwt(signature, body, input.publicKeys, input.issuer, Math.floor(now.getTime() / 1000));
  return { algorithm };
}

/**
 * The algorithm a delivery names in `X-Lago-Signature-Algorithm`; without that header, a three-part
 * token is a JWT and anything else HMAC. Undefined for any other name.
 */
export function lagoSignatureAlgorithm(
  headers: Readonly<Record<string, string | undefined>>,
): LagoSignatureAlgorithm | undefined {
  const named = headers['x-lago-signature-algorithm']?.trim().toLowerCase();
  if (named === undefined || named === '') {
    return (headers['x-lago-signature'] ?? '').trim().split('.').length === 3 ? 'jwt' : 'hmac';
  }
  return named === 'jwt' || named === 'hmac' ? named : undefined;
}
