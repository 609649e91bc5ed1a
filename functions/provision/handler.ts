// provision: create (or adopt) the customer's storage user and apply its plan.
import { provision } from '../../shared/lifecycle/provision.ts';
import { ProvisionData, parseInput } from '../../shared/lifecycle/requests.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';

export const handler = createLifecycleHandler({
  type: 'provision',
  parse: (data) => parseInput(ProvisionData, data, 'data'),
  run: (request, { runtime, events }) =>
    provision(runtime.gateway, request, { events, locks: runtime.locks, billingIds: runtime.billingIds }),
});
