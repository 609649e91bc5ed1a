// The handler stack of a billing adapter (`POST /stripe`, `POST /lago`): the billing system's own
// signed webhooks in. The lifecycle functions' stack around an adapter's own parts — classify the
// invocation (`GET /healthz` answered before anything else), verify the signature over the raw
// bytes, read the delivery (translated before any idempotency record: a body that cannot be read
// is a 400 that is not remembered and touches nothing), make the work idempotent on the
// delivery's id, run it under the invocation's deadline, count what it did, log one line, and map
// any error to its status in one place (failure.ts). A direct invocation (the Lambda console,
// `npm run invoke -- <name>`) hands over the billing system's payload, unsigned, and runs it once.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { deadlineFor, runWithDeadline } from '../deadline.ts';
import { InvalidInputError } from '../errors.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import { answerFailure } from './failure.ts';
import { type IdempotentRunner, makeIdempotentRunner } from './idempotency.ts';
import type { Invocation } from './invocation.ts';
import { classifyInvocation, jsonResponse } from './invocation.ts';
import { HEALTH_PATH, type LambdaHandler } from './lifecycle-handler.ts';
import { createLogger, createMetrics, eventsFrom } from './logging.ts';
import type { Runtime } from './runtime.ts';
import { getRuntime } from './runtime.ts';

export type HttpInvocation = Extract<Invocation, { kind: 'http' }>;

/** One delivery, read and translated, ready to run. */
export interface AdapterDelivery<R> {
  /** Its id in the billing system: the idempotency key over HTTP, and the log lines' `id`. */
  readonly id: string | undefined;
  readonly type: string;
  /** The work; runs at most once per id within the idempotency window. */
  readonly run: () => Promise<R>;
}

export interface AdapterSpec<S, R extends { readonly action: string }> {
  /** The function's name: its route, log `service`, metrics' `service` and idempotency key prefix. */
  readonly name: string;
  /** The billing system as messages name it (`Stripe delivers with POST`). */
  readonly system: string;
  /** How long a delivery's answer is remembered. */
  readonly idempotencyTtlSeconds: number;
  /** The adapter's services over the runtime. */
  readonly services: (runtime: Runtime) => S;
  /**
   * Verifies an HTTP delivery (throws UnauthorizedError) and reads its payload, and its id when a
   * header carries it (then a payload that cannot be read is still logged under that id).
   */
  readonly receive: (
    invocation: HttpInvocation,
    services: S,
  ) => Promise<{ readonly payload: unknown; readonly id?: string }>;
  /** Reads a payload into a delivery; throws InvalidInputError for what it cannot read. */
  readonly read: (
    payload: unknown,
    context: {
      /** The id `receive` found, if any. */
      readonly id: string | undefined;
      readonly runtime: Runtime;
      readonly services: S;
      readonly events: LifecycleEvents;
    },
  ) => AdapterDelivery<R>;
  /** Counts what a delivery did, when it ran now (not when its answer was replayed). */
  readonly count?: (result: R, metrics: Metrics) => void;
}

export function createAdapterHandler<S, R extends { readonly action: string }>(
  spec: AdapterSpec<S, R>,
  runtimeOf: () => Runtime = getRuntime,
): LambdaHandler {
  const logger = createLogger(spec.name);
  const metrics = createMetrics(spec.name);
  const events: LifecycleEvents = eventsFrom(logger);
  const runners = new WeakMap<Runtime, IdempotentRunner<R>>();

  const core = async (event: unknown, lambdaContext: Context): Promise<unknown> => {
    const invocation = classifyInvocation(event);
    if (invocation.kind === 'http' && invocation.path === HEALTH_PATH && invocation.method === 'GET') {
      return jsonResponse(200, { status: 'ok' });
    }
    let id: string | undefined;
    try {
      const runtime = runtimeOf();
      const services = spec.services(runtime);
      let payload: unknown;
      if (invocation.kind === 'http') {
        if (invocation.method !== 'POST') {
          throw new InvalidInputError('method', `${spec.system} delivers with POST`);
        }
        const received = await spec.receive(invocation, services);
        payload = received.payload;
        id = received.id;
      } else if (invocation.kind === 'schedule') {
        throw new InvalidInputError('event', `${spec.name} is not started by a schedule`);
      } else {
        payload = invocation.payload;
      }
      const delivery = spec.read(payload, { id, runtime, services, events });
      id = delivery.id;

      let ran = false;
      const deadline = deadlineFor(lambdaContext.getRemainingTimeInMillis());
      const run = () =>
        runWithDeadline(deadline, () => {
          ran = true;
          return delivery.run();
        });
      let result: R;
      if (invocation.kind === 'http' && delivery.id !== undefined) {
        let idempotent = runners.get(runtime);
        if (idempotent === undefined) {
          // No payload check: a billing system's redeliveries of one event may differ in bytes
          // (Stripe's pending_webhooks).
          idempotent = makeIdempotentRunner<R>(runtime.idempotencyStore, {
            ttlSeconds: spec.idempotencyTtlSeconds,
            validatePayload: false,
          });
          runners.set(runtime, idempotent);
        }
        result = await idempotent({ key: `${spec.name}#${delivery.id}`, run, lambdaContext });
      } else {
        result = await run();
      }
      if (ran) spec.count?.(result, metrics);
      metrics.addDimension('outcome', 'success');
      metrics.addMetric('events', MetricUnit.Count, 1);
      logger.info(`${spec.name} event handled`, {
        id: delivery.id,
        type: delivery.type,
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
        subject: `${spec.name} event`,
        details: { id },
      });
    }
  };

  return middy(core)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
