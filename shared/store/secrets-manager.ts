// The Secrets Manager adapter of credential rotation's port (SecretVersions): the four calls the
// rotation protocol makes, in Secrets Manager's own terms, so the rotation steps need no SDK.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretVersions } from '../lifecycle/credential-rotation.ts';

export function secretsManagerVersions(client: Pick<SecretsManagerClient, 'send'>): SecretVersions {
  return {
    async describe(secretId) {
      const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return {
        rotationEnabled: described.RotationEnabled === true,
        versions: described.VersionIdsToStages ?? {},
        lastRotated: described.LastRotatedDate,
      };
    },
    async read(secretId, selector) {
      try {
        const answer = await client.send(
          new GetSecretValueCommand({
            SecretId: secretId,
            VersionStage: selector.stage,
            ...(selector.versionId === undefined ? {} : { VersionId: selector.versionId }),
          }),
        );
        if (answer.SecretString === undefined) return undefined;
        return { value: answer.SecretString, createdDate: answer.CreatedDate };
      } catch (error) {
        if (error instanceof ResourceNotFoundException) return undefined;
        throw error;
      }
    },
    async putPending(secretId, versionId, value, stage) {
      await client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: versionId,
          SecretString: value,
          VersionStages: [stage],
        }),
      );
    },
    async moveStage(secretId, stage, toVersionId, fromVersionId) {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: stage,
          MoveToVersionId: toVersionId,
          ...(fromVersionId === undefined ? {} : { RemoveFromVersionId: fromVersionId }),
        }),
      );
    },
  };
}
