// Fault injection for client tests: the next matching request(s) get an error status, a delay, a
// reset connection, a broken body or no answer at all. A fault that answers does so before the
// operation runs, unless `afterApply` asks for "the gateway did it, but the answer was lost".

export type Fault =
  | {
      kind: 'status';
      status: number;
      /** Sent as `X-Amz-Err-Message`; default "Injected fault: <status>". */
      message?: string;
      /** Replaces the S3-style XML error body. */
      body?: string;
      afterApply?: boolean;
    }
  /** Waits, then serves the request normally (for client timeouts). */
  | { kind: 'delay'; ms: number }
  /** Destroys the connection without an answer (TCP RST). */
  | { kind: 'reset'; afterApply?: boolean }
  /** 200 with a body that is not valid JSON. */
  | { kind: 'malformed'; body?: string; afterApply?: boolean }
  /** Never answers; the connection is dropped when the emulator closes. */
  | { kind: 'hang' };

export interface FaultMatch {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** An admin service (`'ostor-users'`, ...) or `'s3'` for plain S3 requests. */
  service?: string;
  /** A parameter the request carries, by decoded name (`'genKey'`, `'obj'`, `'delete'`). */
  param?: string;
}

export interface FaultSpec {
  match?: FaultMatch;
  /** How many matching requests it applies to: default 1, `Infinity` for all. */
  times?: number;
  fault: Fault;
}

export interface FaultInjector {
  inject(spec: FaultSpec): void;
  clear(): void;
  /** Faults still waiting for a matching request. */
  readonly pending: number;
}

export interface FaultTarget {
  readonly method: string;
  readonly service: string;
  readonly paramNames: readonly string[];
}

interface Armed {
  readonly match: FaultMatch;
  remaining: number;
  readonly fault: Fault;
}

function validate(spec: FaultSpec): void {
  const times = spec.times ?? 1;
  if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times > 0))) {
    throw new RangeError(`times must be a positive integer or Infinity: ${times}`);
  }
  const fault = spec.fault;
  if (
    fault.kind === 'status' &&
    !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 599)
  ) {
    throw new RangeError(`status must be an HTTP status code: ${fault.status}`);
  }
  if (fault.kind === 'delay' && !(Number.isFinite(fault.ms) && fault.ms >= 0)) {
    throw new RangeError(`ms must be a non-negative number: ${fault.ms}`);
  }
}

export class FaultQueue implements FaultInjector {
  private armed: Armed[] = [];

  inject(spec: FaultSpec): void {
    validate(spec);
    this.armed.push({ match: spec.match ?? {}, remaining: spec.times ?? 1, fault: spec.fault });
  }

  clear(): void {
    this.armed = [];
  }

  get pending(): number {
    return this.armed.length;
  }

  /** The first armed fault matching the request, consumed once. */
  take(target: FaultTarget): Fault | undefined {
    const index = this.armed.findIndex((a) => matches(a.match, target));
    const armed = this.armed[index];
    if (armed === undefined) return undefined;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.armed.splice(index, 1);
    return armed.fault;
  }
}

function matches(match: FaultMatch, target: FaultTarget): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== target.method) return false;
  if (match.service !== undefined && match.service !== target.service) return false;
  if (match.param !== undefined && !target.paramNames.includes(match.param)) return false;
  return true;
}

/** Default body of a `malformed` fault: the start of a JSON answer, cut off. */
export const MALFORMED_BODY = '{"UserEmail": "user@example.com", "UserId": "ca55631f9f3d';
