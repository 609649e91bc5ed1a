// The embedded, file-backed store of a local run (`npm start`): one SQLite database in DATA_DIR
// holding the idempotency records, the suspend/resume ordering, the users' billing ids, the
// billing adapters' subscriptions and the Stripe sink's meter receipts. DynamoDB plays this part when
// deployed; both sit behind the same small interfaces.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type {
  BillingIdStore,
  LockStore,
  StateChange,
  StateChangeStore,
  SubscriptionRecord,
  SubscriptionState,
  SubscriptionStore,
} from '../lifecycle/ports.ts';
import type { MeterReceipts } from '../usage/stripe-sink.ts';
import { SqliteIdempotencyStore } from './sqlite-idempotency.ts';

export class SqliteStore {
  /** Shared with the other local adapters (idempotency records, usage ledger) of this file. */
  readonly db: DatabaseSync;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new DatabaseSync(file);
    // WAL keeps readers and the single writer out of each other's way; synchronous=NORMAL survives
    // a crash of the process (a power cut may lose the last commits, which for idempotency means
    // a redelivery runs again and converges); busy_timeout covers a second process (npm run
    // invoke) touching the same file.
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS idempotency (
        id TEXT PRIMARY KEY, status TEXT NOT NULL, expiration INTEGER NOT NULL,
        in_progress_expiration INTEGER, data TEXT, validation TEXT);
      CREATE TABLE IF NOT EXISTS lock (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS state_change (
        user_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, state TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS billing_id (user_id TEXT PRIMARY KEY, billing_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS subscription (
        key TEXT PRIMARY KEY, email TEXT, decided_at_ms INTEGER, decided TEXT,
        credentials_owed INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS meter_receipt (
        message_id TEXT NOT NULL, identifier TEXT NOT NULL, PRIMARY KEY (message_id, identifier));
    `);
  }

  readonly idempotency = new SqliteIdempotencyStore(this);

  readonly stateChanges: StateChangeStore = {
    claim: async (change: StateChange) => {
      // One statement decides: the change is recorded when it is not older than what is there.
      const atMs = change.at.getTime();
      const result = this.db
        .prepare(
          `INSERT INTO state_change (user_id, at_ms, state) VALUES (?, ?, ?)
           ON CONFLICT(user_id) DO UPDATE SET at_ms = excluded.at_ms, state = excluded.state
           WHERE excluded.at_ms >= state_change.at_ms`,
        )
        .run(change.userId, atMs, change.state);
      return result.changes > 0;
    },
    latest: async (userId: string) => {
      const row = this.db.prepare('SELECT at_ms, state FROM state_change WHERE user_id = ?').get(userId) as
        | { at_ms: number; state: string }
        | undefined;
      if (row === undefined) return undefined;
      return { userId, at: new Date(row.at_ms), state: row.state === 'disabled' ? 'disabled' : 'enabled' };
    },
  };

  readonly billingIds: BillingIdStore = {
    set: async (userId: string, billingId: string) => {
      this.db
        .prepare(
          `INSERT INTO billing_id (user_id, billing_id) VALUES (?, ?)
           ON CONFLICT(user_id) DO UPDATE SET billing_id = excluded.billing_id`,
        )
        .run(userId, billingId);
    },
    get: async (userId: string) => {
      const row = this.db.prepare('SELECT billing_id FROM billing_id WHERE user_id = ?').get(userId) as
        | { billing_id: string }
        | undefined;
      return row?.billing_id;
    },
  };

  readonly subscriptions: SubscriptionStore = {
    get: async (key: string) => {
      const row = this.db
        .prepare('SELECT email, decided_at_ms, decided, credentials_owed FROM subscription WHERE key = ?')
        .get(key) as
        | {
            email: string | null;
            decided_at_ms: number | null;
            decided: string | null;
            credentials_owed: number;
          }
        | undefined;
      if (row === undefined) return undefined;
      return {
        email: row.email ?? undefined,
        decidedAt: row.decided_at_ms === null ? undefined : new Date(row.decided_at_ms),
        decided: subscriptionState(row.decided),
        credentialsOwed: row.credentials_owed === 1,
      } satisfies SubscriptionRecord;
    },
    pinEmail: async (key: string, email: string) => {
      // Only the first e-mail sticks: one statement, so two first sightings cannot both win.
      this.db
        .prepare(
          `INSERT INTO subscription (key, email) VALUES (?, ?)
           ON CONFLICT(key) DO UPDATE SET email = excluded.email WHERE subscription.email IS NULL`,
        )
        .run(key, email);
      const row = this.db.prepare('SELECT email FROM subscription WHERE key = ?').get(key) as {
        email: string;
      };
      return row.email;
    },
    claim: async (key: string, at: Date, state: SubscriptionState) => {
      const atMs = at.getTime();
      const result = this.db
        .prepare(
          `INSERT INTO subscription (key, decided_at_ms, decided) VALUES (?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET decided_at_ms = excluded.decided_at_ms, decided = excluded.decided
           WHERE subscription.decided_at_ms IS NULL OR excluded.decided_at_ms >= subscription.decided_at_ms`,
        )
        .run(key, atMs, state);
      return result.changes > 0;
    },
    setCredentialsOwed: async (key: string, owed: boolean) => {
      this.db
        .prepare(
          `INSERT INTO subscription (key, credentials_owed) VALUES (?, ?)
           ON CONFLICT(key) DO UPDATE SET credentials_owed = excluded.credentials_owed`,
        )
        .run(key, owed ? 1 : 0);
    },
  };

  readonly meterReceipts: MeterReceipts = {
    acknowledged: async (messageId: string) => {
      const rows = this.db
        .prepare('SELECT identifier FROM meter_receipt WHERE message_id = ?')
        .all(messageId) as { identifier: string }[];
      return new Set(rows.map((row) => row.identifier));
    },
    record: async (messageId: string, identifiers: readonly string[]) => {
      const insert = this.db.prepare(
        'INSERT INTO meter_receipt (message_id, identifier) VALUES (?, ?) ON CONFLICT DO NOTHING',
      );
      for (const identifier of identifiers) insert.run(messageId, identifier);
    },
  };

  readonly locks: LockStore = {
    tryAcquire: async (name: string, owner: string, ttlMs: number) => {
      const now = Date.now();
      const result = this.db
        .prepare(
          `INSERT INTO lock (name, owner, expires_at) VALUES (?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
           WHERE lock.expires_at <= ?`,
        )
        .run(name, owner, now + ttlMs, now);
      return result.changes > 0;
    },
    release: async (name: string, owner: string) => {
      this.db.prepare('DELETE FROM lock WHERE name = ? AND owner = ?').run(name, owner);
    },
  };

  close(): void {
    this.db.close();
  }
}

function subscriptionState(value: unknown): SubscriptionState | undefined {
  return value === 'enabled' || value === 'suspended' || value === 'terminated' ? value : undefined;
}
