// The rotate-key function's second caller: Secrets Manager running the four rotation steps of the
// gateway credentials. Its events are recognised before the lifecycle stack and handed to the
// rotation steps with the composition root's clients, under the invocation's deadline.
import type { Context } from 'aws-lambda';
import { deadlineFor, runWithDeadline } from '../deadline.ts';
import { rotateGatewayCredentials } from '../lifecycle/credential-rotation.ts';
import { classifyRotation } from './invocation.ts';
import type { LambdaHandler } from './lifecycle-handler.ts';
import { createLogger, eventsFrom } from './logging.ts';
import type { Runtime } from './runtime.ts';
import { getRuntime } from './runtime.ts';
import { withMappedStack } from './stack-map.ts';

/** `lifecycle` for webhooks and direct invocations; the rotation steps for Secrets Manager's events. */
export function createRotationHandler(
  lifecycle: LambdaHandler,
  runtimeOf: () => Runtime = getRuntime,
): LambdaHandler {
  const logger = createLogger('rotate-key');
  const events = eventsFrom(logger);

  const rotate = async (event: unknown, context: Context): Promise<unknown> => {
    const rotation = classifyRotation(event);
    if (rotation === undefined) return lifecycle(event, context);
    logger.addContext(context);
    try {
      const services = runtimeOf().rotation();
      // Each step's gateway calls give up before the invocation's time runs out (shared/deadline.ts).
      await runWithDeadline(deadlineFor(context.getRemainingTimeInMillis()), () =>
        rotateGatewayCredentials(rotation, { ...services, events }),
      );
      return undefined;
    } catch (error) {
      logger.error('credential rotation step failed', {
        step: rotation.step,
        version: rotation.token,
        cause: error,
      });
      throw withMappedStack(error);
    }
  };
  return rotate;
}
