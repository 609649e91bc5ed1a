// What a request handler answers, before latency, fault injection and the wire, plus the switches
// that make the emulator show documented variations of the real gateway.

import { toJson } from './json.ts';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Variations between gateway versions and known defects, switchable at run time (`emulator.behaviour`). */
export interface EmulatorBehaviour {
  /** `GET ?ostor-users` as a bare array (5.x examples) or wrapped as `{"Users": [...]}` (other versions). */
  userListFormat: 'array' | 'wrapped';
  /** Status of successful admin and S3 deletes: 204, or the 203 some doc samples print, or 200. */
  deleteStatus: number;
  /** Page size of `GET ?ostor-usage` without `&limit=`. */
  usagePageSize: number;
  /** Models the reported defect: a `&limit=` above this returns truncated JSON. null: off. */
  brokenUsageJsonAboveLimit: number | null;
  /** Milliseconds added before every response (a LAN round trip, for benchmarks). */
  latencyMs: number;
}

export function jsonReply(value: unknown, status = 200): Reply {
  return { status, headers: { 'content-type': 'application/json' }, body: toJson(value) };
}

export function emptyReply(status = 200): Reply {
  return { status };
}

export function xmlReply(xml: string, status = 200): Reply {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`,
  };
}
