// rotate-key: issue a new access key pair for the customer and revoke the old one(s). Also the
// Secrets Manager rotation function of the gateway credentials: its four steps come here too.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { deadlineFor, runWithDeadline } from '../../shared/deadline.ts';
import { ConfigurationError } from '../../shared/errors.ts';
import { rotateGatewayCredentials } from '../../shared/lifecycle/credential-rotation.ts';
import { parseInput, RotateKeyData } from '../../shared/lifecycle/requests.ts';
import { rotateKey } from '../../shared/lifecycle/rotate-key.ts';
import { OstorClient } from '../../shared/ostor/index.ts';
import type { RotationInvocation } from '../../shared/runtime/invocation.ts';
import { classifyRotation } from '../../shared/runtime/invocation.ts';
import type { LambdaHandler } from '../../shared/runtime/lifecycle-handler.ts';
import { createLifecycleHandler } from '../../shared/runtime/lifecycle-handler.ts';
import { createLogger } from '../../shared/runtime/logging.ts';
import { getRuntime } from '../../shared/runtime/runtime.ts';
import { withMappedStack } from '../../shared/runtime/stack-map.ts';

const lifecycle = createLifecycleHandler({
  type: 'rotate-key',
  parse: (data) => parseInput(RotateKeyData, data, 'data'),
  run: (request, { runtime, events }) =>
    rotateKey(runtime.gateway, request, { events, locks: runtime.locks }),
});

const logger = createLogger('rotate-key');
let secretsManager: SecretsManagerClient | undefined;

async function rotateCredentials(rotation: RotationInvocation, context: Context): Promise<void> {
  logger.addContext(context);
  const { gateway } = getRuntime().config;
  if (gateway.url === undefined || gateway.credentials?.kind !== 'secrets-manager') {
    throw new ConfigurationError(
      'OSTOR_CREDENTIALS_SECRET_ID',
      'rotation needs the credentials in Secrets Manager',
    );
  }
  const endpoint = gateway.url;
  const secretId = gateway.credentials.secretId;
  secretsManager ??= new SecretsManagerClient({});
  const secrets = secretsManager;
  // Each step's gateway calls give up before the invocation's time runs out (see shared/deadline.ts).
  const deadline = deadlineFor(context.getRemainingTimeInMillis());
  try {
    await runWithDeadline(deadline, () =>
      rotateGatewayCredentials(rotation, {
        secrets,
        expectedSecretId: secretId,
        gatewayFor: (credentials) =>
          new OstorClient({
            endpoint,
            credentials,
            signatureVersion: gateway.signatureVersion,
            region: gateway.region,
            allowInsecureHttp: gateway.allowInsecureHttp,
          }),
        events: {
          info: (message, details) => logger.info(message, details ?? {}),
          warn: (message, details) => logger.warn(message, details ?? {}),
          error: (message, details) => logger.error(message, details ?? {}),
        },
      }),
    );
  } catch (error) {
    logger.error('credential rotation step failed', {
      step: rotation.step,
      version: rotation.token,
      cause: error,
    });
    throw withMappedStack(error);
  }
}

export const handler: LambdaHandler = async (event, context) => {
  const rotation = classifyRotation(event);
  return rotation === undefined ? lifecycle(event, context) : rotateCredentials(rotation, context);
};
