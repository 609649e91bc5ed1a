// `POST /lago`: Lago's own webhooks in (docs/contract.md §9). The Stripe adapter's stack —
// classify the invocation, verify the signature over the raw bytes (here `X-Lago-Signature`, HMAC
// or JWT), parse, make the work idempotent on `X-Lago-Unique-Key` (for 4 days), run, map errors to
// statuses in one place — around Lago's translator and shared/lifecycle/lago.ts.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { deadlineFor, runWithDeadline } from '../deadline.ts';
import { InvalidInputError, UnauthorizedError } from '../errors.ts';
import { translateLagoWebhook } from '../lago/events.ts';
import type { LagoOutcome } from '../lifecycle/lago.ts';
import { applyLagoDecision } from '../lifecycle/lago.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import { lagoSignatureAlgorithm, verifyLagoSignature } from '../signing/lago.ts';
import { answerFailure } from './failure.ts';
import { type IdempotentRunner, makeIdempotentRunner } from './idempotency.ts';
import type { Invocation } from './invocation.ts';
import { classifyInvocation, jsonResponse } from './invocation.ts';
import type { LagoServices } from './lago-services.ts';
import { lagoServices } from './lago-services.ts';
import { HEALTH_PATH, type LambdaHandler } from './lifecycle-handler.ts';
import { createLogger, createMetrics, eventsFrom } from './logging.ts';
import type { Runtime } from './runtime.ts';
import { getRuntime } from './runtime.ts';

/** The function's name: its route, its log `service` and its metrics' `service` dimension. */
export const LAGO_FUNCTION = 'lago';
/** At least 72 hours (docs/contract.md §9): Lago's own retries end within minutes, a resend from its UI may come days later. */
export const LAGO_IDEMPOTENCY_TTL_SECONDS = 4 * 24 * 3600;
/** Counted (EMF, dimension `service`) each time a termination is refused; alarmed by the stack. */
export const TERMINATIONS_REFUSED_METRIC = 'terminationsRefused';
/** Lago's unique key is the webhook record's UUID; anything much longer is not Lago's. */
const MAX_UNIQUE_KEY_LENGTH = 255;

export type LagoEventResult = {
  readonly received: true;
  /** `X-Lago-Unique-Key`, when the event came over HTTP. */
  readonly id: string | undefined;
  readonly type: string;
} & LagoOutcome;

