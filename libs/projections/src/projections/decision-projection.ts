import type Database from 'better-sqlite3';
import type { LedgerEventType } from '@ledger/domain';
import { decisionRowData } from '../decision-rows';
import type { ReadModelDb } from '../read-model-db';
import { ACTOR_COLUMN, addActorColumn } from './actors';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/** The decision log: every recorded decision as a row (its keys and its event's actor as columns to filter by, the rest of its stored form as JSON). */
export class DecisionProjection implements Projection {
  readonly name = 'decisions';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['ServiceRequestEvaluated'] as const);
  readonly tables = ['decisions'];
  readonly schema = `
    CREATE TABLE IF NOT EXISTS decisions (
      ord INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL, originator TEXT NOT NULL, srv TEXT NOT NULL,
      outcome TEXT NOT NULL, response_code TEXT NOT NULL, rule_set TEXT NOT NULL, received_at TEXT NOT NULL,
      evaluated_at TEXT NOT NULL, position TEXT NOT NULL, data TEXT NOT NULL, ${ACTOR_COLUMN});
  `;
  /** Each on its column alone: `ord` is the rowid, which every entry carries, read in order for each key (files made before 2026-11-28's review keep their `(..., ord)` ones, which answer alike). */
  readonly queryIndexes = `
    CREATE INDEX IF NOT EXISTS decisions_device ON decisions (device_id);
    CREATE INDEX IF NOT EXISTS decisions_originator ON decisions (originator);
    CREATE INDEX IF NOT EXISTS decisions_received ON decisions (received_at);
    CREATE INDEX IF NOT EXISTS decisions_actor ON decisions (actor);
  `;

  private readonly add = this.rm.statements((db) =>
    db.prepare(
      'INSERT OR IGNORE INTO decisions (ord, request_id, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  );

  constructor(private readonly rm: ReadModelDb) {}

  /** The actor column, added to a file made before it (its rows' actors not known: see actors.ts). */
  upgrade(db: Database.Database): void {
    addActorColumn(db, 'decisions');
  }

  applyBatch(batch: readonly ProjectedEvent[]): void {
    const add = this.add();
    for (const { event, recorded, ord, position, actor } of batch) {
      if (event.type !== 'ServiceRequestEvaluated') continue;
      const d = event.data;
      // `data`: the decision's stored form less the columns (decision-rows.ts), not the decision again.
      add.run(ord, d.request.requestId, d.request.target, d.request.originator, d.request.srv, d.outcome, d.responseCode, `${d.ruleSet.id}@${d.ruleSet.version}`, d.request.receivedAt, d.evaluatedAt, position, decisionRowData(recorded, event), actor);
    }
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
