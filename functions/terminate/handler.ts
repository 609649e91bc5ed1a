// terminate: delete the customer's storage user with its buckets (and, with purge, their objects).
import { parseInput, TerminateData } from '../../shared/lifecycle/requests.ts';
import { terminate } from '../../shared/lifecycle/terminate.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';

export const handler = createLifecycleHandler({
  type: 'terminate',
  parse: (data) => parseInput(TerminateData, data, 'data'),
  run: (request, { runtime, events }) => terminate(runtime.gateway, request, { events }),
});
