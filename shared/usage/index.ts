// The usage sweep (`collect-usage`): list, read, aggregate, deliver, acknowledge; its ledger,
// its sinks and the messages of docs/contract.md §6.
export type { UsageCounters, UsageRecord } from './aggregate.ts';
export { aggregateUsage } from './aggregate.ts';
export type { CollectUsageDependencies } from './collect.ts';
export { collectUsage } from './collect.ts';
export { NdjsonSink, ndjsonLine } from './file-sink.ts';
export type { LeaseResult, LedgerEntry, LedgerState, NewLedgerEntry, UsageLedger } from './ledger.ts';
export { LEDGER_TTL_SECONDS, LedgerStateError, SWEEP_LEASE } from './ledger.ts';
export type { EmailDirectory, OutboundMessage, StorageTotals } from './messages.ts';
export {
  bodyHash,
  contentHash,
  hourOf,
  jsonCount,
  storageBody,
  storageMessageId,
  storageTotals,
  USAGE_COLLECTED,
  USAGE_STORAGE,
  usageCollectedBody,
} from './messages.ts';
export type { DeliveryOptions, DeliveryOutcome, UsageSink } from './sink.ts';
export { closesAtMs, isPeriodClosed, parseObjectName } from './statistics-object.ts';
export { formatSweepSummary } from './summary.ts';
export type {
  SweepDependencies,
  SweepOptions,
  UsageEvents,
  UsageGateway,
  UsageSweepReport,
  UsageSweepResult,
  UserStorage,
  UserUsage,
} from './sweep.ts';
export { listNames, sweepUsage } from './sweep.ts';
export type { WebhookSinkOptions } from './webhook-sink.ts';
export { WebhookSink } from './webhook-sink.ts';
