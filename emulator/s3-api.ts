// The plain-S3 side of the gateway, path-style only: enough of buckets and objects for uploads,
// ListObjects (V1 and V2), DeleteObjects and bucket deletion as AWS S3 defines them. A system user
// may act on every bucket, any other user only on its own.

import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  accessDenied,
  badRequest,
  escapeXml,
  GatewayError,
  methodNotAllowed,
  notFound,
  notImplemented,
} from './errors.ts';
import { decodePath, type Params } from './query.ts';
import { emptyReply, type Reply, xmlReply } from './reply.ts';
import {
  compareKeys,
  type EmulatedBucket,
  type EmulatedUser,
  type EmulatorState,
  lowerBound,
} from './state.ts';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_KEYS = 1000;
const MAX_DELETE_KEYS = 1000;
const MAX_KEY_BYTES = 1024;

/** Sub-resources this emulator does not serve: a request naming one gets 501 rather than a wrong answer. */
const UNSUPPORTED_SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
];

export interface S3Request {
  readonly method: string;
  /** The path as on the wire (percent-encoded), without the query. */
  readonly rawPath: string;
  readonly params: Params;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly state: EmulatorState;
  /** The authenticated user (a key of one of its accounts acts for the user). */
  readonly caller: EmulatedUser;
}

export function handleS3(request: S3Request): Reply {
  const unsupported = UNSUPPORTED_SUBRESOURCES.find((name) => request.params.has(name));
  if (unsupported !== undefined) throw notImplemented(`The ?${unsupported} sub-resource`);

  const path = request.rawPath.startsWith('/') ? request.rawPath.slice(1) : request.rawPath;
  if (path === '') {
    if (request.method !== 'GET') throw methodNotAllowed(request.method, 'the service root');
    return listBuckets(request);
  }
  const slash = path.indexOf('/');
  const bucketName = decodePath(slash === -1 ? path : path.slice(0, slash));
  const keyText = slash === -1 ? '' : path.slice(slash + 1);
  if (keyText === '') return bucketOperation(request, bucketName);
  return objectOperation(request, bucketName, decodePath(keyText));
}

// ---- access ------------------------------------------------------------------------------------

function accessibleBucket(request: S3Request, name: string): EmulatedBucket {
  const bucket = request.state.buckets.get(name);
  if (bucket === undefined) throw notFound('NoSuchBucket', 'The specified bucket does not exist');
  if (!request.state.isSystem(request.caller) && bucket.ownerId !== request.caller.id) {
    throw accessDenied('Access Denied');
  }
  return bucket;
}

/** S3 bucket naming rules (the DNS-compatible set every current S3 implementation enforces). */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !name.includes('.-') &&
    !name.includes('-.') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function checkContentMd5(headers: IncomingHttpHeaders, body: Buffer): void {
  const given = header(headers, 'content-md5');
  if (given === undefined) return;
  const decoded = Buffer.from(given, 'base64');
  if (decoded.length !== 16 || decoded.toString('base64') !== given.trim()) {
    throw badRequest('The Content-MD5 you specified was invalid', 'InvalidDigest');
  }
  if (!decoded.equals(createHash('md5').update(body).digest())) {
    throw badRequest('The Content-MD5 you specified did not match what we received', 'BadDigest');
  }
}

// ---- service and buckets -----------------------------------------------------------------------

