// What the sweep needs of its peers besides the ledger and the sink: the gateway's usage calls
// (OstorClient has all of them) and somewhere to say what it did.
import type { BucketInfo, UsageObject } from '../ostor/schemas.ts';

/** What the sweep needs of the gateway client (OstorClient has all of it). */
export interface UsageGateway {
  listUsage(options: { readonly after?: string; readonly limit?: number }): Promise<{
    readonly names: readonly string[];
    readonly truncated: boolean;
  }>;
  getUsage(name: string): Promise<UsageObject>;
  deleteUsage(name: string): Promise<void>;
  listUsers(): Promise<readonly { readonly userId: string; readonly email: string }[]>;
  listBuckets(): Promise<readonly BucketInfo[]>;
}

/** Progress and decisions worth a log line. `error` is for what needs an operator (a changed object). */
export interface UsageEvents {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}
