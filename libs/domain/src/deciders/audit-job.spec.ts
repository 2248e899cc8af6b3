import { decide } from '../testing/decider-table';
import { FactReusedError } from './resent';
import { foldStream } from './decider';
import { auditJobDecider, auditJobQueueDecider, auditJobStartDecider, checkAuditJobResent, checkAuditJobStartResent, type RecordAuditJob, type RecordAuditJobStart } from './audit-job';

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
    expect(auditJobDecider.initialState('job-1')).toEqual({ jobId: 'job-1', started: false, recorded: null });
    const [event] = auditJobDecider.decide({ kind: 'RecordAuditJob', job }, auditJobDecider.initialState('job-1'));
    expect(foldStream(auditJobDecider, 'job-1', [event])).toEqual({ jobId: 'job-1', started: false, recorded: { schemaVersion: 1, ...job } });
  });
});

const start: RecordAuditJobStart['start'] = {
  jobId: 'job-1',
  kind: 'what-if',
  requestedBy: 'api:auditor',
  requestedAt: '2024-03-01T00:00:00.000Z',
  startedAt: '2024-03-01T00:00:00.500Z',
  params: { ruleSet: { id: 'ownership-only', version: 1 } },
  instance: 'api-1',
};

/** The same job's acceptance into the queue: its start without `startedAt`. */
const { startedAt: _startedAt, ...queued } = start;

describe("the audit job decider: a job's start, before its end", () => {
  it('given a job not yet started, when it starts, then its start is the event, as the job said it', () => {
    expect(decide(auditJobStartDecider, 'job-1', [], { kind: 'RecordAuditJobStart', start })).toEqual({ then: [{ type: 'AuditJobStarted', data: { schemaVersion: 1, ...start } }] });
  });

  it('given a job started, when it ends, then its record follows its start; the stream folds to the record', () => {
    const [started] = auditJobStartDecider.decide({ kind: 'RecordAuditJobStart', start }, auditJobStartDecider.initialState('job-1'));
    expect(foldStream(auditJobDecider, 'job-1', [started])).toEqual({ jobId: 'job-1', started: true, recorded: null });
    const interrupted = { ...job, kind: 'what-if', state: 'interrupted' as const, findings: {}, positionThrough: null, error: 'the API stopped before the job ended' };
    expect(decide(auditJobDecider, 'job-1', [started], { kind: 'RecordAuditJob', job: interrupted })).toEqual({ then: [{ type: 'AuditJobRecorded', data: { schemaVersion: 1, ...interrupted } }] });
  });
});

