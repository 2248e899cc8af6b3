import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DomainError, getRuleSet, parseServiceRequest, type ServiceRequestEvaluatedV1, type ServiceRequestInput } from '@ledger/domain';
import { SqliteEventStore, StoreDamagedError } from '@ledger/event-store';
import { makeDamagedStore } from '@ledger/event-store/testing/damaged-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { differences, replayDecision } from './replay';
import { whatIf } from './what-if';
import { DigestPastHeadError, digestAt, verifyStore, type VerifyFinding } from './tamper';
import { runAuditWork } from './jobs/work';

/**
 * Replay comparison, the what-if filters and paging, and tamper checks at their edges, each on a
 * small store of its own: the stuck SMETS1 ESME (NO-B's certificate, NO-A registered).
 */

const NO_A = '90-B3-D5-1F-30-03-00-0A';
const NO_B = '90-B3-D5-1F-30-03-00-0B';
const NO_C = '90-B3-D5-1F-30-03-00-0C';
const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const ESME = '00-DB-12-34-56-78-90-01';
const ESME2 = '00-DB-12-34-56-78-90-02';
const MPAN = '1412345678901';
const ctx = { actor: 'test' };

describe('differences: where two JSON values differ, path by path', () => {
  it.each`
    recorded                           | replayed                           | paths
    ${{ a: 1, b: { c: 2 } }}           | ${{ a: 1, b: { c: 2 } }}           | ${[]}
    ${{ a: 1, b: { c: 2 } }}           | ${{ a: 1, b: { c: 3 } }}           | ${[['b.c', 2, 3]]}
    ${{ a: [1, { x: 'p' }] }}          | ${{ a: [1, { x: 'q' }] }}          | ${[['a.1.x', 'p', 'q']]}
    ${{ a: 1 }}                        | ${{ a: 1, extra: true }}           | ${[['extra', undefined, true]]}
    ${{ a: 1, gone: 0 }}               | ${{ a: 1 }}                        | ${[['gone', 0, undefined]]}
    ${'E4'}                            | ${'I0'}                            | ${[['(root)', 'E4', 'I0']]}
    ${{ a: null }}                     | ${{ a: { b: 1 } }}                 | ${[['a', null, { b: 1 }]]}
  `('$recorded vs $replayed: $paths', ({ recorded, replayed, paths }) => {
    expect(differences(recorded, replayed).map((d) => [d.path, d.recorded, d.replayed])).toEqual(paths);
  });
});

