import { inventoryAt, meterPointOf, stuckStatus, stuckStatusValidUntil, type DeviceState, type LedgerEventType, type MeterPointState, type StuckStatus } from '@ledger/domain';
import type Database from 'better-sqlite3';
import { isBusy } from '@ledger/event-store/errors';
import { addColumn, hasTable, LIVE_LOCK_WAIT_MS, loadState, type ReadModelDb } from '../read-model-db';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/** The table whose presence says the rows were made by this code's stuckStatus (StuckProjection.upgrade). */
export const STUCK_ROWS_MARK = 'stuck_issuer_spelt';
/**
 * The tables older code made when it made the rows again at open (the fifteenth to nineteenth
 * sessions' `stuck_since_serving`, the twentieth's `stuck_copies_disagree`), each making them when
 * its own is missing. This code drops them when it makes STUCK_ROWS_MARK, so older code opening the
 * file (a rollback) makes its rows again and the table with them: one found here again says so, and
 * the rows are made again once more (StuckProjection.upgrade).
 */
export const OLDER_STUCK_ROWS_MARKS = ['stuck_since_serving', 'stuck_copies_disagree'] as const;

/**
 * What a row's `stuck` holds: 0 stuck under no rule set; 1 stuck under every edition; 2 stuck under
 * editions before 5 only (its proxy copies one certificate, the issuer spelt two ways: stuckStatus's
 * `issuerSpeltTwoWays`). A device stuck from edition 5 only there is none: copies that differ by
 * name differ as text.
 */
export const STUCK = { no: 0, always: 1, before5: 2 } as const;

/**
 * The status a row is listed with under a rule set of this edition (SQL): from 5 `status`; before,
 * `status_before5` where it is kept, but only where `status` carries `issuerSpeltTwoWays` (the key
 * this code alone writes, and `status_before5` with it): a row older code wrote last (its `put`
 * writes the nine columns it knows) has the `status_before5` this code left, of an earlier state.
 */
export function listedStatus(edition: number): string {
  // status_before5 looked at first: null on nearly every row, which then needs no JSON parsed.
  return edition >= 5 ? 'status' : "CASE WHEN status_before5 IS NOT NULL AND json_extract(status, '$.issuerSpeltTwoWays') THEN status_before5 ELSE status END";
}

/** The `stuck` values of the rows stuck under a rule set of this edition (StuckQueries). */
export function stuckValues(edition: number): string {
  return edition >= 5 ? `stuck = ${STUCK.always}` : `stuck IN (${STUCK.always}, ${STUCK.before5})`;
}
/** Stuck rows made again a transaction (StuckProjection.upgrade). */
export const UPGRADE_CHUNK = 1000;
/** The pause between two of those transactions (ms), in which another connection's write waiting on the lock has it. */
export const UPGRADE_PAUSE_MS = 50;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** The MPAN's distributor ID, or null for an MPRN (gas) or no meter point. */
export function areaOf(mpxn: string | null): string | null {
  return mpxn && mpxn.length === 13 ? mpxn.slice(0, 2) : null;
}

/**
 * Whether a device has a row at `now`: it is SMETS1 in force (`inForce`, its inventoryAt(device,
 * now)), or one of its inventory changes dated later is SMETS1 (its row, not stuck meanwhile, is
 * due then). Not a device whose SMETS1 record, appended last, is dated before the record in force,
 * nor one that was SMETS1 and no longer is: the as-of report finds those at the instants they were.
 */
function tracked(device: DeviceState, inForce: DeviceState, now: string): boolean {
  return inForce.smetsGeneration === 1 || (device.inventory ?? []).some((c) => c.changedAt > now && c.smetsGeneration === 1);
}

/**
 * The stuck-device report kept as a projection: one row per SMETS1 device (or due to be) with its stuck status as
 * the domain's `stuckStatus` gives it, recomputed whenever an event touches the device or its meter
 * point, and again once the time passes at which it can change by itself (`valid_until`: a
 * future-dated placement, inventory change or NO registration taking effect). A device's
 * generation and meter point are those of its inventory record in force (`inventoryAt`), so a
 * device has a row while it is SMETS1 in force or one of its changes dated later is (`tracked`: the
 * row's valid_until then brings it up to date when that change comes into force); the devices of a
 * meter point are those the inventory links to it last recorded (`devices.mpxn`) or in force when
 * their row was made (`stuck_status.mpxn`). So a report "now" is a query of the
 * stuck rows (StuckQueries), not a pass over every device. It reads the device and meter-point
 * states those projections wrote, so it comes after them in a batch. A rebuild into a file of its
 * own makes every row once, at its end (`hold`, `finish`).
 */
