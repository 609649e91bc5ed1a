// The key pair of a user a billing adapter created (docs/contract.md §8), delivered as
// `credentials.issued` to CREDENTIALS_WEBHOOK_URL: signed like usage (Standard Webhooks, the usage
// webhook secret), `webhook-id` `credentials-<userId>-<accessKeyId>` so a receiver keeps it once,
// retried with backoff within the invocation. Not acknowledged, the event fails (5xx) and its
// redelivery sends it again. The secret key is in the body only: never in a log line or an error.
import { timeLeft } from '../deadline.ts';
import { AppError } from '../errors.ts';
import type { CredentialsDelivery, IssuedCredentials } from '../lifecycle/ports.ts';
import type { UsageSink } from '../usage/sink.ts';

export const CREDENTIALS_ISSUED = 'credentials.issued';

/** `credentials-<userId>-<accessKeyId>`: the same for every attempt of one key pair. */
export function credentialsMessageId(userId: string, accessKeyId: string): string {
  return `credentials-${userId}-${accessKeyId}`;
}

export function credentialsBody(credentials: IssuedCredentials): string {
  return JSON.stringify({
    type: CREDENTIALS_ISSUED,
    timestamp: credentials.issuedAt.toISOString(),
    data: {
      email: credentials.email,
      userId: credentials.userId,
      billingId: credentials.billingId,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
    },
  });
}

/** Delivery over `sink` (a WebhookSink to CREDENTIALS_WEBHOOK_URL). */
export function webhookCredentialsDelivery(
  sink: Pick<UsageSink, 'deliver'>,
  clock: () => number = Date.now,
): CredentialsDelivery {
  return {
    async deliver(credentials) {
      const now = clock();
      // Within the invocation's deadline (shared/deadline.ts); 20 s outside one.
      const deadline = now + Math.max(0, timeLeft(now) ?? 20_000);
      const outcome = await sink.deliver(
        {
          id: credentialsMessageId(credentials.userId, credentials.accessKeyId),
          body: credentialsBody(credentials),
        },
        { deadline },
      );
      if (!outcome.ok) {
        throw new AppError(
          'gateway_unavailable',
          `credentials.issued for user ${credentials.userId} was not acknowledged by CREDENTIALS_WEBHOOK_URL (${outcome.reason}); the event's redelivery sends it again`,
        );
      }
    },
  };
}