describe('replay and what-if on a small store', () => {
  let store: SqliteEventStore;
  let ledger: Ledger;
  const submit = (l: Ledger, input: Partial<ServiceRequestInput> & { requestId: string }) =>
    l.submit(parseServiceRequest({ srv: '4.1.1', receivedAt: '2024-03-01T00:00:00Z', format: 'json', ...input }), ctx);
  const replaceNo = (sender: string, counter: number, receivedAt = '2024-03-01T00:00:00Z', device = ESME) => ({
    requestId: `${sender}:${device}:${counter}`,
    srv: '6.15.1',
    remotePartyRole: 'NetworkOperator',
    certificates: [{ serial: `C${counter}`, issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }],
    receivedAt,
  });

  beforeEach(async () => {
    // In memory: these tests are about replay, not durability (and they run once per mutant).
    store = new SqliteEventStore(':memory:');
    ledger = new Ledger(store, getRuleSet('baseline'));
    for (const u of [NO_A, NO_B, NO_C]) await ledger.registerUserRole({ userId: u, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
    await ledger.registerUserRole({ userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01' }, ctx);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx);
    for (const d of [ESME, ESME2]) {
      await ledger.changeInventory({ deviceId: d, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
      await ledger.placeCertificate({ deviceId: d, slot: 'networkOperator.critical', certificate: { serial: 'B1', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' }, ctx);
    }
  });
  afterEach(async () => {
    await store.dispose();
  });

  it('replay under the recorded rule set compares everything, not only the response code', async () => {
    const { decision } = await submit(ledger, replaceNo(NO_B, 1));
    expect(await replayDecision(store, decision)).toMatchObject({ identical: true, differences: [], ruleSet: { id: 'baseline', version: 5 }, requestId: `${NO_B}:${ESME}:1` });
    const edits: Array<[string, (d: ServiceRequestEvaluatedV1) => ServiceRequestEvaluatedV1]> = [
      ['checks.3.reason', (d) => ({ ...d, checks: d.checks.map((c, i) => (i === 3 ? { ...c, reason: 'edited' } : c)) })],
      ['senderRole', (d) => ({ ...d, senderRole: 'GT' })],
      ['checks.3.evidence.registered.partyUserId', (d) => ({ ...d, checks: d.checks.map((c, i) => (i === 3 ? { ...c, evidence: { ...c.evidence, registered: { ...(c.evidence.registered as object), partyUserId: NO_C } } } : c)) })],
    ];
    for (const [pathChanged, edit] of edits) {
      const r = await replayDecision(store, edit(decision));
      expect({ pathChanged, identical: r.identical, paths: r.differences.map((d) => d.path) }).toEqual({ pathChanged, identical: false, paths: [pathChanged] });
    }
  });

  it('a copy of a decision whose request does not validate, where the store\'s own record does: the DomainError, the store not blamed, position given or not', async () => {
    const { decision } = await submit(ledger, replaceNo(NO_B, 1));
    let position: bigint | undefined;
    for await (const e of store.readAll()) if (e.type === 'ServiceRequestEvaluated') position = e.position;
    const edited = { ...decision, request: { ...decision.request, commandVariant: 9 } } as ServiceRequestEvaluatedV1;
    await expect(replayDecision(store, edited, undefined, position!.toString())).rejects.toThrow(new DomainError('commandVariant', "'9' is not a command variant (1-8)"));
    await expect(replayDecision(store, edited)).rejects.toBeInstanceOf(DomainError);
  });

  it('replay judges on the meter point the decision read first, as the what-if does (readsOf), however fast each stream folds', async () => {
    const { decision } = await submit(ledger, replaceNo(NO_B, 1)); // E4: NO-A registered on MPAN
    const mp = `meterpoint-${MPAN}`;
    expect(decision.revisionsRead[mp]).toBeDefined();
    // An edited record naming a second meter point after the real one, at no revision (its fold ends at once).
    const twice = { ...decision, revisionsRead: { ...decision.revisionsRead, 'meterpoint-1099999999999': null } };
    expect(await replayDecision(store, twice)).toMatchObject({ identical: true, differences: [], replayed: { responseCode: 'E4' } }); // judged on MPAN, as recorded
  });

  it('replay naming the recorded rule set itself compares everything too; another rule set compares only what was decided', async () => {
    const { decision } = await submit(ledger, replaceNo(NO_B, 1));
    const edited = { ...decision, senderRole: 'GT' };
    expect((await replayDecision(store, edited, getRuleSet('baseline'))).identical).toBe(false);
    const read = (await submit(ledger, { requestId: `${NO_A}:${ESME}:2` })).decision;
    const unchanged = await replayDecision(store, { ...read, senderRole: 'GT' }, getRuleSet('ownership-only'));
    expect(unchanged).toMatchObject({ identical: true, ruleSet: { id: 'ownership-only', version: 5 } });
    const flipped = await replayDecision(store, decision, getRuleSet('ownership-only'));
    expect(flipped.identical).toBe(false);
    expect(flipped.differences.map((d) => d.path)).toEqual(expect.arrayContaining(['outcome', 'responseCode', 'checks.3.outcome']));
    expect(flipped.differences.every((d) => /^(outcome|responseCode|checks)/.test(d.path))).toBe(true);
  });

  it('replay reads each stream as of the revision recorded, not as it is now', async () => {
    const { decision } = await submit(ledger, replaceNo(NO_A, 1));
    expect(decision.responseCode).toBe('E_CERT_OWNER');
    await ledger.placeCertificate({ deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'A9', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'operatorCorrection', reference: 'OPS-1' }, placedAt: '2024-02-01' }, ctx);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_B, effectiveFrom: '2020-01-01', recordId: 'R3' }, ctx);
    await ledger.registerUserRole({ userId: NO_A, role: 'ED', status: 'Suspended', effectiveFrom: '2024-01-01' }, ctx);
    expect(await replayDecision(store, decision)).toMatchObject({ identical: true });
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 1, unchanged: 1, notReproduced: 0 });
  });

  it('what-if filters on the time of receipt (both ends included), the SRV, the device and the user', async () => {
    await submit(ledger, replaceNo(NO_B, 1, '2024-01-01T00:00:00Z'));
    await submit(ledger, replaceNo(NO_B, 2, '2024-02-01T00:00:00Z'));
    await submit(ledger, replaceNo(NO_B, 3, '2024-03-01T00:00:00Z', ESME2));
    await submit(ledger, { requestId: `${NO_B}:${ESME}:4`, receivedAt: '2024-02-01T00:00:00Z' });
    await submit(ledger, replaceNo(NO_C, 5, '2024-02-01T00:00:00Z'));
    const judged = async (filter: Parameters<typeof whatIf>[2]) => {
      const r = await whatIf(store, getRuleSet('ownership-only'), filter);
      return [r.judged, r.changes.items.map((c) => c.requestId.split(':')[2]).join(',')];
    };
    expect(await judged({})).toEqual([5, '1,2,3,5']);
    expect(await judged({ from: '2024-02-01T00:00:00.000Z' })).toEqual([4, '2,3,5']);
    expect(await judged({ to: '2024-02-01T00:00:00.000Z' })).toEqual([4, '1,2,5']);
    expect(await judged({ from: '2024-01-01T00:00:00.001Z', to: '2024-02-29T00:00:00.000Z' })).toEqual([3, '2,5']);
    expect(await judged({ srv: '6.15.1' })).toEqual([4, '1,2,3,5']);
    expect(await judged({ deviceId: ESME2 })).toEqual([1, '3']);
    expect(await judged({ userId: NO_C })).toEqual([1, '5']);
    const r = await whatIf(store, getRuleSet('ownership-only'), { srv: '6.15.1' });
    expect(r.filter).toEqual({ srv: '6.15.1' });
  });

  it('what-if counts each way a decision changes, by SRV and by code, and pages the changes', async () => {
    await submit(ledger, replaceNo(NO_B, 1)); // baseline E4 -> ownership-only I0
    await submit(ledger, replaceNo(NO_C, 2)); // baseline E4 -> ownership-only E_CERT_OWNER (code only)
    await submit(ledger, { requestId: `${NO_A}:${ESME}:3` }); // a read: unchanged
    const repaired = await new Ledger(store, getRuleSet('ownership-only')).submit(parseServiceRequest({ ...replaceNo(NO_B, 4, '2024-03-02T00:00:00Z', ESME2), format: 'json' }), ctx); // accepted -> baseline E4
    expect(repaired.decision.responseCode).toBe('I0');
    const up = await whatIf(store, getRuleSet('ownership-only'));
    expect(up).toMatchObject({
      ruleSet: { id: 'ownership-only', version: 5 },
      judged: 4,
      unchanged: 2,
      changed: { rejectedToAccepted: 1, acceptedToRejected: 0, codeOnly: 1 },
      bySrv: { '6.15.1': { judged: 3, changed: 2 }, '4.1.1': { judged: 1, changed: 0 } },
      byCode: { 'E4 -> I0': 1, 'E4 -> E_CERT_OWNER': 1 },
      notReproduced: 0,
      changes: { total: 2, offset: 0 },
    });
    expect(up.changes.items).toEqual([
      { requestId: `${NO_B}:${ESME}:1`, srv: '6.15.1', recorded: { outcome: 'rejected', responseCode: 'E4' }, replayed: { outcome: 'accepted', responseCode: 'I0' } },
      { requestId: `${NO_C}:${ESME}:2`, srv: '6.15.1', recorded: { outcome: 'rejected', responseCode: 'E4' }, replayed: { outcome: 'rejected', responseCode: 'E_CERT_OWNER' } },
    ]);
    const down = await whatIf(store, getRuleSet('baseline'));
    expect(down).toMatchObject({ judged: 4, unchanged: 3, changed: { rejectedToAccepted: 0, acceptedToRejected: 1, codeOnly: 0 }, byCode: { 'I0 -> E4': 1 } });
    const page = async (offset: number, limit: number) => (await whatIf(store, getRuleSet('ownership-only'), {}, { offset, limit })).changes;
    expect(await page(1, 1)).toMatchObject({ total: 2, offset: 1, items: [{ requestId: `${NO_C}:${ESME}:2` }] });
    expect(await page(0, 1)).toMatchObject({ total: 2, items: [{ requestId: `${NO_B}:${ESME}:1` }] });
    expect((await page(2, 5)).items).toEqual([]);
    const asRecorded = await whatIf(store, undefined);
    expect(asRecorded).toMatchObject({ ruleSet: 'as recorded', judged: 4, unchanged: 4, notReproduced: 0 });
  });

  it('as recorded, a decision that does not reproduce is counted, even when its code is the same', async () => {
    const { decision } = await submit(ledger, replaceNo(NO_B, 1));
    // A decision written by another (older, or tampered) ledger: same code, another reason.
    const forged = { ...decision, request: { ...decision.request, requestId: `${NO_B}:${ESME}:9`, counter: '9' }, checks: decision.checks.map((c) => ({ ...c, reason: 'forged' })) };
    let head = 0n;
    for await (const e of store.readStream(`device-${ESME}`, { direction: 'backwards', maxCount: 1 })) head = e.revision;
    await store.appendToStream(`device-${ESME}`, [{ id: '00000000-0000-4000-8000-0000000000f0', type: 'ServiceRequestEvaluated', data: forged }], { expectedRevision: head });
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 2, unchanged: 2, notReproduced: 1 });
    expect(await whatIf(store, getRuleSet('baseline'))).toMatchObject({ judged: 2, notReproduced: 0 });
  });

  it('with room for one fold only, every stream is read back as needed and the counts are the same', async () => {
    for (let i = 1; i <= 4; i++) await submit(ledger, replaceNo(i % 2 ? NO_B : NO_A, i, '2024-03-01T00:00:00Z', i % 2 ? ESME : ESME2));
    await ledger.registerUserRole({ userId: NO_B, role: 'ED', status: 'Suspended', effectiveFrom: '2024-01-01' }, ctx);
    await submit(ledger, replaceNo(NO_B, 5));
    const roomy = await whatIf(store, getRuleSet('ownership-only'));
    expect(roomy.judged).toBe(5);
    expect(roomy.changes.items.map((c) => c.replayed.responseCode)).toEqual(['I0', 'I0']);
    expect(await whatIf(store, getRuleSet('ownership-only'), {}, {}, undefined, { maxFolds: 1 })).toEqual(roomy);
    // Room for a few: folds are moved to the young end only now and then, so some are dropped while in use; the counts stay.
    for (const room of [2, 3, 4]) expect(await whatIf(store, getRuleSet('ownership-only'), {}, {}, undefined, { maxFolds: room })).toEqual(roomy);
    expect(await whatIf(store, undefined, {}, {}, undefined, { maxFolds: 1 })).toMatchObject({ judged: 5, unchanged: 5, notReproduced: 0 });
    const progress: number[] = [];
    await whatIf(store, undefined, {}, {}, (n) => progress.push(n));
    expect(progress).toEqual([Number(await store.headPosition())]);
  });
});

describe('tamper evidence at its edges', () => {
  let dir: string;
  let file: string;
  const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-tamper-edges-'));
    file = path.join(dir, 'ledger.sqlite');
    const ledger = new Ledger(new SqliteEventStore(file), getRuleSet('baseline'));
    try {
      for (const u of [NO_A, NO_B]) {
        await ledger.registerUserRole({ userId: u, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
        await ledger.registerUserRole({ userId: u, role: 'GT', effectiveFrom: '2019-01-01' }, ctx);
        await ledger.registerUserRole({ userId: u, role: 'IS', effectiveFrom: '2019-01-01' }, ctx);
      }
    } finally {
      await ledger.store.dispose();
    }
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sql = (statement: string) => {
    const db = new Database(file);
    try {
      return db.prepare(statement).run().changes;
    } finally {
      db.close();
    }
  };
  const withStore = async <T>(fn: (s: SqliteEventStore) => Promise<T>) => {
    const s = new SqliteEventStore(file);
    try {
      return await fn(s);
    } finally {
      await s.dispose();
    }
  };

  it('an untouched store: every event and stream counted, progress reported at the end', async () => {
    const progress: number[] = [];
    expect(await withStore((s) => verifyStore(s, (n) => progress.push(n)))).toEqual({ ok: true, eventsChecked: 6, streamsChecked: 2, breaks: [], breakCount: 0, streamsBroken: 0, unreadable: [], unreadableCount: 0, missing: [], missingCount: 0 });
    expect(progress).toEqual([6]);
  });

  // The log holds user-NO_A's revisions 0-2 at positions 1-3, then user-NO_B's at 4-6.
  it.each`
    case                                                         | statement                                                                               | streams | missing
    ${'the last event of a stream, in the middle of the log'}    | ${`DELETE FROM events WHERE stream = 'user-${NO_A}' AND revision = 2`}                    | ${2}    | ${[{ from: '3', to: '3' }]}
    ${'a whole stream'}                                          | ${`DELETE FROM events WHERE stream = 'user-${NO_A}'`}                                     | ${1}    | ${[{ from: '1', to: '3' }]}
    ${'the last two events of a stream'}                         | ${`DELETE FROM events WHERE stream = 'user-${NO_A}' AND revision >= 1`}                   | ${2}    | ${[{ from: '2', to: '3' }]}
  `('$case deleted: no link breaks, and verify names the positions missing from the log (SQLite numbers its events without a gap)', async ({ statement, streams, missing }) => {
    sql(statement);
    const r = await withStore((s) => verifyStore(s));
    expect(r).toMatchObject({ ok: false, streamsChecked: streams, breaks: [], unreadable: [], missing });
  });

  it('each run of missing positions is named, beside the break an event deleted inside a stream makes', async () => {
    expect(sql(`DELETE FROM events WHERE position IN (3, 5)`)).toBe(2);
    const r = await withStore((s) => verifyStore(s));
    expect(r).toMatchObject({
      ok: false,
      breaks: [{ stream: `user-${NO_B}`, kind: 'revision-gap', revision: '2', position: '6', expectedRevision: '1' }],
      missing: [
        { from: '3', to: '3' },
        { from: '5', to: '5' },
      ],
    });
  });

  it("the log's last events deleted: verify names them missing, from the highest position the store's writers wrote (log_head), and the next append goes past them", async () => {
    const kept = await withStore((s) => digestAt(s));
    expect(sql(`DELETE FROM events WHERE position >= 5`)).toBe(2);
    // Until 2026-11-28 (seventeenth session) no gap showed them: verify said every link holds, and only a digest kept from before saw it.
    expect(await withStore((s) => verifyStore(s))).toMatchObject({ ok: false, eventsChecked: 4, breaks: [], missing: [{ from: '5', to: '6' }] });
    await expect(withStore((s) => digestAt(s, BigInt(kept.position)))).rejects.toThrow(/have been removed since/);
    // The next append goes past them (until 2026-11-28 it took position 5 again, and verify saw nothing).
    const next = await withStore((s) => new Ledger(s, getRuleSet('baseline')).registerUserRole({ userId: NO_A, role: 'ED', status: 'Suspended', effectiveFrom: '2019-01-01' }, ctx));
    expect(next.position).toBe('7');
    expect(await withStore((s) => verifyStore(s))).toMatchObject({ ok: false, breaks: [], missing: [{ from: '5', to: '6' }] });
  });

  it("the log's last events deleted, then an append while verify walks (the table's last then past them, no longer the log's end): still named missing, from the writers' head asked before the walk (until the seventeenth session's final read, such a verify said ok)", async () => {
    expect(sql(`DELETE FROM events WHERE position >= 5`)).toBe(2);
    const r = await withStore((s) => {
      const real = s.positionsMissingAtEnd!.bind(s);
      let walked = false;
      // A look once the walk is done (its last progress given) sees the log as an append made meanwhile leaves it: its last past the deleted two.
      jest.spyOn(s, 'positionsMissingAtEnd').mockImplementation(() => (walked ? undefined : real()));
      return verifyStore(s, () => void (walked = true), 4n);
    });
    expect(r).toMatchObject({ ok: false, eventsChecked: 4, missing: [{ from: '5', to: '6' }], missingCount: 1 });
  });

  it("the log's last events deleted and the writers' head (log_head) set back with them, as whoever can edit the file can: verify cannot see it, only a digest kept from before", async () => {
    const kept = await withStore((s) => digestAt(s));
    expect(sql(`DELETE FROM events WHERE position >= 5`)).toBe(2);
    expect(sql(`UPDATE log_head SET last = 4`)).toBe(1);
    expect(await withStore((s) => verifyStore(s))).toMatchObject({ ok: true, eventsChecked: 4, missing: [] });
    await expect(withStore((s) => digestAt(s, BigInt(kept.position)))).rejects.toThrow(/have been removed since/);
  });

  it('an event that cannot be read is named unreadable, not missing', async () => {
    expect(sql(`UPDATE events SET data = '{' WHERE position = 2`)).toBe(1);
    expect(await withStore((s) => verifyStore(s))).toMatchObject({ ok: false, unreadable: [expect.objectContaining({ position: '2' })], missing: [] });
  });

  it("an event whose revision was edited to no integer is named unreadable, with its revision as stored (until 2026-11-27 verify failed: 'Cannot convert abc to a BigInt')", async () => {
    expect(sql(`UPDATE events SET revision = 'abc' WHERE position = 2`)).toBe(1);
    expect(sql(`UPDATE events SET revision = 1.5 WHERE position = 3`)).toBe(1);
    const r = await withStore((s) => verifyStore(s));
    expect(r).toMatchObject({ ok: false, missing: [] });
    expect(r.unreadable.map(({ position, revision, reason }) => ({ position, revision, reason }))).toEqual([
      { position: '2', revision: "'abc'", reason: 'its stored revision is not an integer (text)' },
      { position: '3', revision: '1.5', reason: 'its stored revision is not an integer (a real number)' },
    ]);
  });

  it.each`
    case                                        | statement                                                                                                  | kind                    | revision | expectedRevision
    ${'the first event of a stream removed'}    | ${`DELETE FROM events WHERE stream = 'user-${NO_A}' AND revision = 0`}                                       | ${'revision-gap'}       | ${'1'}   | ${'0'}
    ${'an event type rewritten'}                | ${`UPDATE events SET type = 'DeviceInventoryChanged' WHERE stream = 'user-${NO_A}' AND revision = 1`}        | ${'hash-mismatch'}      | ${'1'}   | ${undefined}
    ${'an actor rewritten in the metadata'}     | ${`UPDATE events SET metadata = json_set(metadata, '$.actor', 'mallory') WHERE stream = 'user-${NO_A}' AND revision = 2`} | ${'hash-mismatch'} | ${'2'} | ${undefined}
    ${'a link pointed elsewhere'}               | ${`UPDATE events SET metadata = json_set(metadata, '$.$prevHash', '${'0'.repeat(64)}') WHERE stream = 'user-${NO_A}' AND revision = 1`} | ${'prev-hash-mismatch'} | ${'1'} | ${undefined}
    ${'a __proto__ key added to the data'}      | ${`UPDATE events SET data = json_set(data, '$.__proto__', json('{"status":"Suspended"}')) WHERE stream = 'user-${NO_A}' AND revision = 1`} | ${'hash-mismatch'} | ${'1'} | ${undefined}
    ${'a __proto__ key added to the metadata'}  | ${`UPDATE events SET metadata = json_set(metadata, '$.__proto__', json('{"actor":"mallory"}')) WHERE stream = 'user-${NO_A}' AND revision = 2`} | ${'hash-mismatch'} | ${'2'} | ${undefined}
    ${'a hash removed'}                         | ${`UPDATE events SET metadata = json_remove(metadata, '$.$hash') WHERE stream = 'user-${NO_A}' AND revision = 1`} | ${'missing-hash'} | ${'1'} | ${undefined}
  `('$case: one break, at that stream only, the other stream still checked', async ({ statement, kind, revision, expectedRevision }) => {
    expect(sql(statement)).toBe(1);
    const r = await withStore((s) => verifyStore(s));
    expect(r.ok).toBe(false);
    expect(r.breaks).toEqual([{ stream: `user-${NO_A}`, kind, revision, position: expect.stringMatching(/^\d+$/), ...(expectedRevision ? { expectedRevision } : {}) }]);
    expect(r.streamsChecked).toBe(2);
  });

  it.each`
    case                                               | statement                                                                                                         | where
    ${'a data key written again before the original'}  | ${`UPDATE events SET data = '{"role":"IS",' || substr(data, 2) WHERE stream = 'user-${NO_A}' AND revision = 0`}     | ${'data.role'}
    ${'a metadata key written again before it'}        | ${`UPDATE events SET metadata = '{"actor":"mallory",' || substr(metadata, 2) WHERE stream = 'user-${NO_A}' AND revision = 1`} | ${'metadata.actor'}
    ${'a nested key twice, one of them an escape'}     | ${`UPDATE events SET data = json_set(data, '$.x', json('[{"a":1},{"b":1,"\\u0062":2}]')) WHERE stream = 'user-${NO_A}' AND revision = 2`} | ${'data.x[1].b'}
  `('$case: verify names the event, where its link holds when the content as parsed is unchanged (and a digest kept before then still matches)', async ({ statement, where }) => {
    const kept = await withStore((s) => digestAt(s));
    expect(sql(statement)).toBe(1);
    const r = await withStore((s) => verifyStore(s));
    const edited = where === 'data.x[1].b' ? 'hash-mismatch' : undefined; // json_set changes the content as parsed too
    expect(r.ok).toBe(false);
    expect(r.breaks).toEqual(
      expect.arrayContaining([
        {
          stream: `user-${NO_A}`,
          kind: 'stored-text-mismatch',
          revision: expect.any(String),
          position: expect.stringMatching(/^\d+$/),
          reason: `its stored text gives key '${where}' twice in one object: the text is not the JSON of what it parses to (the ledger reads the last, SQLite's json_extract the first)`,
        },
      ]),
    );
    expect(r.breaks.filter((b) => b.kind !== 'stored-text-mismatch').map((b) => b.kind)).toEqual(edited ? [edited] : []);
    if (!edited) expect(await withStore((s) => digestAt(s))).toEqual(kept);
  });

  it.each`
    case                                          | statement
    ${'data stored as a BLOB of the same text'}     | ${`UPDATE events SET data = CAST(data AS BLOB) WHERE stream = 'user-${NO_A}' AND revision = 0`}
    ${'metadata stored as a BLOB of the same text'} | ${`UPDATE events SET metadata = CAST(metadata AS BLOB) WHERE stream = 'user-${NO_A}' AND revision = 1`}
  `('$case: the content read is the same, so no alarm (and no unexpected error)', async ({ statement }) => {
    const kept = await withStore((s) => digestAt(s));
    expect(sql(statement)).toBe(1);
    expect(await withStore((s) => verifyStore(s))).toMatchObject({ ok: true, breaks: [], unreadable: [] });
    expect(await withStore((s) => digestAt(s))).toEqual(kept);
  });

  it('data stored as a BLOB that is not UTF-8 text: a stored-text-mismatch naming it', async () => {
    expect(sql(`UPDATE events SET data = CAST('{"x":"' || x'ff' || '",' || substr(data, 2) AS BLOB) WHERE stream = 'user-${NO_A}' AND revision = 0`)).toBe(1);
    const r = await withStore((s) => verifyStore(s));
    expect(r.ok).toBe(false);
    expect(r.breaks).toEqual([
      { stream: `user-${NO_A}`, kind: 'stored-text-mismatch', revision: '0', position: expect.stringMatching(/^\d+$/), reason: 'its stored data is bytes that are not UTF-8 text (a BLOB): not the text the ledger wrote' },
      { stream: `user-${NO_A}`, kind: 'hash-mismatch', revision: '0', position: expect.stringMatching(/^\d+$/) },
    ]);
  });

  it('data and metadata stored as BLOBs that are not UTF-8 text: one stored-text-mismatch naming both', async () => {
    expect(sql(`UPDATE events SET data = CAST('{"x":"' || x'ff' || '",' || substr(data, 2) AS BLOB), metadata = CAST('{"x":"' || x'fe' || '",' || substr(metadata, 2) AS BLOB) WHERE stream = 'user-${NO_A}' AND revision = 0`)).toBe(1);
    const r = await withStore((s) => verifyStore(s));
    expect(r.breaks[0]).toEqual({ stream: `user-${NO_A}`, kind: 'stored-text-mismatch', revision: '0', position: expect.stringMatching(/^\d+$/), reason: 'its stored data and metadata are bytes that are not UTF-8 text (a BLOB): not the text the ledger wrote' });
  });

  it('two streams broken: the first break of each, once', async () => {
    sql(`UPDATE events SET data = json_set(data, '$.status', 'Suspended') WHERE stream = 'user-${NO_A}' AND revision = 0`);
    sql(`UPDATE events SET data = json_set(data, '$.status', 'Suspended') WHERE stream = 'user-${NO_B}' AND revision = 1`);
    const r = await withStore((s) => verifyStore(s));
    expect(r.breaks.map((b) => [b.stream, b.revision])).toEqual([
      [`user-${NO_A}`, '0'],
      [`user-${NO_B}`, '1'],
    ]);
    expect(r.eventsChecked).toBe(6);
  });

  it('a digest covers exactly the events at or before its position: the heads of every stream, sorted', async () => {
    const at3 = await withStore((s) => digestAt(s, 3n));
    const heads = new Map<string, string>();
    await withStore(async (s) => {
      for await (const e of s.readAll()) if (e.position <= 3n) heads.set(e.stream, `${e.revision}:${e.metadata.$hash}`);
    });
    const h = createHash('sha256');
    for (const stream of [...heads.keys()].sort()) h.update(`${stream}\n${heads.get(stream)}\n`);
    expect(at3).toEqual({ position: '3', streams: 1, events: 3, digest: h.digest('hex') });
    const head = await withStore((s) => digestAt(s));
    expect(head).toMatchObject({ position: '6', streams: 2, events: 6 });
    expect(head.digest).not.toBe(at3.digest);
    // an event after the position may change without changing the digest; one at it may not
    sql(`UPDATE events SET metadata = json_set(metadata, '$.$hash', 'x') WHERE position = 4`);
    expect(await withStore((s) => digestAt(s, 3n))).toEqual(at3);
    sql(`UPDATE events SET metadata = json_set(metadata, '$.$hash', 'x') WHERE position = 3`);
    expect((await withStore((s) => digestAt(s, 3n))).digest).not.toBe(at3.digest);
  });

  it('an empty store digests at position 0; an event without a chain is digested as such', async () => {
    const empty = new SqliteEventStore(path.join(dir, 'empty.sqlite'));
    try {
      expect(await digestAt(empty)).toMatchObject({ position: '0', streams: 0, events: 0, digest: createHash('sha256').digest('hex') });
      await empty.appendToStream('s', [{ id: id(1), type: 'T', data: {} }]);
      expect((await digestAt(empty)).digest).toBe(createHash('sha256').update('s\n0:-\n').digest('hex'));
    } finally {
      await empty.dispose();
    }
  });
});

describe('a verification of a store with many findings', () => {
  let dir: string;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists the first 20 breaks, unreadable events and missing runs in log order, and counts them all; every one is given to onFinding as it is met (until 2026-11-27, fifteenth session, every one was listed)', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-many-findings-'));
    const file = path.join(dir, 'ledger.sqlite');
    const made = new SqliteEventStore(file);
    await runDemo(new Ledger(made, getRuleSet('baseline')), { devices: 30, seed: 7 });
    await made.dispose();
    const db = new Database(file);
    db.prepare(`UPDATE events SET metadata = '{"actor":"mallory",' || substr(metadata, 2) WHERE position % 6 = 1 AND position > 1`).run(); // a key twice: a break each
    db.prepare(`UPDATE events SET data = '{' WHERE position % 6 = 3`).run(); // JSON that does not parse: unreadable
    db.prepare('DELETE FROM events WHERE position % 2 = 0').run(); // a run of one missing position each, and broken links
    db.close();
    const store = new SqliteEventStore(file);
    try {
      const met: VerifyFinding[] = [];
      const r = await runAuditWork('verify', store, {}, () => undefined, { onFinding: (f) => void met.push(f) });
      const each = <K extends 'break' | 'unreadable' | 'missing'>(k: K) => met.flatMap((f) => (k in f ? [(f as Record<K, unknown>)[k]] : []));
      expect(r.ok).toBe(false);
      expect({ breaks: r.breaks, unreadable: r.unreadable, missing: r.missing }).toEqual({ breaks: each('break').slice(0, 20), unreadable: each('unreadable').slice(0, 20), missing: each('missing').slice(0, 20) });
      expect({ breakCount: r.breakCount, unreadableCount: r.unreadableCount, missingCount: r.missingCount }).toEqual({ breakCount: each('break').length, unreadableCount: each('unreadable').length, missingCount: each('missing').length });
      expect(r.streamsBroken).toBe(new Set(each('break').map((b) => (b as { stream: string }).stream)).size);
      expect(Math.min(r.breakCount, r.unreadableCount, r.missingCount)).toBeGreaterThan(40);
      expect([r.breaks.length, r.unreadable.length, r.missing.length]).toEqual([20, 20, 20]);
      // In log order, as met: each finding's position (a missing run's first) at or after the one before.
      const at = met.map((f) => BigInt('missing' in f ? f.missing.from : 'break' in f ? f.break.position : f.unreadable.position));
      expect(at.every((p, i) => i === 0 || p >= at[i - 1])).toBe(true);
      // The walk without onFinding finds the same.
      const { position, ...report } = r;
      expect(await verifyStore(store, undefined, BigInt(position!))).toEqual(report);
    } finally {
      await store.dispose();
    }
  }, 60_000);

  it('waits for the promise onFinding gives back before it reads on: no finding of a later event is given while one of an earlier event is pending (a slow reader of ledger verify --all holds the walk back; until 2026-11-27, fifteenth session, the walk read on and the output piled up in memory)', async () => {
    const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite')); // the store the test above damaged
    try {
      // The position of the event at whose reading a finding is met: a missing run's, the event after it.
      const metAt = (f: VerifyFinding) => ('missing' in f ? BigInt(f.missing.to) + 1n : BigInt('break' in f ? f.break.position : f.unreadable.position));
      let pending = 0;
      let pendingAt: bigint | undefined;
      const given: VerifyFinding[] = [];
      const early: VerifyFinding[] = []; // given while a finding of an earlier event was still pending
      const r = await verifyStore(store, undefined, undefined, (f) => {
        if (pending > 0 && metAt(f) !== pendingAt) early.push(f);
        given.push(f);
        pending++;
        pendingAt = metAt(f);
        return new Promise((resolve) => setImmediate(() => resolve(void pending--))); // a reader that takes each line a turn of the event loop later
      });
      expect(given.length).toBe(r.breakCount + r.unreadableCount + r.missingCount);
      expect(given.length).toBeGreaterThan(120);
      expect(early).toEqual([]);
      expect(pending).toBe(0); // the last waited for too, before the report
      expect(r).toEqual(await verifyStore(store));
    } finally {
      await store.dispose();
    }
  }, 60_000);
});

