// Tells apart, in one place, the three ways a function is called: an HTTP request (a signed
// webhook through the HTTP API, payload format 2.0 — the shape Function URLs use too), a direct invocation (Lambda console, `aws lambda invoke`, `npm run invoke`),
// and a scheduled event (EventBridge Scheduler or a rule). A fourth, Secrets Manager's rotation
// steps, reaches rotate-key only and is recognised by `classifyRotation` before the lifecycle stack.

export type Invocation =
  | {
      readonly kind: 'http';
      readonly method: string;
      readonly path: string;
      /** Header names in lower case, as payload format 2.0 delivers them. */
      readonly headers: Readonly<Record<string, string>>;
      /** The body exactly as it arrived: signatures are checked over these bytes. */
      readonly rawBody: Buffer;
    }
  | { readonly kind: 'direct'; readonly payload: unknown }
  | { readonly kind: 'schedule'; readonly time: Date; readonly id: string };

interface HttpEvent {
  version: string;
  rawPath?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path?: string } };
}

function isHttpEvent(event: unknown): event is HttpEvent {
  if (typeof event !== 'object' || event === null) return false;
  const candidate = event as { version?: unknown; requestContext?: { http?: { method?: unknown } } };
  return candidate.version === '2.0' && typeof candidate.requestContext?.http?.method === 'string';
}

function isScheduledEvent(event: unknown): event is { id?: string; time?: string } {
  if (typeof event !== 'object' || event === null) return false;
  const candidate = event as { source?: unknown; 'detail-type'?: unknown };
  return (
    (candidate.source === 'aws.scheduler' || candidate.source === 'aws.events') &&
    candidate['detail-type'] === 'Scheduled Event'
  );
}

export function classifyInvocation(event: unknown): Invocation {
  if (isHttpEvent(event)) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    const body = event.body ?? '';
    return {
      kind: 'http',
      method: event.requestContext.http.method.toUpperCase(),
      path: event.rawPath ?? event.requestContext.http.path ?? '/',
      headers,
      rawBody: event.isBase64Encoded === true ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
    };
  }
  if (isScheduledEvent(event)) {
    const time = typeof event.time === 'string' ? new Date(event.time) : new Date();
    return {
      kind: 'schedule',
      time: Number.isNaN(time.getTime()) ? new Date() : time,
      id: typeof event.id === 'string' ? event.id : '',
    };
  }
  return { kind: 'direct', payload: event };
}

/** The four steps of Secrets Manager's rotation protocol, in the order it calls them. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** Secrets Manager asking a rotation function to run one step for one version of one secret. */
export interface RotationInvocation {
  readonly kind: 'rotation';
  /** The secret's ARN (Secrets Manager sends the ARN). */
  readonly secretId: string;
  /** `ClientRequestToken`: the id of the version being rotated in. */
  readonly token: string;
  readonly step: RotationStep;
}

/** `{ SecretId, ClientRequestToken, Step }` (plus `RotationToken` on newer events), or undefined. */
export function classifyRotation(event: unknown): RotationInvocation | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const candidate = event as { SecretId?: unknown; ClientRequestToken?: unknown; Step?: unknown };
  const { SecretId, ClientRequestToken, Step } = candidate;
  if (typeof SecretId !== 'string' || SecretId === '') return undefined;
  if (typeof ClientRequestToken !== 'string' || ClientRequestToken === '') return undefined;
  if (!(ROTATION_STEPS as readonly unknown[]).includes(Step)) return undefined;
  return { kind: 'rotation', secretId: SecretId, token: ClientRequestToken, step: Step as RotationStep };
}

/** The response shape of payload format 2.0 (HTTP API and Function URLs alike). */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}
