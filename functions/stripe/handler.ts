// stripe: Stripe's subscription events in; each subscription's S3 user enabled, suspended or
// terminated by the subscription's status (docs/contract.md §8).
import { createStripeHandler } from '../../shared/runtime/stripe-handler.ts';

export const handler = createStripeHandler();
