// Lago's X-Lago-Signature: an openssl-computed vector for each algorithm, jose as the other end of
// the JWT, rotation lists, and the ways a delivery must be refused.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, UnauthorizedError } from '../../../shared/errors.ts';
import {
  lagoSignatureAlgorithm,
  parseLagoHmacKeys,
  parseLagoPublicKeys,
  signLagoHmac,
  signLagoJwt,
  verifyLagoSignature,
} from '../../../shared/signing/lago.ts';

const vector = z
  .object({
    body: z.string(),
    hmac: z.object({ key: z.string(), signature: z.string() }),
    jwt: z.object({
      issuer: z.string(),
      token: z.string(),
      publicKeyPem: z.string(),
      publicKeyAsServed: z.string(),
      unrelatedPublicKeyPem: z.string(),
    }),
  })
  .parse(JSON.parse(readFileSync(new URL('../../vectors/lago.json', import.meta.url), 'utf8')));

/** Runs `act` and returns the UnauthorizedError it throws (fails the test on anything else). */
function unauthorized(act: () => unknown): UnauthorizedError {
  try {
    act();
  } catch (error) {
    if (error instanceof UnauthorizedError) return error;
    throw error;
  }
  throw new Error('expected an UnauthorizedError');
}

function configurationError(act: () => unknown): ConfigurationError {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

const rsa = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
const signer = rsa();
const stranger = rsa();
const hmacKeys = parseLagoHmacKeys(vector.hmac.key);
const publicKeys = parseLagoPublicKeys(vector.jwt.publicKeyPem);

const jwtHeaders = (token: string) => ({
  'x-lago-signature': token,
  'x-lago-signature-algorithm': 'jwt',
});
const hmacHeaders = (signature: string) => ({
  'x-lago-signature': signature,
  'x-lago-signature-algorithm': 'hmac',
});

describe('the openssl vectors', () => {
  it('HMAC: the signature openssl computed is what we compute and accept', () => {
    // Prepare / Act
    const signature = signLagoHmac(vector.body, vector.hmac.key);
    const verdict = verifyLagoSignature({
      headers: hmacHeaders(vector.hmac.signature),
      body: Buffer.from(vector.body, 'utf8'),
      hmacKeys,
      publicKeys: [],
    });
    // Assess
    expect(signature).toBe(vector.hmac.signature);
    expect(verdict).toEqual({ algorithm: 'hmac' });
  });

  it('JWT: the token openssl signed verifies against the PEM and against the key as Lago serves it', () => {
    for (const keys of [publicKeys, parseLagoPublicKeys(vector.jwt.publicKeyAsServed)]) {
      expect(
        verifyLagoSignature({
          headers: jwtHeaders(vector.jwt.token),
          body: vector.body,
          hmacKeys: [],
          publicKeys: keys,
          issuer: vector.jwt.issuer,
        }),
      ).toEqual({ algorithm: 'jwt' });
    }
  });

  it('JWT: the key as served, copied out of the JSON with literal \\n, is the same key', () => {
    const copied = vector.jwt.publicKeyAsServed.replaceAll('\n', '\\n');
    expect(parseLagoPublicKeys(copied).map((key) => key.id)).toEqual(publicKeys.map((key) => key.id));
  });

  it('JWT: jose, an independent implementation, accepts the vector and reads the body from data', async () => {
    const key = await importSPKI(vector.jwt.publicKeyPem, 'RS256');
    const { payload, protectedHeader } = await jwtVerify(vector.jwt.token, key, {
      algorithms: ['RS256'],
      issuer: vector.jwt.issuer,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.data).toBe(vector.body);
  });
});

describe('JWT against jose', () => {
  it('a token jose signs as Lago does is accepted; ours verifies with jose', async () => {
    // Prepare
    const keys = parseLagoPublicKeys(signer.publicKey);
    const body = '{"webhook_type":"invoice.payment_overdue","invoice":{"lago_id":"x","note":"€ ✓"}}';
    const fromJose = await new SignJWT({ data: body, iss: 'http://lago.local:3000' })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(await importPKCS8(signer.privateKey, 'RS256'));
    // Act
    const ours = signLagoJwt(body, signer.privateKey, 'http://lago.local:3000');
    const { payload } = await jwtVerify(ours, await importSPKI(signer.publicKey, 'RS256'), {
      algorithms: ['RS256'],
    });
    // Assess
    expect(
      verifyLagoSignature({
        headers: jwtHeaders(fromJose),
        body,
        hmacKeys: [],
        publicKeys: keys,
        issuer: 'http://lago.local:3000/',
      }),
    ).toEqual({ algorithm: 'jwt' });
    expect(payload).toEqual({ data: body, iss: 'http://lago.local:3000' });
  });

  it('expired and not-yet-valid tokens are refused when they say so', async () => {
    const key = await importPKCS8(signer.privateKey, 'RS256');
    const keys = parseLagoPublicKeys(signer.publicKey);
    const body = '{}';
    const now = new Date('2026-11-26T12:00:00Z');
    const seconds = now.getTime() / 1000;
    const expired = await new SignJWT({ data: body })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime(seconds - 1)
      .sign(key);
    const early = await new SignJWT({ data: body })
      .setProtectedHeader({ alg: 'RS256' })
      .setNotBefore(seconds + 60)
      .sign(key);
    const input = (token: string) => ({ headers: jwtHeaders(token), body, hmacKeys: [], publicKeys: keys });
    expect(unauthorized(() => verifyLagoSignature(input(expired), now)).reason).toBe('token_expired');
    expect(unauthorized(() => verifyLagoSignature(input(early), now)).reason).toBe('token_not_yet_valid');
  });
});

describe('refused deliveries', () => {
  const jwtInput = (token: string, body = vector.body) => ({
    headers: jwtHeaders(token),
    body,
    hmacKeys: [],
    publicKeys,
    issuer: vector.jwt.issuer,
  });

  it('a body changed by one byte fails under either algorithm', () => {
    const changed = vector.body.replace('alice', 'alicf');
    expect(
      unauthorized(() =>
        verifyLagoSignature({
          headers: hmacHeaders(vector.hmac.signature),
          body: changed,
          hmacKeys,
          publicKeys: [],
        }),
      ).reason,
    ).toBe('no_matching_signature');
    expect(unauthorized(() => verifyLagoSignature(jwtInput(vector.jwt.token, changed))).reason).toBe(
      'body_mismatch',
    );
  });

  it('a re-serialised body does not verify: the raw bytes are what is signed', () => {
    const reserialised = JSON.stringify(JSON.parse(vector.body), null, 1);
    expect(() => verifyLagoSignature(jwtInput(vector.jwt.token, reserialised))).toThrow(UnauthorizedError);
  });

  it('another HMAC key, another public key or another issuer is refused', () => {
    expect(
      unauthorized(() =>
        verifyLagoSignature({
          headers: hmacHeaders(vector.hmac.signature),
          body: vector.body,
          hmacKeys: parseLagoHmacKeys('0b2cbe1a-5c5e-4bd4-9e8e-6b2b0b8d8a31'),
          publicKeys,
        }),
      ).reason,
    ).toBe('no_matching_signature');
    expect(
      unauthorized(() =>
        verifyLagoSignature({
          ...jwtInput(vector.jwt.token),
          publicKeys: parseLagoPublicKeys(vector.jwt.unrelatedPublicKeyPem),
        }),
      ).reason,
    ).toBe('no_matching_signature');
    expect(
      unauthorized(() =>
        verifyLagoSignature({ ...jwtInput(vector.jwt.token), issuer: 'https://api.getlago.com' }),
      ).reason,
    ).toBe('issuer_mismatch');
  });

  it('a token signed by someone else over the right body is refused', () => {
    const forged = signLagoJwt(vector.body, stranger.privateKey, vector.jwt.issuer);
    expect(unauthorized(() => verifyLagoSignature(jwtInput(forged))).reason).toBe('no_matching_signature');
  });

  it('alg none and HS256 keyed with the public key (algorithm confusion) are refused before any key is used', () => {
    const [, payload] = vector.jwt.token.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    const hsHeader = Buffer.from('{"alg":"HS256"}').toString('base64url');
    const hs = `${hsHeader}.${payload}.${signLagoHmac(`${hsHeader}.${payload}`, vector.jwt.publicKeyPem)}`;
    expect(unauthorized(() => verifyLagoSignature(jwtInput(none))).reason).toBe('invalid_token');
    expect(unauthorized(() => verifyLagoSignature(jwtInput(hs))).reason).toBe('invalid_token');
  });

  it('missing signature, unknown algorithm, garbage tokens and unconfigured kinds are refused', () => {
    const base = { body: vector.body, hmacKeys, publicKeys };
    expect(unauthorized(() => verifyLagoSignature({ ...base, headers: {} })).reason).toBe('missing_headers');
    expect(
      unauthorized(() =>
        verifyLagoSignature({
          ...base,
          headers: { 'x-lago-signature': 'x', 'x-lago-signature-algorithm': 'rsa' },
        }),
      ).reason,
    ).toBe('unknown_algorithm');
    for (const token of ['a.b', 'a.b.c.d', '!!.??.**', 'e30.bm90IGpzb24.c2ln']) {
      expect(unauthorized(() => verifyLagoSignature(jwtInput(token))).reason).toBe('invalid_token');
    }
    expect(
      unauthorized(() =>
        verifyLagoSignature({ ...base, hmacKeys: [], headers: hmacHeaders(vector.hmac.signature) }),
      ).reason,
    ).toBe('invalid_secret');
    expect(
      unauthorized(() =>
        verifyLagoSignature({ ...base, publicKeys: [], headers: jwtHeaders(vector.jwt.token) }),
      ).reason,
    ).toBe('invalid_secret');
  });

  it('without the algorithm header, a three-part token is read as a JWT and anything else as HMAC', () => {
    const base = { body: vector.body, hmacKeys, publicKeys, issuer: vector.jwt.issuer };
    expect(verifyLagoSignature({ ...base, headers: { 'x-lago-signature': vector.jwt.token } })).toEqual({
      algorithm: 'jwt',
    });
    expect(verifyLagoSignature({ ...base, headers: { 'x-lago-signature': vector.hmac.signature } })).toEqual({
      algorithm: 'hmac',
    });
  });

  it('the algorithm is the one the header names, else read from the signature; anything else is unknown', () => {
    expect(lagoSignatureAlgorithm({ 'x-lago-signature-algorithm': ' JWT ', 'x-lago-signature': 'abc' })).toBe(
      'jwt',
    );
    expect(
      lagoSignatureAlgorithm({ 'x-lago-signature-algorithm': 'hmac', 'x-lago-signature': 'a.b.c' }),
    ).toBe('hmac');
    expect(lagoSignatureAlgorithm({ 'x-lago-signature': vector.jwt.token })).toBe('jwt');
    expect(lagoSignatureAlgorithm({ 'x-lago-signature': vector.hmac.signature })).toBe('hmac');
    expect(lagoSignatureAlgorithm({ 'x-lago-signature-algorithm': 'rs256' })).toBeUndefined();
  });

  it('no error message carries a key or the signature', () => {
    const secretKey = 'f3a9c6de-0000-4bd4-9e8e-6b2b0b8d8a31';
    const signature = signLagoHmac('{"other":1}', secretKey);
    const error = unauthorized(() =>
      verifyLagoSignature({
        headers: hmacHeaders(signature),
        body: vector.body,
        hmacKeys: parseLagoHmacKeys(secretKey),
        publicKeys: [],
      }),
    );
    expect(error.message).not.toContain(secretKey);
    expect(error.message).not.toContain(signature);
  });

  it('property: a signature made with any key verifies only for the exact body', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16 }), fc.string(), fc.string(), (key, body, other) => {
        fc.pre(!/\s|\p{Cc}/u.test(key));
        const keys = parseLagoHmacKeys(key);
        const headers = hmacHeaders(signLagoHmac(body, key));
        expect(verifyLagoSignature({ headers, body, hmacKeys: keys, publicKeys: [] }).algorithm).toBe('hmac');
        if (Buffer.from(other).equals(Buffer.from(body))) return;
        expect(() => verifyLagoSignature({ headers, body: other, hmacKeys: keys, publicKeys: [] })).toThrow(
          UnauthorizedError,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('rotation lists', () => {
  it('any of several HMAC keys may match', () => {
    const keys = parseLagoHmacKeys(`  0b2cbe1a-5c5e-4bd4-9e8e-000000000001 \n ${vector.hmac.key}  `);
    expect(keys).toHaveLength(2);
    expect(
      verifyLagoSignature({
        headers: hmacHeaders(vector.hmac.signature),
        body: vector.body,
        hmacKeys: keys,
        publicKeys: [],
      }).algorithm,
    ).toBe('hmac');
  });

  it('several public keys, PEM and as served mixed, each match their own tokens', () => {
    const keys = parseLagoPublicKeys(
      `${vector.jwt.unrelatedPublicKeyPem}\n${Buffer.from(signer.publicKey).toString('base64')}\n${vector.jwt.publicKeyAsServed}`,
    );
    expect(keys).toHaveLength(3);
    const mine = signLagoJwt('{"a":1}', signer.privateKey, 'x');
    for (const [token, body] of [
      [vector.jwt.token, vector.body],
      [mine, '{"a":1}'],
    ] as const) {
      expect(
        verifyLagoSignature({ headers: jwtHeaders(token), body, hmacKeys: [], publicKeys: keys }).algorithm,
      ).toBe('jwt');
    }
  });

  it('bad settings name the variable and never echo the value', () => {
    expect(configurationError(() => parseLagoHmacKeys('   ')).message).toBe(
      'LAGO_WEBHOOK_HMAC_KEY: no HMAC key given',
    );
    expect(configurationError(() => parseLagoHmacKeys('a\u0001b')).variable).toBe('LAGO_WEBHOOK_HMAC_KEY');
    // The stack's placeholder, and anything as short, is refused: anyone could sign with it.
    expect(configurationError(() => parseLagoHmacKeys('unset')).message).toContain('shorter than 16');
    const notKey = 'this-is-not-a-key';
    const error = configurationError(() => parseLagoPublicKeys(notKey));
    expect(error.variable).toBe('LAGO_WEBHOOK_PUBLIC_KEY');
    expect(error.message).not.toContain(notKey);
    expect(
      configurationError(() =>
        parseLagoPublicKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'),
      ).message,
    ).toContain('not a readable public key');
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(configurationError(() => parseLagoPublicKeys(ec.publicKey)).message).toContain('not an RSA key');
  });
});
