import type Database from 'better-sqlite3';
import { isLedgerStream, LEDGER_EVENT_TYPES, type LedgerEventType } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { hashOf } from '@ledger/event-store/hash-chain';
import { linkOf, textMismatchOf, type ChainBreakRow, type ChainHead, type CheckThread, type TextMismatchRow } from '../processor/check-thread';
import { hasTable, type ReadModelDb } from '../read-model-db';
import { FoldCache } from './fold-cache';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/**
 * Tamper evidence kept as the read models are: each event's hash-chain link is checked once, when
 * it is projected, against the head its stream had (kept in `chain_heads`); the first broken link
 * of a stream is kept in `chain_breaks`; and each event whose stored text (SQLite, which the
 * projector reads it with) gives a key twice in one object, which its link does not show (the hash
 * covers the content as parsed), in `stored_text_mismatches`, as `ledger verify` reports it. So a
 * verification "now" only reads these tables: it has checked everything up to the projector's
 * checkpoint (IntegrityQueries). (An edit made to an event after it was checked is found by the
 * full walk, which stays available as a job.) On a SQLite store, whose positions are gapless, each
 * run of positions the projector did not meet (events deleted from the log) is kept in
 * `missing_positions`, as `ledger verify` reports them (`missing`): ProjectionWriter finds them
 * against the checkpoint, the position the next event must have.
 */
export class ChainCheck implements Projection {
  readonly name = 'chain-check';
  /** Every event of a ledger stream, whatever its type. */
  readonly handles: ReadonlySet<LedgerEventType> = new Set(LEDGER_EVENT_TYPES);
  readonly tables = ['chain_heads', 'chain_breaks', 'stored_text_mismatches', 'stored_text_checked_after', 'missing_positions'];
  readonly schema = `
    CREATE TABLE IF NOT EXISTS chain_heads (stream TEXT PRIMARY KEY, revision TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS chain_breaks (stream TEXT PRIMARY KEY, kind TEXT NOT NULL, revision TEXT NOT NULL, position TEXT NOT NULL, expected_revision TEXT);
    CREATE TABLE IF NOT EXISTS stored_text_checked_after (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS missing_positions (from_position TEXT PRIMARY KEY, to_position TEXT NOT NULL);
  `;
  /** In log order (a decimal position by its length, then as text), for the incremental verification's first breaks and runs (IntegrityQueries): after `upgrade`, which may make stored_text_mismatches. */
  readonly queryIndexes = `
    CREATE INDEX IF NOT EXISTS chain_breaks_position ON chain_breaks (length(position), position);
    CREATE INDEX IF NOT EXISTS stored_text_mismatches_position ON stored_text_mismatches (length(position), position);
    CREATE INDEX IF NOT EXISTS missing_positions_from ON missing_positions (length(from_position), from_position);
  `;

