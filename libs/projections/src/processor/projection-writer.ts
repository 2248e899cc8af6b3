import type { RecordedEvent } from '@ledger/event-store';
import { createProjections, type ProjectedEvent, type Projections } from '../projections';
import { Actors } from '../projections/actors';
import { HELD_STATES } from '../projections/fold-cache';
import { ReadModelDb } from '../read-model-db';
import { Checkpoint } from './checkpoint';
import { readEvent, type CheckThread } from './check-thread';

/**
 * The read models' checkpoint went back (another process reset them to rebuild in place) since the
 * batch was read after it: nothing of the batch is applied; read again from the checkpoint.
 */
export class CheckpointMovedBackError extends Error {
  override readonly name = 'CheckpointMovedBackError';
  constructor(
    readonly after: bigint | undefined,
    readonly checkpoint: bigint | undefined,
  ) {
    super(`the read models' checkpoint moved back from ${after ?? 'the start'} to ${checkpoint ?? 'the start'} (another process is rebuilding them): read again from there`);
  }
}

/**
 * Applies batches of recorded events to every projection, each batch in one transaction together
 * with the checkpoint (the position of the last event applied), so a crash never applies an event
 * twice nor skips one. An event it cannot read fails the whole batch (UnreadableEventError); the
 * Projector then applies what came before it and halts.
 * Another process may keep the same file (a CLI command catching up beside the API): each batch,
 * read after the checkpoint `after`, takes the write lock first and reads the checkpoint there,
 * applies only the events after it (those up to it the other process applied) and, if it went
 * back (a rebuild in place), applies nothing (CheckpointMovedBackError).
 */
export class ProjectionWriter {
  readonly checkpoint: Checkpoint;
  /** Who recorded each event, each once: the rows' actor ids, given here in store order (see actors.ts). */
  readonly actors: Actors;
  private thread: CheckThread | undefined;
  /** Holding (`hold`): events per commit of the transaction the batches share (0: each batch its own), and those applied since it began. */
  private commitEvery = 0;
  private uncommitted = 0;

  constructor(
    readonly db: ReadModelDb,
    readonly projections: Projections,
  ) {
    this.checkpoint = new Checkpoint(db);
    this.actors = new Actors(db);
    db.install([this.checkpoint, this.actors, ...projections.all], () => this.checkpoint.get().position !== undefined);
  }

  /** A rebuild from the start of the log: `thread` reads and checks the events too (see CheckThread). */
  checkedBy(thread: CheckThread | undefined): void {
    this.thread = thread;
    this.projections.chain.thread = thread;
  }

  /**
   * Applies `events`, read after the checkpoint `after`. With `gapless` (a SQLite store, whose
   * positions are 1, 2, 3, ... and never removed), the next event must be at the checkpoint + 1 (1,
   * from the start): each run of positions skipped is a run of events deleted from the log, kept by
   * the chain check (`missing_positions`). The checkpoint is the whole state: read models made before
   * this check have not looked at the positions before their checkpoint.
   */
  applyBatch(events: readonly RecordedEvent[], { after, gapless = false }: { after: bigint | undefined; gapless?: boolean }): void {
    if (events.length === 0) return;
    if (this.commitEvery && !this.db.db.inTransaction) {
      this.db.db.exec('BEGIN IMMEDIATE');
      this.uncommitted = 0;
    }
    try {
      this.db.db.transaction(() => {
        let { position: at, applied } = this.checkpoint.fresh();
        if (after !== undefined && (at === undefined || at < after)) throw new CheckpointMovedBackError(after, at);
        const batch: ProjectedEvent[] = [];
        const whole = !this.thread?.checked(events[events.length - 1].position);
        let next = (at ?? 0n) + 1n;
        const actor = this.actors.batch();
        for (const recorded of events) {
          if (at !== undefined && recorded.position <= at) continue; // applied by another process since the batch was read
          if (gapless) {
            if (recorded.position > next) this.projections.chain.missed(next, recorded.position - 1n);
            next = recorded.position + 1n;
          }
          const ord = ++applied;
          const event = readEvent(recorded, whole);
          if (event) batch.push({ event, recorded, ord, position: recorded.position.toString(), actor: actor(recorded.metadata) }); // else another application's event in a shared EventStoreDB
        }
        for (const p of this.projections.all) {
          const mine = batch.filter((e) => p.handles.has(e.event.type));
          if (mine.length) p.applyBatch(mine);
        }
        const last = events[events.length - 1];
        if (at === undefined || last.position > at) this.checkpoint.set(last.position, applied, last.id);
      }).immediate();
    } catch (err) {
      for (const p of this.projections.all) for (const f of p.folds ?? []) f.discard();
      throw err;
    }
    for (const p of this.projections.all) for (const f of p.folds ?? []) f.committed();
    if (this.commitEvery && (this.uncommitted += events.length) >= this.commitEvery) this.db.db.exec('COMMIT');
  }

