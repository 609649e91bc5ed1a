// Powertools idempotency as the webhook functions use it: one runner per persistence store, keyed
// on a string the handler builds (`<function>#<webhook-id>`, `stripe#<event id>`), remembering the
// first successful answer for a fixed time and, where the caller's bytes are stable, refusing the
// same key with other bytes.
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';

export interface IdempotentInput<Result> {
  readonly key: string;
  /** A hash of the request's bytes; a second delivery of `key` with another hash is refused (409). */
  readonly bodyHash?: string;
  readonly run: () => Promise<Result>;
  readonly lambdaContext: Context;
}

export interface IdempotencyOptions {
  /** How long a successful answer is remembered. */
  readonly ttlSeconds: number;
  /** Compare `bodyHash` with the first delivery's (off where redeliveries may differ in bytes). */
  readonly validatePayload: boolean;
}

export type IdempotentRunner<Result> = (input: IdempotentInput<Result>) => Promise<Result>;

export function makeIdempotentRunner<Result>(
  store: BasePersistenceLayer,
  options: IdempotencyOptions,
): IdempotentRunner<Result> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    ...(options.validatePayload ? { payloadValidationJmesPath: 'bodyHash' } : {}),
    expiresAfterSeconds: options.ttlSeconds,
    throwOnNoIdempotencyKey: true,
  });
  const runner = makeIdempotent(async (input: IdempotentInput<Result>) => input.run(), {
    persistenceStore: store,
    config,
  });
  return async (input: IdempotentInput<Result>): Promise<Result> => {
    // Lets an interrupted invocation's lock lapse when the Lambda's own time runs out.
    config.registerLambdaContext(input.lambdaContext);
    return (await runner(input)) as Result;
  };
}
