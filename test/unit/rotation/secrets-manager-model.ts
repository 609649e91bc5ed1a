// A small in-memory model of one Secrets Manager secret, put behind aws-sdk-client-mock: versions
// with their values and staging labels, moved the way the service moves them (a label sits on one
// version at a time; moving AWSCURRENT leaves AWSPREVIOUS on the version it left), the service's
// side of a rotation (RotateSecret creates the AWSPENDING version without a value, or reattempts an
// unfinished one), and failures injected before or after a call takes effect.
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandInput,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  type GetSecretValueCommandOutput,
  InternalServiceError,
  InvalidParameterException,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  type PutSecretValueCommandOutput,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
  type UpdateSecretVersionStageCommandInput,
  type UpdateSecretVersionStageCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

export const CURRENT = 'AWSCURRENT';
export const PENDING = 'AWSPENDING';
export const PREVIOUS = 'AWSPREVIOUS';

export type ModelledCommand =
  | 'DescribeSecret'
  | 'GetSecretValue'
  | 'PutSecretValue'
  | 'UpdateSecretVersionStage';

interface Version {
  value: string | undefined;
  readonly stages: Set<string>;
  readonly created: Date;
}

interface InjectedFailure {
  readonly command: ModelledCommand;
  /** true: the call takes effect, then the answer is lost (the caller sees an error). */
  readonly afterApply: boolean;
}

const metadata = { $metadata: {} };

export class SecretModel {
  readonly name: string;
  readonly arn: string;
  readonly versions = new Map<string, Version>();
  rotationEnabled = true;
  lastRotated: Date | undefined;
  readonly #clock: () => Date;
  readonly #failures: InjectedFailure[] = [];
  /** Every call the mock answered, in order (for assertions on what the rotation did). */
  readonly calls: { command: ModelledCommand; input: unknown }[] = [];

  constructor(name: string, initialValue: string, clock: () => Date) {
    this.name = name;
    this.arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    this.#clock = clock;
    this.versions.set(randomUUID(), { value: initialValue, stages: new Set([CURRENT]), created: clock() });
  }

  /** Routes every Secrets Manager client's commands to this model; `restore()` the stub afterwards. */
  mock(): AwsClientStub<SecretsManagerClient> {
    const stub = mockClient(SecretsManagerClient);
    stub
      .on(DescribeSecretCommand)
      .callsFake((input: DescribeSecretCommandInput) =>
        this.#call('DescribeSecret', input, () => this.describe(input)),
      );
    stub
      .on(GetSecretValueCommand)
      .callsFake((input: GetSecretValueCommandInput) =>
        this.#call('GetSecretValue', input, () => this.getValue(input)),
      );
    stub
      .on(PutSecretValueCommand)
      .callsFake((input: PutSecretValueCommandInput) =>
        this.#call('PutSecretValue', input, () => this.putValue(input)),
      );
    stub
      .on(UpdateSecretVersionStageCommand)
      .callsFake((input: UpdateSecretVersionStageCommandInput) =>
        this.#call('UpdateSecretVersionStage', input, () => this.updateStage(input)),
      );
    return stub;
  }

  /** The next call of `command` fails: before it takes effect, or after (the answer is lost). */
  failNext(command: ModelledCommand, options: { afterApply?: boolean } = {}): void {
    this.#failures.push({ command, afterApply: options.afterApply ?? false });
  }

  // --- the service's side of a rotation ------------------------------------------------------

