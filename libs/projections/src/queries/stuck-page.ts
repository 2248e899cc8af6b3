import { DomainError, type StuckStatus } from '@ledger/domain';
import { areaOf } from '../projections/stuck-projection';

/** A row of a stuck-device report: the domain's stuck status, and whether the rule set asked about lets someone repair it. */
type StuckRow = StuckStatus & { repairable?: boolean };

export const STUCK_SORT_KEYS = ['deviceId', 'since', 'mpxn', 'registeredOperator', 'certificateOwner'] as const;
export type StuckSortKey = (typeof STUCK_SORT_KEYS)[number];

export interface StuckQuery {
  /** A network operator: rows where it is the registered NO or the owner of either proxy copy (the S1SP copy's where the status names it: `copyOwners`). */
  no?: string;
  /** A distributor ID (the first two digits of the MPAN); gas meter points have none. */
  area?: string;
  /** Stuck since at or after / at or before these instants. */
  sinceFrom?: string;
  sinceTo?: string;
  sort?: StuckSortKey;
  order?: 'asc' | 'desc';
  /** The `next` of the previous page, read (parseStuckCursor). */
  after?: StuckCursor;
  limit?: number;
}

/** A page's cursor: the last row's sort key ('' where it has none) and device id; a page's `next` says `${key}|${deviceId}`. */
export interface StuckCursor {
  key: string;
  deviceId: string;
}

/** What a stuck report's sort key holds ('' where the row has none), for checking a cursor. */
const SORT_VALUE: Record<StuckSortKey, RegExp> = {
  deviceId: /^[0-9A-F]{2}(?:-[0-9A-F]{2}){7}$/,
  since: /^(\d{4}-\d{2}-\d{2}T[^|]*)?$/, // an instant as the row holds it
  mpxn: /^(\d{6,13})?$/,
  registeredOperator: /^([0-9A-F]{2}(?:-[0-9A-F]{2}){7})?$/,
  certificateOwner: /^([0-9A-F]{2}(?:-[0-9A-F]{2}){7})?$/,
};

/**
 * A stuck report's cursor (`after`: the `next` of the previous page) for the sort asked, read once
 * for the request, or a DomainError naming `after`: a cursor from elsewhere or of another sort read
 * as a key matched rows it should not, and answered an empty last page or a page from the start as
 * if it went on from there.
 */
export function parseStuckCursor(after: string, sort: StuckSortKey): StuckCursor {
  const bar = after.lastIndexOf('|');
  const cursor = { key: after.slice(0, bar), deviceId: after.slice(bar + 1) };
  const fits = bar >= 0 && SORT_VALUE.deviceId.test(cursor.deviceId) && SORT_VALUE[sort].test(cursor.key) && (sort !== 'deviceId' || cursor.key === cursor.deviceId);
  if (!fits) throw new DomainError('after', `is not a cursor of this report sorted by ${sort} (give the \`next\` of the previous page, with the same sort)`);
  return cursor;
}

export interface StuckPage<R extends StuckRow = StuckRow> {
  /** Rows matching the filters (all pages). */
  count: number;
  /** How many matching rows come before this page. */
  offset: number;
  /** Of those, how many the rule set lets someone repair (with a rule set only). */
  repairable?: number;
  devices: R[];
  next: string | null;
}

const keyOf = (row: StuckRow, sort: StuckSortKey): string => String(row[sort] ?? '');
const cursorOf = (row: StuckRow, sort: StuckSortKey): string => `${keyOf(row, sort)}|${row.deviceId}`;

function compare(a: StuckRow, b: StuckRow, sort: StuckSortKey): number {
  const ka = keyOf(a, sort);
  const kb = keyOf(b, sort);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}

/**
 * Filters, sorts and pages a stuck-device report computed in memory (as of an instant: the audit's
 * StuckReports). Paging is by key (the last row's sort key and
 * device id), so a page does not shift when an earlier row drops out between two requests.
 */
export function pageStuck<R extends StuckRow>(rows: R[], q: StuckQuery): StuckPage<R> {
  const sort = q.sort ?? 'deviceId';
  const desc = q.order === 'desc';
  const matching = rows.filter(
    (r) =>
      (!q.no || r.registeredOperator === q.no || r.certificateOwner === q.no || r.copyOwners?.S1SP === q.no) &&
      (!q.area || areaOf(r.mpxn) === q.area) &&
      (!q.sinceFrom || (r.since !== null && r.since >= q.sinceFrom)) &&
      (!q.sinceTo || (r.since !== null && r.since <= q.sinceTo)),
  );
  const sorted = matching.sort((a, b) => (desc ? -compare(a, b, sort) : compare(a, b, sort)));
  let start = 0;
  if (q.after !== undefined) {
    const pivot = { deviceId: q.after.deviceId, [sort]: q.after.key } as unknown as StuckRow;
    start = sorted.findIndex((r) => (desc ? compare(r, pivot, sort) < 0 : compare(r, pivot, sort) > 0));
    if (start < 0) start = sorted.length;
  }
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const devices = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length;
  const hasRepairs = rows.some((r) => r.repairable !== undefined);
  return {
    count: matching.length,
    offset: start,
    ...(hasRepairs ? { repairable: matching.filter((r) => r.repairable).length } : {}),
    devices,
    next: more ? cursorOf(devices[devices.length - 1], sort) : null,
  };
}
