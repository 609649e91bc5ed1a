// One `collect-usage` run over the ports it is handed: the sweep, with what the adapters want done
// before it (housekeeping of a local ledger) and with its report afterwards (the local summary).
// Which ledger, sink and gateway these are is the composition root's business (shared/runtime).
import type { SweepDependencies, SweepOptions, UsageSweepReport, UsageSweepResult } from './sweep.ts';
import { sweepUsage } from './sweep.ts';

export interface CollectUsageDependencies extends SweepDependencies {
  /** Runs before the sweep (the SQLite ledger forgets entries past their time; DynamoDB has TTL). */
  readonly beforeSweep?: () => void | Promise<void>;
  /** Receives the finished sweep's report (a local run prints its summary table). */
  readonly onReport?: (report: UsageSweepReport) => void;
}

/** One sweep; answers the contract's result. */
export async function collectUsage(
  deps: CollectUsageDependencies,
  options: SweepOptions,
): Promise<UsageSweepResult> {
  await deps.beforeSweep?.();
  const report = await sweepUsage(deps, options);
  deps.onReport?.(report);
  return report.result;
}
