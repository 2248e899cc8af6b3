import { createHash } from 'node:crypto';
import { FINDINGS_LISTED as LISTED } from '@ledger/event-store/hash-chain';
import type { Checkpoint } from '../processor/checkpoint';
import type { ReadModelDb } from '../read-model-db';

export interface IncrementalVerification {
  /** Every event at or before this position was checked once, as it was projected (its stored text from `textCheckedFrom`). */
  verifiedThrough: string | null;
  streams: number;
  ok: boolean;
  /** The first LISTED of: the first broken link of each stream, and each event whose stored text gives a key twice (kind `stored-text-mismatch`, with its reason, before its event's own break if any), in log order: as `ledger verify` reports them. */
  breaks: Array<{ stream: string; kind: string; revision: string; position: string; expectedRevision?: string; reason?: string }>;
  /** How many breaks there are in all (`breaks` lists the first LISTED). */
  breakCount: number;
  /** The digest of every stream head at `verifiedThrough` (the formula of `ledger digest`), from the checked heads. */
  digest: string;
  /** The first LISTED runs of positions missing from a SQLite store's log (events deleted), `from` to `to` inclusive, in log order, as `ledger verify` reports them: those the projector did not meet (none before `textCheckedFrom`, on read models made before 2026-11-27 afternoon). */
  missing: Array<{ from: string; to: string }>;
  /** How many runs of positions are missing in all (`missing` lists the first LISTED). */
  missingCount: number;
  /**
   * The first position whose stored text was checked (a key written twice): null, every one; a
   * position, when the read models were projected before that check (2026-11-27): the texts of the
   * events before it were not checked, and `ok` is false (rebuild the read models to check them).
   * It bounds the look for missing positions too: read models made before both checks (the same
   * afternoon) began both at their first open by this code, from the checkpoint it names, so
   * `missing` names no position before it; `ok` stays false until a rebuild looks at the whole log.
   */
  textCheckedFrom: string | null;
}

/** Positions are decimal strings of no leading zero: by length, then as text, is by number (and an index on it serves LIMIT). */
const BY_POSITION = (column: string) => `length(${column}), ${column}`;

/** The hash chain as the chain-check projection checked it while projecting: no read of the log. */
export class IntegrityQueries {
  constructor(
    private readonly rm: ReadModelDb,
    private readonly checkpoint: Checkpoint,
  ) {}

  /** Every link checked through the checkpoint: the first breaks and missing runs (LISTED of each, and their counts), and the digest of the checked heads. */
  incrementalVerification(): IncrementalVerification {
    // One read transaction: the checkpoint, breaks and heads as of one moment (another process may be projecting into the file).
    return this.rm.db.transaction(() => this.verification())();
  }

  private verification(): IncrementalVerification {
    const db = this.rm.db;
    const verifiedThrough = this.checkpoint.fresh().position?.toString() ?? null;
    // A hostile edit can leave tens of thousands of rows (every other event deleted): the first LISTED by an index of each
    // table (ChainCheck's queryIndexes), merged here, and the counts from SQLite; no table is read whole into the reply.
    const links = (db.prepare(`SELECT * FROM chain_breaks ORDER BY ${BY_POSITION('position')} LIMIT ${LISTED}`).all() as Array<Record<string, string | null>>).map((r) => ({
      stream: r.stream!,
      kind: r.kind!,
      revision: r.revision!,
      position: r.position!,
      ...(r.expected_revision ? { expectedRevision: r.expected_revision } : {}),
    }));
    const texts = (db.prepare(`SELECT * FROM stored_text_mismatches ORDER BY ${BY_POSITION('position')} LIMIT ${LISTED}`).all() as Array<Record<string, string>>).map((r) => ({ stream: r.stream, kind: 'stored-text-mismatch', revision: r.revision, position: r.position, reason: r.reason }));
    // By position; at one event, its text's mismatch before its link's break (verify's order).
    const text = (kind: string) => (kind === 'stored-text-mismatch' ? 0 : 1);
    const breaks: IncrementalVerification['breaks'] = [...links, ...texts].sort((a, b) => (BigInt(a.position) === BigInt(b.position) ? text(a.kind) - text(b.kind) : BigInt(a.position) < BigInt(b.position) ? -1 : 1)).slice(0, LISTED);
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const breakCount = count('chain_breaks') + count('stored_text_mismatches');
    const h = createHash('sha256');
    let streams = 0;
    // Heads of broken streams are their last good link; the digest then differs from the store's, as it should.
    for (const row of db.prepare('SELECT stream, revision, hash FROM chain_heads ORDER BY stream').iterate() as IterableIterator<{ stream: string; revision: string; hash: string }>) {
      streams++;
      h.update(`${row.stream}\n${row.revision}:${row.hash}\n`);
    }
    const missing = (db.prepare(`SELECT from_position, to_position FROM missing_positions ORDER BY ${BY_POSITION('from_position')} LIMIT ${LISTED}`).all() as Array<{ from_position: string; to_position: string }>).map((r) => ({ from: r.from_position, to: r.to_position }));
    const missingCount = count('missing_positions');
    const after = db.prepare('SELECT position FROM stored_text_checked_after WHERE id = 1').get() as { position: string } | undefined;
    const textCheckedFrom = after ? (BigInt(after.position) + 1n).toString() : null;
    return { verifiedThrough, streams, ok: breakCount === 0 && missingCount === 0 && textCheckedFrom === null, breaks, breakCount, digest: h.digest('hex'), missing, missingCount, textCheckedFrom };
  }
}
