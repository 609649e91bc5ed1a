// JSON output of the emulated gateway. Bigints are written as bare JSON numbers so the emulator can
// produce the 64-bit values the real gateway does (service ids near 2^53, byte-hour integrals).

type RawJsonFactory = (text: string) => unknown;

// JSON.rawJSON ships with Node 21+ (V8 11.4) but is not in TypeScript's es2024 lib yet.
const rawJson = (JSON as unknown as { rawJSON: RawJsonFactory }).rawJSON;

function bigintAsNumber(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? rawJson(value.toString()) : value;
}

/** Compact JSON (the gateway's responses are compact: the guide pipes them through json_pp). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, bigintAsNumber);
}
