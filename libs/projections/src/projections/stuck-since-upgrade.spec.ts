import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { openReadModels, Projector } from '../processor';
import { hasTable, LIVE_LOCK_WAIT_MS, ReadModelDb } from '../read-model-db';
import { STUCK_ROWS_MARK, StuckProjection, UPGRADE_PAUSE_MS } from './stuck-projection';
import { queriesOf } from '../queries/queries-of';

const ctx = { actor: 'test' };
const OTHER = '2200000123453';
const [OLD, SERVING] = ['2019-06-01T00:00:00.000Z', '2023-01-01T00:00:00.000Z'];

/**
 * Read models made before 2026-11-27 (fifteenth session) hold a stuck row's `since` without the
 * instant from which the device has served its meter point as SMETS1. The ESME, stuck since
 * 2019-06-01 on MPAN, moved in 2023 to OTHER (NO-A registered there too): stuck since 2023-01-01.
 * Such a file is made here as earlier code left it: the row's `since` as it was, and no
 * `stuck_since_serving` nor STUCK_ROWS_MARK.
 */
describe('stuck rows made by earlier code: their "since" made again once when the file is opened', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-stuck-since-'));
    file = path.join(dir, 'readmodels.sqlite');
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B, ctx);
    await ledger.recordRegistration({ mpxn: OTHER, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx);
    await ledger.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: OTHER, changedAt: SERVING }, ctx);
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    writer.db.close();
    asEarlierCodeLeftIt();
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const asEarlierCodeLeftIt = () => {
    const db = new Database(file);
    db.prepare("UPDATE stuck_status SET since = ?, status = json_set(status, '$.since', ?) WHERE device_id = ?").run(OLD, OLD, ESME);
    db.exec(`DROP TABLE IF EXISTS stuck_since_serving; DROP TABLE IF EXISTS ${STUCK_ROWS_MARK}`);
    db.close();
  };
  /** The row's `since`, and that of the report now (the API's stuck page). */
  const since = () => {
    const writer = openReadModels(file);
    try {
      const row = writer.db.db.prepare<[string], { since: string; status: string }>('SELECT since, status FROM stuck_status WHERE device_id = ?').get(ESME)!;
      const page = queriesOf(writer).stuck.now({});
      return [row.since, (JSON.parse(row.status) as { since: string }).since, page.rows.map((r) => r.since)];
    } finally {
      writer.db.close();
    }
  };

  it('the first open makes the stuck rows again (since 2023-01-01, as the live report says); later opens do not (the file remembers it)', () => {
    expect(since()).toEqual([SERVING, SERVING, [SERVING]]);
    const db = new Database(file);
    db.prepare('UPDATE stuck_status SET since = ? WHERE device_id = ?').run(OLD, ESME); // whatever a later open finds is left as it is
    expect(db.prepare(`SELECT rows FROM ${STUCK_ROWS_MARK}`).pluck().all()).toEqual([1]);
    db.close();
    expect(since()[0]).toBe(OLD);
  });

  /**
   * The other connection (a worker) holds the write lock until told to let go, or for 2 s: an open
   * that waited on it would make the rows once it let go, within its busy timeout of 5 s.
   */
  it('opened while another connection holds the write lock (a `ledger rebuild` in place), the file opens without waiting, its rows as they were; a later open makes them', async () => {
    const release = new Int32Array(new SharedArrayBuffer(4));
    const rebuild = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const db = new (require('better-sqlite3'))(workerData.file);
       db.exec('BEGIN IMMEDIATE');
       parentPort.postMessage('locked');
       Atomics.wait(workerData.release, 0, 0, 2000);
       db.exec('ROLLBACK');
       db.close();`,
      { eval: true, workerData: { file, release } },
    );
    const ended = new Promise((resolve) => rebuild.once('exit', resolve));
    await new Promise((resolve, reject) => rebuild.once('message', resolve).once('error', reject));
    const opened = since();
    Atomics.store(release, 0, 1);
    Atomics.notify(release, 0);
    await ended;
    expect(opened).toEqual([OLD, OLD, [OLD]]);
    expect(since()).toEqual([SERVING, SERVING, [SERVING]]);
  });

  /**
   * Five ESMEs stuck, each moved to OTHER in 2023, their rows as earlier code left them; made again
   * two a transaction. The clock, read at each chunk's start, looks from another connection: the
   * write lock is free between two chunks (taken at once, not waited on) and the rows made so far
   * are committed; at the third chunk it stops the upgrade, as a process killed part way.
   */
  /** Four more ESMEs as the first (stuck, moved to OTHER in 2023): five rows as earlier code left them. */
  const fiveAsEarlierCodeLeftThem = async () => {
    const ledger = new Ledger(store, getRuleSet('baseline'));
    const more = ['02', '03', '04', '05'].map((n) => ESME.replace(/01$/, n));
    for (const id of more) {
      await ledger.changeInventory({ deviceId: id, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
      await ledger.placeCertificate(
        { deviceId: id, slot: 'networkOperator.critical', certificate: { serial: `B${id.slice(-2)}`, issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' },
        ctx,
      );
      await ledger.changeInventory({ deviceId: id, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: OTHER, changedAt: SERVING }, ctx);
    }
    const writer = openReadModels(file);
    await new Projector(store, writer).catchUp();
    writer.db.close();
    const db = new Database(file);
    db.prepare("UPDATE stuck_status SET since = ?, status = json_set(status, '$.since', ?)").run(OLD, OLD);
    db.exec(`DROP TABLE IF EXISTS stuck_since_serving; DROP TABLE ${STUCK_ROWS_MARK}`);
    db.close();
  };

  it('makes the rows a chunk at a time, the lock let go between two; one stopped part way is made whole by the next open', async () => {
    await fiveAsEarlierCodeLeftThem();
    const rm = new ReadModelDb(file);
    const seen: number[] = [];
    const clock = () => {
      if (seen.push(-1) > 1) {
        const other = new Database(file, { timeout: 0 });
        other.exec('BEGIN IMMEDIATE'); // SQLITE_BUSY at once if a chunk still held the lock
        seen[seen.length - 1] = other.prepare<[string], number>('SELECT COUNT(*) FROM stuck_status WHERE stuck = 1 AND since = ?').pluck().get(SERVING)!;
        other.exec('ROLLBACK');
        other.close();
      }
      if (seen.length === 3) throw new Error('stopped part way');
      return '2026-11-27T12:00:00.000Z';
    };
    expect(() => new StuckProjection(rm, clock).upgrade(rm.db, 2)).toThrow('stopped part way');
    rm.close();
    expect(seen).toEqual([-1, 2, 4]);
    const left = new Database(file);
    expect(left.prepare(`SELECT 1 FROM sqlite_master WHERE name = '${STUCK_ROWS_MARK}'`).get()).toBeUndefined();
    left.close();

    expect(since()).toEqual([SERVING, SERVING, [SERVING, SERVING, SERVING, SERVING, SERVING]]);
    const after = new Database(file);
    expect(after.prepare(`SELECT rows FROM ${STUCK_ROWS_MARK}`).pluck().all()).toEqual([5]);
    after.close();
  });

  /** The chunks' clock reads the wait each chunk has on another connection's lock. */
  it("a pause between two chunks, and a later chunk waits LIVE_LOCK_WAIT_MS at most on another connection's lock (until the sixteenth session's final read, busy_timeout's 5 s)", async () => {
    await fiveAsEarlierCodeLeftThem();
    const rm = new ReadModelDb(file);
    const paused = jest.spyOn(Atomics, 'wait');
    const waits: number[] = [];
    try {
      new StuckProjection(rm, () => (waits.push(rm.db.pragma('busy_timeout', { simple: true }) as number), '2026-11-27T12:00:00.000Z')).upgrade(rm.db, 2);
      expect(waits).toEqual([0, LIVE_LOCK_WAIT_MS, LIVE_LOCK_WAIT_MS]);
      expect(paused.mock.calls.map((c) => c[3])).toEqual([UPGRADE_PAUSE_MS, UPGRADE_PAUSE_MS]);
    } finally {
      paused.mockRestore();
      rm.close();
    }
    expect(since()).toEqual([SERVING, SERVING, [SERVING, SERVING, SERVING, SERVING, SERVING]]);
  });

  it("an open that follows another process's swap (a live event loop) leaves the rows to the next open (until the sixteenth session's last read, it made them there, seconds at 50,000 stuck rows)", async () => {
    await fiveAsEarlierCodeLeftThem();
    const rm = new ReadModelDb(file);
    jest.spyOn(rm, 'following', 'get').mockReturnValue(true);
    try {
      new StuckProjection(rm, () => '2026-11-27T12:00:00.000Z').upgrade(rm.db, 2);
      expect(hasTable(rm.db, STUCK_ROWS_MARK)).toBe(false);
    } finally {
      rm.close();
    }
    const old = new Database(file);
    expect(old.prepare('SELECT since FROM stuck_status WHERE stuck = 1').pluck().all()).toEqual([OLD, OLD, OLD, OLD, OLD]);
    old.close();
    expect(since()).toEqual([SERVING, SERVING, [SERVING, SERVING, SERVING, SERVING, SERVING]]); // the next open
  });
});
