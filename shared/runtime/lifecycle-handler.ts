// The one middleware stack every webhook function shares: classify the invocation, verify the
// webhook signature over the raw bytes, parse the envelope, make the work idempotent on
// `webhook-id`, run one lifecycle operation, and map errors to statuses in one place.
import { createHash } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { deadlineFor, runWithDeadline } from '../deadline.ts';
import { ConfigurationError, InvalidInputError, UnauthorizedError } from '../errors.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import type { EventType } from '../lifecycle/requests.ts';
import { Envelope, parseInput } from '../lifecycle/requests.ts';
import { verifyWebhook } from '../signing/index.ts';
import { answerFailure } from './failure.ts';
import { type IdempotentRunner, makeIdempotentRunner } from './idempotency.ts';
import type { Invocation } from './invocation.ts';
import { classifyInvocation, jsonResponse } from './invocation.ts';
import { createLogger, createMetrics, eventsFrom } from './logging.ts';
import type { Runtime } from './runtime.ts';
import { getRuntime } from './runtime.ts';

/**
 * How long a delivered webhook-id is remembered: the contract asks for at least 24 hours, and the
 * stored answer of provision / rotate-key holds the customer's secret key, so not much longer.
 */
export const IDEMPOTENCY_TTL_SECONDS = 25 * 3600;

export interface LifecycleRequestContext {
  readonly envelope: { readonly type: string; readonly timestamp: Date; readonly data: unknown };
  readonly invocation: Invocation;
  readonly runtime: Runtime;
  readonly events: LifecycleEvents;
  readonly lambdaContext: Context;
}

export interface LifecycleFunction<Request, Result> {
  readonly type: EventType;
  /** Parses `data` (errors name `data.<field>`) into the operation's typed request. */
  readonly parse: (data: unknown, envelope: LifecycleRequestContext['envelope']) => Request;
  readonly run: (request: Request, context: LifecycleRequestContext) => Promise<Result>;
  /** Turns a scheduled event into an envelope; functions without a schedule refuse them. */
  readonly fromSchedule?: (time: Date) => unknown;
  /**
   * The most time a request over HTTP may take, when the function's own timeout is longer than an
   * HTTP caller waits (the HTTP API gives up after 29 s). The operation sees the shorter of this and
   * the invocation's remaining time, as its deadline and through `lambdaContext`.
   */
  readonly httpBudgetMs?: number;
}

/** `GET /healthz`: answered by any function, before any secret or gateway is touched. */
export const HEALTH_PATH = '/healthz';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export function createLifecycleHandler<Request, Result>(
  definition: LifecycleFunction<Request, Result>,
  runtimeOf: () => Runtime = getRuntime,
): LambdaHandler {
  const logger = createLogger(definition.type);
  const metrics = createMetrics(definition.type);
  const events: LifecycleEvents = eventsFrom(logger);
  // One runner per runtime, built on first use: each runtime has its own idempotency store.
  const runners = new WeakMap<Runtime, IdempotentRunner<Result>>();

  const core = async (event: unknown, invokedContext: Context): Promise<unknown> => {
    const invocation = classifyInvocation(event);
    if (invocation.kind === 'http' && invocation.path === HEALTH_PATH && invocation.method === 'GET') {
      return jsonResponse(200, { status: 'ok' });
    }
    const lambdaContext =
      invocation.kind === 'http' && definition.httpBudgetMs !== undefined
        ? withBudget(invokedContext, definition.httpBudgetMs)
        : invokedContext;
    try {
      const runtime = runtimeOf();
      let payload: unknown;
      let webhookId: string | undefined;
      if (invocation.kind === 'http') {
        if (invocation.method !== 'POST')
          throw new InvalidInputError('method', 'webhooks are delivered with POST');
        webhookId = await verify(runtime, invocation);
        payload = parseJson(invocation.rawBody);
      } else if (invocation.kind === 'schedule') {
        if (definition.fromSchedule === undefined) {
          throw new InvalidInputError('event', `${definition.type} is not started by a schedule`);
        }
        payload = definition.fromSchedule(invocation.time);
      } else {
        payload = invocation.payload;
      }

      const envelope = parseInput(Envelope, payload, '');
      if (envelope.type !== definition.type) {
        throw new InvalidInputError(
          'type',
          `must be "${definition.type}" for this function (got "${envelope.type}")`,
        );
      }
      const request = definition.parse(envelope.data, envelope);
      const context: LifecycleRequestContext = { envelope, invocation, runtime, events, lambdaContext };
      // Gateway calls give up (504) before the invocation's own time runs out, leaving room to answer.
      const deadline = deadlineFor(lambdaContext.getRemainingTimeInMillis());
      const run = () => runWithDeadline(deadline, () => definition.run(request, context));

      let result: Result;
      if (webhookId !== undefined && invocation.kind === 'http') {
        let idempotent = runners.get(runtime);
        if (idempotent === undefined) {
          idempotent = makeIdempotentRunner<Result>(runtime.idempotencyStore, {
            ttlSeconds: IDEMPOTENCY_TTL_SECONDS,
            validatePayload: true,
          });
          runners.set(runtime, idempotent);
        }
        result = await idempotent({
          key: `${definition.type}#${webhookId}`,
          bodyHash: createHash('sha256').update(invocation.rawBody).digest('base64'),
          run,
          // The in-progress record lapses with the invocation itself, not the shorter HTTP budget.
          lambdaContext: invokedContext,
        });
      } else {
        result = await run();
      }
      metrics.addDimension('outcome', 'success');
      metrics.addMetric('events', MetricUnit.Count, 1);
      logger.info('event handled', { type: definition.type, source: invocation.kind, webhookId });
      return invocation.kind === 'http' ? jsonResponse(200, result) : result;
    } catch (error) {
      return answerFailure(error, {
        invocation,
        logger,
        metrics,
        subject: 'event',
        details: { type: definition.type },
      });
    }
  };

  return middy(core)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/** The same context with at most `budgetMs` left from now. */
function withBudget(context: Context, budgetMs: number): Context {
  const end = Date.now() + budgetMs;
  return {
    ...context,
    getRemainingTimeInMillis: () =>
      Math.min(context.getRemainingTimeInMillis(), Math.max(0, end - Date.now())),
  };
}

async function verify(runtime: Runtime, invocation: Extract<Invocation, { kind: 'http' }>): Promise<string> {
  const provider = runtime.webhookSecrets;
  if (provider === undefined)
    throw new ConfigurationError('WEBHOOK_SECRET', 'is not set: webhooks cannot be verified');
  try {
    return verifyWebhook({
      headers: invocation.headers,
      body: invocation.rawBody,
      secrets: await provider.get(),
    }).id;
  } catch (error) {
    // A secret rotated in Secrets Manager since it was cached: look once more before refusing.
    if (!(error instanceof UnauthorizedError) || error.reason !== 'no_matching_signature') throw error;
    return verifyWebhook({
      headers: invocation.headers,
      body: invocation.rawBody,
      secrets: await provider.refresh(),
    }).id;
  }
}

/** The body as JSON, or a 400 naming `body` (after the signature checked out). */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new InvalidInputError('body', 'must be a JSON envelope { type, timestamp, data }');
  }
}
