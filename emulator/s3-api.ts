// The plain-S3 side of the gateway, path-style only: enough of buckets and objects for uploads,
// ListObjects (V1 and V2), DeleteObjects and bucket deletion as AWS S3 defines them, plus bucket
// versioning, ListObjectVersions and the multipart-upload calls that keep a bucket from being
// deleted (initiate, list, abort). A system user may act on every bucket, any other user only on
// its own.

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
  type ObjectVersion,
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
  if (params.has('versioning')) return bucketVersioning(request, name);
  if (params.has('versions')) {
    if (method !== 'GET') throw notImplemented(`${method} ?versions`);
    return listObjectVersions(request, accessibleBucket(request, name));
  }
  if (params.has('uploads')) {
    if (method !== 'GET') throw notImplemented(`${method} ?uploads on a bucket`);
    return listMultipartUploads(request, accessibleBucket(request, name));
  }
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

// ---- versioning --------------------------------------------------------------------------------

const configParser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
});

/** `GET /bucket?versioning` and `PUT /bucket?versioning` with S3's VersioningConfiguration body. */
function bucketVersioning(request: S3Request, name: string): Reply {
  const { method, params, headers, body, state } = request;
  if (!params.flag('versioning')) throw badRequest("Parameter 'versioning' takes no value");
  const bucket = accessibleBucket(request, name);
  if (method === 'GET') {
    const status = bucket.versioning === undefined ? '' : `<Status>${bucket.versioning}</Status>`;
    return xmlReply(`<VersioningConfiguration xmlns="${S3_NS}">${status}</VersioningConfiguration>`);
  }
  if (method !== 'PUT') throw notImplemented(`${method} ?versioning`);
  checkContentMd5(headers, body);
  const text = body.toString('utf8');
  if (XMLValidator.validate(text) !== true) throw malformed();
  const parsed: unknown = configParser.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('VersioningConfiguration' in parsed))
    throw malformed();
  const root: unknown = parsed.VersioningConfiguration;
  // `<VersioningConfiguration/>` changes nothing, as in S3.
  if (root === '') return emptyReply();
  if (typeof root !== 'object' || root === null) throw malformed();
  const mfaDelete: unknown = 'MfaDelete' in root ? root.MfaDelete : undefined;
  if (mfaDelete !== undefined && mfaDelete !== 'Disabled') throw notImplemented('MFA delete');
  const status: unknown = 'Status' in root ? root.Status : undefined;
  if (status === undefined) return emptyReply();
  if (status !== 'Enabled' && status !== 'Suspended') throw malformed();
  state.setVersioning(name, status);
  return emptyReply();
}

/** `max-keys` / `max-uploads`: digits, capped at 1,000. */
function pageSize(request: S3Request, name: string): number {
  const text = request.params.get(name);
  if (text === undefined) return MAX_KEYS;
  if (!/^\d+$/.test(text)) throw badRequest(`Provided ${name} not an integer or within integer range`);
  return Math.min(Number(text), MAX_KEYS);
}

/** `encoding-type=url` percent-encodes keys (so any character survives XML); anything else is a 400. */
function keyEncoder(request: S3Request): { encode: (text: string) => string; element: string } {
  const encodingType = request.params.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url')
    throw badRequest('Invalid Encoding Method specified in Request');
  const url = encodingType === 'url';
  return {
    encode: (text) => escapeXml(url ? encodeURIComponent(text) : text),
    element: url ? '<EncodingType>url</EncodingType>' : '',
  };
}

function ownerXml(state: EmulatorState, userId: string, element = 'Owner'): string {
  return `<${element}><ID>${userId}</ID><DisplayName>${escapeXml(state.users.get(userId)?.email ?? '')}</DisplayName></${element}>`;
}

/**
 * ListObjectVersions: every version and delete marker, keys in S3 order and each key's versions
 * newest first; paged by key-marker / version-id-marker. A version-id-marker that no longer exists
 * resumes with the next key. Delimiters are not modelled (501).
 */
