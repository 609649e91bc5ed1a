// The usage ledger of a local run: one SQLite file in DATA_DIR (node:sqlite). Every method is one
// statement (or a statement and a read in the same synchronous turn), so it is atomic for this
// process; WAL and busy_timeout cover a second process on the same file. WAL with
// synchronous=NORMAL survives a crash of the process (what a sweep guards against); a power cut may
// lose the last commits, which at worst redelivers an object under the same webhook-id.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { LeaseResult, LedgerEntry, LedgerState, NewLedgerEntry, UsageLedger } from './ledger.ts';
import { expiresAtMs, LedgerStateError, SWEEP_LEASE } from './ledger.ts';

interface Row {
  name: string;
  state: string;
  hash: string;
  body: string | null;
  read_at: number;
  delivered_at: number | null;
  deleted_at: number | null;
}

export class SqliteUsageLedger implements UsageLedger {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #select: StatementSync;
  readonly #deliver: StatementSync;
  readonly #delete: StatementSync;
  readonly #lease: StatementSync;
  readonly #leaseHolder: StatementSync;
  readonly #release: StatementSync;
  readonly #prune: StatementSync;

  /** `file` is a path (its folder is created) or `:memory:`. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new DatabaseSync(file);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS usage_ledger (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('read', 'delivered', 'deleted')),
        hash TEXT NOT NULL,
        body TEXT,
        read_at INTEGER NOT NULL,
        delivered_at INTEGER,
        deleted_at INTEGER,
        expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS usage_ledger_expiry ON usage_ledger (expires_at);
      CREATE TABLE IF NOT EXISTS usage_lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
    `);
    // An expired entry is replaced as if absent; a live one is left untouched.
    this.#insert = this.#db.prepare(
      `INSERT INTO usage_ledger (name, state, hash, body, read_at, delivered_at, deleted_at, expires_at)
       VALUES (?, 'read', ?, ?, ?, NULL, NULL, ?)
       ON CONFLICT (name) DO UPDATE SET state = 'read', hash = excluded.hash, body = excluded.body,
         read_at = excluded.read_at, delivered_at = NULL, deleted_at = NULL, expires_at = excluded.expires_at
       WHERE usage_ledger.expires_at <= excluded.read_at`,
    );
    this.#select = this.#db.prepare(
      'SELECT name, state, hash, body, read_at, delivered_at, deleted_at FROM usage_ledger WHERE name = ? AND expires_at > ?',
    );
    this.#deliver = this.#db.prepare(
      `UPDATE usage_ledger SET state = 'delivered', body = NULL, delivered_at = ?, expires_at = ?
       WHERE name = ? AND state = 'read'`,
    );
    this.#delete = this.#db.prepare(
      `UPDATE usage_ledger SET state = 'deleted', deleted_at = ?, expires_at = ?
       WHERE name = ? AND state = 'delivered'`,
    );
    this.#lease = this.#db.prepare(
      `INSERT INTO usage_lease (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE usage_lease.expires_at <= ? OR usage_lease.owner = excluded.owner`,
    );
    this.#leaseHolder = this.#db.prepare('SELECT owner, expires_at FROM usage_lease WHERE name = ?');
    this.#release = this.#db.prepare('DELETE FROM usage_lease WHERE name = ? AND owner = ?');
    this.#prune = this.#db.prepare('DELETE FROM usage_ledger WHERE expires_at <= ?');
  }

  async record(entry: NewLedgerEntry): Promise<LedgerEntry> {
    this.#insert.run(entry.name, entry.hash, entry.body, entry.at, expiresAtMs(entry.at));
    const stored = this.#read(entry.name, entry.at);
    if (stored === undefined) throw new LedgerStateError(entry.name, 'not found right after it was recorded');
    return stored;
  }

  async get(name: string, now: number): Promise<LedgerEntry | undefined> {
    return this.#read(name, now);
  }

  async markDelivered(name: string, at: number): Promise<void> {
    if (this.#deliver.run(at, expiresAtMs(at), name).changes > 0) return;
    const state = this.#read(name, at)?.state;
    if (state === 'delivered' || state === 'deleted') return;
    throw new LedgerStateError(name, 'cannot be marked delivered: it was never recorded as read');
  }

  async markDeleted(name: string, at: number): Promise<void> {
    if (this.#delete.run(at, expiresAtMs(at), name).changes > 0) return;
    const state = this.#read(name, at)?.state;
    if (state === 'deleted') return;
    throw new LedgerStateError(
      name,
      state === 'read'
        ? 'cannot be marked deleted before it was delivered'
        : 'cannot be marked deleted: unknown',
    );
  }

  async acquireLease(owner: string, now: number, expiresAt: number): Promise<LeaseResult> {
    if (this.#lease.run(SWEEP_LEASE, owner, expiresAt, now).changes > 0) return { acquired: true, expiresAt };
    const holder = this.#leaseHolder.get(SWEEP_LEASE) as { owner: string; expires_at: number } | undefined;
    return { acquired: false, holder: holder?.owner ?? '', expiresAt: holder?.expires_at ?? 0 };
  }

  async releaseLease(owner: string): Promise<void> {
    this.#release.run(SWEEP_LEASE, owner);
  }

  /** Drops expired entries (DynamoDB does this by TTL); answers how many. */
  prune(now: number): number {
    return Number(this.#prune.run(now).changes);
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #read(name: string, now: number): LedgerEntry | undefined {
    const row = this.#select.get(name, now) as Row | undefined;
    if (row === undefined) return undefined;
    return {
      name: row.name,
      state: row.state as LedgerState,
      hash: row.hash,
      body: row.body ?? undefined,
      readAt: row.read_at,
      deliveredAt: row.delivered_at ?? undefined,
      deletedAt: row.deleted_at ?? undefined,
    };
  }
}
