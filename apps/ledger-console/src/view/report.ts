/**
 * Pure logic behind the report pages: CSV cells that a spreadsheet will not run as formulas, the
 * sum of a what-if run window by window, which windows hold a page of changed decisions, and
 * evidence as readable rows. No DOM here.
 */

/**
 * One CSV cell. A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a
 * tab or a carriage return) gets a leading apostrophe; a cell with a comma, quote or line break
 * is quoted, its quotes doubled.
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Each rule set at its latest version, as the server's `getRuleSet(id)` gives it (server-shapes.spec.ts holds them equal). */
export const LATEST_RULE_SETS: ReadonlyArray<{ id: string; version: number }> = [
  { id: 'baseline', version: 5 },
  { id: 'ownership-only', version: 5 },
  { id: 'registered-operator', version: 5 },
];

/**
 * The rule sets a recorded decision can be replayed under besides its own, as `id@version`: each
 * latest version but the one it records. A decision recorded under registered-operator@4 gets
 * registered-operator@5 (until 2026-11-27 the choices were bare ids, the recorded one's left out).
 */
export function replayChoices(recorded: { id: string; version: number }): string[] {
  return LATEST_RULE_SETS.filter((rs) => rs.id !== recorded.id || rs.version !== recorded.version).map((rs) => `${rs.id}@${rs.version}`);
}

export interface RepairOption {
  who: string;
  userId: string;
  role: string;
  srv: string;
  carrying: string;
  accepted: boolean;
  responseCode: string;
  reason: string;
}

export interface StuckDevice {
  deviceId: string;
  mpxn: string | null;
  registeredOperator: string | null;
  certificateOwner: string | null;
  since: string | null;
  /** The two proxy copies of the NO signing certificate are not one certificate (stuckStatus), and their owners where they differ. */
  copiesDisagree?: true;
  copyOwners?: { DSP: string; S1SP: string };
  /** The copies are one certificate, its issuer spelt two ways: they disagree under rule sets @1 to @4 only (the report judged by such a rule set lists the device). */
  issuerSpeltTwoWays?: true;
  repairs?: RepairOption[];
  repairable?: boolean;
}

export const STUCK_CSV_HEADER = ['device_id', 'mpxn', 'area', 'registered_no', 'certificate_owner', 'stuck_since', 'repairable', 'repair_by', 'repair_request', 'copies_disagree'] as const;

/** The MPAN's distributor ID (its first two digits); none for an MPRN. */
export function areaOf(mpxn: string | null): string {
  return mpxn && mpxn.length === 13 ? mpxn.slice(0, 2) : '';
}

/** Why a device is stuck besides its certificate's owner: its proxy copies disagreeing, with their owners where they differ (empty if not). */
export function copiesNote(d: StuckDevice): string {
  if (!d.copiesDisagree) return '';
  const spelt = d.issuerSpeltTwoWays ? ' (one certificate, issuer spelt two ways: disagree under rule sets @1-@4)' : '';
  return (d.copyOwners ? `copies disagree: DSP ${d.copyOwners.DSP}, S1SP ${d.copyOwners.S1SP}` : 'copies disagree') + spelt;
}

/** Who could repair the device and with which request, in words (empty without a rule set). */
export function repairSummary(d: StuckDevice): { by: string; request: string } {
  const ok = (d.repairs ?? []).filter((r) => r.accepted);
  return {
    by: ok.map((r) => `${r.who} ${r.userId} as ${r.role}`).join('; '),
    request: ok.map((r) => `${r.srv} carrying ${r.carrying}`).join('; '),
  };
}

export function stuckCsvRow(d: StuckDevice): unknown[] {
  const r = repairSummary(d);
  return [d.deviceId, d.mpxn, areaOf(d.mpxn), d.registeredOperator, d.certificateOwner, d.since, d.repairable === undefined ? '' : d.repairable ? 'yes' : 'no', r.by, r.request, copiesNote(d)];
}

/** A what-if reply for one window of the log (POST /replays with fromPosition and maxEvents). */
export interface WhatIfReply {
  judged: number;
  unchanged: number;
  changed: { rejectedToAccepted: number; acceptedToRejected: number; codeOnly: number };
  bySrv: Record<string, { judged: number; changed: number }>;
  byCode: Record<string, number>;
  changes: { total: number; offset: number; items: ChangedDecision[] };
  window?: { fromPosition: string; lastPosition: string | null; eventsRead: number; nextPosition: string | null; head: string | null };
}

export interface ChangedDecision {
  requestId: string;
  srv: string;
  recorded: { outcome: string; responseCode: string };
  replayed: { outcome: string; responseCode: string };
}

export interface WhatIfTotals {
  judged: number;
  unchanged: number;
  changed: { rejectedToAccepted: number; acceptedToRejected: number; codeOnly: number };
  bySrv: Record<string, { judged: number; changed: number }>;
  byCode: Record<string, number>;
  eventsRead: number;
  /** Each window read, with how many changed decisions it holds, for paging through them later. */
  windows: Array<{ fromPosition: string; toPosition: string; changes: number }>;
}

export function emptyTotals(): WhatIfTotals {
  return { judged: 0, unchanged: 0, changed: { rejectedToAccepted: 0, acceptedToRejected: 0, codeOnly: 0 }, bySrv: {}, byCode: {}, eventsRead: 0, windows: [] };
}

