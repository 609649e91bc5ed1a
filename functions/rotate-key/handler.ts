// rotate-key: issue a new access key pair for the customer and revoke the old one(s). Also the
// Secrets Manager rotation function of the gateway credentials: its four steps come here too.
import { parseInput, RotateKeyData } from '../../shared/lifecycle/requests.ts';
import { rotateKey } from '../../shared/lifecycle/rotate-key.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';
import { createRotationHandler } from '../../shared/runtime/rotation-handler.ts';

export const handler = createRotationHandler(
  createLifecycleHandler({
    type: 'rotate-key',
    parse: (data) => parseInput(RotateKeyData, data, 'data'),
    run: (request, { runtime, events }) =>
      rotateKey(runtime.gateway, request, { events, locks: runtime.locks }),
  }),
);
