import type Database from 'better-sqlite3';
import { stuckStatus, stuckStatusValidUntil, type DeviceState, type MeterPointState, type StuckStatus } from '@ledger/domain';
import { areaOf, type StuckQuery, type StuckSortKey } from './stuck-report';

export const STUCK_SCHEMA = `
  CREATE TABLE IF NOT EXISTS stuck_status (
    device_id TEXT PRIMARY KEY, stuck INTEGER NOT NULL, mpxn TEXT, area TEXT, registered_operator TEXT, certificate_owner TEXT,
    since TEXT, status TEXT NOT NULL, valid_until TEXT);
  CREATE INDEX IF NOT EXISTS stuck_status_since ON stuck_status (stuck, since, device_id);
  CREATE INDEX IF NOT EXISTS stuck_status_mpxn ON stuck_status (stuck, mpxn, device_id);
  CREATE INDEX IF NOT EXISTS stuck_status_registered ON stuck_status (stuck, registered_operator, device_id);
  CREATE INDEX IF NOT EXISTS stuck_status_owner ON stuck_status (stuck, certificate_owner, device_id);
  CREATE INDEX IF NOT EXISTS stuck_status_area ON stuck_status (stuck, area, device_id);
  CREATE INDEX IF NOT EXISTS stuck_status_due ON stuck_status (valid_until) WHERE valid_until IS NOT NULL;
`;
export const STUCK_TABLES = ['stuck_status'];

const COLUMN: Record<StuckSortKey, string> = {
  deviceId: 'device_id',
  since: 'since',
  mpxn: 'mpxn',
  registeredOperator: 'registered_operator',
  certificateOwner: 'certificate_owner',
};

type State = <S>(table: 'device' | 'meterPoint', key: string) => S | undefined;

/**
 * The stuck-device report kept as a projection: one row per SMETS1 device with its stuck status as
 * the domain's `stuckStatus` gives it, recomputed whenever an event touches the device or its meter
 * point, and again once the time passes at which it can change by itself (`valid_until`: a
 * future-dated placement or NO registration taking effect). So a report "now" is a query of the
 * stuck rows (filtered, sorted and paged by the database), not a pass over every device.
 */
export class StuckProjection {
  private readonly stmt: {
    put: Database.Statement<[string, number, string | null, string | null, string | null, string | null, string | null, string, string | null]>;
    drop: Database.Statement<[string]>;
    due: Database.Statement<[string], { device_id: string }>;
  };

  constructor(
    private readonly db: Database.Database,
    private readonly state: State,
  ) {
    this.stmt = {
      put: db.prepare(
        `INSERT INTO stuck_status (device_id, stuck, mpxn, area, registered_operator, certificate_owner, since, status, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET stuck = excluded.stuck, mpxn = excluded.mpxn, area = excluded.area, registered_operator = excluded.registered_operator,
           certificate_owner = excluded.certificate_owner, since = excluded.since, status = excluded.status, valid_until = excluded.valid_until`,
      ),
      drop: db.prepare('DELETE FROM stuck_status WHERE device_id = ?'),
      due: db.prepare('SELECT device_id FROM stuck_status WHERE valid_until IS NOT NULL AND valid_until <= ?'),
    };
  }

  /** Recomputes the rows of these devices as of `now` (inside the caller's transaction). */
  refresh(deviceIds: Iterable<string>, now: string): void {
    for (const id of deviceIds) {
      const device = this.state<DeviceState>('device', id);
      if (!device || device.smetsGeneration !== 1) {
        this.stmt.drop.run(id);
        continue;
      }
      const meterPoint = device.mpxn ? this.state<MeterPointState>('meterPoint', device.mpxn) : undefined;
      const s = stuckStatus(device, meterPoint, now);
      this.stmt.put.run(id, s.stuck ? 1 : 0, s.mpxn, areaOf(s.mpxn), s.registeredOperator, s.certificateOwner, s.since, JSON.stringify(s), stuckStatusValidUntil(device, meterPoint, now) ?? null);
    }
  }

  /** Brings up to date the rows whose status could have changed by itself before `now`. */
  refreshDue(now: string): number {
    const due = this.stmt.due.all(now).map((r) => r.device_id);
    if (due.length) this.db.transaction(() => this.refresh(due, now))();
    return due.length;
  }

  /** One page of the stuck rows now (refresh the due rows first), filtered and sorted by the database. */
  page(q: StuckQuery): { count: number; offset: number; rows: StuckStatus[]; next: string | null } {
    const sort = q.sort ?? 'deviceId';
    const col = COLUMN[sort];
    const desc = q.order === 'desc';
    const where = ['stuck = 1'];
    const args: unknown[] = [];
    if (q.no) where.push('(registered_operator = ? OR certificate_owner = ?)'), args.push(q.no, q.no);
    if (q.area) where.push('area = ?'), args.push(q.area);
    if (q.sinceFrom) where.push('since >= ?'), args.push(q.sinceFrom);
    if (q.sinceTo) where.push('since <= ?'), args.push(q.sinceTo);
    const filter = where.join(' AND ');
    const count = (this.db.prepare(`SELECT COUNT(*) AS n FROM stuck_status WHERE ${filter}`).get(...args) as { n: number | bigint }).n;
    const key = `COALESCE(${col}, '')`;
    let pageWhere = filter;
    const pageArgs = [...args];
    if (q.after !== undefined) {
      const bar = q.after.lastIndexOf('|');
      const [afterKey, afterId] = [q.after.slice(0, bar), q.after.slice(bar + 1)];
      pageWhere += desc ? ` AND (${key} < ? OR (${key} = ? AND device_id < ?))` : ` AND (${key} > ? OR (${key} = ? AND device_id > ?))`;
      pageArgs.push(afterKey, afterKey, afterId);
    }
    const offset = q.after === undefined ? 0 : Number(count) - Number((this.db.prepare(`SELECT COUNT(*) AS n FROM stuck_status WHERE ${pageWhere}`).get(...pageArgs) as { n: number | bigint }).n);
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const dir = desc ? 'DESC' : 'ASC';
    const rows = (this.db.prepare(`SELECT status FROM stuck_status WHERE ${pageWhere} ORDER BY ${key} ${dir}, device_id ${dir} LIMIT ?`).all(...pageArgs, limit + 1) as Array<{ status: string }>).map(
      (r) => JSON.parse(r.status) as StuckStatus,
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { count: Number(count), offset, rows: page, next: more && last ? `${String(last[sort] ?? '')}|${last.deviceId}` : null };
  }
}
