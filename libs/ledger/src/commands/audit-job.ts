import { auditJobDecider, auditJobStream, type AuditJobState, type RecordAuditJob } from '@ledger/domain';
import { writtenState, type CommandWiring } from './handler';

/** An audit job that ended, in a stream of its own; idempotent by job id. */
export const recordAuditJob: CommandWiring<RecordAuditJob, AuditJobState> = {
  stream: (c) => ({ name: auditJobStream(c.job.jobId), id: c.job.jobId }),
  fold: auditJobDecider,
  read: writtenState,
  decide: (c, state) => auditJobDecider.decide(c, state),
  eventName: (c) => `auditjob:${c.job.jobId}`,
};
