// The usage ledger of a local run: one SQLite file in DATA_DIR (node:sqlite). Every write is one
// transaction run in one synchronous turn (a batch of objects at the same step included: one
// commit for all of them instead of one each), so it is atomic for this process; WAL and
// busy_timeout cover a second process on the same file. WAL with
// synchronous=NORMAL survives a crash of the process (what a sweep guards against); a power cut may
// lose the last commits, which at worst redelivers an object under the same webhook-id.
// The sweep lease records the process holding it: a lease whose process is gone (an `npm start`
// killed mid-sweep) is taken over at once instead of blocking sweeps until its deadline passes.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { HolderProbe, ProcessIdentity } from '../usage/lease-holder.ts';
import { currentProcess, isHolderGone } from '../usage/lease-holder.ts';
import type {
  LeaseResult,
  LedgerEntry,
  LedgerState,
  LedgerTurn,
  LedgerTurnResult,
  NewLedgerEntry,
  UsageLedger,
} from '../usage/ledger.ts';
import { expiresAtMs, LedgerStateError, SWEEP_LEASE } from '../usage/ledger.ts';

interface Row {
  name: string;
  state: string;
  hash: string;
  body: string | null;
  read_at: number;
  delivered_at: number | null;
  deleted_at: number | null;
}

interface LeaseRow {
  owner: string;
  expires_at: number;
  machine: string | null;
  pid: number | null;
  started_at: string | null;
  instance: string | null;
}

export interface SqliteUsageLedgerOptions {
  /** The process that takes leases through this ledger. Default: this one (tests stand in for others). */
  readonly self?: ProcessIdentity;
  /** Whether a recorded holder is gone. Default: asks the operating system (lease-holder.ts). */
  readonly isHolderGone?: HolderProbe;
}

export class SqliteUsageLedger implements UsageLedger {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #select: StatementSync;
  readonly #deliver: StatementSync;
  readonly #delete: StatementSync;
  readonly #lease: StatementSync;
  readonly #leaseHolder: StatementSync;
  readonly #renew: StatementSync;
  readonly #release: StatementSync;
  readonly #prune: StatementSync;
  readonly #self: ProcessIdentity;
  readonly #isHolderGone: HolderProbe;

