// The six lifecycle events, by name: each is one function, one local route, one envelope `type`;
// and the billing adapters' functions, each one route taking a billing system's own webhooks
// rather than envelopes. Dependency-free, so the CDK app and the benchmarks can share the lists
// without loading zod.
export const EVENT_TYPES = [
  'provision',
  'suspend',
  'resume',
  'terminate',
  'rotate-key',
  'collect-usage',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Functions that take a billing system's own webhooks (`POST /stripe`), not envelopes. */
export const ADAPTER_FUNCTIONS = ['stripe', 'lago'] as const;
export type AdapterFunction = (typeof ADAPTER_FUNCTIONS)[number];

/** Every function, in route order: the lifecycle events, then the adapters. */
export const ALL_FUNCTIONS = [...EVENT_TYPES, ...ADAPTER_FUNCTIONS] as const;
export type AnyFunction = (typeof ALL_FUNCTIONS)[number];
