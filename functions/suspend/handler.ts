// suspend: disable the customer's storage user (an unpaid invoice), in billing-decision order.
import { parseInput, UserStateData } from '../../shared/lifecycle/requests.ts';
import { suspend } from '../../shared/lifecycle/user-state.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';

export const handler = createLifecycleHandler({
  type: 'suspend',
  parse: (data, envelope) => ({ ...parseInput(UserStateData, data, 'data'), timestamp: envelope.timestamp }),
  run: (request, { runtime, events }) => suspend(runtime.gateway, runtime.stateChanges, request, events),
});
