// The Stripe API version the adapter names on every call is the one its event schemas and the
// tests' Stripe objects follow: the version of the `stripe` package the tests build them with.
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../shared/stripe/api.ts';

describe('STRIPE_API_VERSION', () => {
  it('is the API version of the stripe package the tests build Stripe’s objects with', () => {
    expect(STRIPE_API_VERSION).toBe(Stripe.API_VERSION);
  });
});
