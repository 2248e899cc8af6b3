import type Database from 'better-sqlite3';
import type { ReadModelDb, TableSet } from '../read-model-db';

/** A checkpoint as read: the position of the last event applied (undefined before the first), and how many events that is. */
export interface CheckpointValue {
  readonly position: bigint | undefined;
  readonly applied: number;
}

/** The position of the last event applied to the read models, and how many events that is: moved in each batch's transaction. */
export class Checkpoint implements TableSet {
  readonly tables = ['checkpoint'];
  readonly schema = 'CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL);';

  private readonly stmts = this.rm.statements((db) => ({
    get: db.prepare<[], { position: string | null; applied: number }>('SELECT position, applied FROM checkpoint WHERE id = 1'),
    set: db.prepare<[string, number]>('INSERT INTO checkpoint (id, position, applied) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position, applied = excluded.applied'),
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

  get(): CheckpointValue {
    if (this.read?.db === this.rm.db) return this.read.value;
    const row = this.stmts().get.get();
    const value = { position: row?.position ? BigInt(row.position) : undefined, applied: row?.applied ?? 0 };
    this.read = { db: this.rm.db, value };
    return value;
  }

  /** The row as it is now, read again (and kept for `get`). */
  fresh(): CheckpointValue {
    this.read = undefined;
    return this.get();
  }

  set(position: bigint, applied: number): void {
    this.read = undefined;
    this.stmts().set.run(position.toString(), applied);
  }

  reset(): void {
    this.read = undefined;
    this.rm.db.exec('DELETE FROM checkpoint');
  }
}
