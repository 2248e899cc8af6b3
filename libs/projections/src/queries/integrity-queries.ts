import { createHash } from 'node:crypto';
import type { Checkpoint } from '../processor/checkpoint';
import type { ReadModelDb } from '../read-model-db';

export interface IncrementalVerification {
  /** Every event at or before this position was checked once, as it was projected. */
  verifiedThrough: string | null;
  streams: number;
  ok: boolean;
  breaks: Array<{ stream: string; kind: string; revision: string; position: string; expectedRevision?: string }>;
  /** The digest of every stream head at `verifiedThrough` (the formula of `ledger digest`), from the checked heads. */
  digest: string;
}

/** The hash chain as the chain-check projection checked it while projecting: no read of the log. */
export class IntegrityQueries {
  constructor(
    private readonly rm: ReadModelDb,
    private readonly checkpoint: Checkpoint,
  ) {}

  /** Every link checked through the checkpoint: the first break of each stream, and the digest of the checked heads. */
  incrementalVerification(): IncrementalVerification {
    // One read transaction: the checkpoint, breaks and heads as of one moment (another process may be projecting into the file).
    return this.rm.db.transaction(() => this.verification())();
  }

  private verification(): IncrementalVerification {
    const verifiedThrough = this.checkpoint.fresh().position?.toString() ?? null;
    const breaks = (this.rm.db.prepare('SELECT * FROM chain_breaks ORDER BY length(position), position').all() as Array<Record<string, string | null>>).map((r) => ({
      stream: r.stream!,
      kind: r.kind!,
      revision: r.revision!,
      position: r.position!,
      ...(r.expected_revision ? { expectedRevision: r.expected_revision } : {}),
    }));
    const h = createHash('sha256');
    let streams = 0;
    // Heads of broken streams are their last good link; the digest then differs from the store's, as it should.
    for (const row of this.rm.db.prepare('SELECT stream, revision, hash FROM chain_heads ORDER BY stream').iterate() as IterableIterator<{ stream: string; revision: string; hash: string }>) {
      streams++;
      h.update(`${row.stream}\n${row.revision}:${row.hash}\n`);
    }
    return { verifiedThrough, streams, ok: breaks.length === 0, breaks, digest: h.digest('hex') };
  }
}
