import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { auditJobStream, getRuleSet, parseServiceRequest, type ServiceRequestInput } from '@ledger/domain';
import { SqliteEventStore, verifyLink, type RecordedEvent } from '@ledger/event-store';
import { Ledger } from './ledger';
import { toLedgerEvent } from './streams';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from './testing/one-esme';

const ctx = { actor: 'test' };

describe('Ledger command handlers', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-handlers-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_A, ctx);
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const read = async (stream: string) => {
    const out: RecordedEvent[] = [];
    for await (const e of store.readStream(stream)) out.push(e);
    return out;
  };
  const req = (counter: number, extra: Partial<ServiceRequestInput> = {}) =>
    parseServiceRequest({ requestId: `${NO_A}:${ESME}:${counter}`, srv: '4.1.1', receivedAt: '2024-03-01T00:00:00Z', format: 'json', ...extra });

  it('records a decision on the device stream, and a resubmitted RequestID returns it without writing', async () => {
    const first = await ledger.submit(req(1), ctx);
    expect(first).toMatchObject({ written: true, decision: { outcome: 'accepted', responseCode: 'I0' } });
    const again = await ledger.submit(req(1), ctx);
    expect(again).toEqual({ ...first, written: false });
    expect((await read(`device-${ESME}`)).filter((e) => e.type === 'ServiceRequestEvaluated')).toHaveLength(1);
  });

  it('an accepted 6.15.1 appends the decision and its placements together, chained', async () => {
    const certificates = [{ serial: 'C1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }];
    const r = await ledger.submit(req(2, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), ctx);
    expect(r.placed.map((p) => p.slot)).toEqual(['networkOperator.critical']);
    const events = await read(`device-${ESME}`);
    expect(events.map((e) => e.type)).toEqual(['DeviceInventoryChanged', 'CertificatePlaced', 'ServiceRequestEvaluated', 'CertificatePlaced']);
    expect(events[3].metadata).toMatchObject({ $correlationId: events[2].metadata.$correlationId, actor: 'test' });
    let prev: { hash: string; revision: bigint } | undefined;
    for (const e of events) {
      expect(verifyLink(prev, e)).toBeUndefined();
      prev = { hash: e.metadata.$hash as string, revision: e.revision };
    }
    expect((await ledger.submit(req(2, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), ctx)).placed).toEqual(r.placed);
  });

  it("a RequestID sent again is answered from where its decision is: its device's stream is not read from the start", async () => {
    const certificates = [{ serial: 'C2', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }];
    const renewal = await ledger.submit(req(1, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), ctx);
    for (let i = 2; i <= 60; i++) await ledger.submit(req(i), ctx);
    // Counting what the stream reads deliver from here on, on a ledger of its own (a new process: nothing cached).
    let delivered = 0;
    const reads: unknown[] = [];
    const counting = Object.create(store) as SqliteEventStore;
    counting.readStream = async function* (stream, options) {
      reads.push(options);
      for await (const e of store.readStream(stream, options)) (delivered++, yield e);
    };
    // What was committed since a look, asked of the store itself: one connection, one read snapshot's state.
    counting.changesSince = (since, maxEvents) => store.changesSince(since, maxEvents);
    const again = new Ledger(counting, getRuleSet('baseline'));
    const cold = await again.submit(req(1, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), ctx);
    expect(cold).toEqual({ ...renewal, written: false });
    delivered = 0;
    reads.length = 0;
    expect(await again.submit(req(1, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), ctx)).toEqual({ ...renewal, written: false });
    // The decision and its placement, asked for as such (the store fetches no more): not the 60 after them.
    expect(delivered).toBe(2);
    expect(reads).toContainEqual({ fromRevision: expect.any(BigInt), maxCount: 2 });
  });

  it('a RequestID sent again gets its own placements back, even when the next command on the device shared its correlation id', async () => {
    const shared = { actor: 'test', correlationId: 'batch-7' };
    const certificates = [{ serial: 'C3', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }];
    const renewal = await ledger.submit(req(1, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), shared);
    await ledger.placeCertificate(
      { deviceId: ESME, slot: 'networkOperator.nonCritical', certificate: { serial: 'C9', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'keyAgreement' }, via: { kind: 'operatorCorrection', reference: 'OPS-9' }, placedAt: '2024-03-02' },
      shared,
    );
    const again = await new Ledger(store, getRuleSet('baseline')).submit(req(1, { srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates }), shared);
    expect(again).toEqual({ ...renewal, written: false });
  });

  it('a held stream that an append finds behind its head is read again before the retry, even where the look saw nothing move', async () => {
    await ledger.submit(req(200), ctx); // the device's stream held by this ledger's cache
    // Another connection moves it, and the look is blind to it (as to a log rewritten at reused positions): only the append's refusal tells.
    const other = new SqliteEventStore(path.join(dir, 'ledger.sqlite'), { writer: 'inline' });
    try {
      await new Ledger(other, getRuleSet('baseline')).submit(req(201), ctx);
    } finally {
      await other.dispose();
    }
    const look = store.changesSince.bind(store);
    const blind = jest.spyOn(store, 'changesSince').mockImplementation((since, maxEvents) => {
      const c = look(since, maxEvents);
      return c && { mark: c.mark, streams: new Map() };
    });
    try {
      // until the final review of 2026-11-27 no spec held this: without it, every retry appended at the stale revision (StreamContentionError)
      expect(await ledger.submit(req(202), ctx)).toMatchObject({ written: true });
    } finally {
      blind.mockRestore();
    }
  });

  it('20 concurrent submissions on one device give one decision per RequestID, at gapless revisions', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.submit(req(100 + i), ctx)));
    expect(results.every((r) => r.written)).toBe(true);
    const decisions = (await read(`device-${ESME}`)).filter((e) => e.type === 'ServiceRequestEvaluated');
    expect(new Set(decisions.map((e) => (toLedgerEvent(e).data as { request: { requestId: string } }).request.requestId)).size).toBe(20);
  });

  it('re-recording the same registration record or role changes nothing', async () => {
    const again = await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
    expect(again.written).toBe(false);
    expect((await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx)).written).toBe(false);
    expect(await read(`meterpoint-${MPAN}`)).toHaveLength(1);
  });

  it('an audit job recorded again (same job id) writes nothing: the same record is answered as the first, another end is refused naming jobId (until the review of 2026-11-27 it was answered as the first)', async () => {
    const job = { jobId: 'job-1', kind: 'verify' as const, state: 'succeeded' as const, requestedBy: 'api:auditor', requestedAt: '2024-03-01T00:00:00.000Z', startedAt: null, endedAt: '2024-03-01T00:00:01.000Z', positionThrough: '12', params: {}, findings: { ok: true }, error: null };
    expect((await ledger.recordAuditJob(job, ctx)).written).toBe(true);
    expect((await ledger.recordAuditJob({ ...job }, ctx)).written).toBe(false);
    await expect(ledger.recordAuditJob({ ...job, endedAt: '2024-03-01T00:00:02.000Z', findings: { ok: false } }, ctx)).rejects.toThrow(/^jobId: the end of audit job job-1 was recorded before with other content \(it differs in endedAt, findings.ok\)/);
    const stored = await read(auditJobStream('job-1'));
    expect(stored.map((e) => toLedgerEvent(e).data)).toEqual([{ schemaVersion: 1, ...job }]);
  });

  it("an audit job's start or acceptance sent again (same job id) writes nothing: the same is answered as the first, another is refused naming jobId (until the fourteenth session of 2026-11-27 it was answered as the first)", async () => {
    const queued = { jobId: 'job-2', kind: 'verify', requestedBy: 'api:auditor', requestedAt: '2024-03-01T00:00:00.000Z', params: {}, instance: 'api-1' };
    const start = { ...queued, startedAt: '2024-03-01T00:00:00.500Z' };
    expect((await ledger.recordAuditJobQueued(queued, ctx)).written).toBe(true);
    expect((await ledger.recordAuditJobQueued({ ...queued }, ctx)).written).toBe(false);
    await expect(ledger.recordAuditJobQueued({ ...queued, params: { at: '3' } }, ctx)).rejects.toThrow(/^jobId: the acceptance of audit job job-2 was recorded before with other content \(it differs in params.at\)/);
    expect((await ledger.recordAuditJobStart(start, ctx)).written).toBe(true);
    expect((await ledger.recordAuditJobStart({ ...start }, ctx)).written).toBe(false);
    await expect(ledger.recordAuditJobStart({ ...start, startedAt: '2024-03-01T00:00:01.000Z', instance: 'api-2' }, ctx)).rejects.toThrow(/^jobId: the start of audit job job-2 was recorded before with other content \(it differs in instance, startedAt\)/);
    const stored = await read(auditJobStream('job-2'));
    expect(stored.map((e) => toLedgerEvent(e).data)).toEqual([{ schemaVersion: 1, ...queued }, { schemaVersion: 1, ...start }]);
  });

  it('refuses bad input before writing, naming the field', async () => {
    const before = await store.headPosition();
    await expect(ledger.recordRegistration({ mpxn: '1412345678902', responsibility: 'supplier', partyUserId: NO_A, effectiveFrom: '2020-01-01', recordId: 'X' }, ctx)).rejects.toThrow(/^mpxn: .*check digit/);
    await expect(ledger.changeInventory({ deviceId: 'nope', deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', changedAt: '2020-01-01' }, ctx)).rejects.toThrow(/^deviceId: /);
    expect(await store.headPosition()).toBe(before);
  });
});
