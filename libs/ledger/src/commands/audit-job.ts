import { auditJobDecider, auditJobQueueDecider, auditJobStartDecider, auditJobStream, checkAuditJobResent, type AuditJobRecordedV1, type AuditJobState, type RecordAuditJob, type RecordAuditJobQueued, type RecordAuditJobStart } from '@ledger/domain';
import { writtenState, type CommandWiring } from './handler';

/** An audit job that ended, in a stream of its own; idempotent by job id, another end for it refused. */
export const recordAuditJob: CommandWiring<RecordAuditJob, AuditJobState> = {
  stream: (c) => ({ name: auditJobStream(c.job.jobId), id: c.job.jobId }),
  fold: auditJobDecider,
  read: writtenState,
  decide: (c, state) => auditJobDecider.decide(c, state),
  eventName: (c) => `auditjob:${c.job.jobId}`,
  resent: (c, recorded) => checkAuditJobResent(c, recorded.data as AuditJobRecordedV1),
};

/** An audit job's start, the first event of its stream; idempotent by job id. */
export const recordAuditJobStart: CommandWiring<RecordAuditJobStart, AuditJobState> = {
  stream: (c) => ({ name: auditJobStream(c.start.jobId), id: c.start.jobId }),
  fold: auditJobStartDecider,
  read: writtenState,
  decide: (c, state) => auditJobStartDecider.decide(c, state),
  eventName: (c) => `auditjob-start:${c.start.jobId}`,
};

/** A queued audit job's acceptance, the first event of its stream; idempotent by job id. */
export const recordAuditJobQueued: CommandWiring<RecordAuditJobQueued, AuditJobState> = {
  stream: (c) => ({ name: auditJobStream(c.queued.jobId), id: c.queued.jobId }),
  fold: auditJobQueueDecider,
  read: writtenState,
  decide: (c, state) => auditJobQueueDecider.decide(c, state),
  eventName: (c) => `auditjob-queued:${c.queued.jobId}`,
};
