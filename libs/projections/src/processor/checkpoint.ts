import type { ReadModelDb, TableSet } from '../read-model-db';

/** The position of the last event applied to the read models, and how many events that is: moved in each batch's transaction. */
export class Checkpoint implements TableSet {
  readonly tables = ['checkpoint'];
  readonly schema = 'CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL);';

  private readonly stmts = this.rm.statements((db) => ({
    get: db.prepare<[], { position: string | null; applied: number }>('SELECT position, applied FROM checkpoint WHERE id = 1'),
    set: db.prepare<[string, number]>('INSERT INTO checkpoint (id, position, applied) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position, applied = excluded.applied'),
  }));

  constructor(private readonly rm: ReadModelDb) {}

  get(): { position: bigint | undefined; applied: number } {
    const row = this.stmts().get.get();
    return { position: row?.position ? BigInt(row.position) : undefined, applied: row?.applied ?? 0 };
  }

  set(position: bigint, applied: number): void {
    this.stmts().set.run(position.toString(), applied);
  }

  reset(): void {
    this.rm.db.exec('DELETE FROM checkpoint');
  }
}
