import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { openReadModels, Projector } from '../processor';
import { STUCK, STUCK_ROWS_MARK } from './stuck-projection';
import { queriesOf } from '../queries/queries-of';

const ctx = { actor: 'test' };
const OTHER = '00-DB-12-34-56-78-90-02';

/**
 * Read models made before 2026-11-28 (twenty-first session): stuck_status has no `s1sp_owner` nor
 * `status_before5`, the row of the ESME whose two copies are one certificate, its issuer spelt two
 * ways, is not stuck (as the twentieth session's stuckStatus judged every edition), and the table
 * `stuck_copies_disagree` marks the last upgrade. Made here as that code left it.
 */
describe('rows made before the twenty-first session: made again once, so every edition and the S1SP owner find them', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-stuck-spelt-'));
    file = path.join(dir, 'readmodels.sqlite');
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_A, ctx);
    const place = (deviceId: string, serial: string, issuer: string, owner: string, heldBy: Array<'DSP' | 'S1SP'>, placedAt: string) =>
      ledger.placeCertificate({ deviceId, slot: 'networkOperator.critical', certificate: { serial, issuer, ownerUserId: owner, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy, via: { kind: 'migration' }, placedAt }, ctx);
    await place(ESME, 'B1', 'CN = CA', NO_A, ['S1SP'], '2021-01-01');
    await ledger.changeInventory({ deviceId: OTHER, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
    await place(OTHER, 'A7', 'CN=CA', NO_A, ['DSP'], '2019-06-01');
    await place(OTHER, 'B7', 'CN=CA', NO_B, ['S1SP'], '2020-01-01');
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    writer.db.close();
    const db = new Database(file);
    const status = { stuck: false, deviceId: ESME, mpxn: MPAN, registeredOperator: NO_A, certificateOwner: NO_A, since: null };
    db.prepare('UPDATE stuck_status SET stuck = 0, since = NULL, status = ? WHERE device_id = ?').run(JSON.stringify(status), ESME);
    db.exec(`DROP INDEX stuck_status_s1sp_owner; ALTER TABLE stuck_status DROP COLUMN s1sp_owner; ALTER TABLE stuck_status DROP COLUMN status_before5;
      DROP TABLE ${STUCK_ROWS_MARK}; CREATE TABLE stuck_copies_disagree (refreshed_at TEXT NOT NULL, rows INTEGER NOT NULL)`);
    db.close();
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the first open adds the columns and makes every row again: stuck under @4 only, flagged; found by its S1SP copy\'s owner', () => {
    const writer = openReadModels(file);
    try {
      const stuck = queriesOf(writer).stuck;
      expect(stuck.now({}, 4).rows).toEqual([
        expect.objectContaining({ deviceId: ESME, stuck: true, since: '2021-01-01T00:00:00.000Z', copiesDisagree: true, issuerSpeltTwoWays: true }),
        expect.objectContaining({ deviceId: OTHER, copyOwners: { DSP: NO_A, S1SP: NO_B } }),
      ]);
      expect(stuck.now({}, 5).rows.map((r) => r.deviceId)).toEqual([OTHER]);
      expect(stuck.now({ no: NO_B }).rows.map((r) => r.deviceId)).toEqual([OTHER]);
      expect(stuck.now({ no: NO_B }, 4)).toMatchObject({ count: 1 });
      const rows = writer.db.db.prepare('SELECT device_id, stuck, s1sp_owner, status_before5 IS NOT NULL AS before5 FROM stuck_status ORDER BY device_id').all();
      expect(rows).toEqual([
        { device_id: ESME, stuck: STUCK.before5, s1sp_owner: null, before5: 1 },
        { device_id: OTHER, stuck: STUCK.always, s1sp_owner: NO_B, before5: 0 },
      ]);
      expect(writer.db.db.prepare(`SELECT rows FROM ${STUCK_ROWS_MARK}`).pluck().all()).toEqual([2]);
    } finally {
      writer.db.close();
    }
  });
});