export class StuckProjection implements Projection {
  readonly name = 'stuck-devices';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['DeviceInventoryChanged', 'CertificatePlaced', 'RegistrationChanged'] as const);
  readonly tables = ['stuck_status'];
  readonly schema = `
    CREATE TABLE IF NOT EXISTS stuck_status (
      device_id TEXT PRIMARY KEY, stuck INTEGER NOT NULL, mpxn TEXT, area TEXT, registered_operator TEXT, certificate_owner TEXT,
      since TEXT, status TEXT NOT NULL, valid_until TEXT, status_before5 TEXT);
  `;
  readonly queryIndexes = `
    CREATE INDEX IF NOT EXISTS stuck_status_since ON stuck_status (stuck, since, device_id);
    CREATE INDEX IF NOT EXISTS stuck_status_mpxn ON stuck_status (stuck, mpxn, device_id);
    CREATE INDEX IF NOT EXISTS stuck_status_registered ON stuck_status (stuck, registered_operator, device_id);
    CREATE INDEX IF NOT EXISTS stuck_status_owner ON stuck_status (stuck, certificate_owner, device_id);
    CREATE INDEX IF NOT EXISTS stuck_status_area ON stuck_status (stuck, area, device_id);
    CREATE INDEX IF NOT EXISTS stuck_status_due ON stuck_status (valid_until) WHERE valid_until IS NOT NULL;
  `;

  private readonly stmts = this.rm.statements((db) => ({
    device: db.prepare<[string], { state: string }>('SELECT state FROM devices WHERE device_id = ?'),
    meterPoint: db.prepare<[string], { state: string }>('SELECT state FROM meter_points WHERE mpxn = ?'),
    devicesOn: db.prepare<[string, string], { device_id: string }>('SELECT device_id FROM devices WHERE mpxn = ? UNION SELECT device_id FROM stuck_status WHERE stuck IN (0, 1, 2) AND mpxn = ?'),
    smets1: db.prepare<[number], { rowid: number; device: string; meterPoint: string | null }>(
      'SELECT d.rowid, d.state AS device, m.state AS meterPoint FROM devices d LEFT JOIN meter_points m ON m.mpxn = d.mpxn WHERE d.rowid > ? AND d.smets_generation = 1 ORDER BY d.rowid LIMIT 1000',
    ),
    // Devices SMETS1 in their history but not as last recorded (a correction dated later, or backdated before a SMETS1 record): few.
    smets1Before: db.prepare<[], { device_id: string }>(
      'SELECT DISTINCT h.device_id FROM inventory_history h JOIN devices d ON d.device_id = h.device_id WHERE h.smets_generation = 1 AND d.smets_generation IS NOT 1',
    ),
    put: db.prepare<[string, number, string | null, string | null, string | null, string | null, string | null, string, string | null, string | null]>(
      `INSERT INTO stuck_status (device_id, stuck, mpxn, area, registered_operator, certificate_owner, since, status, valid_until, status_before5)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET stuck = excluded.stuck, mpxn = excluded.mpxn, area = excluded.area, registered_operator = excluded.registered_operator,
         certificate_owner = excluded.certificate_owner, since = excluded.since, status = excluded.status, valid_until = excluded.valid_until,
         status_before5 = excluded.status_before5`,
    ),
    drop: db.prepare<[string]>('DELETE FROM stuck_status WHERE device_id = ?'),
    due: db.prepare<[string], { device_id: string }>('SELECT device_id FROM stuck_status WHERE valid_until IS NOT NULL AND valid_until <= ?'),
  }));

  /** A rebuild into a file of its own (`hold`): the rows are made at its end (`finish`). */
  private held = false;

  constructor(
    private readonly rm: ReadModelDb,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {}

  /** Recomputes the devices the batch touched, and those on the meter points it touched. */
  applyBatch(batch: readonly ProjectedEvent[]): void {
    if (this.held) return;
    const s = this.stmts();
    const ids = new Set<string>();
    const mpxns = new Set<string>();
    for (const { event } of batch) {
      if (event.type === 'RegistrationChanged') mpxns.add(event.data.mpxn);
      else if (event.type === 'DeviceInventoryChanged' || event.type === 'CertificatePlaced') ids.add(event.data.deviceId);
    }
    for (const mpxn of mpxns) for (const r of s.devicesOn.all(mpxn, mpxn)) ids.add(r.device_id);
    this.refresh(ids, this.clock());
  }

  /**
   * Read models made before 2026-11-27 (fifteenth session) hold stuck rows whose `since` leaves out
   * when the device began to serve its meter point as SMETS1 (stuckStatus), and those made before
   * 2026-11-28 (twentieth session) rows not stuck whose device's proxy copies disagree (stuck since,
   * `copiesDisagree`): every row is made again once, and the table STUCK_ROWS_MARK made to remember
   * it (a new file, or one rebuilt, gets it with no row to make; until the twentieth session the
   * stuck rows only, `stuck_since_serving` marking it). Those made before the twenty-first session
   * (2026-11-28) lack the column `status_before5` (added here, empty, at every open where it is
   * missing) and the rows
   * stuck under rule sets before @5 only (`stuck` 2: STUCK), and were marked `stuck_copies_disagree`:
   * every row is made again once more. So are those found with an older mark (OLDER_STUCK_ROWS_MARKS)
   * beside this code's: older code opened the file after this code had (a rollback, and a return)
   * and made its rows its own way, `stuck` 0 where it is 2 here. `chunk` rows a transaction, in device-id order, each as
   * of its own start, the table made by the last, and a pause of UPGRADE_PAUSE_MS between two, in
   * which another connection's write waiting on the lock has it (SQLite's busy handler tries again
   * every few ms, 100 at most: with no pause it found the lock taken again at each try, and waited
   * for nearly the whole upgrade). So no write lock is held longer than one chunk's (until
   * 2026-11-27, sixteenth session, one transaction made them all, 3.27 s on 50,000 stuck rows,
   * another connection's write waiting meanwhile). A look first, as each open does this: the
   * write lock only when it is to be done, and the first chunk's without waiting on another
   * connection's lock (a `ledger rebuild` in place holds it for its whole run): the file opens with
   * its rows as they were then, and a later open makes them. A later chunk waits LIVE_LOCK_WAIT_MS at
   * most, as a live batch does (until the sixteenth session's final read, busy_timeout's 5 s, on
   * the event loop when the open followed a swap); when it cannot have the lock, or the process
   * stops, the rows made stay made and the next open makes them all again, from the first. An open
   * that follows another process's swap (ReadModelDb.following) runs on a live event loop: it
   * leaves them to the next open (until the sixteenth session's last read, it made them there, the
   * pause left out but the work, seconds at 50,000 stuck rows, stalling this process's requests).
   */
  upgrade(db: Database.Database, chunk = UPGRADE_CHUNK): void {
    addColumn(db, 'stuck_status', 'status_before5', 'TEXT');
    const done = () => hasTable(db, STUCK_ROWS_MARK) && !OLDER_STUCK_ROWS_MARKS.some((m) => hasTable(db, m));
    if (done() || this.rm.following) return;
    const next = db.prepare<[string, number], string>('SELECT device_id FROM stuck_status WHERE device_id > ? ORDER BY device_id LIMIT ?').pluck();
    let after = '';
    let rows = 0;
    /** One chunk, in a transaction of its own: whether it was the last. */
    const makeChunk = (now: string) =>
      db
        .transaction(() => {
          if (done()) return true; // done already (by another process opening the file too, say)
          const ids = next.all(after, chunk);
          if (ids.length) this.refresh(ids, now); // none in a new file, whose devices table may not be made yet (the sets' order)
          rows += ids.length;
          after = ids[ids.length - 1] ?? after;
          if (ids.length === chunk) return false;
          // Older code's marks dropped, so that code opening the file makes its rows again (and its mark): found here, they are made again.
          db.exec([...OLDER_STUCK_ROWS_MARKS, STUCK_ROWS_MARK].map((m) => `DROP TABLE IF EXISTS ${m};`).join(' '));
          db.exec(`CREATE TABLE ${STUCK_ROWS_MARK} (refreshed_at TEXT NOT NULL, rows INTEGER NOT NULL)`);
          db.prepare(`INSERT INTO ${STUCK_ROWS_MARK} (refreshed_at, rows) VALUES (?, ?)`).run(now, rows);
          return true;
        })
        .immediate();
    try {
      for (let last = this.rm.noWait(() => makeChunk(this.clock())); !last; ) {
        Atomics.wait(PAUSE, 0, 0, UPGRADE_PAUSE_MS);
        last = this.rm.waitAtMost(LIVE_LOCK_WAIT_MS, () => makeChunk(this.clock()));
      }
    } catch (err) {
      if (!isBusy(err)) throw err;
    }
  }

  /** Read models from before this projection existed: filled once from the devices they hold. */
  backfill(): void {
    this.fill(this.clock());
  }

  /**
   * A rebuild into a file nobody reads until it is done: no rows are made batch by batch (each
   * would read back and parse the device and meter-point states again, in every batch that touches
   * them); `finish` makes every one once, from the final states, as of the rebuild's end (what the
   * live read models show once `refreshDue` has run then).
   */
  hold(): void {
    this.held = true;
  }

  finish(): void {
    if (!this.held) return;
    this.held = false;
    this.fill(this.clock());
  }

  /**
   * A row for every device `tracked` (the table empty: a rebuild's end, a backfill), from the
   * states the other projections wrote: those SMETS1 as last recorded, then those SMETS1 in their
   * history only.
   */
  private fill(now: string): void {
    const s = this.stmts();
    for (let page = s.smets1.all(0); page.length; page = s.smets1.all(page[page.length - 1].rowid)) {
      for (const r of page) {
        const device = JSON.parse(r.device) as DeviceState;
        const inForce = inventoryAt(device, now);
        if (!tracked(device, inForce, now)) continue;
        const mpxn = meterPointOf(inForce); // meterPointAt(device, now), inForce taken once
        if (mpxn !== (device.mpxn || undefined)) this.put(device, mpxn ? loadState<MeterPointState>(s.meterPoint, mpxn) : undefined, now);
        else this.put(device, mpxn && r.meterPoint !== null ? (JSON.parse(r.meterPoint) as MeterPointState) : undefined, now);
      }
    }
    this.refresh(s.smets1Before.all().map((r) => r.device_id), now);
  }

  /** Recomputes the rows of these devices as of `now` (inside the caller's transaction). */
  refresh(deviceIds: Iterable<string>, now: string): void {
    const s = this.stmts();
    for (const id of deviceIds) {
      const device = loadState<DeviceState>(s.device, id);
      const inForce = device && inventoryAt(device, now);
      if (!device || !inForce || !tracked(device, inForce, now)) {
        s.drop.run(id);
        continue;
      }
      const mpxn = meterPointOf(inForce); // meterPointAt(device, now), inForce taken once
      this.put(device, mpxn ? loadState<MeterPointState>(s.meterPoint, mpxn) : undefined, now);
    }
  }

  /**
   * A device's row: its status judged by the latest edition (`status`), and, only where its copies
   * are one certificate with the issuer spelt two ways, judged by edition 4 too (`status_before5`,
   * what rule sets @1 to @4 make of it, where that differs), so the rows hold for every rule set and
   * a report picks by its edition (`stuck`: STUCK). `since` is that of the status the row is listed
   * with. Older code writing the row (a rollback; two versions on one file) leaves `status_before5`
   * as it was: a report reads it only where `status` carries `issuerSpeltTwoWays`, which this code
   * alone writes (listedStatus).
   */
  private put(device: DeviceState, meterPoint: MeterPointState | undefined, now: string): void {
    const st = stuckStatus(device, meterPoint, now);
    const before5 = st.issuerSpeltTwoWays ? stuckStatus(device, meterPoint, now, 4) : undefined;
    const stuck = st.stuck ? STUCK.always : before5?.stuck ? STUCK.before5 : STUCK.no;
    const listed: StuckStatus = stuck === STUCK.before5 ? before5! : st;
    const status = JSON.stringify(st);
    const older = before5 && JSON.stringify(before5) !== status ? JSON.stringify(before5) : null;
    this.stmts().put.run(
      device.deviceId,
      stuck,
      st.mpxn,
      areaOf(st.mpxn),
      st.registeredOperator,
      st.certificateOwner,
      listed.since,
      status,
      stuckStatusValidUntil(device, meterPoint, now) ?? null,
      older,
    );
  }

  /** Brings up to date the rows whose status could have changed by itself before `now`. */
  refreshDue(now: string): number {
    const due = this.stmts()
      .due.all(now)
      .map((r) => r.device_id);
    if (due.length) this.rm.db.transaction(() => this.refresh(due, now)).immediate(); // the write lock first: another process may be projecting into the file
    return due.length;
  }

  reset(): void {
    this.held = false;
    truncate(this.rm.db, this.tables);
  }
}
