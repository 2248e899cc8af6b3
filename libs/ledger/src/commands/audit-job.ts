import { auditJobDecider, auditJobQueueDecider, auditJobStartDecider, auditJobStream, checkAuditJobResent, checkAuditJobStartResent, type AuditJobQueuedV1, type AuditJobRecordedV1, type AuditJobStartedV1, type AuditJobState, type RecordAuditJob, type RecordAuditJobQueued, type RecordAuditJobStart } from '@ledger/domain';
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

/** An audit job's start, after its acceptance if it was queued; idempotent by job id, another start for it refused. */
export const recordAuditJobStart: CommandWiring<RecordAuditJobStart, AuditJobState> = {
  stream: (c) => ({ name: auditJobStream(c.start.jobId), id: c.start.jobId }),
  fold: auditJobStartDecider,
  read: writtenState,
  decide: (c, state) => auditJobStartDecider.decide(c, state),
  eventName: (c) => `auditjob-start:${c.start.jobId}`,
  resent: (c, recorded) => checkAuditJobStartResent(c, recorded.data as AuditJobStartedV1),
};

/** A queued audit job's acceptance, the first event of its stream; idempotent by job id, another acceptance for it refused. */
export const recordAuditJobQueued: CommandWiring<RecordAuditJobQueued, AuditJobState> = {
  stream: (c) => ({ name: auditJobStream(c.queued.jobId), id: c.queued.jobId }),
  fold: auditJobQueueDecider,
  read: writtenState,
  decide: (c, state) => auditJobQueueDecider.decide(c, state),
  eventName: (c) => `auditjob-queued:${c.queued.jobId}`,
  resent: (c, recorded) => checkAuditJobStartResent(c, recorded.data as AuditJobQueuedV1),
};
