// USAGE_SINK=stripe (docs/contract.md §6, §8): each usage message becomes Stripe Billing Meter
// events — per user with a billingId (the Stripe customer) and per configured metric — sent one by
// one to `POST /v1/billing/meter_events`. The message is acknowledged only when every one of its
// events is: created, or refused by Stripe as a duplicate identifier (Stripe has it already).
// Identifiers and timestamps come from the statistics object, never from the clock or chance, so
// a resend is recognised. Stripe remembers an identifier for at least 24 hours; beyond that the
// sink's own receipts (the identifiers Stripe acknowledged, per message) keep a resend from
// counting twice — of a partly delivered message, or of one whose acknowledgement the sweep did
// not live to record. Only an event Stripe took whose answer was lost and that is resent more than
// 24 hours later can still count twice: Stripe offers no way to ask for it.
import { createHash } from 'node:crypto';
import { forEachConcurrently } from '../concurrency.ts';
import { systemCode } from '../errors.ts';
import type { MeterEvent, MeterEventOutcome } from '../stripe/api.ts';
import type { OutboundMessage } from './messages.ts';
import type { BillingIdLookup, NativeMetric, NativeUsage } from './native-usage.ts';
import { cachedBillingIds, nativeUsage } from './native-usage.ts';
import type { DeliveryOptions, DeliveryOutcome, UsageSink } from './sink.ts';

/** Meter event names (STRIPE_METER_*); a metric whose name is unset is not sent. */
export type StripeMeterNames = Readonly<Partial<Record<NativeMetric, string>>>;

/** Stripe's API as the sink uses it (shared/stripe/api.ts). */
export interface MeterEventApi {
  readonly target: string;
  createMeterEvent(event: MeterEvent, deadline: number): Promise<MeterEventOutcome>;
  close(): Promise<void>;
}

/** Identifiers of a message's events Stripe acknowledged. */
export interface MeterReceipts {
  acknowledged(messageId: string): Promise<ReadonlySet<string>>;
  record(messageId: string, identifiers: readonly string[]): Promise<void>;
}

export interface StripeSinkOptions {
  readonly api: MeterEventApi;
  readonly meters: StripeMeterNames;
  readonly billingIds: BillingIdLookup;
  /** Absent: Stripe's own 24-hour identifier memory is all there is. */
  readonly receipts?: MeterReceipts;
  /** Events of one message in flight at once. Default 8. */
  readonly concurrency?: number;
  /** How long a looked-up billing id is reused. Default 60 s. */
  readonly billingIdTtlMs?: number;
  readonly clock?: () => number;
}

/** Stripe takes an identifier of at most 100 characters. */
export const MAX_IDENTIFIER_LENGTH = 100;
/** Stripe refuses values of more than 15 significant digits: larger totals go as several events. */
export const MAX_METER_VALUE = 10n ** 15n - 1n;
/** Stripe takes timestamps within the past 35 days; an hour is kept for clocks and the send itself. */
export const MAX_EVENT_AGE_SECONDS = 35 * 86_400 - 3_600;

/** `<stem>:<metric>`, or its SHA-256 (`sha256:<base64url>`) when longer than Stripe allows. */
export function meterIdentifier(natural: string): string {
  if (natural.length <= MAX_IDENTIFIER_LENGTH) return natural;
  return `sha256:${createHash('sha256').update(natural).digest('base64url')}`;
}

/** The meter events of a message's billed usage, each metric split into values Stripe accepts. */
export function meterEventsOf(usage: NativeUsage, meters: StripeMeterNames): MeterEvent[] {
  const events: MeterEvent[] = [];
  for (const user of usage.billed) {
    for (const [metric, value] of Object.entries(user.values) as [NativeMetric, bigint][]) {
      const eventName = meters[metric];
      // A total of 0 bills nothing and is left out.
      if (eventName === undefined || value <= 0n) continue;
      let rest = value;
      for (let part = 0; rest > 0n; part += 1) {
        const chunk = rest > MAX_METER_VALUE ? MAX_METER_VALUE : rest;
        rest -= chunk;
        const natural = `${user.stem}:${metric}${part === 0 ? '' : `:${part}`}`;
        events.push({
          eventName,
          customer: user.billingId,
          value: chunk,
          identifier: meterIdentifier(natural),
          timestamp: user.timestamp,
        });
      }
    }
  }
  return events;
}

