import type Database from 'better-sqlite3';
import { addColumn, type ReadModelDb, type TableSet } from '../read-model-db';

/** A checkpoint as read: the position of the last event applied (undefined before the first), and how many events that is. */
export interface CheckpointValue {
  readonly position: bigint | undefined;
  readonly applied: number;
  /** The id of the event at `position` (undefined in a row written before 2026-11-27, or moved since by code of before: see Checkpoint): the Projector checks the store holds it there. */
  readonly event?: string;
}

/**
 * The position of the last event applied to the read models, how many events that is, and that
 * event's id: moved in each batch's transaction. (`event` and `event_position` are columns added
 * on 2026-11-27: a file made before gets them when opened, empty until its next batch.) `event` holds
 * the plain id, as the code of the morning of 2026-11-27 reads it, and `event_position` the position
 * it was taken at: code of before (a rollback, an older `ledger` command on the same file) moves
 * position and applied and leaves both as they were, and an id of another position is no id of this
 * one (the Projector then checks by position only).
 */
export class Checkpoint implements TableSet {
  readonly tables = ['checkpoint'];
  /**
   * `rebuilt_by` (since 2026-11-27, fourteenth session): the file a rebuild into a file of its own
   * built these read models in (the rebuild job's `params.file`), written once it is done (see
   * markRebuiltBy); emptied with the checkpoint (a rebuild in place). Not one of `tables`: no
   * projection's, nor part of what a rebuild is compared by (ProjectionWriter.dump).
   */
  readonly schema = `
    CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL, event TEXT, event_position TEXT);
    CREATE TABLE IF NOT EXISTS rebuilt_by (id INTEGER PRIMARY KEY CHECK (id = 1), file TEXT NOT NULL);
  `;

  private readonly stmts = this.rm.statements((db) => ({
    get: db.prepare<[], { position: string | null; applied: number; event: string | null; event_position: string | null }>('SELECT position, applied, event, event_position FROM checkpoint WHERE id = 1'),
    set: db.prepare<[string, number, string | null, string | null]>(
      'INSERT INTO checkpoint (id, position, applied, event, event_position) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position, applied = excluded.applied, event = excluded.event, event_position = excluded.event_position',
    ),
  }));
  /**
   * The row as last read, on the connection it was read on. Each reply of the API asks for the
   * position (Projector.waitFor), far more often than a batch moves it: the row is read again only
   * after this checkpoint was written (set, reset: the batch's transaction may yet roll back, so
   * what was written is not taken for what is) or the file replaced (ReadModelDb.replaceWith).
   * Another process keeping the same file (a CLI command beside the API) moves the row behind it:
   * a batch reads the row afresh under the file's write lock (`fresh`), so only the replies may
   * see it late, until this process's next batch.
   */
  private read: { db: Database.Database; value: CheckpointValue } | undefined;

  constructor(private readonly rm: ReadModelDb) {}

  upgrade(db: Database.Database): void {
    for (const column of ['event', 'event_position']) addColumn(db, 'checkpoint', column, 'TEXT');
  }

  get(): CheckpointValue {
    if (this.read?.db === this.rm.db) return this.read.value;
    const row = this.stmts().get.get();
    const event = row?.position && row.event && row.event_position === row.position ? row.event : undefined;
    const value = { position: row?.position ? BigInt(row.position) : undefined, applied: row?.applied ?? 0, ...(event ? { event } : {}) };
    this.read = { db: this.rm.db, value };
    return value;
  }

  /** The row as it is now, read again (and kept for `get`). */
  fresh(): CheckpointValue {
    this.read = undefined;
    return this.get();
  }

  set(position: bigint, applied: number, event?: string): void {
    this.read = undefined;
    this.stmts().set.run(position.toString(), applied, event ?? null, event === undefined ? null : position.toString());
  }

  reset(): void {
    this.read = undefined;
    this.rm.db.exec('DELETE FROM checkpoint; DELETE FROM rebuilt_by');
  }

  /** These read models were rebuilt into `file` (rebuildInto's), so that once swapped in they say which rebuild built them: rebuiltBy. */
  markRebuiltBy(file: string): void {
    this.rm.db.prepare('INSERT INTO rebuilt_by (id, file) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET file = excluded.file').run(file);
  }
}