function listObjectVersions(request: S3Request, bucket: EmulatedBucket): Reply {
  const { params, state } = request;
  if (!params.flag('versions')) throw badRequest("Parameter 'versions' takes no value");
  if (params.has('delimiter')) throw notImplemented('ListObjectVersions with a delimiter');
  const prefix = params.get('prefix') ?? '';
  const maxKeys = pageSize(request, 'max-keys');
  const { encode, element } = keyEncoder(request);
  const keyMarker = params.get('key-marker') ?? '';
  const versionIdMarker = params.get('version-id-marker') ?? '';
  if (versionIdMarker !== '' && keyMarker === '') {
    throw badRequest('A version-id marker cannot be specified without a key marker.');
  }

  const keys = state.sortedVersionKeys(bucket.name);
  let i = keyMarker === '' ? 0 : lowerBound(keys, keyMarker, compareKeys, versionIdMarker !== '');
  if (prefix !== '') i = Math.max(i, lowerBound(keys, prefix, compareKeys, true));
  const page: { version: ObjectVersion; latest: boolean }[] = [];
  let truncated = false;
  scan: for (; i < keys.length; i++) {
    const key = keys[i] as string;
    if (!key.startsWith(prefix)) break;
    const history = bucket.versions.get(key) ?? [];
    let j = 0;
    if (key === keyMarker && versionIdMarker !== '') {
      const at = history.findIndex((v) => v.versionId === versionIdMarker);
      j = at === -1 ? history.length : at + 1;
    }
    for (; j < history.length; j++) {
      if (page.length >= maxKeys) {
        truncated = maxKeys > 0;
        break scan;
      }
      page.push({ version: history[j] as ObjectVersion, latest: j === 0 });
    }
  }

  const owner = ownerXml(state, bucket.ownerId);
  const entries = page
    .map(({ version, latest }) => {
      const common =
        `<Key>${encode(version.key)}</Key><VersionId>${escapeXml(version.versionId)}</VersionId>` +
        `<IsLatest>${latest}</IsLatest><LastModified>${version.lastModified.toISOString()}</LastModified>`;
      const object = version.object;
      if (object === undefined) return `<DeleteMarker>${common}${owner}</DeleteMarker>`;
      return (
        `<Version>${common}<ETag>&quot;${object.etag}&quot;</ETag><Size>${object.size}</Size>` +
        `<StorageClass>STANDARD</StorageClass>${owner}</Version>`
      );
    })
    .join('');
  const last = page[page.length - 1]?.version;
  let head =
    `<Name>${escapeXml(bucket.name)}</Name><Prefix>${encode(prefix)}</Prefix>` +
    `<KeyMarker>${encode(keyMarker)}</KeyMarker><VersionIdMarker>${escapeXml(versionIdMarker)}</VersionIdMarker>`;
  if (truncated && last !== undefined) {
    head +=
      `<NextKeyMarker>${encode(last.key)}</NextKeyMarker>` +
      `<NextVersionIdMarker>${escapeXml(last.versionId)}</NextVersionIdMarker>`;
  }
  head += `<MaxKeys>${maxKeys}</MaxKeys>${element}<IsTruncated>${truncated}</IsTruncated>`;
  return xmlReply(`<ListVersionsResult xmlns="${S3_NS}">${head}${entries}</ListVersionsResult>`);
}

// ---- multipart uploads (initiate, list, abort; parts are not modelled) --------------------------

/**
 * ListMultipartUploads: uploads by key, then upload id; paged by key-marker / upload-id-marker
 * (the id marker only counts together with a key marker, as in S3). Delimiters are not modelled.
 */
