import type { AuditJobQueuedV1, AuditJobRecordedV1, AuditJobStartedV1, LedgerEvent } from '../events';
import { DomainError } from '../identifiers';
import type { Decider } from './decider';
import { checkResent } from './resent';

/** Record an audit job that ended (a verification, a digest, a what-if): who asked, what it covered, what it found. */
export interface RecordAuditJob {
  kind: 'RecordAuditJob';
  job: Omit<AuditJobRecordedV1, 'schemaVersion'>;
}

/** Record an audit job's start (since 2026-11-27), before it runs: a job whose API stops before it ends leaves this trace. */
export interface RecordAuditJobStart {
  kind: 'RecordAuditJobStart';
  start: Omit<AuditJobStartedV1, 'schemaVersion'>;
}

/** Record an audit job's acceptance into the queue (since 2026-11-27, fourteenth session), before it is answered `202 queued`: a job whose API stops while it waits leaves this trace. */
export interface RecordAuditJobQueued {
  kind: 'RecordAuditJobQueued';
  queued: Omit<AuditJobQueuedV1, 'schemaVersion'>;
}

/** An audit job's stream (`auditjob-<job id>`): whether its start is recorded, and the job as recorded when it ended, or null before. */
export interface AuditJobState {
  jobId: string;
  started: boolean;
  recorded: AuditJobRecordedV1 | null;
}

const evolve = (state: AuditJobState, event: LedgerEvent): AuditJobState => {
  if (event.type === 'AuditJobRecorded') return { ...state, recorded: event.data };
  if (event.type === 'AuditJobStarted') return { ...state, started: true };
  return state;
};

const initialState = (jobId: string): AuditJobState => ({ jobId, started: false, recorded: null });

/**
 * A job's start: the first event of its stream (jobs recorded before 2026-11-27 have none), or the
 * second, after its acceptance; its end after it. A job whose end is recorded already does not
 * start (since the fourteenth session of 2026-11-27): one accepted by an API that was then paused
 * past its lease, which another API recorded interrupted, never started, would otherwise run after
 * a record saying it never started.
 */
export const auditJobStartDecider: Decider<RecordAuditJobStart, AuditJobState, { type: 'AuditJobStarted'; data: AuditJobStartedV1 }> = {
  initialState,
  evolve,
  decide: (c, state) => {
    if (state.recorded) throw new DomainError('jobId', `audit job ${c.start.jobId} has its end recorded already (${state.recorded.state}): it does not start`);
    return [{ type: 'AuditJobStarted', data: { schemaVersion: 1, ...c.start } }];
  },
};

/** A queued job's acceptance: the first event of its stream, its start and its end after it; after either it is refused. */
export const auditJobQueueDecider: Decider<RecordAuditJobQueued, AuditJobState, { type: 'AuditJobQueued'; data: AuditJobQueuedV1 }> = {
  initialState,
  evolve,
  decide: (c, state) => {
    if (state.started || state.recorded) throw new DomainError('jobId', `audit job ${c.queued.jobId} has its ${state.recorded ? 'end' : 'start'} recorded already: it is not accepted again`);
    return [{ type: 'AuditJobQueued', data: { schemaVersion: 1, ...c.queued } }];
  },
};

/**
 * A job ends once: its record is the stream's last event. The decider records what it is told,
 * except an end saying it never started (`startedAt` null) after its start is recorded (since the
 * fourteenth session of 2026-11-27: a sweep that listed a queued job, then recorded it while the
 * API that queued it, resumed from a pause, started it, would otherwise write a false record). A
 * second recording of the same job id writes nothing because its event id is named by the job id
 * (libs/ledger/src/commands/audit-job.ts, and the handler's idempotency by event id), and is
 * answered "recorded before" only when it is what was recorded (checkAuditJobResent).
 */
export const auditJobDecider: Decider<RecordAuditJob, AuditJobState, { type: 'AuditJobRecorded'; data: AuditJobRecordedV1 }> = {
  initialState,
  evolve,
  decide: (c, state) => {
    if (state.started && c.job.startedAt === null) throw new DomainError('startedAt', `audit job ${c.job.jobId} has its start recorded: its end cannot say it never started (startedAt null)`);
    return [{ type: 'AuditJobRecorded', data: { schemaVersion: 1, ...c.job } }];
  },
};

/**
 * A job's end sent again, found recorded under its name: a retry only when it is the end recorded;
 * another end (its real end after an `interrupted` recorded for it, say) is refused
 * (FactReusedError naming `jobId`), and the first record kept. Until the review of 2026-11-27
 * another end was answered "recorded before" as if it were the same.
 */
export function checkAuditJobResent(c: RecordAuditJob, recorded: AuditJobRecordedV1): void {
  checkResent('jobId', `the end of audit job ${c.job.jobId}`, recorded, { schemaVersion: 1, ...c.job });
}

/**
 * A job's start (AuditJobStarted) or acceptance (AuditJobQueued) sent again, found recorded under
 * its name: a retry only when it is what was recorded; another (other parameters, instants or
 * instance) is refused (FactReusedError naming `jobId`), the first kept. Until the fourteenth
 * session of 2026-11-27 a start sent again with other content was answered "recorded before".
 */
export function checkAuditJobStartResent(c: RecordAuditJobStart | RecordAuditJobQueued, recorded: AuditJobStartedV1 | AuditJobQueuedV1): void {
  if (c.kind === 'RecordAuditJobStart') checkResent('jobId', `the start of audit job ${c.start.jobId}`, recorded, { schemaVersion: 1, ...c.start });
  else checkResent('jobId', `the acceptance of audit job ${c.queued.jobId}`, recorded, { schemaVersion: 1, ...c.queued });
}
