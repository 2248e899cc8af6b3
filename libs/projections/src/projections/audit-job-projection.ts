import type Database from 'better-sqlite3';
import type { LedgerEventType } from '@ledger/domain';
import type { ReadModelDb } from '../read-model-db';
import { ACTOR_COLUMN, addActorColumn } from './actors';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/**
 * Audit jobs recorded in the store (verifications, digests, what-ifs, rebuilds), one row each; and
 * their starts (since 2026-11-27), to find a job that started and never ended: a queued job's
 * acceptance (AuditJobQueued, since the fourteenth session) is its row until its start replaces
 * it, in place (the row keeps its order).
 */
export class AuditJobProjection implements Projection {
  readonly name = 'audit-jobs';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['AuditJobRecorded', 'AuditJobStarted', 'AuditJobQueued'] as const);
  readonly tables = ['audit_jobs', 'audit_job_starts'];
  readonly schema = `
    CREATE TABLE IF NOT EXISTS audit_jobs (ord INTEGER PRIMARY KEY, job_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, ended_at TEXT NOT NULL, position TEXT NOT NULL, data TEXT NOT NULL, ${ACTOR_COLUMN});
    CREATE TABLE IF NOT EXISTS audit_job_starts (job_id TEXT PRIMARY KEY, instance TEXT NOT NULL, data TEXT NOT NULL);
  `;
  // audit_job_starts by instance: a claimed lease's sweep looks for that instance's unended jobs among every start ever recorded.
  readonly queryIndexes = 'CREATE INDEX IF NOT EXISTS audit_jobs_kind ON audit_jobs (kind, ord); CREATE INDEX IF NOT EXISTS audit_job_starts_instance ON audit_job_starts (instance);';

  private readonly add = this.rm.statements((db) => db.prepare('INSERT OR IGNORE INTO audit_jobs (ord, job_id, kind, ended_at, position, data, actor) VALUES (?, ?, ?, ?, ?, ?, ?)'));
  private readonly queued = this.rm.statements((db) => db.prepare('INSERT OR IGNORE INTO audit_job_starts (job_id, instance, data) VALUES (?, ?, ?)'));
  private readonly start = this.rm.statements((db) => db.prepare('INSERT INTO audit_job_starts (job_id, instance, data) VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET instance = excluded.instance, data = excluded.data'));

  constructor(private readonly rm: ReadModelDb) {}

  /** The actor column (the end's: who cancelled a cancelled job), added to a file made before it (its rows' actors not known: see actors.ts). */
  upgrade(db: Database.Database): void {
    addActorColumn(db, 'audit_jobs');
  }

  applyBatch(batch: readonly ProjectedEvent[]): void {
    const add = this.add();
    for (const { event, ord, position, actor } of batch) {
      if (event.type === 'AuditJobRecorded') add.run(ord, event.data.jobId, event.data.kind, event.data.endedAt, position, JSON.stringify(event.data), actor);
      else if (event.type === 'AuditJobStarted') this.start().run(event.data.jobId, event.data.instance, JSON.stringify(event.data));
      else if (event.type === 'AuditJobQueued') this.queued().run(event.data.jobId, event.data.instance, JSON.stringify(event.data));
    }
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
