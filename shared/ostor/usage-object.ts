// A statistics object read in one cheap pass when the gateway wrote it in its ordinary form:
// numbers as JSON numbers within 2^53, keys and counters where the guide puts them. That form is
// checked field by field without zod and without a JSON reviver (together some 0.2 ms of CPU per
// object, most of a sweep's parsing). Anything else — counters printed as strings, integers past
// 2^53, a missing or mistyped field, text that is not JSON — answers undefined, and the caller
// parses with UsageObjectSchema, which stays the one definition of what is accepted and of the
// error a malformed object gets. The two agree on every object this path takes
// (test/unit/ostor/usage-object.test.ts).
import type { UsageItem, UsageObject } from './schemas.ts';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A JSON number that is a whole, non-negative and exact (JSON.parse rounds nothing below 2^53). */
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** `service_id` as the gateway printed it: its literal digits, found in the text. */
const SERVICE_ID = /"service_id"\s*:\s*(\d+)\s*[,}]/;

/** The statistics object `name` from a 2xx body, or undefined when the fast path does not apply. */
export function readUsageObject(name: string, body: string): UsageObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const { fmt_version, service_id, start_ts, period } = value;
  if (!isCount(fmt_version) || !isCount(start_ts) || !isCount(period) || !isCount(service_id)) {
    return undefined;
  }
  // The digits as printed, so the id is the gateway's text exactly (as parseGatewayJson keeps it);
  // a match elsewhere in the body would not be the same number, and then the slow path decides.
  const digits = SERVICE_ID.exec(body)?.[1];
  if (digits === undefined || Number(digits) !== service_id) return undefined;
  const raw = value.items;
  let items: UsageItem[];
  if (raw === undefined || raw === null) items = [];
  else if (Array.isArray(raw)) {
    items = new Array<UsageItem>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const item = readItem(raw[i]);
      if (item === undefined) return undefined;
      items[i] = item;
    }
  } else return undefined;
  return { name, fmtVersion: fmt_version, serviceId: digits, startTs: start_ts, period, items };
}

function readItem(value: unknown): UsageItem | undefined {
  if (!isObject(value)) return undefined;
  const { key, counters } = value;
  if (!isObject(key) || !isObject(counters)) return undefined;
  const bucket = text(key.bucket);
  const userId = text(key.user_id);
  const tag = text(key.tag);
  const epoch = key.epoch ?? 0;
  if (bucket === undefined || userId === undefined || tag === undefined || !isCount(epoch)) return undefined;
  // Optional, not nullable (as the schema has them): null goes to the slow path and its error.
  const ops = orDefault(counters.ops, {});
  const io = orDefault(counters.net_io, {});
  if (!isObject(ops) || !isObject(io)) return undefined;
  const put = orDefault(ops.put, 0);
  const get = orDefault(ops.get, 0);
  const list = orDefault(ops.list, 0);
  const other = orDefault(ops.other, 0);
  const uploaded = orDefault(io.uploaded, 0);
  const downloaded = orDefault(io.downloaded, 0);
  if (!isCount(put) || !isCount(get) || !isCount(list) || !isCount(other)) return undefined;
  if (!isCount(uploaded) || !isCount(downloaded)) return undefined;
  return {
    bucket,
    epoch,
    userId,
    tag,
    ops: { put, get, list, other },
    bytes: { uploaded: BigInt(uploaded), downloaded: BigInt(downloaded) },
  };
}

const orDefault = (value: unknown, fallback: unknown): unknown => (value === undefined ? fallback : value);

/** A key field: text, or absent/null for the empty string (as the schema reads it). */
function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : undefined;
}
