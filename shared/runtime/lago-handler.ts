// `POST /lago`: Lago's own webhooks in (docs/contract.md §9), on the billing adapters' stack
// (adapter-handler.ts: verify the raw bytes — here `X-Lago-Signature`, HMAC or JWT — read,
// idempotent on `X-Lago-Unique-Key` for 4 days, run, count, map errors) around Lago's translator
// and shared/lifecycle/lago.ts. The body is translated before any idempotency record: one that
// cannot be read is a 400 that is not remembered, and touches nothing.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvalidInputError, UnauthorizedError } from '../errors.ts';
import { translateLagoWebhook } from '../lago/events.ts';
import type { LagoOutcome } from '../lifecycle/lago.ts';
import { applyLagoDecision } from '../lifecycle/lago.ts';
import { lagoSignatureAlgorithm, verifyLagoSignature } from '../signing/lago.ts';
import { createAdapterHandler, type HttpInvocation } from './adapter-handler.ts';
import type { LagoServices } from './lago-services.ts';
import { lagoServices } from './lago-services.ts';
import type { LambdaHandler } from './lifecycle-handler.ts';
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
  return createAdapterHandler<LagoServices, LagoEventResult>(
    {
      name: LAGO_FUNCTION,
      system: 'Lago',
      idempotencyTtlSeconds: LAGO_IDEMPOTENCY_TTL_SECONDS,
      services: lagoServices,
      receive: async (invocation, services) => {
        await verify(services, invocation);
        const id = invocation.headers['x-lago-unique-key']?.trim();
        if (id === undefined || id === '' || id.length > MAX_UNIQUE_KEY_LENGTH) {
          throw new InvalidInputError(
            'x-lago-unique-key',
            `must be Lago's webhook id (1 to ${MAX_UNIQUE_KEY_LENGTH} characters)`,
          );
        }
        return { payload: parseBody(invocation.rawBody), id };
      },
      read: (payload, { id, runtime, services, events }) => {
        const decision = translateLagoWebhook(payload, services.settings);
        const type =
          typeof payload === 'object' && payload !== null && 'webhook_type' in payload
            ? String(payload.webhook_type)
            : '';
        const run = async (): Promise<LagoEventResult> => {
          if (decision.desired === 'ignore') {
            events.info('lago event not acted on', { id, type, reason: decision.reason });
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
          return { received: true, id, type, ...outcome };
        };
        return { id, type, run };
      },
      count: (result, metrics) => {
        const refused = terminationsRefused(result);
        if (refused > 0)
          metrics.singleMetric().addMetric(TERMINATIONS_REFUSED_METRIC, MetricUnit.Count, refused);
      },
    },
    runtimeOf,
  );
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

async function verify(services: LagoServices, invocation: HttpInvocation): Promise<void> {
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