describe("the audit job decider: a queued job's acceptance, before its start and its end", () => {
  it('given a job accepted and then recorded interrupted (never started), when it starts, then it is refused naming jobId: a start after its end would make that record false', () => {
    const [accepted] = auditJobQueueDecider.decide({ kind: 'RecordAuditJobQueued', queued }, auditJobQueueDecider.initialState('job-1'));
    const interrupted = { schemaVersion: 1 as const, ...job, kind: 'what-if', state: 'interrupted' as const, startedAt: null, findings: {}, positionThrough: null, error: 'no end was recorded, and it never started' };
    expect(decide(auditJobStartDecider, 'job-1', [accepted, { type: 'AuditJobRecorded', data: interrupted }], { kind: 'RecordAuditJobStart', start })).toEqual({
      refused: 'jobId: audit job job-1 has its end recorded already (interrupted): it does not start',
    });
  });

  it('given a job not yet accepted, when it is queued, then its acceptance is the event, as the job said it (no start)', () => {
    expect(decide(auditJobQueueDecider, 'job-1', [], { kind: 'RecordAuditJobQueued', queued })).toEqual({ then: [{ type: 'AuditJobQueued', data: { schemaVersion: 1, ...queued } }] });
  });

  it.each`
    given        | history                                                            | refused
    ${'started'} | ${() => [{ type: 'AuditJobStarted', data: { schemaVersion: 1, ...start } }]} | ${'jobId: audit job job-1 has its start recorded already: it is not accepted again'}
    ${'ended'}   | ${() => [{ type: 'AuditJobRecorded', data: { schemaVersion: 1, ...job } }]}  | ${'jobId: audit job job-1 has its end recorded already: it is not accepted again'}
  `('given a job $given, when it is accepted into the queue, then it is refused naming jobId: an acceptance is the first event of its stream', ({ history, refused }) => {
    expect(decide(auditJobQueueDecider, 'job-1', history(), { kind: 'RecordAuditJobQueued', queued })).toEqual({ refused });
  });

  it('given a job accepted and then started, when an end saying it never started (startedAt null) is recorded, then it is refused naming startedAt: its start is recorded', () => {
    const [accepted] = auditJobQueueDecider.decide({ kind: 'RecordAuditJobQueued', queued }, auditJobQueueDecider.initialState('job-1'));
    const [started] = auditJobStartDecider.decide({ kind: 'RecordAuditJobStart', start }, foldStream(auditJobStartDecider, 'job-1', [accepted]));
    const neverStarted = { ...job, kind: 'what-if', state: 'interrupted' as const, startedAt: null, findings: {}, positionThrough: null, error: 'no end was recorded, and it never started' };
    expect(decide(auditJobDecider, 'job-1', [accepted, started], { kind: 'RecordAuditJob', job: neverStarted })).toEqual({
      refused: 'startedAt: audit job job-1 has its start recorded: its end cannot say it never started (startedAt null)',
    });
  });

  it('given a job accepted and then started, when it is recorded interrupted with its start, then its record follows its start', () => {
    const [accepted] = auditJobQueueDecider.decide({ kind: 'RecordAuditJobQueued', queued }, auditJobQueueDecider.initialState('job-1'));
    const [started] = auditJobStartDecider.decide({ kind: 'RecordAuditJobStart', start }, foldStream(auditJobStartDecider, 'job-1', [accepted]));
    const interrupted = { ...job, kind: 'what-if', state: 'interrupted' as const, startedAt: start.startedAt, findings: {}, positionThrough: null, error: 'the API stopped before the job ended' };
    expect(decide(auditJobDecider, 'job-1', [accepted, started], { kind: 'RecordAuditJob', job: interrupted })).toEqual({ then: [{ type: 'AuditJobRecorded', data: { schemaVersion: 1, ...interrupted } }] });
  });

  it('given a job accepted and never started, when it is recorded interrupted, then its record follows its acceptance, no start', () => {
    const [accepted] = auditJobQueueDecider.decide({ kind: 'RecordAuditJobQueued', queued }, auditJobQueueDecider.initialState('job-1'));
    expect(foldStream(auditJobDecider, 'job-1', [accepted])).toEqual({ jobId: 'job-1', started: false, recorded: null });
    const interrupted = { ...job, kind: 'what-if', state: 'interrupted' as const, startedAt: null, findings: {}, positionThrough: null, error: 'no end was recorded, and it never started' };
    expect(decide(auditJobDecider, 'job-1', [accepted], { kind: 'RecordAuditJob', job: interrupted })).toEqual({ then: [{ type: 'AuditJobRecorded', data: { schemaVersion: 1, ...interrupted } }] });
  });
});

describe("the audit job decider: a job's end sent again", () => {
  const recorded = { schemaVersion: 1 as const, ...job, state: 'interrupted' as const, findings: {}, positionThrough: null, error: 'no end was recorded' };
  it('given its end recorded, when the same end is sent again, then it is a retry (nothing to refuse)', () => {
    expect(() => checkAuditJobResent({ kind: 'RecordAuditJob', job: { ...recorded } }, recorded)).not.toThrow();
  });

  it('given its end recorded as interrupted, when another end is sent (it succeeded), then it is refused naming jobId and what differs: the first record stands', () => {
    let refused: unknown;
    try {
      checkAuditJobResent({ kind: 'RecordAuditJob', job }, recorded);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(FactReusedError);
    expect(refused).toMatchObject({ field: 'jobId', differences: ['error', 'findings.events', 'findings.ok', 'positionThrough', 'state'] });
  });
});

describe("the audit job decider: a job's start or acceptance sent again", () => {
  it.each`
    sent                                                              | recorded                               | differences
    ${{ kind: 'RecordAuditJobStart', start }}                         | ${{ schemaVersion: 1, ...start }}      | ${[]}
    ${{ kind: 'RecordAuditJobStart', start: { ...start, params: {} } }} | ${{ schemaVersion: 1, ...start }}      | ${['params.ruleSet']}
    ${{ kind: 'RecordAuditJobQueued', queued }}                       | ${{ schemaVersion: 1, ...queued }}     | ${[]}
    ${{ kind: 'RecordAuditJobQueued', queued: { ...queued, instance: 'api-2' } }} | ${{ schemaVersion: 1, ...queued }} | ${['instance']}
  `('given it recorded, when $sent.kind is sent again differing in $differences, then it is a retry when nothing differs, else refused naming jobId', ({ sent, recorded, differences }) => {
    let refused: unknown;
    try {
      checkAuditJobStartResent(sent, recorded);
    } catch (err) {
      refused = err;
    }
    if (differences.length === 0) return expect(refused).toBeUndefined();
    expect(refused).toBeInstanceOf(FactReusedError);
    expect(refused).toMatchObject({ field: 'jobId', differences });
  });
});
