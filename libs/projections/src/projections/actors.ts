import type Database from 'better-sqlite3';
import type { EventMetadata } from '@ledger/event-store';
import { addColumn, type ReadModelDb, type TableSet } from '../read-model-db';
import { truncate } from './projection';

/**
 * Who recorded each event, as the rows made from it keep it (since 2026-11-28, eighteenth session):
 * the `actor` of its metadata (an API key's `api:<role>:<id>[:<name>]`, `api:<role>` before
 * 2026-11-28, `cli:submit`, `demo`, ...), each text once in `actors`, a row's `actor` column its id
 * there (an API key's identity is 30-odd bytes; its id one or two in a row).
 *
 * A row's `actor`: the id; NULL when the event's metadata has none; ACTOR_NOT_KEPT (0, the column's
 * default) when the row was made before the read models kept actors (a file made by an earlier
 * build, upgraded when opened: see addActorColumn) or by such a build since (it does not name the
 * column): not known, until a rebuild (which reads every event again).
 */
export const ACTOR_NOT_KEPT = 0;

/** The column every table of rows made from events has: its event's actor (see Actors); its type, as addColumn takes it. */
const ACTOR_TYPE = `INTEGER DEFAULT ${ACTOR_NOT_KEPT}`;
export const ACTOR_COLUMN = `actor ${ACTOR_TYPE}`;

/** Adds the actor column to a table made by an earlier build (a TableSet's upgrade, at each open): its rows read ACTOR_NOT_KEPT, without a rewrite of the table. */
export function addActorColumn(db: Database.Database, table: string): void {
  addColumn(db, table, 'actor', ACTOR_TYPE);
}

/** The actor of an event's metadata as text (one that is not a string, as JSON), or undefined when it has none. */
export function actorOf(metadata: EventMetadata | undefined): string | undefined {
  const actor = metadata?.actor;
  if (actor === undefined || actor === null) return undefined;
  return typeof actor === 'string' ? actor : JSON.stringify(actor);
}

/**
 * The `actors` table: each actor once, with its id, given in the order the events are applied (the
 * ProjectionWriter looks them up in store order, whichever projection keeps the event), so a rebuild
 * gives every actor the id the live projector gave it. Looked up once per batch (in its transaction:
 * another process keeping the same file may have added one since, or rebuilt them in place), never
 * kept across batches.
 */
export class Actors implements TableSet {
  readonly tables = ['actors'];
  readonly schema = 'CREATE TABLE IF NOT EXISTS actors (id INTEGER PRIMARY KEY, actor TEXT NOT NULL UNIQUE);';

  private readonly stmts = this.rm.statements((db) => ({
    find: db.prepare<[string], { id: number }>('SELECT id FROM actors WHERE actor = ?'),
    add: db.prepare<[string], { id: number }>('INSERT INTO actors (actor) VALUES (?) RETURNING id'),
  }));

  constructor(private readonly rm: ReadModelDb) {}

  /** A batch's lookup (in its transaction): the id of an event's actor, added when new; null when it has none. */
  batch(): (metadata: EventMetadata | undefined) => number | null {
    const ids = new Map<string, number>();
    const s = this.stmts();
    return (metadata) => {
      const actor = actorOf(metadata);
      if (actor === undefined) return null;
      let id = ids.get(actor);
      if (id === undefined) {
        id = (s.find.get(actor) ?? s.add.get(actor)!).id;
        ids.set(actor, id);
      }
      return id;
    };
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