  /**
   * For a rebuild into a file nobody reads until it is done (rebuildInto), which throws the file
   * away if the rebuild fails: the projections keep up to `limit` folded states each in memory
   * across batches (FoldCache.hold) and may leave work to the end (Projection.hold), so a committed
   * batch's checkpoint is then ahead of the tables until `finish` has written everything, after
   * the last batch. And the batches commit together, `commitEvery` events at a time (each batch a
   * savepoint of that transaction, rolled back alone as its own transaction would be): a commit
   * writes every page the batches changed, and most of a batch's are random pages of the keys'
   * indexes (devices, meter points, chain heads), which the next batches change again.
   */
  hold(limit = HELD_STATES, commitEvery = 0): void {
    this.commitEvery = commitEvery;
    for (const p of this.projections.all) {
      for (const f of p.folds ?? []) f.hold(limit);
      p.hold?.();
    }
  }

  finish(): void {
    this.db.db.transaction(() => {
      // Every held state first: a projection's own finish may read another's tables (the stuck rows read the devices and meter points).
      for (const p of this.projections.all) for (const f of p.folds ?? []) f.finish();
      for (const p of this.projections.all) p.finish?.();
    })();
    if (this.commitEvery && this.db.db.inTransaction) this.db.db.exec('COMMIT');
    this.commitEvery = 0;
  }

  /** Runs `work` (a rebuild in place) in one transaction of the file, which its batches' are savepoints of: committed if it succeeds, rolled back if it fails. */
  async allOrNothing<T>(work: () => Promise<T>): Promise<T> {
    // hold()'s commits every commitEvery events would commit this transaction part way.
    if (this.commitEvery) throw new Error('allOrNothing cannot run while batches commit every commitEvery events (hold)');
    this.db.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work();
      this.db.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.db.inTransaction) this.db.db.exec('ROLLBACK');
      // What the states in memory and the checkpoint as last read held was rolled back with the tables.
      for (const p of this.projections.all) for (const f of p.folds ?? []) f.reset();
      this.checkpoint.fresh();
      throw err;
    }
  }

  /** Empties every projection and the checkpoint (for a rebuild). */
  reset(): void {
    this.db.db.transaction(() => {
      for (const p of this.projections.all) {
        for (const f of p.folds ?? []) f.reset();
        p.reset();
      }
      this.actors.reset();
      this.checkpoint.reset();
    })();
  }

  /** Every table as plain rows (for comparing a rebuild with the live read models). */
  dump(): Record<string, unknown[]> {
    const tables = [...this.checkpoint.tables, ...this.actors.tables, ...this.projections.all.flatMap((p) => p.tables)];
    return Object.fromEntries(tables.map((t) => [t, this.db.db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()]));
  }
}

/** Opens (or creates) a read-model file with every projection installed, ready for a Projector. */
export function openReadModels(file: string): ProjectionWriter {
  const db = new ReadModelDb(file);
  return new ProjectionWriter(db, createProjections(db));
}