export class StripeSink implements UsageSink {
  readonly kind = 'stripe';
  readonly target: string;
  readonly #api: MeterEventApi;
  readonly #meters: StripeMeterNames;
  readonly #billingIds: BillingIdLookup;
  readonly #receipts: MeterReceipts | undefined;
  readonly #concurrency: number;
  readonly #clock: () => number;

  constructor(options: StripeSinkOptions) {
    this.#api = options.api;
    this.target = options.api.target;
    this.#meters = options.meters;
    this.#clock = options.clock ?? Date.now;
    this.#billingIds = cachedBillingIds(options.billingIds, options.billingIdTtlMs, this.#clock);
    this.#receipts = options.receipts;
    this.#concurrency = Math.max(1, options.concurrency ?? 8);
  }

  async deliver(message: OutboundMessage, options: DeliveryOptions = {}): Promise<DeliveryOutcome> {
    const deadline = options.deadline ?? this.#clock() + 60_000;
    let usage: NativeUsage;
    try {
      usage = await nativeUsage(message, this.#billingIds);
    } catch (error) {
      return failed(0, undefined, `billing ids could not be read (${systemCode(error) ?? 'error'})`);
    }
    const unbilled =
      usage.unbilled === 0 ? {} : { unbilled: usage.unbilled, unbilledUsers: usage.unbilledUsers };
    const events = meterEventsOf(usage, this.#meters);
    if (events.length === 0) return { ok: true, attempts: 0, status: 200, ...unbilled };

    const oldest = Math.min(...events.map((event) => event.timestamp));
    if (oldest < this.#clock() / 1000 - MAX_EVENT_AGE_SECONDS) {
      // Never dropped: the object stays on the gateway, counted as failed (and alarmed) every run.
      return failed(
        0,
        undefined,
        `the usage of ${new Date(oldest * 1000).toISOString()} is older than Stripe's 35-day window; kept for an operator`,
      );
    }

    let done: ReadonlySet<string> = new Set();
    try {
      done = (await this.#receipts?.acknowledged(message.id)) ?? done;
    } catch (error) {
      return failed(0, undefined, `meter receipts could not be read (${systemCode(error) ?? 'error'})`);
    }
    const pending = events.filter((event) => !done.has(event.identifier));
    const acknowledged: string[] = [];
    let attempts = 0;
    let failure: { status: number | undefined; reason: string } | undefined;
    let failures = 0;
    await forEachConcurrently(pending, this.#concurrency, async (event) => {
      const outcome = await this.#api.createMeterEvent(event, deadline);
      attempts += outcome.attempts;
      if (outcome.ok) {
        acknowledged.push(event.identifier);
      } else {
        failures += 1;
        failure ??= { status: outcome.status, reason: outcome.reason };
      }
    });
    if (acknowledged.length > 0) {
      // Best effort: without them a resend within 24 hours is still recognised by Stripe.
      await this.#receipts?.record(message.id, acknowledged).catch(() => undefined);
    }
    if (failure === undefined) return { ok: true, attempts, status: 200, ...unbilled };
    return failed(
      attempts,
      failure.status,
      `${failures} of ${events.length} meter events not acknowledged: ${failure.reason}`,
    );
  }

  close(): Promise<void> {
    return this.#api.close();
  }
}

function failed(attempts: number, status: number | undefined, reason: string): DeliveryOutcome {
  return { ok: false, attempts, status, reason };
}
