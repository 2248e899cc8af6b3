import Database from 'better-sqlite3';
import type { AuditJobQueuedV1, AuditJobRecordedV1, AuditJobStartedV1 } from '@ledger/domain';
import { hasTable, type ReadModelDb } from '../read-model-db';
import { shownActor } from './actor-filter';

/** A recorded job as GET /jobs/recorded answers it: its end's record, its position, and its end's actor (see recordedJob). */
export type RecordedJob = AuditJobRecordedV1 & { position: string; actor: string | null; actorUnknown?: true };

/** Audit jobs recorded in the store. */
export class AuditJobQueries {
  private readonly stmts = this.rm.statements((db) => ({
    lastFound: db.prepare<[string], { position: string; data: string }>(`SELECT position, data FROM audit_jobs WHERE kind = ? AND (data ->> '$.state' = 'succeeded' OR data ->> '$.findings.damaged' IS NOT NULL) ORDER BY ord DESC LIMIT 1`),
  }));

  constructor(private readonly rm: ReadModelDb) {}

  /** Newest first, paged by `before` (an ord from the previous page's `next`). */
  auditJobs(filter: { kind?: string; before?: number; limit?: number } = {}): { items: RecordedJob[]; next: number | null } {
    const limit = Math.min(filter.limit ?? 50, 500);
    const rows = this.rm.db
      .prepare(
        `SELECT j.ord, j.position, j.data, j.actor, a.actor AS actor_text FROM audit_jobs j LEFT JOIN actors a ON a.id = j.actor
         WHERE (? IS NULL OR j.kind = ?) AND (? IS NULL OR j.ord < ?) ORDER BY j.ord DESC LIMIT ?`,
      )
      .all(filter.kind ?? null, filter.kind ?? null, filter.before ?? null, filter.before ?? null, limit + 1) as Array<{ ord: number | bigint; position: string; data: string; actor: number | null; actor_text: string | null }>;
    const items = rows.slice(0, limit).map(recordedJob);
    return { items, next: rows.length > limit ? Number(rows[limit - 1].ord) : null };
  }

  /**
   * The newest job of `kind` that found something: that ran to its end (succeeded), or failed having
   * met damage, with what it found before it (a verification: `findings.damaged`, since 2026-11-28,
   * seventeenth session; until then it was passed over, for an older verification that passed);
   * however many ended otherwise after it; undefined when none did.
   */
  lastFound(kind: string): (AuditJobRecordedV1 & { position: string }) | undefined {
    const row = this.stmts().lastFound.get(kind);
    return row && { ...(JSON.parse(row.data) as AuditJobRecordedV1), position: row.position };
  }

  /**
   * The file the live read models were rebuilt in (a rebuild job's `params.file`, renamed onto them
   * by its swap: Checkpoint.markRebuiltBy); undefined when they were not built so, or rebuilt in
   * place since. Read from the file at the read models' path as it is now, through a connection of
   * its own (since the fourteenth session of 2026-11-27): after another process's swap, this
   * process's connection stays on the file that swap replaced (deleted) until its projector's next
   * look (up to a second), which would say what was live before it.
   */
  rebuiltBy(): string | undefined {
    const now = new Database(this.rm.file, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      // A file made by code before the table (an older API's rebuild beside this one) was not built by a job that names itself.
      if (!hasTable(now, 'rebuilt_by')) return undefined;
      return (now.prepare('SELECT file FROM rebuilt_by WHERE id = 1').get() as { file: string } | undefined)?.file;
    } finally {
      now.close();
    }
  }

  /**
   * The jobs `instance` started, or accepted into its queue, that have no end recorded, oldest
   * first: once that instance stopped, jobs it was running, or that waited, when it stopped. Each as
   * its start recorded it, or its acceptance (no `startedAt`: it never started).
   */
  unended(instance: string): Array<AuditJobStartedV1 | AuditJobQueuedV1> {
    const rows = this.rm.db.prepare('SELECT s.data FROM audit_job_starts s WHERE s.instance = ? AND NOT EXISTS (SELECT 1 FROM audit_jobs j WHERE j.job_id = s.job_id) ORDER BY s.rowid').all(instance) as Array<{ data: string }>;
    return rows.map((r) => JSON.parse(r.data) as AuditJobStartedV1 | AuditJobQueuedV1);
  }
}

/**
 * A job's end as recorded, with that end's actor: who ended it (the key that cancelled a job cancelled
 * over DELETE /jobs/:id, `api:shutdown` for one cancelled as the API shut down, else the one that
 * asked for it; `api:startup` for one found interrupted). A cancelled job's `cancelledBy` is in its
 * record since 2026-11-28 (nineteenth session). One recorded before has it only when another key
 * than the one that asked for it ended it (its end's actor): one cancelled by the key that asked for
 * it, or at shutdown, was recorded with that key's actor alike, so neither says cancelledBy.
 */
function recordedJob(r: { position: string; data: string; actor: number | null; actor_text: string | null }): RecordedJob {
  const job = JSON.parse(r.data) as AuditJobRecordedV1;
  const shown = shownActor(r.actor, r.actor_text);
  const cancelledBy = job.state === 'cancelled' && job.cancelledBy === undefined && shown.actor !== null && shown.actor !== job.requestedBy ? { cancelledBy: shown.actor } : {};
  return { ...job, position: r.position, ...shown, ...cancelledBy };
}
