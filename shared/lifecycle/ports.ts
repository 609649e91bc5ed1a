// The ports the lifecycle operations need besides the gateway client: where the order of
// suspend/resume events is remembered, short locks that keep two deliveries for one customer
// from racing, and each user's billing id. SQLite locally, DynamoDB when deployed.

export type UserState = 'enabled' | 'disabled';

export interface StateChange {
  readonly userId: string;
  /** When the billing system decided the change (the envelope's `timestamp`). */
  readonly at: Date;
  readonly state: UserState;
}

export interface StateChangeStore {
  /**
   * Records the change unless a later one is already recorded for the user (an equal time wins
   * again). Returns whether it was recorded, in one atomic step.
   */
  claim(change: StateChange): Promise<boolean>;
  latest(userId: string): Promise<StateChange | undefined>;
}

export interface LockStore {
  /** Takes `name` for `owner` when it is free or its holder's time ran out; true when taken. */
  tryAcquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees `name` if `owner` still holds it. */
  release(name: string, owner: string): Promise<void>;
}

/**
 * The billing system's own id of each user (`billingId` on provision), which native usage sinks
 * address. Kept after the user is deleted: its last statistics objects are billed after that.
 */
export interface BillingIdStore {
  /** Remembers `billingId` for the user, replacing what was there. */
  set(userId: string, billingId: string): Promise<void>;
  get(userId: string): Promise<string | undefined>;
}

/** What a billing system's subscription asks of its S3 user. */
export type SubscriptionState = 'enabled' | 'suspended' | 'terminated';

/** What a billing adapter remembers per subscription (keyed `<system>:<subscription id>`). */
export interface SubscriptionRecord {
  /** The S3 user's e-mail, fixed the first time the subscription was seen. */
  readonly email: string | undefined;
  /** The billing system's time of the newest decision applied, and what it asked for. */
  readonly decidedAt: Date | undefined;
  readonly decided: SubscriptionState | undefined;
  /** A user was (about to be) created for it and its key pair is not yet acknowledged. */
  readonly credentialsOwed: boolean;
}

export interface SubscriptionStore {
  get(key: string): Promise<SubscriptionRecord | undefined>;
  /** Fixes `email` for the subscription unless one is fixed already; answers the fixed one. */
  pinEmail(key: string, email: string): Promise<string>;
  /**
   * Records the decision unless a later one is recorded (an equal time wins again), in one atomic
   * step; answers whether it was recorded.
   */
  claim(key: string, at: Date, state: SubscriptionState): Promise<boolean>;
  setCredentialsOwed(key: string, owed: boolean): Promise<void>;
}

/** A key pair nobody asked for yet: that of a user a billing adapter created (docs/contract.md §8). */
export interface IssuedCredentials {
  readonly email: string;
  readonly userId: string;
  readonly billingId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When the billing system decided the user should exist. */
  readonly issuedAt: Date;
}

export interface CredentialsDelivery {
  /** Resolves once the receiver acknowledged it (2xx); throws otherwise. */
  deliver(credentials: IssuedCredentials): Promise<void>;
}

/** Progress and decisions worth a log line; the operations never log by themselves. */
export interface LifecycleEvents {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  /** Something an operator must look at (a conflicting statistics object, a failed delivery run). */
  error(message: string, details?: Record<string, unknown>): void;
}

export const silentEvents: LifecycleEvents = { info() {}, warn() {}, error() {} };
