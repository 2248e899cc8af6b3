import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector } from '../processor';
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
    for (const n of [1001, 1002]) await ledger.changeInventory({ deviceId: device(n), deviceType: 'GSME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
  }, 60_000);
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('are all those in force, with 1,003 devices linked to it', async () => {
    const writer = openReadModels(path.join(dir, 'readmodels.sqlite'));
    await new Projector(store, writer).catchUp();
    const { devices } = queriesOf(writer);
    expect(devices.devicesOn(MPAN, NOW)).toEqual([1001, 1002].map((n) => ({ deviceId: device(n), deviceType: 'GSME', smetsGeneration: 1, status: 'Commissioned' })));
    expect(devices.devicesOn(MPAN, '2031-06-01T00:00:00.000Z')).toHaveLength(1003);
    writer.db.close();
  });
});
