// resume: enable the customer's storage user again, in billing-decision order.
import { parseInput, UserStateData } from '../../shared/lifecycle/requests.ts';
import { resume } from '../../shared/lifecycle/user-state.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';

export const handler = createLifecycleHandler({
  type: 'resume',
  parse: (data, envelope) => ({ ...parseInput(UserStateData, data, 'data'), timestamp: envelope.timestamp }),
  run: (request, { runtime, events }) => resume(runtime.gateway, runtime.stateChanges, request, events),
});