/** Adds one window's reply to the totals (a new object: the old one is left as it was). */
export function addWindow(t: WhatIfTotals, r: WhatIfReply): WhatIfTotals {
  const bySrv: WhatIfTotals['bySrv'] = {};
  for (const [k, v] of Object.entries(t.bySrv)) bySrv[k] = { ...v };
  for (const [k, v] of Object.entries(r.bySrv)) {
    const s = (bySrv[k] ??= { judged: 0, changed: 0 });
    s.judged += v.judged;
    s.changed += v.changed;
  }
  const byCode = { ...t.byCode };
  for (const [k, v] of Object.entries(r.byCode)) byCode[k] = (byCode[k] ?? 0) + v;
  const windows = r.window && r.window.lastPosition !== null
    ? [...t.windows, { fromPosition: r.window.fromPosition, toPosition: r.window.lastPosition, changes: r.changes.total }]
    : t.windows;
  return {
    judged: t.judged + r.judged,
    unchanged: t.unchanged + r.unchanged,
    changed: {
      rejectedToAccepted: t.changed.rejectedToAccepted + r.changed.rejectedToAccepted,
      acceptedToRejected: t.changed.acceptedToRejected + r.changed.acceptedToRejected,
      codeOnly: t.changed.codeOnly + r.changed.codeOnly,
    },
    bySrv,
    byCode,
    eventsRead: t.eventsRead + (r.window?.eventsRead ?? 0),
    windows,
  };
}

export function changedTotal(t: WhatIfTotals): number {
  return t.windows.reduce((n, w) => n + w.changes, 0);
}

/**
 * The requests to make for changed decisions [offset, offset + limit) of the whole run: for each
 * window that holds some of them, its position range and the offset and limit inside it.
 */
export function pagePlan(windows: WhatIfTotals['windows'], offset: number, limit: number): Array<{ fromPosition: string; toPosition: string; offset: number; limit: number }> {
  const out: Array<{ fromPosition: string; toPosition: string; offset: number; limit: number }> = [];
  let before = 0;
  let want = limit;
  for (const w of windows) {
    const start = Math.max(offset - before, 0);
    if (want > 0 && start < w.changes) {
      const n = Math.min(w.changes - start, want);
      out.push({ fromPosition: w.fromPosition, toPosition: w.toPosition, offset: start, limit: n });
      want -= n;
    }
    before += w.changes;
  }
  return out;
}

/** How far a run has got, 0 to 1, from positions (exact on SQLite, whose positions are gapless). */
export function progress(start: string, last: string | null, head: string | null): number {
  if (last === null || head === null) return 0;
  const s = BigInt(start);
  const h = BigInt(head);
  if (h <= s) return 1;
  const f = Number(((BigInt(last) - s + 1n) * 10_000n) / (h - s + 1n)) / 10_000;
  return Math.min(Math.max(f, 0), 1);
}

/** Evidence as rows of (path, value) with nested objects flattened, for a readable definition list. */
export function evidenceRows(evidence: unknown, prefix = ''): Array<{ key: string; value: string }> {
  if (evidence === null || typeof evidence !== 'object') return [{ key: prefix || '(value)', value: evidence === undefined ? '' : String(evidence) }];
  if (Array.isArray(evidence)) {
    if (evidence.length === 0) return [{ key: prefix || '(list)', value: 'none' }];
    if (evidence.every((e) => e === null || typeof e !== 'object')) return [{ key: prefix || '(list)', value: evidence.join(', ') }];
    return evidence.flatMap((e, i) => evidenceRows(e, `${prefix}[${i + 1}]`));
  }
  const entries = Object.entries(evidence as Record<string, unknown>);
  if (entries.length === 0) return [{ key: prefix || '(object)', value: 'none' }];
  return entries.flatMap(([k, v]) => evidenceRows(v, prefix ? `${prefix}.${k}` : k));
}

/** A replay difference's path for people: `checks.3.outcome` is step 4's outcome, named by its check. */
export function differencePath(path: string, checks: ReadonlyArray<{ step: number; check: string }>): string {
  return path.replace(/^checks\.(\d+)(\.|$)/, (_, i: string, dot: string) => {
    const c = checks[Number(i)];
    return `check ${c ? `${c.step} (${c.check})` : Number(i) + 1}${dot ? ': ' : ''}`;
  });
}

/**
 * How far a verification that met damage read, said whole: the server's walkDamaged (libs/audit, which the CLI's verify prints),
 * copied for this browser bundle and held to it by server-shapes.spec. `head`: the position the walk read through (GET /audit/verify's
 * `position`), undefined where not known (a verification as recorded, GET /audit/verify/last): then neither is claimed.
 */
export function walkDamaged(damaged: { checkedThrough: string | null }, head?: string | null): string {
  const through = damaged.checkedThrough;
  if (head === undefined) return through === null ? 'damage found, no position checked' : `damage found, checked through position ${through}`;
  if (through === head) return head === null ? 'no event in the table (the damage below was found after the walk)' : `through position ${head} (every event read; the damage below was found after the walk)`;
  return through === null ? `no position of ${head} checked (damage ended the walk)` : `through position ${through} of ${head} (damage ended the walk)`;
}
