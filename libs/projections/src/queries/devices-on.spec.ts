import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector } from '../processor';
import { DEVICES_ON_SCAN } from './device-queries';
import { queriesOf } from './queries-of';

const ctx = { actor: 'test' };
const MPAN = '1412345678901';
const NOW = '2026-11-27T12:00:00.000Z';
/** A device id that sorts by n. */
const device = (n: number) => `00-DB-12-34-56-78-${(n >> 8).toString(16).padStart(2, '0').toUpperCase()}-${(n & 0xff).toString(16).padStart(2, '0').toUpperCase()}`;

/**
 * The devices on a meter point are those its inventory record in force links to it, of every device
 * linked to it at any time: however many those are, none in force is left out.
 */
describe('the devices on a meter point', () => {
  let dir: string;
  let store: SqliteEventStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-devices-on-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    // 1,001 devices linked to MPAN from 2031 only (not in force now), then two in force now, sorting after them.
    for (let n = 0; n <= 1000; n++) await ledger.changeInventory({ deviceId: device(n), deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2031-01-01' }, ctx);
    for (const n of [1001, 1002]) await ledger.changeInventory({ deviceId: device(n), deviceType: 'CHF', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
  }, 60_000);
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('are all those in force, with 1,003 devices linked to it, a page of at most `limit` at a time', async () => {
    const writer = openReadModels(path.join(dir, 'readmodels.sqlite'));
    await new Projector(store, writer).catchUp();
    const { devices } = queriesOf(writer);
    expect(devices.devicesOn(MPAN, {}, NOW)).toEqual({ devices: [1001, 1002].map((n) => ({ deviceId: device(n), deviceType: 'CHF', smetsGeneration: 1, status: 'Commissioned' })), next: null });
    const later = '2031-06-01T00:00:00.000Z';
    const first = devices.devicesOn(MPAN, {}, later);
    expect(first.devices).toHaveLength(1000);
    expect(first.next).toBe(device(999));
    const second = devices.devicesOn(MPAN, { after: first.next! }, later);
    expect(second).toEqual({ devices: [1000, 1001, 1002].map((n) => expect.objectContaining({ deviceId: device(n) })), next: null });
    // A page that ends on the last device linked says so: no next to follow.
    expect(devices.devicesOn(MPAN, { after: device(999), limit: 3 }, later).next).toBeNull();
    expect(devices.devicesOn(MPAN, { after: device(999), limit: 2 }, later)).toEqual({ devices: [1000, 1001].map((n) => expect.objectContaining({ deviceId: device(n) })), next: device(1001) });
    writer.db.close();
  });

  it(`look at ${DEVICES_ON_SCAN} of those linked a page, so a page can hold fewer than its limit and still give next`, async () => {
    const file = path.join(dir, 'readmodels.sqlite');
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    // 2,000 more devices linked to MPAN from 2031 only, sorting after the two in force (rows copied from one projected).
    const { state } = writer.db.db.prepare('SELECT state FROM devices WHERE device_id = ?').get(device(0)) as { state: string };
    const insert = writer.db.db.prepare('INSERT INTO devices (device_id, smets_generation, mpxn, state) VALUES (?, 1, ?, ?)');
    writer.db.db.transaction(() => {
      for (let n = 2000; n < 4000; n++) insert.run(device(n), MPAN, state.split(device(0)).join(device(n)));
    })();
    const { devices } = queriesOf(writer);
    const first = devices.devicesOn(MPAN, {}, NOW);
    expect(first.devices.map((d) => d.deviceId)).toEqual([device(1001), device(1002)]);
    expect(first.next).toBe(device(2000 + DEVICES_ON_SCAN - 1003 - 1));
    expect(devices.devicesOn(MPAN, { after: first.next! }, NOW)).toEqual({ devices: [], next: null });
    writer.db.close();
  });

  it('are read a page at a time from the (mpxn, device_id) indexes, made again where a file holds them as made before', async () => {
    const file = path.join(dir, 'readmodels.sqlite');
    const before = openReadModels(file);
    await new Projector(store, before).catchUp();
    before.db.db.exec('DROP INDEX devices_mpxn; CREATE INDEX devices_mpxn ON devices (mpxn); DROP INDEX inventory_history_mpxn; CREATE INDEX inventory_history_mpxn ON inventory_history (mpxn);');
    before.db.close();
    const writer = openReadModels(file);
    new Projector(store, writer);
    const { devices } = queriesOf(writer);
    const { source } = (devices as unknown as { stmts(): { on: { source: string } } }).stmts().on;
    const plan = (writer.db.db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(MPAN, '', 1, MPAN, '', 1, 1) as Array<{ detail: string }>).map((r) => r.detail);
    // Each side reads from the device id the page starts after, never every device linked to the meter point.
    expect(plan).toEqual(expect.arrayContaining([expect.stringContaining('devices_mpxn (mpxn=? AND device_id>?)'), expect.stringContaining('inventory_history_mpxn (mpxn=? AND device_id>?)')]));
    expect(devices.devicesOn(MPAN, {}, NOW).devices.map((d) => d.deviceId)).toEqual([device(1001), device(1002)]);
    writer.db.close();
  });
});
