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

/** Progress and decisions worth a log line; the operations never log by themselves. */
export interface LifecycleEvents {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  /** Something an operator must look at (a conflicting statistics object, a failed delivery run). */
  error(message: string, details?: Record<string, unknown>): void;
}

export const silentEvents: LifecycleEvents = { info() {}, warn() {}, error() {} };
