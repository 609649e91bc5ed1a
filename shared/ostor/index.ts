// The typed client of the VHI S3 gateway: OstorClient, its domain types, its named errors and the
// validators its callers share (the webhook parsers check emails with the same rules).
export type {
  KeyOptions,
  LimitSetting,
  LimitTarget,
  ListMultipartUploadsOptions,
  ListObjectsOptions,
  ListObjectVersionsOptions,
  ListUsageOptions,
  OpsResource,
  OstorClientOptions,
  QuotaTarget,
  UploadPage,
  UserRef,
  VersionPage,
} from './client.ts';
export { isUnsupportedCall, MAX_USAGE_PAGE, OstorClient } from './client.ts';
export type {
  AnyGatewayError,
  GatewayAuthReason,
  GatewayConflictReason,
  GatewayErrorContext,
} from './errors.ts';
export {
  GatewayAuthError,
  GatewayConflictError,
  GatewayError,
  GatewayNotFoundError,
  GatewayRejectedError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  isGatewayError,
  MalformedResponseError,
} from './errors.ts';
export type { OstorService, QueryFlag, QueryParam } from './query.ts';
export { buildOstorQuery, encodeQuery, encodeRfc3986, FLAG, s3Path } from './query.ts';
export type {
  DeleteEntry,
  DeleteObjectsResult,
  MultipartUploadSummary,
  ObjectListing,
  ObjectSummary,
  ObjectVersionSummary,
  UploadListing,
  VersionListing,
} from './s3.ts';
export { MAX_DELETE_KEYS, NULL_VERSION_ID } from './s3.ts';
export type {
  AccessKey,
  Account,
  BucketInfo,
  CreatedUser,
  Limits,
  Quota,
  UsageItem,
  UsageList,
  UsageObject,
  User,
  UserSummary,
} from './schemas.ts';
export type {
  Credentials,
  CredentialsProvider,
  CredentialsSource,
  RetryOptions,
  TimeoutOptions,
  TransportOptions,
} from './transport.ts';
export { parseEndpoint } from './transport.ts';
export type { StatisticsObjectName } from './validate.ts';
export {
  accessKeyIdProblem,
  accountNameProblem,
  bucketNameProblem,
  continuationTokenProblem,
  emailProblem,
  objectKeyProblem,
  parseStatisticsObjectName,
  statisticsObjectNameProblem,
  userIdProblem,
} from './validate.ts';
