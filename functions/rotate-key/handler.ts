// rotate-key: issue a new access key pair for the customer and revoke the old one(s).
import { parseInput, RotateKeyData } from '../../shared/lifecycle/requests.ts';
import { rotateKey } from '../../shared/lifecycle/rotate-key.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';

export const handler = createLifecycleHandler({
  type: 'rotate-key',
  parse: (data) => parseInput(RotateKeyData, data, 'data'),
  run: (request, { runtime, events }) => rotateKey(runtime.gateway, request, events),
});
