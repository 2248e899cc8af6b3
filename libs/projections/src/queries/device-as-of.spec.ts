import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StuckReports } from '@ledger/audit';
import {
  deviceStream,
  evolveDevice,
  evolveMeterPoint,
  getRuleSet,
  holderAt,
  ledgerEventOf,
  meterPointStream,
  parseServiceRequest,
  pendingPlacements,
  slotsAt,
  stuckStatus,
  type DeviceState,
  type InventoryChange,
  type LedgerEvent,
  type MeterPointState,
  type StuckStatus,
} from '@ledger/domain';
import { SqliteEventStore, type EventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { openReadModels, Projector, type ProjectionWriter } from '../processor';
import type { DeviceQueries } from './device-queries';
import type { RegistrationQueries } from './registration-queries';
import { queriesOf } from './queries-of';

const ctx = { actor: 'test' };
const DECIDED = '2025-03-01T00:00:00.000Z';
const EXECUTES = '2030-01-01T00:00:00.000Z';
const CORRECTED = '2022-01-01T00:00:00.000Z';
const LATE_CORRECTION = '2031-01-01T00:00:00.000Z';
const STUCK = '00-DB-00-00-FF-FF-00-01';

async function streamEvents(store: EventStore, stream: string): Promise<LedgerEvent[]> {
  const out: LedgerEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(ledgerEventOf(e.stream, e.type, e.data)!);
  return out;
}

/**
 * The oracle, written out from the definition (libs/domain/src/as-of.ts) with nothing but the
 * domain's evolveDevice, slotsAt and pendingPlacements over the events of the device's stream in
 * the store: the events whose effective time is at or before `at` (an inventory change: its
 * changedAt; a placement made by a request: when its decision was made; any other placement: its
 * placedAt), folded in stream order; the inventory record and the slots in force at `at`; the
 * placements pending then.
 */
function foldTo(events: LedgerEvent[], at: string): DeviceState | undefined {
  const decided = new Map<string, string>();
  for (const e of events) if (e.type === 'ServiceRequestEvaluated') decided.set(e.data.request.requestId, e.data.evaluatedAt);
  const effective = (e: LedgerEvent): string | undefined =>
    e.type === 'DeviceInventoryChanged' ? e.data.changedAt : e.type === 'CertificatePlaced' ? (e.data.via.kind === 'request' ? decided.get(e.data.via.requestId) : e.data.placedAt) : undefined;
  return events.filter((e) => effective(e) !== undefined && effective(e)! <= at).reduce<DeviceState | undefined>((s, e) => evolveDevice(s, e), undefined);
}

/**
 * A folded state seen at `at`: its inventory record in force then (of its changes, the latest
 * changedAt; of equal ones, the last appended; not the list of changes), its slots in force then,
 * its placements pending then; a device with nothing yet, empty.
 */
function viewAt(deviceId: string, state: DeviceState | undefined, at: string): DeviceState & { pending?: unknown[] } {
  if (!state) return { deviceId, inInventory: false, slots: {} };
  const pending = pendingPlacements(state, at);
  const record = (state.inventory ?? []).reduce<InventoryChange | undefined>((r, c) => (r && r.changedAt > c.changedAt ? r : c), undefined);
  const inForce = record ? { deviceType: record.deviceType, smetsGeneration: record.smetsGeneration, status: record.status, mpxn: record.mpxn } : {};
  const { inventory: _changes, ...rest } = state;
  return { ...rest, ...inForce, slots: slotsAt(state, at), ...(pending.length ? { pending } : {}) };
}

const oracle = (deviceId: string, events: LedgerEvent[], at: string) => viewAt(deviceId, foldTo(events, at), at);
const everything = (events: LedgerEvent[]) => events.reduce<DeviceState | undefined>((s, e) => evolveDevice(s, e), undefined);

/**
 * The as-of device view of the read models is the domain's own fold: over a demo estate (rule set
 * registered-operator@2, so repairs are accepted and place certificates), with on top of it
 * future-dated credential changes (accepted 2025-03-01, in force 2030-01-01), operator corrections
 * appended after later-dated placements and one dated in the future, a backdated inventory change,
 * and a migration with no reference, the answer of DeviceQueries.device(id, t) equals the oracle
 * for every device at every instant tried.
 */
describe('the device as of an instant is the domain fold of its stream up to then', () => {
  let dir: string;
  let store: SqliteEventStore;
  let writer: ProjectionWriter;
  let devices: DeviceQueries;
  let registrations: RegistrationQueries;
  let ids: string[];
  const streams = new Map<string, LedgerEvent[]>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-as-of-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('registered-operator'));
    await runDemo(ledger, { devices: 120, wrongNoShare: 0.3, seed: 5 });
    writer = openReadModels(path.join(dir, 'readmodels.sqlite'));
    const projector = new Projector(store, writer, { batchSize: 97 });
    await projector.catchUp();
    ({ devices, meterPoints: registrations } = queriesOf(writer));
    const smets1 = [...devices.smets1Ever()].filter((d) => d.status === 'Commissioned' && d.mpxn);

    // Future-dated repairs and renewals by the registered NO: accepted on DECIDED, in force from EXECUTES.
    let accepted = 0;
    for (const [i, d] of smets1.slice(0, 12).entries()) {
      const no = holderAt(registrations.meterPoint(d.mpxn!), 'networkOperator', DECIDED)!.partyUserId;
      const r = await ledger.submit(
        parseServiceRequest({
          requestId: `${no}:${d.deviceId}:${900 + i}`,
          srv: '6.15.1',
          remotePartyRole: 'NetworkOperator',
          executionDateTime: EXECUTES,
          certificates: [{ serial: `F0${i}`, issuer: 'CN=Future CA', ownerUserId: no, roleCode: '03', keyUsage: 'digitalSignature' }],
          receivedAt: DECIDED,
          format: 'json',
        }),
        ctx,
      );
      if (r.placed.length) accepted++;
    }
    expect(accepted).toBeGreaterThan(5);
    // Operator corrections appended after placements dated later than they are, and one dated in the future.
    for (const [i, d] of smets1.slice(12, 18).entries()) {
      const owner = d.slots['supplier.critical']!.DSP!.certificate.ownerUserId;
      const certificate = { serial: `C0${i}`, issuer: 'CN=Ops CA', ownerUserId: owner, roleCode: '02', keyUsage: 'digitalSignature' };
      await ledger.placeCertificate({ deviceId: d.deviceId, slot: 'supplier.critical', certificate, via: { kind: 'operatorCorrection', reference: `OPS-${i}` }, placedAt: i % 3 ? CORRECTED : LATE_CORRECTION }, ctx);
    }
    // A backdated inventory change (appended last, dated before the one it follows), and a migration with no reference.
    const backdated = smets1[18];
    await ledger.changeInventory({ deviceId: backdated.deviceId, deviceType: backdated.deviceType, smetsGeneration: 1, status: 'Suspended', mpxn: backdated.mpxn, changedAt: '2019-01-01T00:00:00Z' }, ctx);
    const late = smets1[19];
    await ledger.placeCertificate(
      { deviceId: late.deviceId, slot: 'networkOperator.nonCritical', certificate: { serial: 'A1', issuer: 'CN=Mig CA', ownerUserId: late.slots['networkOperator.critical']!.DSP!.certificate.ownerUserId, roleCode: '03', keyUsage: 'keyAgreement' }, via: { kind: 'migration' }, placedAt: '2020-05-05T00:00:00Z' },
      ctx,
    );
    // A device stuck from its migration, whose repair is accepted on DECIDED to take effect on EXECUTES.
    const esme = smets1.find((d) => d.deviceType === 'ESME')!;
    const registered = holderAt(registrations.meterPoint(esme.mpxn!), 'networkOperator', DECIDED)!.partyUserId;
    const other = registered.endsWith('-10') ? '90-B3-D5-1F-30-03-00-11' : '90-B3-D5-1F-30-03-00-10';
    await ledger.changeInventory({ deviceId: STUCK, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: esme.mpxn, changedAt: '2019-05-01T00:00:00Z' }, ctx);
    await ledger.placeCertificate({ deviceId: STUCK, slot: 'networkOperator.critical', certificate: { serial: 'B0', issuer: 'CN=Mig CA', ownerUserId: other, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration', reference: 'M-1' }, placedAt: '2020-04-01T00:00:00Z' }, ctx);
    const repair = await ledger.submit(
      parseServiceRequest({
        requestId: `${registered}:${STUCK}:1`,
        srv: '6.15.1',
        remotePartyRole: 'NetworkOperator',
        executionDateTime: EXECUTES,
        certificates: [{ serial: 'A0', issuer: 'CN=Future CA', ownerUserId: registered, roleCode: '03', keyUsage: 'digitalSignature' }],
        receivedAt: DECIDED,
        format: 'json',
      }),
      ctx,
    );
    expect(repair.decision.responseCode).toBe('I99');
    await projector.catchUp();

    ids = (writer.db.db.prepare('SELECT device_id FROM devices ORDER BY device_id').all() as Array<{ device_id: string }>).map((r) => r.device_id);
    for (const id of ids) streams.set(id, await streamEvents(store, deviceStream(id)));
  }, 120_000);

  afterAll(async () => {
    writer.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const INSTANTS = [
    ['before the first event', '2018-01-01T00:00:00.000Z'],
    ['amid the inventory records', '2019-06-01T00:00:00.000Z'],
    ['amid the migrations', '2020-09-01T00:00:00.000Z'],
    ['after the migrations, before any request', '2022-06-01T00:00:00.000Z'],
    ['at a correction, to the millisecond', CORRECTED],
    ['between request placements', '2024-06-01T00:00:00.000Z'],
    ['when the future-dated changes were accepted', DECIDED],
    ['while they are pending', '2027-01-01T00:00:00.000Z'],
    ['when they come into force', EXECUTES],
    ['after every future-dated placement', '2032-01-01T00:00:00.000Z'],
  ] as const;

  it.each(INSTANTS)('%s (%s): every device equals the fold', (_, at) => {
    for (const id of ids) expect({ id, device: devices.device(id, at) }).toEqual({ id, device: oracle(id, streams.get(id)!, at) });
  });

  it('at the instants around each effective time of a device changed late, too', () => {
    const changed = ids.filter((id) => streams.get(id)!.some((e) => e.type === 'CertificatePlaced' && (e.data.placedAt === EXECUTES || e.data.placedAt === LATE_CORRECTION)));
    expect(changed.length).toBeGreaterThan(5);
    for (const id of changed) {
      const times = streams.get(id)!.flatMap((e) => (e.type === 'CertificatePlaced' ? [e.data.placedAt] : e.type === 'DeviceInventoryChanged' ? [e.data.changedAt] : e.type === 'ServiceRequestEvaluated' ? [e.data.evaluatedAt] : []));
      for (const t of times) {
        const before = new Date(Date.parse(t) - 1).toISOString();
        for (const at of [before, t]) expect({ id, at, device: devices.device(id, at) }).toEqual({ id, at, device: oracle(id, streams.get(id)!, at) });
      }
    }
  });

  it('the cases are not empty: pending changes, changes not yet known, devices with no history yet, a device view now', () => {
    const at = '2027-01-01T00:00:00.000Z';
    expect(ids.filter((id) => devices.device(id, at)!.pending?.length).length).toBeGreaterThan(5);
    expect(ids.filter((id) => devices.device(id, '2018-01-01T00:00:00.000Z')!.inInventory === false).length).toBe(ids.length);
    // Now (at a given instant) is the same view of the fold of every event recorded.
    for (const id of ids) expect({ id, device: devices.device(id, undefined, at) }).toEqual({ id, device: viewAt(id, everything(streams.get(id)!), at) });
    // A correction dated in the future is not in the history before its date: the view as of now-ish does not list it.
    const lateOnes = ids.filter((id) => streams.get(id)!.some((e) => e.type === 'CertificatePlaced' && e.data.placedAt === LATE_CORRECTION));
    expect(lateOnes.length).toBeGreaterThan(0);
    for (const id of lateOnes) expect(devices.device(id, at)!.placements?.some((p) => p.placedAt === LATE_CORRECTION)).toBe(false);
  });

  it.each([['2021-01-01T00:00:00.000Z'], ['2024-06-01T00:00:00.000Z'], ['2027-01-01T00:00:00.000Z'], ['2032-01-01T00:00:00.000Z']])(
    'the audit stuck report as of %s is stuckStatus over the same folds',
    async (at) => {
      const report = new StuckReports(queriesOf(writer)).asOf(at);
      const expected: StuckStatus[] = [];
      for (const id of ids.filter((i) => devices.states([i]).get(i)!.smetsGeneration === 1)) {
        const device = foldTo(streams.get(id)!, at);
        if (!device) continue;
        const mp = device.mpxn ? (await streamEvents(store, meterPointStream(device.mpxn))).reduce<MeterPointState | undefined>((s, e) => evolveMeterPoint(s, e), undefined) : undefined;
        const status = stuckStatus(device, mp, at);
        if (status.stuck) expected.push(status);
      }
      expect(report).toEqual(expected);
      expect(report.length).toBeGreaterThan(0);
      // The device migrated wrong in 2020 is stuck until its repair takes effect; accepted in 2025, the repair is pending from then.
      const stuck = report.find((r) => r.deviceId === STUCK);
      if (at < EXECUTES) expect(stuck).toMatchObject({ stuck: true, since: '2020-04-01T00:00:00.000Z' });
      else expect(stuck).toBeUndefined();
      expect(stuck?.pending?.map((p) => p.placedAt)).toEqual(at >= DECIDED && at < EXECUTES ? [EXECUTES] : undefined);
    },
  );
});
