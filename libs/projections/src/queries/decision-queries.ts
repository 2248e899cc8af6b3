import type { ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { decisionOfRow } from '../decision-rows';
import type { ReadModelDb } from '../read-model-db';

export interface DecisionFilter {
  deviceId?: string;
  userId?: string;
  outcome?: 'accepted' | 'rejected';
  code?: string;
  srv?: string;
  from?: string;
  to?: string;
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
  decision: ServiceRequestEvaluatedV1;
}

/** The decision log. */
export class DecisionQueries {
  private readonly byId = this.rm.statements((db) => db.prepare<[string], Record<string, string>>('SELECT * FROM decisions WHERE request_id = ?'));

  constructor(private readonly rm: ReadModelDb) {}

  decision(requestId: string): DecisionRow | undefined {
    const r = this.byId().get(requestId);
    return r ? toDecisionRow(r) : undefined;
  }

  /** Decisions in the order recorded, filtered, paged by `after` (the previous page's `next`). */
  decisions(f: DecisionFilter): { items: DecisionRow[]; next: number | null } {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      where.push(sql);
      args.push(v);
    };
    if (f.deviceId) add('device_id = ?', f.deviceId);
    if (f.userId) add('originator = ?', f.userId);
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.code) add('response_code = ?', f.code);
    if (f.srv) add('srv = ?', f.srv);
    if (f.from) add('received_at >= ?', f.from);
    if (f.to) add('received_at <= ?', f.to);
    if (f.after !== undefined) add('ord > ?', f.after);
    const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
    const rows = this.rm.db
      .prepare(`SELECT * FROM decisions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ord LIMIT ?`)
      .all(...args, limit + 1) as Array<Record<string, string> & { ord: number }>;
    const page = rows.slice(0, limit);
    return { items: page.map(toDecisionRow), next: rows.length > limit ? page[page.length - 1].ord : null };
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
    decision: decisionOfRow(r),
  };
}
