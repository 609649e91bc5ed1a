// collect-usage: sweep the gateway's statistics objects and stored bytes into usage messages.
import { CollectUsageData, parseInput } from '../../shared/lifecycle/requests.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';
import { runCollectUsage } from '../../shared/runtime/usage.ts';

/**
 * A sweep asked for over HTTP sweeps for at most this long and answers what it did (`complete:
 * false` when objects remain, for the schedule or the next call): the HTTP API stops waiting after
 * 29 s. The scheduled sweep keeps the function's whole timeout.
 */
export const HTTP_SWEEP_BUDGET_MS = 25_000;

export const handler = createLifecycleHandler({
  type: 'collect-usage',
  parse: (data) => parseInput(CollectUsageData, data, 'data'),
  fromSchedule: (time) => ({ type: 'collect-usage', timestamp: time.toISOString(), data: {} }),
  httpBudgetMs: HTTP_SWEEP_BUDGET_MS,
  run: (_request, { runtime, events, lambdaContext }) =>
    runCollectUsage(runtime, { events, remainingMs: () => lambdaContext.getRemainingTimeInMillis() }),
});
