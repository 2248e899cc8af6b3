import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore, verifyLink, type RecordedEvent } from '@ledger/event-store';
import { Ledger } from './ledger';
import { toLedgerEvent } from './streams';
import { importRegistrationFile } from './registration-import';
import { StoreUnavailableError } from '@ledger/event-store';

/** Commands that race each other: in one process, and from two processes (two connections to one file). */

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';
const ctx = { actor: 'test' };

describe('concurrent commands', () => {
  let dir: string;
  let stores: SqliteEventStore[];
  let ledgers: Ledger[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-concurrency-'));
    const file = path.join(dir, 'ledger.sqlite');
    stores = [new SqliteEventStore(file), new SqliteEventStore(file)];
    ledgers = stores.map((s) => new Ledger(s, getRuleSet('baseline')));
    const [l] = ledgers;
    await l.registerUserRole({ userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01' }, ctx);
    await l.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
    await l.recordRegistration({ mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
    await l.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx);
    await l.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
    await l.placeCertificate(
      { deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'A1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' },
      ctx,
    );
  });
  afterEach(async () => {
    for (const s of stores) await s.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const events = async (stream: string) => {
    const out: RecordedEvent[] = [];
    for await (const e of stores[0].readStream(stream)) out.push(e);
    return out;
  };
  const chainHolds = (list: RecordedEvent[]) => {
    let prev: { hash: string; revision: bigint } | undefined;
    for (const e of list) {
      const broken = verifyLink(prev, e);
      if (broken) return broken;
      prev = { hash: e.metadata.$hash as string, revision: e.revision };
    }
    return undefined;
  };
  const renew = (counter: number, receivedAt: string) =>
    parseServiceRequest({
      requestId: `${NO_A}:${ESME}:${counter}`,
      srv: '6.15.1',
      remotePartyRole: 'NetworkOperator',
      certificates: [{ serial: `B${counter}`, issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }],
      receivedAt,
      format: 'json',
    });
  const read = (counter: number) => parseServiceRequest({ requestId: `${SUPPLIER}:${ESME}:${counter}`, srv: '4.1.1', receivedAt: `2024-03-01T00:00:${String(counter % 60).padStart(2, '0')}Z`, format: 'json' });

  it('copies of one RequestID sent through two processes at once: one decision written, every answer is it, the chain holds', async () => {
    // Each copy arrives at its own instant, so each process would decide it with its own evaluatedAt.
    const copies = Array.from({ length: 20 }, (_, i) => ledgers[i % 2].submit(renew(1, `2024-03-01T00:00:${String(i).padStart(2, '0')}Z`), ctx));
    const results = await Promise.all(copies);
    expect(results.filter((r) => r.written)).toHaveLength(1);
    const recorded = (await events(`device-${ESME}`)).filter((e) => e.type === 'ServiceRequestEvaluated');
    expect(recorded).toHaveLength(1);
    for (const r of results) expect(r.decision).toEqual(toLedgerEvent(recorded[0]).data);
    expect(chainHolds(await events(`device-${ESME}`))).toBeUndefined();
  });

  it('one registration imported by two processes at once is written once, and each says truthfully whether it wrote', async () => {
    const row = { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2024-01-01', recordId: 'R9' };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ledgers[i % 2].recordRegistration({ ...row, file: `copy-${i}.csv` }, ctx)));
    expect(results.filter((r) => r.written)).toHaveLength(1);
    const stream = await events(`meterpoint-${MPAN}`);
    expect(stream.filter((e) => (e.data as { source: { recordId: string } }).source.recordId === 'R9')).toHaveLength(1);
    expect(chainHolds(stream)).toBeUndefined();
  });

  it('200 requests to one device in one process are decided one at a time, in the order they arrived', async () => {
    const counters = Array.from({ length: 200 }, (_, i) => 1000 + i);
    const results = await Promise.all(counters.map((c) => ledgers[0].submit(read(c), ctx)));
    expect(results.every((r) => r.written)).toBe(true);
    const decided = (await events(`device-${ESME}`)).filter((e) => e.type === 'ServiceRequestEvaluated').map((e) => (toLedgerEvent(e).data as { request: { requestId: string } }).request.requestId);
    expect(decided).toEqual(counters.map((c) => `${SUPPLIER}:${ESME}:${c}`));
  });

  it('requests to one device from two processes at once are all decided, each on the state the one before it left', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => ledgers[i % 2].submit(i % 5 === 0 ? renew(2000 + i, '2024-03-02T00:00:00Z') : read(2000 + i), ctx)));
    expect(results.every((r) => r.written)).toBe(true);
    const stream = await events(`device-${ESME}`);
    const decisions = stream.filter((e) => e.type === 'ServiceRequestEvaluated');
    expect(decisions).toHaveLength(100);
    for (const e of decisions) expect((toLedgerEvent(e).data as { revisionsRead: Record<string, string> }).revisionsRead[`device-${ESME}`]).toBe((e.revision - 1n).toString());
    expect(chainHolds(stream)).toBeUndefined();
  });

  it('an imported file is recorded many lines at a time, yet each meter point in the file\'s order (a correction later in the file wins)', async () => {
    const header = 'mpxn,responsibility,party_user_id,effective_from,record_id';
    const lines = [header];
    // 150 lines for one MPAN: changes of supplier, each effective day restated later in the file by a correction.
    for (let d = 1; d <= 50; d++) lines.push(`${MPAN},supplier,${SUPPLIER},2025-01-${String((d % 28) + 1).padStart(2, '0')}T${String(d % 24).padStart(2, '0')}:00:00Z,A${d}`);
    for (let d = 1; d <= 50; d++) lines.push(`${MPAN},supplier,${NO_A},2025-01-${String((d % 28) + 1).padStart(2, '0')}T${String(d % 24).padStart(2, '0')}:00:00Z,B${d}`);
    for (let d = 1; d <= 50; d++) lines.push(`${MPAN},supplier,${SUPPLIER},2025-01-${String((d % 28) + 1).padStart(2, '0')}T${String(d % 24).padStart(2, '0')}:00:00Z,C${d}`);
    const report = await importRegistrationFile(ledgers[0], lines.join('\n'), 'corrections.csv', ctx);
    expect(report).toMatchObject({ written: 150, rejected: 0 });
    const recordIds = (await events(`meterpoint-${MPAN}`)).map((e) => (e.data as { source: { recordId: string } }).source.recordId).filter((r) => /^[ABC]/.test(r));
    expect(recordIds).toEqual(lines.slice(1).map((l) => l.split(',')[4]));
  });

  it('an import whose store fails part way answers the store\'s error, once, and leaves no promise unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const lines = ['mpxn,responsibility,party_user_id,effective_from,record_id'];
      for (let i = 0; i < 300; i++) lines.push(`${MPAN},supplier,${SUPPLIER},2026-01-01T00:00:00Z,F${i}`);
      const importing = importRegistrationFile(ledgers[0], lines.join('\n'), 'failing.csv', ctx);
      await new Promise((r) => setImmediate(r));
      await stores[0].dispose();
      await expect(importing).rejects.toBeInstanceOf(StoreUnavailableError);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
