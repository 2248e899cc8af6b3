import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { isLedgerStream } from '@ledger/domain';
import { hashOf, verifyLink, type RecordedEvent } from '@ledger/event-store';

export const CHAIN_SCHEMA = `
  CREATE TABLE IF NOT EXISTS chain_heads (stream TEXT PRIMARY KEY, revision TEXT NOT NULL, hash TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS chain_breaks (stream TEXT PRIMARY KEY, kind TEXT NOT NULL, revision TEXT NOT NULL, position TEXT NOT NULL, expected_revision TEXT);
`;
export const CHAIN_TABLES = ['chain_heads', 'chain_breaks'];

export interface IncrementalVerification {
  /** Every event at or before this position was checked once, as it was projected. */
  verifiedThrough: string | null;
  streams: number;
  ok: boolean;
  breaks: Array<{ stream: string; kind: string; revision: string; position: string; expectedRevision?: string }>;
  /** The digest of every stream head at `verifiedThrough` (the formula of `ledger digest`), from the checked heads. */
  digest: string;
}

/**
 * Tamper evidence kept as the read models are: each event's hash-chain link is checked once, when
 * it is projected, against the head its stream had (kept in `chain_heads`); the first broken link
 * of a stream is kept in `chain_breaks`. So a verification "now" only reads these tables: it has
 * checked everything up to the projector's checkpoint. (An edit made to an event after it was
 * checked is found by the full walk, which stays available as a job.)
 */
export class ChainCheck {
  private readonly heads = new Map<string, { revision: bigint; hash: string } | 'broken'>();
  private readonly stmt: {
    head: Database.Statement<[string], { revision: string; hash: string } | undefined>;
    broken: Database.Statement<[string], { stream: string } | undefined>;
    putHead: Database.Statement<[string, string, string]>;
    putBreak: Database.Statement<[string, string, string, string, string | null]>;
  };

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      head: db.prepare('SELECT revision, hash FROM chain_heads WHERE stream = ?'),
      broken: db.prepare('SELECT stream FROM chain_breaks WHERE stream = ?'),
      putHead: db.prepare('INSERT INTO chain_heads (stream, revision, hash) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision, hash = excluded.hash'),
      putBreak: db.prepare('INSERT OR IGNORE INTO chain_breaks (stream, kind, revision, position, expected_revision) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  /** Checks one event's link (within the batch's transaction). */
  check(e: RecordedEvent): void {
    if (!isLedgerStream(e.stream)) return;
    let prev = this.heads.get(e.stream);
    if (prev === undefined) {
      if (this.stmt.broken.get(e.stream)) prev = 'broken';
      else {
        const row = this.stmt.head.get(e.stream);
        prev = row ? { revision: BigInt(row.revision), hash: row.hash } : undefined;
      }
    }
    if (prev === 'broken') return;
    const broken = verifyLink(prev, e);
    if (broken) {
      this.stmt.putBreak.run(broken.stream, broken.kind, broken.revision.toString(), broken.position.toString(), broken.kind === 'revision-gap' ? broken.expectedRevision.toString() : null);
      this.heads.set(e.stream, 'broken');
      return;
    }
    this.heads.set(e.stream, { revision: e.revision, hash: hashOf(e)! });
  }

  /** Writes the heads the batch moved (at the end of its transaction). */
  flush(): void {
    for (const [stream, head] of this.heads) if (head !== 'broken') this.stmt.putHead.run(stream, head.revision.toString(), head.hash);
    this.heads.clear();
  }

  /** Cancels what `check` held for a batch that was rolled back. */
  discard(): void {
    this.heads.clear();
  }

  report(verifiedThrough: string | null): IncrementalVerification {
    const breaks = (this.db.prepare('SELECT * FROM chain_breaks ORDER BY length(position), position').all() as Array<Record<string, string | null>>).map((r) => ({
      stream: r.stream!,
      kind: r.kind!,
      revision: r.revision!,
      position: r.position!,
      ...(r.expected_revision ? { expectedRevision: r.expected_revision } : {}),
    }));
    const h = createHash('sha256');
    let streams = 0;
    // Heads of broken streams are their last good link; the digest then differs from the store's, as it should.
    for (const row of this.db.prepare('SELECT stream, revision, hash FROM chain_heads ORDER BY stream').iterate() as IterableIterator<{ stream: string; revision: string; hash: string }>) {
      streams++;
      h.update(`${row.stream}\n${row.revision}:${row.hash}\n`);
    }
    return { verifiedThrough, streams, ok: breaks.length === 0, breaks, digest: h.digest('hex') };
  }
}
