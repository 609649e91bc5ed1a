// The six lifecycle events, by name: each is one function, one local route, one envelope `type`.
// Dependency-free, so the CDK app and the benchmarks can share the list without loading zod.
export const EVENT_TYPES = [
  'provision',
  'suspend',
  'resume',
  'terminate',
  'rotate-key',
  'collect-usage',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