function listBuckets(request: S3Request): Reply {
  const { caller, state } = request;
  const owned = state.bucketsOwnedBy(caller.id);
  const buckets = owned
    .map(
      (b) =>
        `<Bucket><Name>${escapeXml(b.name)}</Name><CreationDate>${b.creationDate.toISOString()}</CreationDate></Bucket>`,
    )
    .join('');
  return xmlReply(
    `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner><ID>${caller.id}</ID>` +
      `<DisplayName>${escapeXml(caller.email)}</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
  );
}

function bucketOperation(request: S3Request, name: string): Reply {
  const { method, params, state } = request;
  switch (method) {
    case 'PUT': {
      if (!isValidBucketName(name))
        throw badRequest('The specified bucket is not valid.', 'InvalidBucketName');
      if (state.buckets.has(name)) {
        throw new GatewayError(409, 'BucketAlreadyExists', 'The requested bucket name is not available');
      }
      state.createBucket(request.caller.id, name);
      return { status: 200, headers: { location: `/${name}` } };
    }
    case 'HEAD':
      accessibleBucket(request, name);
      return emptyReply();
    case 'GET': {
      const bucket = accessibleBucket(request, name);
      const listType = params.get('list-type');
      if (listType === undefined) return listObjects(request, bucket, 1);
      if (listType !== '2') throw badRequest(`Invalid list-type: ${listType}`);
      return listObjects(request, bucket, 2);
    }
    case 'DELETE': {
      accessibleBucket(request, name);
      state.deleteBucket(name);
      return emptyReply(204);
    }
    case 'POST': {
      if (!params.has('delete')) throw methodNotAllowed('POST', 'a bucket without ?delete');
      return deleteObjects(request, name);
    }
    default:
      throw methodNotAllowed(method, 'a bucket');
  }
}

// ---- listing -----------------------------------------------------------------------------------

function encodeToken(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const last = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || encodeToken(last) !== token) {
    throw badRequest('The continuation token provided is incorrect');
  }
  return last;
}

function listObjects(request: S3Request, bucket: EmulatedBucket, version: 1 | 2): Reply {
  const { params, state } = request;
  const prefix = params.get('prefix') ?? '';
  const delimiter = params.get('delimiter') ?? '';
  const maxKeysText = params.get('max-keys');
  if (maxKeysText !== undefined && !/^\d+$/.test(maxKeysText)) {
    throw badRequest('Provided max-keys not an integer or within integer range');
  }
  const maxKeys = maxKeysText === undefined ? MAX_KEYS : Math.min(Number(maxKeysText), MAX_KEYS);
  const encodingType = params.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url')
    throw badRequest('Invalid Encoding Method specified in Request');
  const enc = (text: string): string => escapeXml(encodingType === 'url' ? encodeURIComponent(text) : text);

  const token = version === 2 ? params.get('continuation-token') : undefined;
  const startAfter = version === 2 ? params.get('start-after') : undefined;
  const marker = version === 1 ? params.get('marker') : undefined;
  // A continuation token wins over start-after, as in S3.
  const after = token !== undefined ? decodeToken(token) : version === 2 ? startAfter : marker;

  const keys = state.sortedKeys(bucket.name);
  let i = after === undefined || after === '' ? 0 : lowerBound(keys, after, compareKeys, false);
  if (prefix !== '') i = Math.max(i, lowerBound(keys, prefix, compareKeys, true));

  const contents: string[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  let truncated = false;
  for (; i < keys.length; i++) {
    const key = keys[i] as string;
    // Keys sharing a prefix are contiguous in sorted order: the first one without it ends the range.
    if (!key.startsWith(prefix)) break;
    let rolledUp: string | undefined;
    if (delimiter !== '') {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) rolledUp = key.slice(0, at + delimiter.length);
    }
    if (rolledUp !== undefined) {
      // Already returned on this page, or on an earlier one (it sorts at or before the marker).
      if (rolledUp === commonPrefixes[commonPrefixes.length - 1]) continue;
      if (after !== undefined && compareKeys(rolledUp, after) <= 0) continue;
    }
    if (contents.length + commonPrefixes.length >= maxKeys) {
      truncated = maxKeys > 0;
      break;
    }
    if (rolledUp !== undefined) {
      commonPrefixes.push(rolledUp);
      last = rolledUp;
    } else {
      contents.push(key);
      last = key;
    }
  }

  const owner = (): string =>
    `<Owner><ID>${bucket.ownerId}</ID><DisplayName>${escapeXml(state.users.get(bucket.ownerId)?.email ?? '')}</DisplayName></Owner>`;
  const withOwner = version === 1 || params.get('fetch-owner') === 'true';
  const contentsXml = contents
    .map((key) => {
      const object = bucket.objects.get(key);
      if (object === undefined) return '';
      return (
        `<Contents><Key>${enc(key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified>` +
        `<ETag>&quot;${object.etag}&quot;</ETag><Size>${object.size}</Size>${withOwner ? owner() : ''}` +
        '<StorageClass>STANDARD</StorageClass></Contents>'
      );
    })
    .join('');
  const prefixesXml = commonPrefixes
    .map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`)
    .join('');

  let head = `<Name>${escapeXml(bucket.name)}</Name><Prefix>${enc(prefix)}</Prefix>`;
  if (version === 2) {
    if (startAfter !== undefined) head += `<StartAfter>${enc(startAfter)}</StartAfter>`;
    if (token !== undefined) head += `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`;
    head += `<KeyCount>${contents.length + commonPrefixes.length}</KeyCount>`;
  } else {
    head += `<Marker>${enc(marker ?? '')}</Marker>`;
    // S3 sends NextMarker only when a delimiter is given; without one the last key is the marker.
    if (truncated && delimiter !== '' && last !== undefined) head += `<NextMarker>${enc(last)}</NextMarker>`;
  }
  head += `<MaxKeys>${maxKeys}</MaxKeys>`;
  if (delimiter !== '') head += `<Delimiter>${enc(delimiter)}</Delimiter>`;
  if (encodingType !== undefined) head += '<EncodingType>url</EncodingType>';
  head += `<IsTruncated>${truncated}</IsTruncated>`;
  if (version === 2 && truncated && last !== undefined) {
    head += `<NextContinuationToken>${encodeToken(last)}</NextContinuationToken>`;
  }
  return xmlReply(
    `<ListBucketResult xmlns="${S3_NS}">${head}${contentsXml}${prefixesXml}</ListBucketResult>`,
  );
}

// ---- DeleteObjects -----------------------------------------------------------------------------

const deleteParser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Object',
});

