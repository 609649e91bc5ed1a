// collect-usage: sweep the gateway's statistics objects and stored bytes into usage messages.
import { CollectUsageData, parseInput } from '../../shared/lifecycle/requests.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';
import { collectUsage } from '../../shared/usage/collect.ts';

export const handler = createLifecycleHandler({
  type: 'collect-usage',
  parse: (data) => parseInput(CollectUsageData, data, 'data'),
  fromSchedule: (time) => ({ type: 'collect-usage', timestamp: time.toISOString(), data: {} }),
  run: (_request, { runtime, events, lambdaContext }) => collectUsage(runtime, { events, lambdaContext }),
});
