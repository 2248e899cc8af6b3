import type { LedgerEvent, LedgerEventType } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import type { TableSet } from '../read-model-db';
import type { Fold } from './fold-cache';

/**
 * An event as a projection sees it: read as a ledger event, with its place in the store and in the
 * read models. A stored decision's checks have empty reasons (not rendered: `recorded.data` holds
 * its stored form, from which decodeDecision renders them), and its revisionsRead is empty (REVISIONS_LEFT_OUT).
 */
export interface ProjectedEvent {
  event: LedgerEvent;
  recorded: RecordedEvent;
  /** The event's ordinal among every event applied to these read models (the rows' `ord`: store order). */
  ord: number;
  position: string;
  /** Its actor's id in the `actors` table (see actors.ts), null when its metadata names none: the `actor` of the rows made from it. */
  actor: number | null;
}

/**
 * One read model kept from the events: the tables it owns, the event types it reads, how it
 * applies a batch and how it is emptied for a rebuild. The processor (ProjectionWriter) calls
 * `applyBatch` and `reset` inside its transaction, which also moves the checkpoint.
 */
export interface Projection extends TableSet {
  readonly name: string;
  /** The event types it reads; the batch it is given holds those only, in store order. */
  readonly handles: ReadonlySet<LedgerEventType>;
  applyBatch(batch: readonly ProjectedEvent[]): void;
  /**
   * The states it folds, read and written through FoldCaches: the processor tells them when a
   * batch commits or is rolled back (what they hold of it forgotten), when a rebuild holds them and
   * when it finishes, and empties them with the tables.
   */
  readonly folds?: readonly Fold[];
  /**
   * A rebuild into a file nobody reads until it is done (rebuildInto): what it may leave to
   * `finish`, which runs in a transaction after the last batch, once its folds are written.
   */
  hold?(): void;
  finish?(): void;
  /** Empties its tables. */
  reset(): void;
}

/** Deletes every row of these tables (a projection's reset). */
export function truncate(db: { exec(sql: string): unknown }, tables: readonly string[]): void {
  for (const t of tables) db.exec(`DELETE FROM ${t}`);
}