function malformed(): GatewayError {
  return badRequest(
    'The XML you provided was not well-formed or did not validate against our published schema',
    'MalformedXML',
  );
}

function parseDeleteBody(body: Buffer): { quiet: boolean; keys: string[] } {
  const text = body.toString('utf8');
  if (XMLValidator.validate(text) !== true) throw malformed();
  const parsed: unknown = deleteParser.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('Delete' in parsed)) throw malformed();
  const root: unknown = parsed.Delete;
  if (typeof root !== 'object' || root === null) throw malformed();
  const quietValue = 'Quiet' in root ? root.Quiet : undefined;
  const quiet = typeof quietValue === 'string' && quietValue.trim().toLowerCase() === 'true';
  const objects: unknown = 'Object' in root ? root.Object : [];
  if (!Array.isArray(objects)) throw malformed();
  const keys: string[] = [];
  for (const object of objects) {
    if (typeof object !== 'object' || object === null || !('Key' in object)) throw malformed();
    const key: unknown = object.Key;
    // An empty element parses as '' and a repeated <Key> as an array: only a single text key is valid.
    if (typeof key !== 'string') throw malformed();
    keys.push(key);
  }
  if (keys.length === 0 || keys.length > MAX_DELETE_KEYS) throw malformed();
  return { quiet, keys };
}

function deleteObjects(request: S3Request, bucketName: string): Reply {
  const { headers, body, state } = request;
  if (header(headers, 'content-md5') === undefined) {
    throw badRequest('Missing required header for this request: Content-MD5', 'InvalidRequest');
  }
  checkContentMd5(headers, body);
  accessibleBucket(request, bucketName);
  const { quiet, keys } = parseDeleteBody(body);
  let results = '';
  for (const key of keys) {
    if (key === '') {
      results +=
        '<Error><Key></Key><Code>UserKeyMustBeSpecified</Code><Message>The key must not be empty</Message></Error>';
      continue;
    }
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      results += `<Error><Key>${escapeXml(key)}</Key><Code>KeyTooLongError</Code><Message>Your key is too long</Message></Error>`;
      continue;
    }
    // Deleting an absent key succeeds, as in S3.
    state.deleteObject(bucketName, key);
    if (!quiet) results += `<Deleted><Key>${escapeXml(key)}</Key></Deleted>`;
  }
  return xmlReply(`<DeleteResult xmlns="${S3_NS}">${results}</DeleteResult>`);
}

// ---- objects -----------------------------------------------------------------------------------

function objectOperation(request: S3Request, bucketName: string, key: string): Reply {
  const { method, headers, body, state } = request;
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw badRequest('Your key is too long', 'KeyTooLongError');
  }
  switch (method) {
    case 'PUT': {
      if (header(headers, 'x-amz-copy-source') !== undefined) throw notImplemented('CopyObject');
      accessibleBucket(request, bucketName);
      checkContentMd5(headers, body);
      const contentType = header(headers, 'content-type');
      const object = state.putObject(bucketName, key, body, contentType === undefined ? {} : { contentType });
      return { status: 200, headers: { etag: `"${object.etag}"` } };
    }
    case 'GET':
    case 'HEAD': {
      const bucket = accessibleBucket(request, bucketName);
      const object = bucket.objects.get(key);
      if (object === undefined) throw notFound('NoSuchKey', 'The specified key does not exist.');
      const reply: Reply = {
        status: 200,
        headers: {
          'content-type': object.contentType,
          etag: `"${object.etag}"`,
          'last-modified': object.lastModified.toUTCString(),
          'content-length': String(object.size),
        },
      };
      if (method === 'GET') reply.body = object.body;
      return reply;
    }
    case 'DELETE':
      accessibleBucket(request, bucketName);
      state.deleteObject(bucketName, key);
      return emptyReply(204);
    default:
      throw methodNotAllowed(method, 'an object');
  }
}
