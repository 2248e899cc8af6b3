import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StuckReports } from '@ledger/audit';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { openReadModels, Projector, rebuildInto, type ProjectionWriter } from '../processor';
import { queriesOf } from '../queries/queries-of';

const ctx = { actor: 'test' };
const device = (n: number) => `00-DB-12-34-56-78-90-1${n}`;
/** Devices 2 to 4, each on MPAN (NO-A registered) with NO-B's critical certificate: stuck whenever SMETS1. */
const [AHEAD, BACKDATED, FORMER] = [device(2), device(3), device(4)];
const [F1, F2] = ['2031-01-01T00:00:00.000Z', '2032-01-01T00:00:00.000Z'];
const [IN_2019, IN_2031] = ['2019-12-01T00:00:00.000Z', '2031-06-01T00:00:00.000Z'];

/**
 * A device's generation as rule sets @3 judge it is that of its inventory record in force, not the
 * last recorded: the stuck projection, live and rebuilt either way, and the as-of report find the
 * same devices, those the decider judges SMETS1 at that instant.
 *  - ESME: SMETS1 from 2019, a correction to SMETS2 dated 2031 recorded: SMETS1 now.
 *  - AHEAD: SMETS2 from 2019, SMETS1 from 2031, SMETS2 again from 2032 (recorded last): SMETS1 for 2031 alone.
 *  - BACKDATED: SMETS1 from 2019, then SMETS2 recorded dated 2018: SMETS1 in force (the later date).
 *  - FORMER: SMETS1 from 2019, SMETS2 from 2020: SMETS1 in 2019 only.
 */
describe('the stuck devices: their generation in force, live, rebuilt and as of an instant', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;
  let live: ProjectionWriter;

  const inventory = (deviceId: string, smetsGeneration: 1 | 2, changedAt: string) =>
    ledger.changeInventory({ deviceId, deviceType: 'ESME', smetsGeneration, status: 'Commissioned', mpxn: MPAN, changedAt }, ctx);
  const rows = (writer: ProjectionWriter) =>
    writer.db.db.prepare<[], { device_id: string; stuck: number; valid_until: string | null }>('SELECT device_id, stuck, valid_until FROM stuck_status ORDER BY device_id').all();
  const stuckIds = (writer: ProjectionWriter) =>
    writer.db.db
      .prepare<[], { device_id: string }>('SELECT device_id FROM stuck_status WHERE stuck = 1 ORDER BY device_id')
      .all()
      .map((r) => r.device_id);
  const asOf = (at: string) => new StuckReports(queriesOf(live)).asOf(at).map((s) => s.deviceId);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-stuck-in-force-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B);
    await inventory(ESME, 2, F1);
    for (const [id, generation] of [[AHEAD, 2], [BACKDATED, 1], [FORMER, 1]] as const) {
      await inventory(id, generation, '2019-06-01');
      await ledger.placeCertificate(
        { deviceId: id, slot: 'networkOperator.critical', certificate: { serial: `C${id.slice(-1)}`, issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' },
        ctx,
      );
    }
    await inventory(AHEAD, 1, F1);
    await inventory(AHEAD, 2, F2);
    await inventory(BACKDATED, 2, '2018-01-01');
    await inventory(FORMER, 2, '2020-01-01');
    live = openReadModels(path.join(dir, 'live.sqlite'));
    await new Projector(store, live, { batchSize: 3 }).catchUp();
  });
  afterAll(async () => {
    live.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('projected live: a row for each device SMETS1 in force, or due to be (AHEAD, not stuck until 2031)', () => {
    expect(rows(live)).toEqual([
      { device_id: ESME, stuck: 1, valid_until: F1 },
      { device_id: AHEAD, stuck: 0, valid_until: F1 },
      { device_id: BACKDATED, stuck: 1, valid_until: null },
    ]);
  });

  it('a rebuild into a file of its own, and one in place, make the same rows', async () => {
    const into = path.join(dir, 'into.sqlite');
    await rebuildInto(store, into);
    const built = openReadModels(into);
    expect(built.dump().stuck_status).toEqual(live.dump().stuck_status);
    built.db.close();

    const inPlace = openReadModels(path.join(dir, 'in-place.sqlite'));
    const projector = new Projector(store, inPlace, { batchSize: 2 });
    await projector.catchUp();
    await projector.rebuild();
    expect(inPlace.dump().stuck_status).toEqual(live.dump().stuck_status);
    inPlace.db.close();
  });

  it('the as-of report finds the devices SMETS1 and stuck at its instant, those the projection holds stuck then', () => {
    const now = new Date().toISOString();
    expect(asOf(now)).toEqual(stuckIds(live));
    expect(asOf(IN_2019)).toEqual([ESME, BACKDATED, FORMER]);
    expect(asOf(IN_2031)).toEqual([AHEAD, BACKDATED]);
  });

  it('the decider judges each as SMETS1 or not as the report does', async () => {
    const generation = async (deviceId: string) => {
      const request = parseServiceRequest({ requestId: `${NO_A}:${deviceId}:1`, srv: '4.1.1', receivedAt: new Date().toISOString(), format: 'json' });
      const { decision } = await ledger.submit(request, ctx);
      return decision.checks.find((c) => c.check === 'device')?.evidence.smetsGeneration;
    };
    expect(await generation(ESME)).toBe(1);
    expect(await generation(AHEAD)).toBe(2);
    expect(await generation(BACKDATED)).toBe(1);
    expect(await generation(FORMER)).toBe(2);
  });

  it('with nothing else written, the rows follow the changes as they come into force (the due rows refreshed before a report)', () => {
    const projection = live.projections.stuck;
    projection.refreshDue(IN_2031);
    expect(stuckIds(live)).toEqual(asOf(IN_2031));
    expect(rows(live)).toEqual([
      // ESME's row gone: SMETS2 in force, and none of its changes SMETS1 ahead
      { device_id: AHEAD, stuck: 1, valid_until: F2 },
      { device_id: BACKDATED, stuck: 1, valid_until: null },
    ]);
    projection.refreshDue('2032-06-01T00:00:00.000Z');
    expect(rows(live)).toEqual([{ device_id: BACKDATED, stuck: 1, valid_until: null }]);
  });
});