  /** `file` is a path (its folder is created) or `:memory:`. */
  constructor(file: string, options: SqliteUsageLedgerOptions = {}) {
    this.#self = options.self ?? currentProcess();
    this.#isHolderGone = options.isHolderGone ?? isHolderGone;
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
    // The holder's process, added to a file made by an earlier version (its rows have none: they
    // are honoured until they lapse).
    const columns = new Set(
      (this.#db.prepare('PRAGMA table_info(usage_lease)').all() as { name: string }[]).map((c) => c.name),
    );
    for (const [column, type] of [
      ['machine', 'TEXT'],
      ['pid', 'INTEGER'],
      ['started_at', 'TEXT'],
      ['instance', 'TEXT'],
    ] as const) {
      if (columns.has(column)) continue;
      try {
        this.#db.exec(`ALTER TABLE usage_lease ADD COLUMN ${column} ${type}`);
      } catch (error) {
        // Another process opening the same file added it first.
        if (!/duplicate column/i.test((error as Error).message)) throw error;
      }
    }
    // An expired entry is replaced as if absent; a live one is left untouched (then no row comes
    // back, and the stored entry is read).
    this.#insert = this.#db.prepare(
      `INSERT INTO usage_ledger (name, state, hash, body, read_at, delivered_at, deleted_at, expires_at)
       VALUES (?, 'read', ?, ?, ?, NULL, NULL, ?)
       ON CONFLICT (name) DO UPDATE SET state = 'read', hash = excluded.hash, body = excluded.body,
         read_at = excluded.read_at, delivered_at = NULL, deleted_at = NULL, expires_at = excluded.expires_at
       WHERE usage_ledger.expires_at <= excluded.read_at
       RETURNING 1 AS recorded`,
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
      `INSERT INTO usage_lease (name, owner, expires_at, machine, pid, started_at, instance)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
         machine = excluded.machine, pid = excluded.pid, started_at = excluded.started_at,
         instance = excluded.instance`,
    );
    this.#leaseHolder = this.#db.prepare(
      'SELECT owner, expires_at, machine, pid, started_at, instance FROM usage_lease WHERE name = ?',
    );
    this.#renew = this.#db.prepare('UPDATE usage_lease SET expires_at = ? WHERE name = ? AND owner = ?');
    this.#release = this.#db.prepare('DELETE FROM usage_lease WHERE name = ? AND owner = ?');
    this.#prune = this.#db.prepare('DELETE FROM usage_ledger WHERE expires_at <= ?');
  }

  async record(entry: NewLedgerEntry): Promise<LedgerEntry> {
    // One answer per entry, or recordAll throws.
    return (await this.recordAll([entry]))[0] as LedgerEntry;
  }

  async recordAll(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]> {
    return this.#transaction(() => entries.map((entry) => this.#record(entry)));
  }

  /** The turn's three steps in one transaction: one commit, where separate calls made up to three. */
  async writeTurn(turn: LedgerTurn, at: number): Promise<LedgerTurnResult> {
    return this.#transaction(() => ({
      records: turn.records.map((entry) => this.#record(entry)),
      delivered: turn.delivered.map((entry) => this.#markDelivered(entry.name, at)),
      deleted: turn.deleted.map((entry) => this.#markDeleted(entry.name, at)),
    }));
  }

  async get(name: string, now: number): Promise<LedgerEntry | undefined> {
    return this.#read(name, now);
  }

  async markDelivered(name: string, at: number): Promise<void> {
    const refused = this.#transaction(() => this.#markDelivered(name, at));
    if (refused !== undefined) throw refused;
  }

  async markDeleted(name: string, at: number): Promise<void> {
    const refused = this.#transaction(() => this.#markDeleted(name, at));
    if (refused !== undefined) throw refused;
  }

  async markAllDelivered(
    entries: readonly LedgerEntry[],
    at: number,
  ): Promise<readonly (LedgerStateError | undefined)[]> {
    return this.#transaction(() => entries.map((entry) => this.#markDelivered(entry.name, at)));
  }

  async markAllDeleted(
    entries: readonly LedgerEntry[],
    at: number,
  ): Promise<readonly (LedgerStateError | undefined)[]> {
    return this.#transaction(() => entries.map((entry) => this.#markDeleted(entry.name, at)));
  }

  async acquireLease(owner: string, now: number, expiresAt: number): Promise<LeaseResult> {
    // One write transaction (BEGIN IMMEDIATE takes the file's write lock): the holder is judged and
    // replaced without another process slipping in between.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const held = this.#leaseHolder.get(SWEEP_LEASE) as LeaseRow | undefined;
      const live = held !== undefined && held.expires_at > now && held.owner !== owner;
      const gone = live && this.#gone(held);
      if (live && !gone) {
        this.#db.exec('COMMIT');
        return {
          acquired: false,
          holder: held.owner,
          expiresAt: held.expires_at,
          ...(held.pid === null ? {} : { pid: held.pid }),
        };
      }
      const self = this.#self;
      this.#lease.run(
        SWEEP_LEASE,
        owner,
        expiresAt,
        self.machine,
        self.pid,
        self.startedAt ?? null,
        self.instance,
      );
      this.#db.exec('COMMIT');
      return gone ? { acquired: true, expiresAt, tookOverFrom: held.owner } : { acquired: true, expiresAt };
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async renewLease(owner: string, expiresAt: number): Promise<boolean> {
    return this.#renew.run(expiresAt, SWEEP_LEASE, owner).changes > 0;
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

  #record(entry: NewLedgerEntry): LedgerEntry {
    const expires = expiresAtMs(entry.at);
    if (this.#insert.get(entry.name, entry.hash, entry.body, entry.at, expires) !== undefined) {
      return {
        name: entry.name,
        state: 'read',
        hash: entry.hash,
        body: entry.body,
        readAt: entry.at,
        deliveredAt: undefined,
        deletedAt: undefined,
      };
    }
    const stored = this.#read(entry.name, entry.at);
    if (stored === undefined) throw new LedgerStateError(entry.name, 'not found right after it was recorded');
    return stored;
  }

  /** The state is checked by the statement itself; only an entry it did not move is read. */
  #markDelivered(name: string, at: number): LedgerStateError | undefined {
    if (this.#deliver.run(at, expiresAtMs(at), name).changes > 0) return undefined;
    const state = this.#read(name, at)?.state;
    if (state === 'delivered' || state === 'deleted') return undefined;
    return new LedgerStateError(name, 'cannot be marked delivered: it was never recorded as read');
  }

  #markDeleted(name: string, at: number): LedgerStateError | undefined {
    if (this.#delete.run(at, expiresAtMs(at), name).changes > 0) return undefined;
    const state = this.#read(name, at)?.state;
    if (state === 'deleted') return undefined;
    return new LedgerStateError(
      name,
      state === 'read'
        ? 'cannot be marked deleted before it was delivered'
        : 'cannot be marked deleted: unknown',
    );
  }

  /** `work` as one write transaction: committed whole, or (should it throw) not at all. */
  #transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Whether the process recorded with a live lease is known to be gone. */
  #gone(row: LeaseRow): boolean {
    if (row.machine === null || row.pid === null || row.instance === null) return false;
    const holder: ProcessIdentity = {
      machine: row.machine,
      pid: row.pid,
      startedAt: row.started_at ?? undefined,
      instance: row.instance,
    };
    return this.#isHolderGone(holder, this.#self);
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
