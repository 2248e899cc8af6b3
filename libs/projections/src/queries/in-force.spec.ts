import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replayDecision, StuckReports, whatIf } from '@ledger/audit';
import { getRuleSet, ledgerEventOf, parseServiceRequest, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector } from '../processor';
import { queriesOf } from './queries-of';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';

const ctx = { actor: 'test' };
const RECEIVED = '2024-03-01T00:00:00.000Z';
const SUSPENDED_FROM = '2031-01-01T00:00:00.000Z';
const AFTER = '2031-06-01T00:00:00.000Z';

/**
 * Facts dated in the future, recorded first: NO-A's ED role suspended from 2031, and the ESME
 * Suspended and unlinked from its meter point from 2031. Then NO-A reads the ESME (4.1.1) today,
 * through the ledger: under baseline@2 (the last registration and inventory change, whatever their
 * dates) it is refused; under baseline@3 (the default until @4, which judges it as @3) accepted,
 * its evidence naming what was in force. Both decisions replay identically; the read models show
 * what is in force now.
 */
describe('edition 3 through the ledger: facts dated in the future do not refuse a request today', () => {
  let dir: string;
  let store: SqliteEventStore;
  let projector: Projector;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-in-force-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B, ctx); // stuck: NO-B's certificate, NO-A registered
    await ledger.registerUserRole({ userId: NO_A, role: 'ED', status: 'Suspended', effectiveFrom: SUSPENDED_FROM }, ctx);
    await ledger.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Suspended', mpxn: null, changedAt: SUSPENDED_FROM }, ctx);
    projector = new Projector(store, openReadModels(path.join(dir, 'readmodels.sqlite')), { batchSize: 10 });
  });
  afterAll(async () => {
    await projector.stop();
    projector.writer.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const read = (counter: number) => parseServiceRequest({ requestId: `${NO_A}:${ESME}:${counter}`, srv: '4.1.1', receivedAt: RECEIVED, format: 'json' });

  it('refused under baseline@2 (E3), accepted under baseline@3; each replays identically', async () => {
    const before = await new Ledger(store, getRuleSet('baseline@2')).submit(read(1), ctx);
    expect(before.decision).toMatchObject({ ruleSet: { id: 'baseline', version: 2 }, outcome: 'rejected', responseCode: 'E3' });
    expect(before.decision.checks[0].evidence).toMatchObject({ role: 'ED', status: 'Suspended' });

    const now = await new Ledger(store, getRuleSet('baseline@3')).submit(read(2), ctx);
    expect(now.decision).toMatchObject({ ruleSet: { id: 'baseline', version: 3 }, outcome: 'accepted', responseCode: 'I0' });
    expect(now.decision.checks[0].evidence).toMatchObject({ role: 'ED', status: 'Active' });
    expect(now.decision.checks[2].evidence).toMatchObject({ status: 'Commissioned', mpxn: MPAN });
    // The meter point read is the one the device serves in force, not the last recorded (none).
    expect(Object.keys(now.decision.revisionsRead)).toEqual([`user-${NO_A}`, `device-${ESME}`, `meterpoint-${MPAN}`]);
    expect(now.decision.checks[3]).toMatchObject({ outcome: 'pass', evidence: { mpxn: MPAN, registered: { partyUserId: NO_A } } });

    for (const d of [before.decision, now.decision]) expect(await replayDecision(store, d)).toMatchObject({ identical: true, differences: [] });
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 2, notReproduced: 0 });
  });

  it("a what-if or a replay under the other edition does not compare a decision that read another meter point than that edition would: it is not judgeable, not 'unchanged'", async () => {
    // The decisions of the test before: under @2 on no meter point (the last recorded MPxN, none), under @3 on MPAN (in force).
    expect(await whatIf(store, getRuleSet('baseline@3'))).toMatchObject({ judged: 1, notJudgeable: 1, unchanged: 1 });
    expect(await whatIf(store, getRuleSet('baseline@2'))).toMatchObject({ judged: 1, notJudgeable: 1, unchanged: 1 });
    const decisions: ServiceRequestEvaluatedV1[] = [];
    for await (const e of store.readStream(`device-${ESME}`)) if (e.type === 'ServiceRequestEvaluated') decisions.push(ledgerEventOf(e.stream, e.type, e.data)!.data as ServiceRequestEvaluatedV1);
    const [at2, at3] = decisions;
    await expect(replayDecision(store, at2, getRuleSet('baseline@3'))).rejects.toThrow(`baseline@3 would judge ${at2.request.requestId} on meter point ${MPAN}, where the decision read none`);
    await expect(replayDecision(store, at3, getRuleSet('baseline@2'))).rejects.toThrow(`baseline@2 would judge ${at3.request.requestId} on no meter point, where the decision read meterpoint-${MPAN}`);
    expect(await replayDecision(store, at3, getRuleSet('ownership-only@3'))).toMatchObject({ identical: true });
  });

  it('the read models show what is in force: the device now as ?asOf=now, the User its roles in force, the stuck report its meter point then', async () => {
    await projector.catchUp();
    const { devices, users } = queriesOf(projector.writer);
    const today = devices.device(ESME, undefined, RECEIVED)!;
    expect(today).toMatchObject({ inInventory: true, status: 'Commissioned', mpxn: MPAN });
    const { asOf: _asOf, ...asOfToday } = { asOf: RECEIVED, ...devices.device(ESME, RECEIVED)! };
    expect(asOfToday).toEqual(today);
    expect(devices.device(ESME, undefined, AFTER)).toMatchObject({ status: 'Suspended', mpxn: null });
    expect(devices.device(ESME, undefined, AFTER)).toEqual(devices.device(ESME, AFTER));
    expect(devices.devicesOn(MPAN, {}, RECEIVED).devices).toEqual([{ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned' }]);
    expect(devices.devicesOn(MPAN, {}, AFTER).devices).toEqual([]);

    expect(users.user(NO_A, RECEIVED)?.roles.ED?.status).toBe('Active');
    expect(users.user(NO_A, AFTER)?.roles.ED?.status).toBe('Suspended');
    expect(users.user(NO_A, RECEIVED)?.registrations).toHaveLength(2);
    const inventory = (now: string) => devices.timelineOf(ESME, undefined, now)!.timeline.filter((h) => h.kind === 'inventory').map((h) => [h.status, h.pending ?? false]);
    expect(inventory(RECEIVED)).toEqual([['Commissioned', false], ['Suspended', true]]);
    expect(inventory(AFTER)).toEqual([['Commissioned', false], ['Suspended', false]]);

    const stuck = new StuckReports(queriesOf(projector.writer));
    expect(stuck.asOf(RECEIVED)).toEqual([expect.objectContaining({ deviceId: ESME, stuck: true, mpxn: MPAN, registeredOperator: NO_A, certificateOwner: NO_B })]);
    expect(stuck.asOf(AFTER)).toEqual([]);

    // The stuck projection: stuck today, on the meter point in force, until the unlinking takes effect.
    const projection = projector.writer.projections.stuck;
    const row = () => projector.writer.db.db.prepare('SELECT stuck, mpxn, valid_until FROM stuck_status WHERE device_id = ?').get(ESME);
    projector.writer.db.db.transaction(() => projection.refresh([ESME], RECEIVED))();
    expect(row()).toEqual({ stuck: 1, mpxn: MPAN, valid_until: SUSPENDED_FROM });
    expect(projection.refreshDue(AFTER)).toBe(1);
    expect(row()).toEqual({ stuck: 0, mpxn: null, valid_until: null });
  });
});