export function createLagoHandler(runtimeOf: () => Runtime = getRuntime): LambdaHandler {
  const logger = createLogger(LAGO_FUNCTION);
  const metrics = createMetrics(LAGO_FUNCTION);
  const events: LifecycleEvents = eventsFrom(logger);
  const runners = new WeakMap<Runtime, IdempotentRunner<LagoEventResult>>();

  const core = async (event: unknown, lambdaContext: Context): Promise<unknown> => {
    const invocation = classifyInvocation(event);
    if (invocation.kind === 'http' && invocation.path === HEALTH_PATH && invocation.method === 'GET') {
      return jsonResponse(200, { status: 'ok' });
    }
    let uniqueKey: string | undefined;
    try {
      const runtime = runtimeOf();
      const services = lagoServices(runtime);
      let payload: unknown;
      if (invocation.kind === 'http') {
        if (invocation.method !== 'POST') throw new InvalidInputError('method', 'Lago delivers with POST');
        await verify(services, invocation);
        uniqueKey = invocation.headers['x-lago-unique-key']?.trim();
        if (uniqueKey === undefined || uniqueKey === '' || uniqueKey.length > MAX_UNIQUE_KEY_LENGTH) {
          throw new InvalidInputError(
            'x-lago-unique-key',
            `must be Lago's webhook id (1 to ${MAX_UNIQUE_KEY_LENGTH} characters)`,
          );
        }
        payload = parseBody(invocation.rawBody);
      } else if (invocation.kind === 'schedule') {
        throw new InvalidInputError('event', 'lago is not started by a schedule');
      } else {
        // A direct invocation (console, `npm run invoke -- lago`) hands over a Lago webhook body, unsigned.
        payload = invocation.payload;
      }
      // Translated before the idempotency record: a body that cannot be read is a 400 that is
      // not remembered, and touches nothing.
      const decision = translateLagoWebhook(payload, services.settings);
      const type =
        typeof payload === 'object' && payload !== null && 'webhook_type' in payload
          ? String(payload.webhook_type)
          : '';

      let ran = false;
      const deadline = deadlineFor(lambdaContext.getRemainingTimeInMillis());
      const run = () =>
        runWithDeadline(deadline, async (): Promise<LagoEventResult> => {
          ran = true;
          if (decision.desired === 'ignore') {
            events.info('lago event not acted on', { id: uniqueKey, type, reason: decision.reason });
          }
          const outcome = await applyLagoDecision(decision, {
            gateway: runtime.gateway,
            subscriptions: services.subscriptions,
            stateChanges: runtime.stateChanges,
            billingIds: runtime.billingIds,
            locks: runtime.locks,
            credentials: services.credentials,
            events,
            customers: services.customers,
            directory: services.directory,
            plans: services.settings.plans,
            purgeOnTerminate: services.settings.purgeOnTerminate,
          });
          return { received: true, id: uniqueKey, type, ...outcome };
        });
      let result: LagoEventResult;
      if (invocation.kind === 'http' && uniqueKey !== undefined) {
        let idempotent = runners.get(runtime);
        if (idempotent === undefined) {
          idempotent = makeIdempotentRunner<LagoEventResult>(runtime.idempotencyStore, {
            ttlSeconds: LAGO_IDEMPOTENCY_TTL_SECONDS,
            validatePayload: false,
          });
          runners.set(runtime, idempotent);
        }
        result = await idempotent({ key: `${LAGO_FUNCTION}#${uniqueKey}`, run, lambdaContext });
      } else {
        result = await run();
      }
      const refused = ran ? terminationsRefused(result) : 0;
      if (refused > 0)
        metrics.singleMetric().addMetric(TERMINATIONS_REFUSED_METRIC, MetricUnit.Count, refused);
      metrics.addDimension('outcome', 'success');
      metrics.addMetric('events', MetricUnit.Count, 1);
      logger.info('lago event handled', {
        id: uniqueKey,
        type,
        action: result.action,
        source: invocation.kind,
        replayed: !ran,
      });
      return invocation.kind === 'http' ? jsonResponse(200, result) : result;
    } catch (error) {
      return answerFailure(error, {
        invocation,
        logger,
        metrics,
        subject: 'lago event',
        details: { id: uniqueKey },
      });
    }
  };

  return middy(core)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new InvalidInputError('body', 'must be a Lago webhook: JSON with webhook_type');
  }
}

function terminationsRefused(result: LagoEventResult): number {
  if (result.action === 'termination_refused') return 1;
  if (result.action !== 'customer') return 0;
  return result.subscriptions.filter((outcome) => outcome.action === 'termination_refused').length;
}

async function verify(
  services: LagoServices,
  invocation: Extract<Invocation, { kind: 'http' }>,
): Promise<void> {
  const input = { headers: invocation.headers, body: invocation.rawBody, issuer: services.issuer };
  // Only the keys of the delivery's own algorithm are read: a deployment that verifies one kind
  // leaves the other's secret unset, and reading it would refuse every delivery.
  const algorithm = lagoSignatureAlgorithm(invocation.headers);
  const none = { hmacKeys: [], publicKeys: [] };
  const keys = async (fresh: boolean) =>
    algorithm === 'hmac'
      ? { ...none, hmacKeys: await (fresh ? services.hmacKeys.refresh() : services.hmacKeys.get()) }
      : algorithm === 'jwt'
        ? { ...none, publicKeys: await (fresh ? services.publicKeys.refresh() : services.publicKeys.get()) }
        : none;
  try {
    verifyLagoSignature({ ...input, ...(await keys(false)) });
  } catch (error) {
    // A key changed in Secrets Manager since it was cached: look once more before refusing.
    if (!(error instanceof UnauthorizedError) || error.reason !== 'no_matching_signature') throw error;
    verifyLagoSignature({ ...input, ...(await keys(true)) });
  }
}
