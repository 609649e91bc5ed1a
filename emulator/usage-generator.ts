// Seeds many realistic statistics objects at once (benchmarks read 10,000 of them): several gateway
// services each writing one object per period, items per (bucket, user, epoch) with plausible
// counters. A seeded PRNG makes the same options give the same objects.

import type { EmulatorState, UsageItem } from './state.ts';

export interface UsageSeedOptions {
  /** How many statistics objects to add. */
  objects: number;
  /** Items per object (default 8). */
  itemsPerObject?: number;
  /** Start of the first period (default 2026-01-01T00:00:00Z). */
  start?: Date;
  /** Period in seconds (default 1800). */
  period?: number;
  /** Distinct gateway services writing objects (default 4). */
  services?: number;
  /**
   * Owners and buckets the items refer to. Default: the state's buckets when there are any,
   * otherwise a synthetic population of 64 users with 1 to 3 buckets each.
   */
  population?: readonly { userId: string; bucket: string }[];
  /** PRNG seed (default 1). */
  seed?: number;
}

const FIRST_SERVICE_ID = 8_000_000_000_000_065n;

/** mulberry32: small, fast and good enough to vary counters reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function syntheticPopulation(random: () => number): { userId: string; bucket: string }[] {
  const population: { userId: string; bucket: string }[] = [];
  for (let u = 0; u < 64; u++) {
    let userId = '';
    for (let i = 0; i < 16; i++) userId += Math.floor(random() * 16).toString(16);
    const buckets = 1 + Math.floor(random() * 3);
    for (let b = 0; b < buckets; b++) population.push({ userId, bucket: `client-${u}-${b}` });
  }
  return population;
}

/** Adds the objects to `state` and returns their names in creation order. */
export function seedUsageObjects(state: EmulatorState, options: UsageSeedOptions): string[] {
  const random = prng(options.seed ?? 1);
  const itemsPerObject = options.itemsPerObject ?? 8;
  const period = options.period ?? 1800;
  const services = Math.max(1, options.services ?? 4);
  const base = (options.start ?? new Date('2026-01-01T00:00:00Z')).getTime();
  const fromState = [...state.buckets.values()].map((b) => ({ userId: b.ownerId, bucket: b.name }));
  const population = options.population ?? (fromState.length > 0 ? fromState : syntheticPopulation(random));
  if (population.length === 0) throw new RangeError('population must not be empty');

  const names: string[] = [];
  for (let n = 0; n < options.objects; n++) {
    const service = n % services;
    const slot = Math.floor(n / services);
    // Each service starts its periods a few seconds apart, as separate gateways do.
    const start = new Date(base + slot * period * 1000 + service * 7000);
    const items: UsageItem[] = [];
    const first = Math.floor(random() * population.length);
    for (let i = 0; i < itemsPerObject; i++) {
      const who = population[(first + i) % population.length] ?? { userId: '0000000000000000', bucket: '' };
      const put = Math.floor(random() * 120);
      const get = Math.floor(random() * 900);
      // Distinct epochs when the population is smaller than an object's items: the same bucket recreated.
      const epoch = 98_305 + Math.floor(i / population.length) * 4096;
      items.push({
        key: { bucket: who.bucket, epoch, user_id: who.userId, tag: '' },
        counters: {
          ops: { put, get, list: Math.floor(random() * 40), other: Math.floor(random() * 10) },
          net_io: {
            uploaded: put * Math.floor(1 + random() * 2_000_000),
            downloaded: get * Math.floor(1 + random() * 5_000_000),
          },
        },
      });
    }
    // The gateway's periods close a little early; the name keeps the nominal period.
    const actual = period - Math.floor(random() * Math.min(600, period / 3));
    names.push(
      state.addUsageObject({
        serviceId: FIRST_SERVICE_ID + BigInt(service),
        start,
        period: actual,
        namePeriod: period,
        items,
      }),
    );
  }
  return names;
}