function listMultipartUploads(request: S3Request, bucket: EmulatedBucket): Reply {
  const { params, state } = request;
  if (!params.flag('uploads')) throw badRequest("Parameter 'uploads' takes no value");
  if (params.has('delimiter')) throw notImplemented('ListMultipartUploads with a delimiter');
  const prefix = params.get('prefix') ?? '';
  const maxUploads = pageSize(request, 'max-uploads');
  const { encode, element } = keyEncoder(request);
  const keyMarker = params.get('key-marker') ?? '';
  const uploadIdMarker = keyMarker === '' ? '' : (params.get('upload-id-marker') ?? '');

  const candidates = state.sortedUploads(bucket.name).filter((upload) => {
    if (!upload.key.startsWith(prefix)) return false;
    if (keyMarker === '') return true;
    const order = compareKeys(upload.key, keyMarker);
    return order > 0 || (order === 0 && uploadIdMarker !== '' && upload.uploadId > uploadIdMarker);
  });
  const page = candidates.slice(0, maxUploads);
  const truncated = maxUploads > 0 && candidates.length > page.length;
  const uploads = page
    .map(
      (upload) =>
        `<Upload><Key>${encode(upload.key)}</Key><UploadId>${escapeXml(upload.uploadId)}</UploadId>` +
        `${ownerXml(state, upload.initiatorId, 'Initiator')}${ownerXml(state, bucket.ownerId)}` +
        `<StorageClass>STANDARD</StorageClass><Initiated>${upload.initiated.toISOString()}</Initiated></Upload>`,
    )
    .join('');
  const last = page[page.length - 1];
  let head =
    `<Bucket>${escapeXml(bucket.name)}</Bucket><KeyMarker>${encode(keyMarker)}</KeyMarker>` +
    `<UploadIdMarker>${escapeXml(uploadIdMarker)}</UploadIdMarker>`;
  if (truncated && last !== undefined) {
    head +=
      `<NextKeyMarker>${encode(last.key)}</NextKeyMarker>` +
      `<NextUploadIdMarker>${escapeXml(last.uploadId)}</NextUploadIdMarker>`;
  }
  head += `<MaxUploads>${maxUploads}</MaxUploads>${element}<IsTruncated>${truncated}</IsTruncated>`;
  if (prefix !== '') head += `<Prefix>${encode(prefix)}</Prefix>`;
  return xmlReply(
    `<ListMultipartUploadsResult xmlns="${S3_NS}">${head}${uploads}</ListMultipartUploadsResult>`,
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

interface DeleteEntry {
  readonly key: string;
  readonly versionId: string | undefined;
}

function parseDeleteBody(body: Buffer): { quiet: boolean; entries: DeleteEntry[] } {
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
  const entries: DeleteEntry[] = [];
  for (const object of objects) {
    if (typeof object !== 'object' || object === null || !('Key' in object)) throw malformed();
    const key: unknown = object.Key;
    // An empty element parses as '' and a repeated <Key> as an array: only a single text key is valid.
    if (typeof key !== 'string') throw malformed();
    const versionId: unknown = 'VersionId' in object ? object.VersionId : undefined;
    if (versionId !== undefined && (typeof versionId !== 'string' || versionId === '')) throw malformed();
    entries.push({ key, versionId });
  }
  if (entries.length === 0 || entries.length > MAX_DELETE_KEYS) throw malformed();
  return { quiet, entries };
}

function deleteObjects(request: S3Request, bucketName: string): Reply {
  const { headers, body, state } = request;
  if (header(headers, 'content-md5') === undefined) {
    throw badRequest('Missing required header for this request: Content-MD5', 'InvalidRequest');
  }
  checkContentMd5(headers, body);
  accessibleBucket(request, bucketName);
  const { quiet, entries } = parseDeleteBody(body);
  let results = '';
  for (const { key, versionId } of entries) {
    const version = versionId === undefined ? '' : `<VersionId>${escapeXml(versionId)}</VersionId>`;
    if (key === '') {
      results += `<Error><Key></Key>${version}<Code>UserKeyMustBeSpecified</Code><Message>The key must not be empty</Message></Error>`;
      continue;
    }
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      results += `<Error><Key>${escapeXml(key)}</Key>${version}<Code>KeyTooLongError</Code><Message>Your key is too long</Message></Error>`;
      continue;
    }
    // Deleting an absent key or version succeeds, as in S3.
    let marker = '';
    if (versionId === undefined) {
      const { deleteMarkerVersionId } = state.deleteCurrent(bucketName, key);
      if (deleteMarkerVersionId !== undefined) {
        marker = `<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>${escapeXml(deleteMarkerVersionId)}</DeleteMarkerVersionId>`;
      }
    } else if (state.deleteObjectVersion(bucketName, key, versionId).deleteMarker) {
      marker = `<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>${escapeXml(versionId)}</DeleteMarkerVersionId>`;
    }
    if (!quiet) results += `<Deleted><Key>${escapeXml(key)}</Key>${version}${marker}</Deleted>`;
  }
  return xmlReply(`<DeleteResult xmlns="${S3_NS}">${results}</DeleteResult>`);
}

// ---- objects -----------------------------------------------------------------------------------

function objectOperation(request: S3Request, bucketName: string, key: string): Reply {
  const { method, headers, body, params, state } = request;
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw badRequest('Your key is too long', 'KeyTooLongError');
  }
  if (params.has('uploads')) {
    if (method !== 'POST') throw notImplemented(`${method} ?uploads on an object`);
    return initiateMultipartUpload(request, bucketName, key);
  }
  if (params.has('uploadId')) {
    // Upload part, complete and list parts are not modelled: only abort is.
    if (method !== 'DELETE') throw notImplemented(`${method} ?uploadId (multipart parts)`);
    accessibleBucket(request, bucketName);
    state.abortMultipartUpload(bucketName, key, params.get('uploadId') ?? '');
    return emptyReply(204);
  }
  const versionId = params.get('versionId');
  if (versionId !== undefined && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
    throw notImplemented(`${method} ?versionId`);
  }
  if (versionId === '') throw badRequest('Version id cannot be the empty string');
  switch (method) {
    case 'PUT': {
      if (header(headers, 'x-amz-copy-source') !== undefined) throw notImplemented('CopyObject');
      const bucket = accessibleBucket(request, bucketName);
      checkContentMd5(headers, body);
      const contentType = header(headers, 'content-type');
      const object = state.putObject(bucketName, key, body, contentType === undefined ? {} : { contentType });
      const reply: Reply = { status: 200, headers: { etag: `"${object.etag}"` } };
      if (bucket.versioning !== undefined && reply.headers !== undefined) {
        reply.headers['x-amz-version-id'] = object.versionId;
      }
      return reply;
    }
    case 'GET':
    case 'HEAD': {
      const bucket = accessibleBucket(request, bucketName);
      const history = bucket.versions.get(key);
      let object = bucket.objects.get(key);
      let shownVersion = history?.[0]?.versionId;
      if (versionId !== undefined) {
        const version = history?.find((v) => v.versionId === versionId);
        if (version === undefined) throw notFound('NoSuchVersion', 'The specified version does not exist.');
        if (version.object === undefined) {
          throw methodNotAllowed(method, 'a delete marker');
        }
        object = version.object;
        shownVersion = version.versionId;
      }
      if (object === undefined) throw notFound('NoSuchKey', 'The specified key does not exist.');
      const reply: Reply = {
        status: 200,
        headers: {
          'content-type': object.contentType,
          etag: `"${object.etag}"`,
          'last-modified': object.lastModified.toUTCString(),
          'content-length': String(object.size),
          ...(bucket.versioning === undefined || shownVersion === undefined
            ? {}
            : { 'x-amz-version-id': shownVersion }),
        },
      };
      if (method === 'GET') reply.body = object.body;
      return reply;
    }
    case 'DELETE': {
      const bucket = accessibleBucket(request, bucketName);
      if (versionId !== undefined) {
        const { deleteMarker } = state.deleteObjectVersion(bucketName, key, versionId);
        return {
          status: 204,
          headers: {
            'x-amz-version-id': versionId,
            ...(deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
          },
        };
      }
      const { deleteMarkerVersionId } = state.deleteCurrent(bucketName, key);
      if (bucket.versioning === undefined || deleteMarkerVersionId === undefined) return emptyReply(204);
      return {
        status: 204,
        headers: { 'x-amz-version-id': deleteMarkerVersionId, 'x-amz-delete-marker': 'true' },
      };
    }
    default:
      throw methodNotAllowed(method, 'an object');
  }
}

/** `POST /bucket/key?uploads`: CreateMultipartUpload; answers the new UploadId. */
function initiateMultipartUpload(request: S3Request, bucketName: string, key: string): Reply {
  if (!request.params.flag('uploads')) throw badRequest("Parameter 'uploads' takes no value");
  accessibleBucket(request, bucketName);
  const upload = request.state.createMultipartUpload(bucketName, key, request.caller.id);
  return xmlReply(
    `<InitiateMultipartUploadResult xmlns="${S3_NS}"><Bucket>${escapeXml(bucketName)}</Bucket>` +
      `<Key>${escapeXml(key)}</Key><UploadId>${escapeXml(upload.uploadId)}</UploadId></InitiateMultipartUploadResult>`,
  );
}
