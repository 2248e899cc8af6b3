import { LATEST_EDITION, type RuleSet, type StuckStatus } from '@ledger/domain';
import { listedStatus, stuckValues, type StuckProjection } from '../projections/stuck-projection';
import type { ReadModelDb } from '../read-model-db';
import type { StuckQuery, StuckSortKey } from './stuck-page';

const COLUMN: Record<StuckSortKey, string> = {
  deviceId: 'device_id',
  since: 'since',
  mpxn: 'mpxn',
  registeredOperator: 'registered_operator',
  certificateOwner: 'certificate_owner',
};

/** The stuck-device report now, from its projection. */
export class StuckQueries {
  constructor(
    private readonly rm: ReadModelDb,
    private readonly projection: StuckProjection,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {}

  /**
   * One page of the stuck devices now: the rows whose status changed by itself since they were
   * computed are brought up to date first, then the database filters, sorts, counts and pages
   * (keyset paging: `next` is the last row's sort key and device id). The devices stuck as rule sets
   * of `edition` judge them (stuckStatus): before 5, those too whose copies are one certificate, its
   * issuer spelt two ways, each with its status as those rule sets make it (listedStatus). `no`
   * matches the S1SP copy's owner too where the status the row is listed with names it
   * (`copyOwners`, listedStatus): from @5 a device whose copies are one certificate names none.
   */
  now(q: StuckQuery, edition: RuleSet['edition'] = LATEST_EDITION): { at: string; count: number; offset: number; rows: StuckStatus[]; next: string | null } {
    const at = this.clock();
    this.projection.refreshDue(at);
    const db = this.rm.db;
    const sort = q.sort ?? 'deviceId';
    const col = COLUMN[sort];
    const desc = q.order === 'desc';
    const where = [stuckValues(edition)];
    const args: unknown[] = [];
    // The S1SP copy's owner too (since 2026-11-28, twenty-first session): a device stuck by its copies was not found by it.
    // Read from the status listed under this edition: from @5, not an owner only @4's status names (the branch's generated column did).
    if (q.no) where.push(`(registered_operator = ? OR certificate_owner = ? OR json_extract(${listedStatus(edition)}, '$.copyOwners.S1SP') = ?)`), args.push(q.no, q.no, q.no);
    if (q.area) where.push('area = ?'), args.push(q.area);
    if (q.sinceFrom) where.push('since >= ?'), args.push(q.sinceFrom);
    if (q.sinceTo) where.push('since <= ?'), args.push(q.sinceTo);
    const filter = where.join(' AND ');
    const count = (db.prepare(`SELECT COUNT(*) AS n FROM stuck_status WHERE ${filter}`).get(...args) as { n: number | bigint }).n;
    const key = `COALESCE(${col}, '')`;
    let pageWhere = filter;
    const pageArgs = [...args];
    if (q.after !== undefined) {
      pageWhere += desc ? ` AND (${key} < ? OR (${key} = ? AND device_id < ?))` : ` AND (${key} > ? OR (${key} = ? AND device_id > ?))`;
      pageArgs.push(q.after.key, q.after.key, q.after.deviceId);
    }
    const offset = q.after === undefined ? 0 : Number(count) - Number((db.prepare(`SELECT COUNT(*) AS n FROM stuck_status WHERE ${pageWhere}`).get(...pageArgs) as { n: number | bigint }).n);
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const dir = desc ? 'DESC' : 'ASC';
    const rows = (db.prepare(`SELECT ${listedStatus(edition)} AS status FROM stuck_status WHERE ${pageWhere} ORDER BY ${key} ${dir}, device_id ${dir} LIMIT ?`).all(...pageArgs, limit + 1) as Array<{ status: string }>).map(
      (r) => JSON.parse(r.status) as StuckStatus,
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { at, count: Number(count), offset, rows: page, next: more && last ? `${String(last[sort] ?? '')}|${last.deviceId}` : null };
  }
}
