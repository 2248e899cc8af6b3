import { serveJobs } from './job-thread';
import { runAuditWork, type AuditJobKind } from './work';

/** The audit library's job worker: the audit kinds, one job after another (see serveJobs). */
serveJobs((job, store, progress, threads) => runAuditWork(job.kind as AuditJobKind, store, job.params, progress, { whatIf: { threads: job.threads, store: job.store, onThreads: threads } }));
