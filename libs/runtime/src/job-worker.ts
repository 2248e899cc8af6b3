// Deep imports, not the libraries' indexes: a job's start is mostly loading code, so the worker
// loads what its job needs only (no Nest, no EventStoreDB client unless configured, the
// projections for a rebuild only).
import { serveJobs } from '@ledger/audit/jobs/job-thread';
import { runAuditWork, type AuditJobKind } from '@ledger/audit/jobs/work';

/**
 * The application's job worker: the audit kinds (verify, digest, what-if) and the rebuild of the
 * read models into a new file, one job after another (see serveJobs).
 */
serveJobs(async (job, store, progress, threads) => {
  if (job.kind !== 'rebuild') return runAuditWork(job.kind as AuditJobKind, store, job.params, progress, { whatIf: { threads: job.threads, store: job.store, onThreads: threads } });
  const started = Date.now();
  const head = store.kind === 'sqlite' ? Number((await store.headPosition()) ?? 0n) : undefined;
  const { rebuildInto } = require('@ledger/projections/processor/rebuild-into') as typeof import('@ledger/projections/processor/rebuild-into');
  return { ...(await rebuildInto(store, job.params.file!, (n) => progress(n, head), { threads: job.threads, onThreads: threads })), seconds: (Date.now() - started) / 1000 };
});