  /**
   * Makes `stored_text_mismatches` (not in `schema`: whether it is new is what this looks at). A
   * file projected before it (2026-11-27) holds events whose stored text nobody checked: the
   * checkpoint as of then is kept in `stored_text_checked_after`, which the incremental
   * verification reports (`textCheckedFrom`); a rebuild empties it.
   */
  upgrade(db: Database.Database): void {
    // A look first: the write lock only when there is something to make (another connection may hold it long: an sqlite3 shell, a `ledger rebuild` in place by earlier code).
    if (hasTable(db, 'stored_text_mismatches')) return;
    db.transaction(() => {
      if (hasTable(db, 'stored_text_mismatches')) return; // made already (by another process opening the file too, say)
      db.exec('CREATE TABLE stored_text_mismatches (position TEXT PRIMARY KEY, stream TEXT NOT NULL, revision TEXT NOT NULL, reason TEXT NOT NULL)');
      const checkpoint = hasTable(db, 'checkpoint') ? (db.prepare('SELECT position FROM checkpoint WHERE id = 1').get() as { position: string | null } | undefined) : undefined;
      if (checkpoint?.position) db.prepare('INSERT OR REPLACE INTO stored_text_checked_after (id, position) VALUES (1, ?)').run(checkpoint.position);
    }).immediate();
  }
  private readonly stmts = this.rm.statements((db) => ({
    head: db.prepare<[string], { revision: string; hash: string }>('SELECT revision, hash FROM chain_heads WHERE stream = ?'),
    broken: db.prepare<[string], { stream: string }>('SELECT stream FROM chain_breaks WHERE stream = ?'),
    putHead: db.prepare<[string, string, string]>('INSERT INTO chain_heads (stream, revision, hash) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision, hash = excluded.hash'),
    putBreak: db.prepare<[string, string, string, string, string | null]>('INSERT OR IGNORE INTO chain_breaks (stream, kind, revision, position, expected_revision) VALUES (?, ?, ?, ?, ?)'),
    putText: db.prepare<TextMismatchRow>('INSERT OR IGNORE INTO stored_text_mismatches (position, stream, revision, reason) VALUES (?, ?, ?, ?)'),
    putMissing: db.prepare<[string, string]>('INSERT OR IGNORE INTO missing_positions (from_position, to_position) VALUES (?, ?)'),
  }));
  /** The heads of the streams a batch moves (or, holding, of those most recently moved; see FoldCache). */
  private readonly heads = new FoldCache<ChainHead | 'broken'>(
    (stream) => {
      const s = this.stmts();
      if (s.broken.get(stream)) return 'broken';
      const row = s.head.get(stream);
      return row ? { revision: BigInt(row.revision), hash: row.hash } : undefined;
    },
    (stream, head) => {
      if (head !== 'broken') this.stmts().putHead.run(stream, head.revision.toString(), head.hash);
    },
  );
  readonly folds = [this.heads];

  /** A rebuild's check thread, which checks the links in its place (see CheckThread); for a rebuild from the start of the log only. */
  thread: CheckThread | undefined;

  constructor(private readonly rm: ReadModelDb) {}

  /** Positions `from` to `to` of a gapless log (SQLite's) that the projector did not meet: events deleted (ProjectionWriter finds them, against the checkpoint, whatever the events' streams). */
  missed(from: bigint, to: bigint): void {
    this.stmts().putMissing.run(from.toString(), to.toString());
  }

  /** Checks each event's link (or takes the check thread's word for a batch it has checked), then writes the heads the batch moved (within the batch's transaction). */
  applyBatch(batch: readonly ProjectedEvent[]): void {
    const thread = this.thread;
    if (thread?.checked(batch[batch.length - 1].recorded.position)) for (const e of batch) this.fromThread(e.recorded, thread);
    else for (const e of batch) this.check(e.recorded);
    this.heads.flush();
  }

  /** What `check` does, from the check thread's findings: up to its first break, a stream's head is its last event's `$hash`. */
  private fromThread(e: RecordedEvent, thread: CheckThread): void {
    const text = thread.textOf(e.position);
    if (text) this.stmts().putText.run(...text);
    if (!isLedgerStream(e.stream)) return;
    const broken = thread.breakOf(e.stream);
    const at = broken ? BigInt(broken[3]) : undefined;
    if (at === undefined || e.position < at) this.heads.set(e.stream, { revision: e.revision, hash: hashOf(e)! });
    else if (e.position === at) {
      this.heads.update(e.stream, (prev) => {
        this.breakOff(broken!, prev);
        return 'broken';
      });
    }
  }

  private check(e: RecordedEvent): void {
    const text = textMismatchOf(e);
    if (text) this.stmts().putText.run(...text);
    if (!isLedgerStream(e.stream)) return;
    this.heads.update(e.stream, (prev) => {
      if (prev === 'broken') return prev;
      const link = linkOf(prev, e);
      if (!('broken' in link)) return link.head;
      this.breakOff(link.broken, prev);
      return 'broken';
    });
  }

  /**
   * Records a stream's break, and keeps its last good link (`prev`, if it had one) as its head in
   * `chain_heads`: a broken head is never written after, so the row is that link whatever batches
   * the events came in (IntegrityQueries' digest reads it).
   */
  private breakOff(row: ChainBreakRow, prev: ChainHead | 'broken' | undefined): void {
    const s = this.stmts();
    s.putBreak.run(...row);
    if (prev && prev !== 'broken') s.putHead.run(row[0], prev.revision.toString(), prev.hash);
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