  /**
   * RotateSecret: reattempts an unfinished rotation (AWSPENDING on a version that is not current,
   * with the same token), or creates a new version holding AWSPENDING and no value yet.
   */
  beginRotation(): string {
    const unfinished = [...this.versions].find(([, v]) => v.stages.has(PENDING) && !v.stages.has(CURRENT));
    if (unfinished !== undefined) return unfinished[0];
    const token = randomUUID();
    for (const version of this.versions.values()) version.stages.delete(PENDING);
    this.versions.set(token, { value: undefined, stages: new Set([PENDING]), created: this.#clock() });
    return token;
  }

  /** What the service does after finishSecret returns: note the rotation (AWSPENDING may stay on the current version). */
  completeRotation(): void {
    this.lastRotated = this.#clock();
  }

  // --- reading the model -----------------------------------------------------------------------

  versionWith(stage: string): string | undefined {
    return [...this.versions].find(([, v]) => v.stages.has(stage))?.[0];
  }

  valueOf(stage: string): string | undefined {
    const id = this.versionWith(stage);
    return id === undefined ? undefined : this.versions.get(id)?.value;
  }

  countWith(stage: string): number {
    return [...this.versions.values()].filter((v) => v.stages.has(stage)).length;
  }

  // --- the four commands -------------------------------------------------------------------------

  describe(input: DescribeSecretCommandInput): DescribeSecretCommandOutput {
    this.#secret(input.SecretId);
    const stages: Record<string, string[]> = {};
    for (const [id, version] of this.versions) if (version.stages.size > 0) stages[id] = [...version.stages];
    return {
      ...metadata,
      ARN: this.arn,
      Name: this.name,
      RotationEnabled: this.rotationEnabled,
      ...(this.lastRotated === undefined ? {} : { LastRotatedDate: this.lastRotated }),
      VersionIdsToStages: stages,
    };
  }

  getValue(input: GetSecretValueCommandInput): GetSecretValueCommandOutput {
    this.#secret(input.SecretId);
    let id = input.VersionId;
    if (id === undefined) id = this.versionWith(input.VersionStage ?? CURRENT);
    const version = id === undefined ? undefined : this.versions.get(id);
    if (id === undefined || version === undefined)
      throw notFound("Secrets Manager can't find the specified secret version.");
    if (input.VersionStage !== undefined && !version.stages.has(input.VersionStage)) {
      throw notFound('You provided a VersionStage that is not associated to the provided VersionId.');
    }
    if (version.value === undefined)
      throw notFound("Secrets Manager can't find the specified secret value for VersionId.");
    return {
      ...metadata,
      ARN: this.arn,
      Name: this.name,
      VersionId: id,
      SecretString: version.value,
      VersionStages: [...version.stages],
      CreatedDate: version.created,
    };
  }

  putValue(input: PutSecretValueCommandInput): PutSecretValueCommandOutput {
    this.#secret(input.SecretId);
    const id = input.ClientRequestToken;
    if (id === undefined || input.SecretString === undefined)
      throw invalidParameter('ClientRequestToken and SecretString are required here');
    const existing = this.versions.get(id);
    const stages = input.VersionStages ?? [CURRENT];
    if (existing?.value !== undefined) {
      // Idempotent for the same value; a different value under an existing version is refused.
      if (existing.value !== input.SecretString) {
        throw new ResourceExistsException({
          ...metadata,
          message: 'A version with this ClientRequestToken already exists with a different value.',
        });
      }
    } else if (existing !== undefined) {
      existing.value = input.SecretString;
    } else {
      this.versions.set(id, { value: input.SecretString, stages: new Set(), created: this.#clock() });
    }
    for (const stage of stages) this.#attach(stage, id);
    return { ...metadata, ARN: this.arn, Name: this.name, VersionId: id, VersionStages: stages };
  }

  updateStage(input: UpdateSecretVersionStageCommandInput): UpdateSecretVersionStageCommandOutput {
    this.#secret(input.SecretId);
    const stage = input.VersionStage;
    if (stage === undefined) throw invalidParameter('VersionStage is required');
    const holder = this.versionWith(stage);
    if (input.RemoveFromVersionId !== undefined && input.RemoveFromVersionId !== holder) {
      throw invalidParameter(
        `The staging label ${stage} is not attached to version ${input.RemoveFromVersionId}.`,
      );
    }
    if (input.MoveToVersionId !== undefined) {
      if (!this.versions.has(input.MoveToVersionId)) throw notFound('No such version to move the label to.');
      if (
        holder !== undefined &&
        holder !== input.MoveToVersionId &&
        input.RemoveFromVersionId === undefined
      ) {
        throw invalidParameter(
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      this.#attach(stage, input.MoveToVersionId);
    } else if (holder !== undefined) {
      this.versions.get(holder)?.stages.delete(stage);
    }
    return { ...metadata, ARN: this.arn, Name: this.name };
  }

  /** Puts `stage` on `id` alone; AWSCURRENT leaves AWSPREVIOUS behind on the version it left. */
  #attach(stage: string, id: string): void {
    const target = this.versions.get(id);
    if (target === undefined || target.stages.has(stage)) return;
    const left = this.versionWith(stage);
    if (left !== undefined) this.versions.get(left)?.stages.delete(stage);
    target.stages.add(stage);
    if (stage === CURRENT && left !== undefined) this.#attach(PREVIOUS, left);
  }

  #secret(secretId: string | undefined): void {
    if (secretId !== this.arn && secretId !== this.name)
      throw notFound("Secrets Manager can't find the specified secret.");
  }

  #call<T>(command: ModelledCommand, input: unknown, run: () => T): T {
    this.calls.push({ command, input });
    const index = this.#failures.findIndex((failure) => failure.command === command);
    const failure = index === -1 ? undefined : this.#failures.splice(index, 1)[0];
    if (failure !== undefined && !failure.afterApply) throw internal(command);
    const result = run();
    if (failure !== undefined) throw internal(command);
    return result;
  }
}

function notFound(message: string): ResourceNotFoundException {
  return new ResourceNotFoundException({ ...metadata, message });
}

function invalidParameter(message: string): InvalidParameterException {
  return new InvalidParameterException({ ...metadata, message });
}

function internal(command: string): InternalServiceError {
  return new InternalServiceError({ ...metadata, message: `injected failure of ${command}` });
}
