// The plain-S3 pieces termination needs: the DeleteObjects body and its Content-MD5, and the
// ListObjectsV2, ListObjectVersions, ListMultipartUploads and DeleteObjects answers parsed into
// typed values. XML text is decoded here by
// hand (entities and character references), so a key comes back byte for byte.
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import * as z from 'zod';

// The XML schemas below are `z.lazy`, like the gateway's JSON ones (see schemas.ts): only
// terminate reads XML, so the other functions do not build them at cold start.

/** DeleteObjects takes at most this many keys per request. */
export const MAX_DELETE_KEYS = 1000;

/** Escapes text for an XML element; CR, LF and tab as references so XML's line-end handling keeps them. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"'\r\n\t]/g, (c) => XML_ESCAPES[c] ?? c);
}

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#xD;',
  '\n': '&#xA;',
  '\t': '&#x9;',
};

/** One DeleteObjects entry: a key (its current version; a delete marker in a versioned bucket) or one version of it. */
export type DeleteEntry = string | { readonly key: string; readonly versionId?: string };

/** `<Delete>` with every entry, non-quiet so the answer lists what was deleted. */
export function deleteObjectsXml(entries: readonly DeleteEntry[]): string {
  const objects = entries
    .map((entry) => {
      if (typeof entry === 'string') return `<Object><Key>${escapeXml(entry)}</Key></Object>`;
      const version =
        entry.versionId === undefined ? '' : `<VersionId>${escapeXml(entry.versionId)}</VersionId>`;
      return `<Object><Key>${escapeXml(entry.key)}</Key>${version}</Object>`;
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>false</Quiet>${objects}</Delete>`;
}

/** Base64 of the body's MD5, as classic S3 requires on DeleteObjects. */
export function contentMd5(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('base64');
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five XML entities and numeric character references; anything else is left as is. */
export function decodeXmlText(value: string): string {
  return value.replace(
    /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));/g,
    (whole, name, dec, hex) => {
      if (name !== undefined) return NAMED_ENTITIES[name as string] ?? whole;
      const code =
        dec !== undefined ? Number.parseInt(dec as string, 10) : Number.parseInt(hex as string, 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    },
  );
}

// Built on the first parse: only termination's plain-S3 calls read XML, so the other functions'
// cold starts skip it.
let parser: XMLParser | undefined;
const newParser = () =>
  new XMLParser({
    ignoreAttributes: true,
    // Keys like `0001` or `true` must stay text; whitespace in a key is part of it.
    parseTagValue: false,
    trimValues: false,
    processEntities: false,
    isArray: (name) => ARRAY_ELEMENTS.has(name),
  });

/** Elements that may repeat: always arrays, so one entry reads like many. */
const ARRAY_ELEMENTS: ReadonlySet<string> = new Set([
  'Contents',
  'Deleted',
  'Error',
  'CommonPrefixes',
  'Version',
  'DeleteMarker',
  'Upload',
]);

/** Parses XML; throws on text that is not XML. */
export function parseXml(text: string): unknown {
  parser ??= newParser();
  return parser.parse(text, true);
}

const xmlText = z.lazy(() =>
  z.union([z.string(), z.number()]).transform((value) => decodeXmlText(String(value))),
);
const xmlCount = z.lazy(() =>
  z
    .string()
    .trim()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().refine(Number.isSafeInteger, 'must be a safe integer')),
);
const xmlBool = z.lazy(() =>
  z
    .string()
    .trim()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['true', 'false']))
    .transform((value) => value === 'true'),
);

const ObjectSchema = z.lazy(() =>
  z
    .object({
      Key: xmlText,
      Size: xmlCount.optional(),
      LastModified: z.string().trim().optional(),
      ETag: xmlText.optional(),
    })
    .transform((o) => ({
      key: o.Key,
      size: o.Size ?? 0,
      ...(o.LastModified === undefined ? {} : { lastModified: o.LastModified }),
      ...(o.ETag === undefined ? {} : { etag: o.ETag }),
    })),
);

export type ObjectSummary = Readonly<z.output<typeof ObjectSchema>>;

export const ListObjectsV2Schema = z.lazy(() =>
  z
    .object({
      ListBucketResult: z.object({
        Name: xmlText.optional(),
        KeyCount: xmlCount.optional(),
        IsTruncated: xmlBool.optional(),
        NextContinuationToken: xmlText.optional(),
        EncodingType: z.string().trim().optional(),
        Contents: z.array(ObjectSchema).optional(),
        CommonPrefixes: z.array(z.object({ Prefix: xmlText })).optional(),
      }),
    })
    .transform(({ ListBucketResult: r }) => {
      // With `encoding-type=url` S3 percent-encodes keys (so any character survives XML); only a
      // gateway that says it did so is decoded.
      const url = r.EncodingType?.toLowerCase() === 'url';
      const decode = (value: string) => (url ? decodeURIComponent(value) : value);
      const objects = (r.Contents ?? []).map((o) => ({ ...o, key: decode(o.key) }));
      const prefixes = (r.CommonPrefixes ?? []).map((p) => decode(p.Prefix));
      const truncated = r.IsTruncated ?? false;
      return {
        objects,
        commonPrefixes: prefixes,
        keyCount: r.KeyCount ?? objects.length + prefixes.length,
        isTruncated: truncated,
        ...(truncated && r.NextContinuationToken !== undefined
          ? { nextContinuationToken: r.NextContinuationToken }
          : {}),
      };
    }),
);

export type ObjectListing = Readonly<z.output<typeof ListObjectsV2Schema>>;

export const DeleteResultSchema = z.lazy(() =>
  z
    .object({
      DeleteResult: z.union([
        z.object({
          Deleted: z.array(z.object({ Key: xmlText })).optional(),
          Error: z
            .array(
              z.object({
                Key: xmlText,
                VersionId: xmlText.optional(),
                Code: xmlText.optional(),
                Message: xmlText.optional(),
              }),
            )
            .optional(),
        }),
        // `<DeleteResult/>` and `<DeleteResult></DeleteResult>` parse as an empty string.
        z.literal('').transform(() => ({ Deleted: undefined, Error: undefined })),
      ]),
    })
    .transform(({ DeleteResult: r }) => ({
      deleted: (r.Deleted ?? []).map((d) => d.Key),
      errors: (r.Error ?? []).map((e) => ({
        key: e.Key,
        ...(e.VersionId === undefined ? {} : { versionId: e.VersionId }),
        code: e.Code ?? 'InternalError',
        ...(e.Message === undefined ? {} : { message: e.Message }),
      })),
    })),
);

export type DeleteObjectsResult = Readonly<z.output<typeof DeleteResultSchema>>;

/** S3 writes this version id for objects stored while versioning was off (and so should a gateway that omits it). */
export const NULL_VERSION_ID = 'null';

const VersionEntrySchema = z.lazy(() =>
  z.object({ Key: xmlText, VersionId: xmlText.optional(), IsLatest: xmlBool.optional() }),
);

export const ListObjectVersionsSchema = z.lazy(() =>
  z
    .object({
      ListVersionsResult: z.object({
        IsTruncated: xmlBool.optional(),
        NextKeyMarker: xmlText.optional(),
        NextVersionIdMarker: xmlText.optional(),
        EncodingType: z.string().trim().optional(),
        Version: z.array(VersionEntrySchema).optional(),
        DeleteMarker: z.array(VersionEntrySchema).optional(),
      }),
    })
    .transform(({ ListVersionsResult: r }) => {
      const url = r.EncodingType?.toLowerCase() === 'url';
      const decode = (value: string) => (url ? decodeURIComponent(value) : value);
      const entry =
        (isDeleteMarker: boolean) =>
        (v: { Key: string; VersionId?: string | undefined; IsLatest?: boolean | undefined }) => ({
          key: decode(v.Key),
          versionId: v.VersionId === undefined || v.VersionId === '' ? NULL_VERSION_ID : v.VersionId,
          isDeleteMarker,
          ...(v.IsLatest === undefined ? {} : { isLatest: v.IsLatest }),
        });
      // The parser groups <Version> and <DeleteMarker> apart, so the two kinds are not interleaved
      // as on the wire: objects first, then markers.
      const versions = [...(r.Version ?? []).map(entry(false)), ...(r.DeleteMarker ?? []).map(entry(true))];
      const truncated = r.IsTruncated ?? false;
      return {
        versions,
        isTruncated: truncated,
        ...(truncated && r.NextKeyMarker !== undefined ? { nextKeyMarker: decode(r.NextKeyMarker) } : {}),
        ...(truncated && r.NextVersionIdMarker !== undefined && r.NextVersionIdMarker !== ''
          ? { nextVersionIdMarker: r.NextVersionIdMarker }
          : {}),
      };
    }),
);

export type VersionListing = Readonly<z.output<typeof ListObjectVersionsSchema>>;
export type ObjectVersionSummary = VersionListing['versions'][number];

export const ListMultipartUploadsSchema = z.lazy(() =>
  z
    .object({
      ListMultipartUploadsResult: z.object({
        IsTruncated: xmlBool.optional(),
        NextKeyMarker: xmlText.optional(),
        NextUploadIdMarker: xmlText.optional(),
        EncodingType: z.string().trim().optional(),
        Upload: z
          .array(z.object({ Key: xmlText, UploadId: xmlText, Initiated: z.string().trim().optional() }))
          .optional(),
      }),
    })
    .transform(({ ListMultipartUploadsResult: r }) => {
      const url = r.EncodingType?.toLowerCase() === 'url';
      const decode = (value: string) => (url ? decodeURIComponent(value) : value);
      const truncated = r.IsTruncated ?? false;
      return {
        uploads: (r.Upload ?? []).map((u) => ({
          key: decode(u.Key),
          uploadId: u.UploadId,
          ...(u.Initiated === undefined ? {} : { initiated: u.Initiated }),
        })),
        isTruncated: truncated,
        ...(truncated && r.NextKeyMarker !== undefined ? { nextKeyMarker: decode(r.NextKeyMarker) } : {}),
        ...(truncated && r.NextUploadIdMarker !== undefined && r.NextUploadIdMarker !== ''
          ? { nextUploadIdMarker: r.NextUploadIdMarker }
          : {}),
      };
    }),
);

export type UploadListing = Readonly<z.output<typeof ListMultipartUploadsSchema>>;
export type MultipartUploadSummary = UploadListing['uploads'][number];
