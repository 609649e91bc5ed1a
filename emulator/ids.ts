// Identifiers in the gateway's formats: user ids are 16 lowercase hex digits, access key ids the
// user id plus four uppercase letters or digits (`ca55631f9f3d59dcDF4M`), secrets 40 alphanumerics.

import { randomBytes, randomInt } from 'node:crypto';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function newUserId(): string {
  return randomBytes(8).toString('hex');
}

export function newAccessKeyId(userId: string): string {
  return userId + randomString(UPPER_ALNUM, 4);
}

export function newSecretAccessKey(): string {
  return randomString(ALNUM, 40);
}

/** An object version id: opaque, 32 URL-safe characters like S3's (never `null`, which names the null version). */
export function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

/** A multipart upload id: opaque, URL-safe. */
export function newUploadId(): string {
  return randomBytes(36).toString('base64url');
}
