// What `POST /stripe` needs besides the lifecycle's stores (docs/contract.md §8), built from Config
// for one runtime on first use: the endpoint secrets that verify `Stripe-Signature`, the Stripe API
// for customers' e-mails and meter error reports' events, the adapter's settings, and where created users' key pairs go. Apart from
// runtime.ts so that only the stripe function's bundle carries it.
import { stripeWebhookSecrets } from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import type { CredentialsDelivery, SubscriptionStore } from '../lifecycle/ports.ts';
import { customerEmail, fetchEvent } from '../stripe/api.ts';
import type { StripeSettings } from '../stripe/events.ts';
import type { Runtime } from './runtime.ts';
import { credentialsDelivery } from './runtime.ts';
import { textSecret } from './secrets.ts';
import { stripeApi } from './stripe-client.ts';

export interface StripeServices {
  readonly settings: StripeSettings;
  /** The endpoint's `whsec_...` secrets, whole (Stripe signs with the string itself). */
  readonly webhookSecrets: { get(): Promise<readonly string[]>; refresh(): Promise<readonly string[]> };
  /** A customer's e-mail from `GET /v1/customers/{id}`; refused without STRIPE_API_KEY(_ID). */
  customerEmail(customerId: string): Promise<string | undefined>;
  /** A v2 event, whole, from `GET /v2/core/events/{id}`; refused without STRIPE_API_KEY(_ID). */
  fetchEvent(eventId: string, context: string | undefined): Promise<unknown>;
  readonly subscriptions: SubscriptionStore;
  /** Undefined without CREDENTIALS_WEBHOOK_URL: then no user is created. */
  readonly credentials: CredentialsDelivery | undefined;
}

const built = new WeakMap<Runtime, StripeServices>();

/** The runtime's Stripe services; refused without STRIPE_WEBHOOK_SECRET(_ID). */
export function stripeServicesOf(runtime: Runtime): StripeServices {
  let services = built.get(runtime);
  if (services === undefined) {
    services = buildStripeServices(runtime);
    built.set(runtime, services);
  }
  return services;
}

function buildStripeServices(runtime: Runtime): StripeServices {
  const { config } = runtime;
  const secrets = textSecret({
    value: config.stripe.webhookSecrets,
    secretId: config.stripe.webhookSecretId,
    variable: 'STRIPE_WEBHOOK_SECRET',
    parse: stripeWebhookSecrets,
  });
  if (secrets === undefined) {
    throw new ConfigurationError(
      'STRIPE_WEBHOOK_SECRET',
      "is not set (nor STRIPE_WEBHOOK_SECRET_ID): POST /stripe cannot verify Stripe's signature",
    );
  }
  const api = stripeApi(config);
  return {
    settings: {
      products: config.stripe.products,
      suspendPastDue: config.stripe.suspendPastDue,
      purgeOnCancel: config.stripe.purgeOnCancel,
    },
    webhookSecrets: secrets,
    customerEmail: async (customerId) => {
      if (api === undefined) {
        throw new ConfigurationError(
          'STRIPE_API_KEY',
          "is not set (nor STRIPE_API_KEY_ID): the customer's e-mail cannot be read; set it, or metadata.s3_email on the subscription",
        );
      }
      return customerEmail(api, customerId);
    },
    fetchEvent: async (eventId, context) => {
      if (api === undefined) {
        throw new ConfigurationError(
          'STRIPE_API_KEY',
          `is not set (nor STRIPE_API_KEY_ID): the meter error report ${eventId} cannot be read`,
        );
      }
      return fetchEvent(api, eventId, context);
    },
    get subscriptions() {
      return runtime.subscriptions;
    },
    credentials: credentialsDelivery(config),
  };
}
