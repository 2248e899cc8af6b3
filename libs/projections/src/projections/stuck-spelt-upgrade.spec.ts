import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { openReadModels, Projector } from '../processor';
import { hasTable } from '../read-model-db';
import { OLDER_STUCK_ROWS_MARKS, STUCK, STUCK_ROWS_MARK } from './stuck-projection';
import { queriesOf } from '../queries/queries-of';

const ctx = { actor: 'test' };
const OTHER = '00-DB-12-34-56-78-90-02';

/** Places a NO critical certificate in one or both proxy copies of a device. */
const place = (ledger: Ledger, deviceId: string, serial: string, issuer: string, owner: string, heldBy: Array<'DSP' | 'S1SP'>, placedAt: string) =>
  ledger.placeCertificate({ deviceId, slot: 'networkOperator.critical', certificate: { serial, issuer, ownerUserId: owner, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy, via: { kind: 'migration' }, placedAt }, ctx);

/**
 * The ESME (NO-A registered) with its two copies one certificate, B1, its issuer spelt 'CN=CA' and
 * 'CN = CA' (stuck under @1 to @4 only), and OTHER on the same meter point, its DSP copy NO-A's and
 * its S1SP copy NO-B's (stuck under every rule set by its copies).
 */
async function spelt(store: SqliteEventStore): Promise<Ledger> {
  const ledger = new Ledger(store, getRuleSet('baseline'));
  await recordOneEsme(ledger, NO_A, ctx);
  await place(ledger, ESME, 'B1', 'CN = CA', NO_A, ['S1SP'], '2021-01-01');
  await ledger.changeInventory({ deviceId: OTHER, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
  await place(ledger, OTHER, 'A7', 'CN=CA', NO_A, ['DSP'], '2019-06-01');
  await place(ledger, OTHER, 'B7', 'CN=CA', NO_B, ['S1SP'], '2020-01-01');
  return ledger;
}

/** The nine columns main's code (7e2c9b8, the twentieth session) writes in its `put`; it leaves any other. */
const OLDER_PUT_COLUMNS = ['device_id', 'stuck', 'mpxn', 'area', 'registered_operator', 'certificate_owner', 'since', 'status', 'valid_until'];

/**
 * The rows as the twentieth session's code (main at 7e2c9b8) leaves them when it writes them: its
 * stuckStatus is this code's judged by edition 5 without `issuerSpeltTwoWays` (a row stuck under
 * @1 to @4 only is `stuck` 0 there, since null), written in its nine columns; the others keep
 * `before` (the rows as they were before it wrote them), as its `put` does not name them.
 */
function asOlderCodeWrites(db: Database.Database, before: Array<Record<string, unknown>>): void {
  db.exec(`UPDATE stuck_status SET status = json_remove(status, '$.issuerSpeltTwoWays')`);
  db.exec(`UPDATE stuck_status SET stuck = json_extract(status, '$.stuck'), since = json_extract(status, '$.since')`);
  for (const row of before) {
    const kept = Object.keys(row).filter((c) => !OLDER_PUT_COLUMNS.includes(c));
    if (kept.length) db.prepare(`UPDATE stuck_status SET ${kept.map((c) => `${c} = ?`).join(', ')} WHERE device_id = ?`).run(...kept.map((c) => row[c]), row.device_id);
  }
}

/**
 * Read models made before 2026-11-28 (twenty-first session): stuck_status has no `status_before5`, the row of the ESME whose two copies are one certificate, its issuer spelt two
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
    await spelt(store);
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    writer.db.close();
    const db = new Database(file);
    const status = { stuck: false, deviceId: ESME, mpxn: MPAN, registeredOperator: NO_A, certificateOwner: NO_A, since: null };
    db.prepare('UPDATE stuck_status SET stuck = 0, since = NULL, status = ? WHERE device_id = ?').run(JSON.stringify(status), ESME);
    db.exec(`ALTER TABLE stuck_status DROP COLUMN status_before5;
      DROP TABLE ${STUCK_ROWS_MARK}; CREATE TABLE stuck_copies_disagree (refreshed_at TEXT NOT NULL, rows INTEGER NOT NULL)`);
    db.close();
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the first open adds the column and makes every row again: stuck under @4 only, flagged; found by its S1SP copy\'s owner', () => {
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
      const rows = writer.db.db.prepare('SELECT device_id, stuck, status_before5 IS NOT NULL AS before5 FROM stuck_status ORDER BY device_id').all();
      expect(rows).toEqual([
        { device_id: ESME, stuck: STUCK.before5, before5: 1 },
        { device_id: OTHER, stuck: STUCK.always, before5: 0 },
      ]);
      for (const mark of OLDER_STUCK_ROWS_MARKS) expect(hasTable(writer.db.db, mark)).toBe(false);
      expect(writer.db.db.prepare(`SELECT rows FROM ${STUCK_ROWS_MARK}`).pluck().all()).toEqual([2]);
    } finally {
      writer.db.close();
    }
  });
});

/**
 * Read models made by this code, then written by older code (main at 7e2c9b8, the twentieth
 * session's: a rollback, or two versions on one file), then opened by this code again.
 */
describe('rows written by older code after this code made them', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;
  let ledger: Ledger;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-stuck-older-'));
    file = path.join(dir, 'readmodels.sqlite');
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = await spelt(store);
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    expect(queriesOf(writer).stuck.now({}, 4).count).toBe(2);
    writer.db.close();
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rowsOf = (db: Database.Database) => db.prepare('SELECT * FROM stuck_status ORDER BY device_id').all() as Array<Record<string, unknown>>;

  it('a rollback and return: older code opening the file makes every row its own way (the ESME stuck 0) and its mark; this code opening it again makes them again, stuck under @4 only', () => {
    // What main's code does at open: its mark `stuck_copies_disagree` missing, every row made again by its put, then the mark made.
    const db = new Database(file);
    expect(OLDER_STUCK_ROWS_MARKS.filter((m) => hasTable(db, m))).toEqual([]);
    asOlderCodeWrites(db, rowsOf(db));
    db.exec('CREATE TABLE stuck_copies_disagree (refreshed_at TEXT NOT NULL, rows INTEGER NOT NULL)');
    expect(db.prepare('SELECT stuck FROM stuck_status WHERE device_id = ?').pluck().get(ESME)).toBe(0);
    db.close();
    const writer = openReadModels(file);
    try {
      const stuck = queriesOf(writer).stuck;
      expect(stuck.now({}, 4)).toMatchObject({
        count: 2,
        rows: [{ deviceId: ESME, stuck: true, since: '2021-01-01T00:00:00.000Z', copiesDisagree: true, issuerSpeltTwoWays: true }, { deviceId: OTHER }],
      });
      expect(stuck.now({}, 5).rows.map((r) => r.deviceId)).toEqual([OTHER]);
      expect(writer.db.db.prepare('SELECT stuck FROM stuck_status WHERE device_id = ?').pluck().get(ESME)).toBe(STUCK.before5);
      expect(OLDER_STUCK_ROWS_MARKS.filter((m) => hasTable(writer.db.db, m))).toEqual([]);
      expect(writer.db.db.prepare(`SELECT rows FROM ${STUCK_ROWS_MARK}`).pluck().all()).toEqual([2]);
    } finally {
      writer.db.close();
    }
    // Opened again with nothing to do: no row made (a value planted in a row, and the mark, stay as they were; a remake would write both).
    const planted = new Database(file);
    planted.prepare('UPDATE stuck_status SET valid_until = ? WHERE device_id = ?').run('2999-01-01T00:00:00.000Z', OTHER);
    const mark = planted.prepare(`SELECT * FROM ${STUCK_ROWS_MARK}`).all();
    planted.close();
    const again = openReadModels(file);
    try {
      expect(again.db.db.prepare('SELECT valid_until FROM stuck_status WHERE device_id = ?').pluck().get(OTHER)).toBe('2999-01-01T00:00:00.000Z');
      expect(again.db.db.prepare(`SELECT * FROM ${STUCK_ROWS_MARK}`).all()).toEqual(mark);
    } finally {
      again.db.close();
    }
  });

  it("a row older code updated (its put leaves the columns it does not know): the report reads what it wrote, under @4 as under @5, and no= finds its S1SP copy's owner", async () => {
    // The ESME's S1SP copy becomes NO-B's certificate: stuck under every rule set by its copies, no longer one certificate spelt two ways.
    await place(ledger, ESME, 'B9', 'CN=CA', NO_B, ['S1SP'], '2022-01-01');
    const writer = openReadModels(file);
    try {
      const before = rowsOf(writer.db.db);
      expect(before.find((r) => r.device_id === ESME)!.status_before5).not.toBeNull();
      await new Projector(store, writer).catchUp(); // this code's put, then the columns older code's put does not write as they were
      asOlderCodeWrites(writer.db.db, before);
      const changed = { deviceId: ESME, stuck: true, since: '2022-01-01T00:00:00.000Z', certificateOwner: NO_A, copiesDisagree: true, copyOwners: { DSP: NO_A, S1SP: NO_B } };
      const stuck = queriesOf(writer).stuck;
      for (const edition of [4, 5] as const) {
        const all = stuck.now({}, edition);
        expect(all.rows[0]).toEqual({ ...changed, mpxn: MPAN, registeredOperator: NO_A });
        expect(stuck.now({ no: NO_B }, edition).rows.map((r) => r.deviceId)).toEqual([ESME, OTHER]);
      }
    } finally {
      writer.db.close();
    }
  });
});
