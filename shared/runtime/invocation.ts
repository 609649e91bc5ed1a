// Tells apart, in one place, the three ways a function is called: an HTTP request (a signed
// webhook through the HTTP API, payload format 2.0 — the shape Function URLs use too), a direct invocation (Lambda console, `aws lambda invoke`, `npm run invoke`),
// and a scheduled event (EventBridge Scheduler or a rule). A fourth, Secrets Manager's rotation
// steps, reaches rotate-key only and is recognised by `classifyRotation` before the lifecycle stack.

import * as z from 'zod';

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

/**
 * An HTTP request in payload format 2.0 (the API Gateway HTTP API event; Function URLs send the same
 * shape): the fields Powertools' APIGatewayProxyEventV2Schema names for them, those this code reads.
 * Not Powertools' schema itself: its schemas import zod's `z` namespace object, which esbuild cannot
 * tree-shake, and it put every zod module and locale in each bundle (measured: provision 758 KB →
 * 1,141 KB, over the 800 KB limit).
 */
const HttpEvent = z.looseObject({
  version: z.literal('2.0'),
  rawPath: z.string(),
  headers: z.record(z.string(), z.string().optional()).default({}),
  requestContext: z.looseObject({ http: z.looseObject({ method: z.string().min(1) }) }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
});

/** The event the stack's schedule sends (infra/constructs/usage-schedule.ts), or an EventBridge rule's. */
const ScheduledEvent = z.looseObject({
  source: z.enum(['aws.scheduler', 'aws.events']),
  'detail-type': z.literal('Scheduled Event'),
  id: z.string().optional(),
  time: z.string().optional(),
});

export function classifyInvocation(event: unknown): Invocation {
  const http = HttpEvent.safeParse(event);
  if (http.success) {
    const request = http.data;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    const body = request.body ?? '';
    return {
      kind: 'http',
      method: request.requestContext.http.method.toUpperCase(),
      path: request.rawPath,
      headers,
      rawBody: request.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
    };
  }
  const scheduled = ScheduledEvent.safeParse(event);
  if (scheduled.success) {
    const time = scheduled.data.time === undefined ? new Date() : new Date(scheduled.data.time);
    return {
      kind: 'schedule',
      time: Number.isNaN(time.getTime()) ? new Date() : time,
      id: scheduled.data.id ?? '',
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

/** Secrets Manager's rotation event: `{ SecretId, ClientRequestToken, Step }` (plus `RotationToken` on newer events). */
const RotationEvent = z.looseObject({
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(1),
  Step: z.enum(ROTATION_STEPS),
});

/** A rotation step, or undefined for any other event. */
export function classifyRotation(event: unknown): RotationInvocation | undefined {
  const rotation = RotationEvent.safeParse(event);
  if (!rotation.success) return undefined;
  const { SecretId, ClientRequestToken, Step } = rotation.data;
  return { kind: 'rotation', secretId: SecretId, token: ClientRequestToken, step: Step };
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
