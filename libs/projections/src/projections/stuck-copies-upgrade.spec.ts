import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { openReadModels, Projector } from '../processor';
import { STUCK_ROWS_MARK } from './stuck-projection';
import { queriesOf } from '../queries/queries-of';

const ctx = { actor: 'test' };

/**
 * Read models made before 2026-11-28 (twentieth session) hold a row not stuck for a SMETS1 device
 * whose DSP copy of the NO signing certificate is the registered NO's (NO-A) and whose S1SP copy is
 * NO-B's: stuck since the S1SP placement by later code. Such a file is made here as that code left
 * it: the row not stuck, and `stuck_since_serving` (the fifteenth session's mark) but not
 * STUCK_ROWS_MARK.
 */
describe('rows made before the twentieth session: a device whose proxy copies disagree is stuck once the file is opened', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-stuck-copies-'));
    file = path.join(dir, 'readmodels.sqlite');
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_A, ctx);
    await ledger.placeCertificate(
      { deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'B2', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy: ['S1SP'], via: { kind: 'migration' }, placedAt: '2020-01-01' },
      ctx,
    );
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    writer.db.close();
    const db = new Database(file);
    const status = { stuck: false, deviceId: ESME, mpxn: '1412345678901', registeredOperator: NO_A, certificateOwner: NO_A, since: null };
    db.prepare('UPDATE stuck_status SET stuck = 0, since = NULL, status = ? WHERE device_id = ?').run(JSON.stringify(status), ESME);
    db.exec(`DROP TABLE ${STUCK_ROWS_MARK}; CREATE TABLE IF NOT EXISTS stuck_since_serving (refreshed_at TEXT NOT NULL, rows INTEGER NOT NULL)`);
    db.close();
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the first open makes every row again: the device is listed stuck, its copies disagreeing, both owners named', () => {
    const writer = openReadModels(file);
    try {
      const page = queriesOf(writer).stuck.now({});
      expect(page.rows).toEqual([expect.objectContaining({ deviceId: ESME, since: '2020-01-01T00:00:00.000Z', certificateOwner: NO_A, copiesDisagree: true, copyOwners: { DSP: NO_A, S1SP: NO_B } })]);
      expect(writer.db.db.prepare(`SELECT rows FROM ${STUCK_ROWS_MARK}`).pluck().all()).toEqual([1]);
    } finally {
      writer.db.close();
    }
  });
});
