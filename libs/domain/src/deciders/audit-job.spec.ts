import { decide } from '../testing/decider-table';
import { foldStream } from './decider';
import { auditJobDecider, type RecordAuditJob } from './audit-job';

const job: RecordAuditJob['job'] = {
  jobId: 'job-1',
  kind: 'verify',
  state: 'succeeded',
  requestedBy: 'api:auditor',
  requestedAt: '2024-03-01T00:00:00.000Z',
  startedAt: '2024-03-01T00:00:00.500Z',
  endedAt: '2024-03-01T00:00:01.000Z',
  positionThrough: '12',
  params: {},
  findings: { ok: true, events: 12 },
  error: null,
};

describe('the audit job decider: a job that ended, in a stream of its own', () => {
  it('given a job not yet recorded, when it is recorded, then its record is the event, as the job said it', () => {
    expect(decide(auditJobDecider, 'job-1', [], { kind: 'RecordAuditJob', job })).toEqual({ then: [{ type: 'AuditJobRecorded', data: { schemaVersion: 1, ...job } }] });
  });

  it("a job's stream holds nothing before it is recorded, and its record after", () => {
    expect(auditJobDecider.initialState('job-1')).toEqual({ jobId: 'job-1', recorded: null });
    const [event] = auditJobDecider.decide({ kind: 'RecordAuditJob', job }, auditJobDecider.initialState('job-1'));
    expect(foldStream(auditJobDecider, 'job-1', [event])).toEqual({ jobId: 'job-1', recorded: { schemaVersion: 1, ...job } });
  });
});
