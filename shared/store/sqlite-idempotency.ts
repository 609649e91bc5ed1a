// Powertools idempotency records in the local SQLite file: the same conditional semantics as its
// DynamoDB layer (a record may be taken over only when absent, expired, or an in-progress lock
// whose invocation ran out of time), so a local run behaves as the deployed one does.

import type { DatabaseSync } from 'node:sqlite';
import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
} from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';

interface Row {
  id: string;
  status: string;
  expiration: number;
  in_progress_expiration: number | null;
  data: string | null;
  validation: string | null;
}

export class SqliteIdempotencyStore extends BasePersistenceLayer {
  readonly #owner: { readonly db: DatabaseSync };

  constructor(owner: { readonly db: DatabaseSync }) {
    super();
    this.#owner = owner;
  }

  protected override async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const row = this.#owner.db.prepare('SELECT * FROM idempotency WHERE id = ?').get(idempotencyKey) as
      | Row
      | undefined;
    if (row === undefined) throw new IdempotencyItemNotFoundError();
    return toRecord(row);
  }

  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    const now = Date.now();
    const db = this.#owner.db;
    const validation = this.isPayloadValidationEnabled() ? (record.payloadHash ?? null) : null;
    const result = db
      .prepare(
        `INSERT INTO idempotency (id, status, expiration, in_progress_expiration, data, validation)
         VALUES (?, ?, ?, ?, NULL, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, expiration = excluded.expiration,
           in_progress_expiration = excluded.in_progress_expiration, data = NULL, validation = excluded.validation
         WHERE idempotency.expiration < ?
            OR (idempotency.status = 'INPROGRESS' AND idempotency.in_progress_expiration IS NOT NULL
                AND idempotency.in_progress_expiration < ?)`,
      )
      .run(
        record.idempotencyKey,
        record.getStatus(),
        record.expiryTimestamp ?? 0,
        record.inProgressExpiryTimestamp ?? null,
        validation,
        now / 1000,
        now,
      );
    if (result.changes === 0) {
      const existing = db.prepare('SELECT * FROM idempotency WHERE id = ?').get(record.idempotencyKey) as
        | Row
        | undefined;
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        existing === undefined ? undefined : toRecord(existing),
      );
    }
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.#owner.db
      .prepare('UPDATE idempotency SET status = ?, expiration = ?, data = ? WHERE id = ?')
      .run(
        record.getStatus(),
        record.expiryTimestamp ?? 0,
        record.responseData === undefined ? null : JSON.stringify(record.responseData),
        record.idempotencyKey,
      );
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.#owner.db.prepare('DELETE FROM idempotency WHERE id = ?').run(record.idempotencyKey);
  }
}

function toRecord(row: Row): IdempotencyRecord {
  return new IdempotencyRecord({
    idempotencyKey: row.id,
    status: row.status as 'INPROGRESS' | 'COMPLETED' | 'EXPIRED',
    expiryTimestamp: row.expiration,
    ...(row.in_progress_expiration === null ? {} : { inProgressExpiryTimestamp: row.in_progress_expiration }),
    ...(row.data === null ? {} : { responseData: JSON.parse(row.data) }),
    ...(row.validation === null ? {} : { payloadHash: row.validation }),
  });
}
