import type { ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { decisionOfRow } from '../decision-rows';
import { ACTOR_NOT_KEPT } from '../projections/actors';
import type { ReadModelDb } from '../read-model-db';
import { ACTOR_UNKNOWN_COUNTED, actorIds, actorUnknown, shownActor } from './actor-filter';

export interface DecisionFilter {
  deviceId?: string;
  userId?: string;
  outcome?: 'accepted' | 'rejected';
  code?: string;
  srv?: string;
  from?: string;
  to?: string;
  /** An actor as recorded (parseActor): its decisions only (a key's identity without its name: the key under every name, actorIds). */
  actor?: string;
  /** The `next` cursor of the previous page. */
  after?: number;
  limit?: number;
}

export interface DecisionRow {
  requestId: string;
  deviceId: string;
  originator: string;
  srv: string;
  outcome: string;
  responseCode: string;
  ruleSet: string;
  receivedAt: string;
  evaluatedAt: string;
  position: string;
  /** Who recorded it (its event's metadata `actor`), null when that names none. */
  actor: string | null;
  /** The row was made before the read models kept actors (by an earlier build): its actor is not known until a rebuild. */
  actorUnknown?: true;
  decision: ServiceRequestEvaluatedV1;
}

/** A decision's row with its actor's text (`actor_text`). */
const ROWS = 'SELECT d.*, a.actor AS actor_text FROM decisions d LEFT JOIN actors a ON a.id = d.actor';

/** The decision log. */
export class DecisionQueries {
  private readonly byId = this.rm.statements((db) => db.prepare<[string], Record<string, string>>(`${ROWS} WHERE d.request_id = ?`));

  constructor(private readonly rm: ReadModelDb) {}

  decision(requestId: string): DecisionRow | undefined {
    const r = this.byId().get(requestId);
    return r ? toDecisionRow(r) : undefined;
  }

  /**
   * Decisions in the order recorded, filtered, paged by `after` (the previous page's `next`). By
   * actor, with `actorUnknown` when the read models hold decisions whose actor they did not keep.
   */
  decisions(f: DecisionFilter): { items: DecisionRow[]; next: number | null; actorUnknown?: ReturnType<typeof actorUnknown> } {
    // Without an actor, one statement. With one, one read transaction: the actor's ids and each of their reads see the same commits
    // (read one by one, a batch another process committed between two reads was in the page for one name and not another, and
    // `next` passed over the other's for good).
    return f.actor === undefined ? this.page(f) : this.rm.db.transaction(() => this.page(f))();
  }

  private page(f: DecisionFilter): { items: DecisionRow[]; next: number | null; actorUnknown?: ReturnType<typeof actorUnknown> } {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      where.push(sql);
      args.push(v);
    };
    if (f.deviceId) add('d.device_id = ?', f.deviceId);
    if (f.userId) add('d.originator = ?', f.userId);
    if (f.outcome) add('d.outcome = ?', f.outcome);
    if (f.code) add('d.response_code = ?', f.code);
    if (f.srv) add('d.srv = ?', f.srv);
    if (f.from) add('d.received_at >= ?', f.from);
    if (f.to) add('d.received_at <= ?', f.to);
    if (f.after !== undefined) add('d.ord > ?', f.after);
    let unknown: ReturnType<typeof actorUnknown>;
    let ids: number[] | undefined;
    if (f.actor !== undefined) {
      ids = actorIds(this.rm.db, f.actor);
      const notKept = this.rm.db.prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM decisions WHERE actor = ? LIMIT ?)').get(ACTOR_NOT_KEPT, ACTOR_UNKNOWN_COUNTED + 1) as { n: number };
      unknown = actorUnknown(notKept.n, 'decisions');
    }
    const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
    const rowsOf = (sql: string, ...values: unknown[]) => this.rm.db.prepare(sql).all(...values) as Array<Record<string, string> & { ord: number }>;
    let rows: Array<Record<string, string> & { ord: number }>;
    if (ids === undefined) rows = rowsOf(`${ROWS} WHERE ${where.join(' AND ') || 'TRUE'} ORDER BY d.ord LIMIT ?`, ...args, limit + 1);
    else {
      // A device's decisions are few, a key's may be millions: with a device, its index, not the actor's (`+` keeps SQLite
      // from choosing the actor index, which it did with no statistics: every decision of the key walked for one device's).
      // With a user, the user's (a key carries many users' requests: 89 ms for a user's 100 of 300,000 decisions by the
      // actor's, 0.31 ms by the user's, 2026-11-28). With from/to alone, the actor's: it reads in order, the range's would sort it.
      const byActor = f.deviceId || f.userId ? '+d.actor = ?' : 'd.actor = ?';
      // Each name's next ords, read in order from the actor index (the ord alone: it is the rowid each entry carries), merged, then
      // the page's rows by ord. One query over all the names sorted every row of the key on each page (9-10 ms a page with 97,841
      // of them, 2026-11-28); each name's rows read whole, all but a page's worth were thrown away.
      const ordsOf = this.rm.db.prepare(`SELECT d.ord FROM decisions d WHERE ${[...where, byActor].join(' AND ')} ORDER BY d.ord LIMIT ?`).pluck();
      const ords = ids.flatMap((id) => ordsOf.all(...args, id, limit + 1) as number[]).sort((a, b) => a - b).slice(0, limit + 1);
      rows = ords.length ? rowsOf(`${ROWS} WHERE d.ord IN (SELECT value FROM json_each(?)) ORDER BY d.ord`, JSON.stringify(ords)) : [];
    }
    const page = rows.slice(0, limit);
    return { items: page.map(toDecisionRow), next: rows.length > limit ? page[page.length - 1].ord : null, ...(unknown ? { actorUnknown: unknown } : {}) };
  }
}

function toDecisionRow(r: Record<string, string>): DecisionRow {
  return {
    requestId: r.request_id,
    deviceId: r.device_id,
    originator: r.originator,
    srv: r.srv,
    outcome: r.outcome,
    responseCode: r.response_code,
    ruleSet: r.rule_set,
    receivedAt: r.received_at,
    evaluatedAt: r.evaluated_at,
    position: r.position,
    ...shownActor(r.actor as unknown as number | null, r.actor_text),
    decision: decisionOfRow(r),
  };
}