describe('a verify job while the ledger writes', () => {
  it('checks the log through the position it reports and records, the head when it started: not events appended while it walks', async () => {
    const store = new SqliteEventStore(':memory:');
    try {
      const ledger = new Ledger(store, getRuleSet('baseline'));
      await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
      await ledger.registerUserRole({ userId: NO_B, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
      // A write lands between the job's reading of the head and its walk.
      const racing = new Proxy(store, {
        get(target, key) {
          if (key === 'headPosition')
            return async () => {
              const head = await target.headPosition();
              await ledger.registerUserRole({ userId: NO_C, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
              return head;
            };
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const r = await runAuditWork('verify', racing, {}, () => undefined);
      expect(r).toMatchObject({ ok: true, position: '2', eventsChecked: 2, streamsChecked: 2 });
      expect(await store.headPosition()).toBe(3n);
    } finally {
      await store.dispose();
    }
  });
});

describe('a what-if job while the ledger writes', () => {
  it('judges and counts the decisions through the position it reports, the head when it started, on one thread or two, a window reaching past it ending there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-what-if-job-'));
    const file = path.join(dir, 'ledger.sqlite');
    const store = new SqliteEventStore(file);
    try {
      const ledger = new Ledger(store, getRuleSet('baseline'));
      await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
      await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
      await ledger.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
      let counter = 0;
      const read = () => ledger.submit(parseServiceRequest({ requestId: `${NO_A}:${ESME}:${++counter}`, srv: '4.1.1', receivedAt: '2024-03-01T00:00:00.000Z', format: 'json' }), ctx);
      await read();
      for (const [threads, page] of [[1], [2], [1, { maxEvents: 1000 }], [2, { maxEvents: 1000 }]] as const) {
        const head = (await store.headPosition())!;
        const judged = counter;
        // A decision lands between the job's reading of the head and its pass over the log.
        let raced = false;
        const racing = new Proxy(store, {
          get(target, key) {
            if (key === 'headPosition')
              return async () => {
                const at = await target.headPosition();
                if (!raced) (raced = true), await read();
                return at;
              };
            const value = Reflect.get(target, key, target) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const whatIf = { threads, eventsPerThread: 1, store: { kind: 'sqlite' as const, path: file } };
        const r = await runAuditWork('what-if', racing, { ruleSet: { id: 'baseline', version: 3 }, page }, () => undefined, { whatIf });
        expect({ threads, page, r }).toMatchObject({ threads, page, r: { position: head.toString(), judged, unchanged: judged } });
        if (page) expect((r as { window: unknown }).window).toMatchObject({ lastPosition: head.toString(), nextPosition: null, head: head.toString() });
        expect(await store.headPosition()).toBeGreaterThan(head);
      }
    } finally {
      await store.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A verification's report that met damage (since 2026-11-28, seventeenth session; until then it threw it): `message`, and the last position read before it. */
const damagedReport = (message: string | RegExp | jest.AsymmetricMatcher, after: bigint | undefined) =>
  expect.objectContaining({ ok: false, damaged: expect.objectContaining({ message: typeof message === 'object' && 'source' in message ? expect.stringMatching(message) : message, after: after?.toString() ?? null }) });

describe('a store whose file has a damaged page', () => {
  it.each(['SQLITE_CORRUPT', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_NOTADB'])('SQLite\'s %s is damage, named with how far the log was read (until 2026-11-27 the extended codes were not)', (code) => {
    expect(StoreDamagedError.of(Object.assign(new Error('malformed'), { code }), 7n)).toEqual(expect.objectContaining({ after: 7n, message: expect.stringMatching(/^the store's file is damaged: the log could not be read past position 7 /) }));
  });

  it.each(['SQLITE_BUSY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN'])('SQLite\'s %s is not damage: the error as it was', (code) => {
    const err = Object.assign(new Error('x'), { code });
    expect(StoreDamagedError.of(err, 7n)).toBe(err);
  });

  it('verify and a digest fail saying the store is damaged and how far the log was read, not SQLite\'s message alone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file);
      const store = new SqliteEventStore(file);
      try {
        // until 2026-11-27: SQLite's "database disk image is malformed" alone (the CLI: "unexpected error")
        const damaged = /^the store's file is damaged: the log could not be read past position \d+ \(SQLite: database disk image is malformed\); sqlite3 <store> "PRAGMA integrity_check" names the damaged pages$/;
        const report = await verifyStore(store);
        expect(report).toEqual(damagedReport(damaged, BigInt(report.damaged!.checkedThrough!)));
        await expect(digestAt(store)).rejects.toThrow(damaged);
      } finally {
        await store.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("verify and a digest on a store whose table's interior page is damaged fail saying the store is damaged and what could not be read (until 2026-11-27 SQLite's error alone, raw: the CLI's 'unexpected error')", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { root: 'events' });
      const store = new SqliteEventStore(file);
      try {
        const damaged = new StoreDamagedError(undefined, 'database disk image is malformed', { what: "the log's head position could not be read" });
        await expect(verifyStore(store)).resolves.toEqual(damagedReport(damaged.message, undefined));
        await expect(verifyStore(store)).resolves.toMatchObject({ eventsChecked: 0, damaged: { checkedThrough: null } });
        await expect(digestAt(store)).rejects.toThrow(damaged);
      } finally {
        await store.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verify and a digest over a damaged cell SQLite steps over fail naming the event before it (until 2026-11-27 verify reported the next position missing, a false tamper alarm, and a digest was taken without it)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: 300, pointer: 4000 });
      const store = new SqliteEventStore(file);
      try {
        await expect(verifyStore(store)).resolves.toEqual(damagedReport(expect.stringContaining('past position 2100 '), 2100n));
        await expect(runAuditWork('verify', store, {}, () => undefined)).resolves.toEqual(damagedReport(expect.stringContaining('past position 2100 '), 2100n));
        await expect(digestAt(store)).rejects.toEqual(expect.objectContaining({ name: 'StoreDamagedError', after: 2100n }));
      } finally {
        await store.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("verify and a digest over a leaf of the table that lost a cell (SQLite gives no row for it, with no error; the table's index still holds it) fail naming the event before it, as over other damage, a row deleted past it or not (until 2026-11-27, sixteenth session, the lost cell was read past as a deletion: a position missing, a tamper finding)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: 100, lastCellLost: true }); // position 707 lost
      const db = new Database(file);
      db.prepare('DELETE FROM events WHERE position = 2000').run();
      db.close();
      const store = new SqliteEventStore(file);
      try {
        const damaged = "the store's file is damaged: the log could not be read past position 706 (SQLite's scan of the log stepped from position 706 to 708 with no error, but the store's index on (stream, revision) holds an event at position 707)";
        await expect(verifyStore(store)).resolves.toEqual(damagedReport(expect.stringContaining(damaged), 706n));
        await expect(runAuditWork('verify', store, {}, () => undefined)).resolves.toEqual(damagedReport(expect.stringContaining(damaged), 706n));
        await expect(digestAt(store)).rejects.toThrow(damaged);
      } finally {
        await store.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a cell the table lost at the log's end (no row after it, for a read to step over) fails verify saying the table and its index disagree; the same store with its last event deleted does not (until the sixteenth session's final read: every link holds through position 2999)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: -1, lastCellLost: true }); // position 3000 lost
      const store = new SqliteEventStore(file);
      try {
        await expect(verifyStore(store)).resolves.toEqual(
          damagedReport(
            expect.stringContaining(
              "the store's file is damaged: the log could not be read past position 2999 (the log's table holds 2999 events and its index on (stream, revision) 3000, or their positions differ, the index holding an event at position 3000 past the table's last, 2999: a cell lost from one of them with no error (disk damage, or a byte edit of the file; not a DELETE, which takes both))",
            ),
            2999n,
          ),
        );
        // As `ledger verify`, GET /audit/verify and a verify job run it: through the head at its start.
        await expect(runAuditWork('verify', store, {}, () => undefined)).resolves.toEqual(damagedReport(expect.stringContaining('past position 2999 '), 2999n));
        // A digest at the head (the table's last row, 2999) counts them too, and one kept at 3000 is not said removed (until 2026-11-28: a digest at 2999 as of the head, and "events removed").
        const lost = expect.objectContaining({ name: 'StoreDamagedError', after: 2999n, message: expect.stringContaining('the index holding an event at position 3000 past the table\'s last, 2999') });
        await expect(digestAt(store)).rejects.toEqual(lost);
        await expect(digestAt(store, 2999n)).rejects.toEqual(lost);
        await expect(digestAt(store, 3000n)).rejects.toEqual(lost);
        // Asked at the head as an event is appended: counted at the head its position was checked against (until 2026-11-28, seventeenth session, the head read again, then past it, and the digest taken, the lost cell not counted).
        const heads = jest.spyOn(store, 'headPosition').mockResolvedValueOnce(2999n).mockResolvedValueOnce(3001n);
        await expect(digestAt(store, 2999n)).rejects.toEqual(lost);
        heads.mockRestore();
        await expect(digestAt(store, 2000n)).resolves.toMatchObject({ position: '2000', events: 2000 }); // not at the head: the log through 2000 is whole
      } finally {
        await store.dispose();
      }
      const db = new Database(file);
      db.exec('REINDEX');
      db.prepare('DELETE FROM events WHERE position = 2999').run(); // a deletion takes the row and its index entry
      db.close();
      const deleted = new SqliteEventStore(file);
      try {
        // Its events carry no hashes (the damaged store's are not the ledger's): the one break of that kind, and no damage; 2999 and
        // 3000 (gone from the index too, with the REINDEX) named missing at the end, from the highest position the writers wrote
        // (log_head; until the seventeenth session's last change nothing was missing at the end: a deleted tail showed no gap).
        await expect(verifyStore(deleted)).resolves.toMatchObject({ eventsChecked: 2998, breakCount: 1, missing: [{ from: '2999', to: '3000' }], missingCount: 1 });
        await expect(digestAt(deleted)).resolves.toMatchObject({ position: '2998', events: 2998 });
        await expect(digestAt(deleted, 3000n)).rejects.toBeInstanceOf(DigestPastHeadError); // removed, as it was
      } finally {
        await deleted.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("verify that meets damage reports what it found before it (links broken, positions missing, events unreadable: findings and counts, the position it checked through) with the damage (until 2026-11-28 it threw the damage alone: an auditor of a store edited and later damaged saw only 'damaged')", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: 100, lastCellLost: true }); // position 707 lost
      const db = new Database(file);
      db.prepare('DELETE FROM events WHERE position = 100').run(); // edits: a row deleted, an event that no longer parses
      db.prepare("UPDATE events SET data = '{' WHERE position = 200").run();
      db.close();
      const store = new SqliteEventStore(file);
      try {
        const found: VerifyFinding[] = [];
        const report = await verifyStore(store, undefined, undefined, (f) => void found.push(f));
        // Its events carry no hashes (the damaged store's are not the ledger's): stream d's one break, at its first event.
        expect(report).toMatchObject({
          ok: false,
          eventsChecked: 704, // 1-706, but 100 (deleted) and 200 (unreadable)
          streamsChecked: 1,
          breakCount: 1,
          breaks: [{ stream: 'd', kind: 'missing-hash', position: '1' }],
          missingCount: 1,
          missing: [{ from: '100', to: '100' }],
          unreadableCount: 1,
          unreadable: [{ stream: 'd', position: '200' }],
          damaged: { after: '706', checkedThrough: '706', message: expect.stringMatching(/^the store's file is damaged: the log could not be read past position 706 \(SQLite's scan of the log stepped from position 706 to 708 /) },
        });
        expect(found).toEqual([{ break: report.breaks[0] }, { missing: report.missing[0] }, { unreadable: report.unreadable[0] }]);
        // As `ledger verify`, GET /audit/verify and a verify job run it: through the head at its start, which it names.
        await expect(runAuditWork('verify', store, {}, () => undefined)).resolves.toMatchObject({ ok: false, position: '3000', breakCount: 1, missingCount: 1, unreadableCount: 1, damaged: { after: '706', checkedThrough: '706' } });
      } finally {
        await store.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a cell the table lost past a verify's bound (events appended while it ran) is named where it is: the log through the bound checked, the damage past the event before the cell (until 2026-11-28, 'could not be read past' the bound, which was read whole)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: 300, lastCellLost: true }); // position 2107 lost
      const store = new SqliteEventStore(file);
      try {
        const damaged = "the store's file is damaged: the log could not be read past position 2106 (the log's table holds 2999 events and its index on (stream, revision) 3000, or their positions differ, the index holding an event at position 2107 the table does not: a cell lost from one of them with no error (disk damage, or a byte edit of the file; not a DELETE, which takes both))";
        // A verify job's bound is the head at its start: 1000 here, the cell lost after it.
        await expect(verifyStore(store, undefined, 1000n)).resolves.toMatchObject({ ok: false, eventsChecked: 1000, damaged: { message: expect.stringContaining(damaged), after: '2106', checkedThrough: '1000' } });
        // A read of the log meets it at the same place.
        await expect(digestAt(store)).rejects.toEqual(expect.objectContaining({ name: 'StoreDamagedError', after: 2106n }));
      } finally {
        await store.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verify and a digest that read the log short of the head they report, with no error (SQLite giving no row for a damaged part), fail saying the store is damaged and where the read ended (until 2026-11-27: "every hash chain link holds" through the head)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-damaged-'));
    const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    try {
      await store.appendToStream('d', [1, 2, 3, 4].map((n) => ({ id: `00000000-0000-4000-8000-00000000000${n}`, type: 'T', data: { n } })));
      // The store, but its reads of the log end after position 2, as a damaged file's may, with no error.
      const short = new Proxy(store, {
        get: (target, key) => {
          if (key === 'readAll')
            return (options: Parameters<typeof store.readAll>[0]) =>
              (async function* () {
                for await (const e of target.readAll(options)) if (e.position <= 2n) yield e;
              })();
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const said = "(SQLite's read of the log ended at position 2 with no error, but the store holds an event at position 4)";
      const ended = expect.objectContaining({ name: 'StoreDamagedError', after: 2n, message: expect.stringContaining(said) });
      await expect(verifyStore(short)).resolves.toEqual(damagedReport(expect.stringContaining(said), 2n));
      await expect(runAuditWork('verify', short, {}, () => undefined)).resolves.toEqual(damagedReport(expect.stringContaining(said), 2n));
      await expect(digestAt(short)).rejects.toEqual(ended);
      await expect(digestAt(short, 3n)).rejects.toEqual(expect.objectContaining({ name: 'StoreDamagedError', after: 2n }));
      expect((await digestAt(short, 2n)).events).toBe(2);
    } finally {
      await store.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
