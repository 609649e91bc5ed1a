// The Stripe API client of the configuration (STRIPE_API_BASE, STRIPE_API_KEY / _ID), for the two
// users of it the composition root builds: POST /stripe (customers) and the stripe usage sink.
import type { Config } from '../config.ts';
import { stripeApiKey } from '../config.ts';
import { StripeApi } from '../stripe/api.ts';
import { textSecret } from './secrets.ts';

/** Undefined without a key. */
export function stripeApi(config: Config): StripeApi | undefined {
  const apiKey = textSecret({
    value: config.stripe.apiKey,
    secretId: config.stripe.apiKeyId,
    variable: 'STRIPE_API_KEY',
    parse: stripeApiKey,
  });
  return apiKey === undefined ? undefined : new StripeApi({ base: config.stripe.apiBase, apiKey });
}
