import type { LedgerEvent, LedgerEventType } from '@ledger/domain';
import type { CheckThread } from '../processor/check-thread';
import { decisionRowData } from '../decision-rows';
import { ReadModelDb } from '../read-model-db';
import type { Fold } from './fold-cache';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/** The decision log: every recorded decision as a row (its keys as columns to filter by, the rest of its stored form as JSON). */
export class DecisionProjection implements Projection {
  readonly name = 'decisions';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['ServiceRequestEvaluated'] as const);
  readonly tables = ['decisions'];
  readonly schema = TABLE;
  readonly queryIndexes = `
    CREATE INDEX IF NOT EXISTS decisions_device ON decisions (device_id, ord);
    CREATE INDEX IF NOT EXISTS decisions_originator ON decisions (originator, ord);
    CREATE INDEX IF NOT EXISTS decisions_received ON decisions (received_at);
  `;

  private readonly add = this.rm.statements((db) => db.prepare(`INSERT OR IGNORE INTO decisions (${NAMES}) VALUES (${NAMES.map(() => '?').join(', ')})`));

  /** A rebuild's check thread that writes the decisions' rows in its place (see CheckThread); for a rebuild from the start of the log only. */
  thread: CheckThread | undefined;
  /** The `ord`s of the decisions whose rows the thread wrote, to be copied from its file (`fromThread`). */
  private readonly vouched = new OrdRanges();
  readonly folds = [this.vouched];

  constructor(private readonly rm: ReadModelDb) {}

  applyBatch(batch: readonly ProjectedEvent[]): void {
    if (batch[0].event === VOUCHED) return this.vouched.add(batch[0].ord, batch[batch.length - 1].ord);
    this.vouched.add();
    const add = this.add();
    for (const e of batch) if (e.event.type === 'ServiceRequestEvaluated') add.run(rowOf(e));
  }

  /**
   * Copies in the rows the check thread wrote (`vouched`) from its file, in one statement a run of
   * them: where a request id has a row here already (a later decision's, written here: INSERT OR
   * IGNORE keeps the first), the earlier one takes its place, so the table is what one thread writes.
   * Outside a transaction (an ATTACH cannot be in one); after the last batch.
   */
  fromThread(): void {
    if (!this.vouched.all.length) return;
    const db = this.rm.db;
    db.prepare('ATTACH DATABASE ? AS thread').run(this.thread!.decisions);
    try {
      const set = NAMES.filter((c) => c !== 'request_id').map((c) => `${c} = excluded.${c}`).join(', ');
      const copy = db.prepare(`INSERT INTO main.decisions (${NAMES}) SELECT ${NAMES} FROM thread.decisions WHERE ord BETWEEN ? AND ? ORDER BY ord ON CONFLICT (request_id) DO UPDATE SET ${set} WHERE excluded.ord < decisions.ord`);
      db.transaction(() => {
        for (const [first, last] of this.vouched.all) copy.run(first, last);
      })();
    } finally {
      db.exec('DETACH DATABASE thread');
    }
    this.vouched.reset();
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}

/**
 * A decision in a batch whose decisions' rows the check thread has written (CheckThread.decided),
 * which is not read: the projections that take decisions (this one, which leaves its row to the
 * thread, and the ChainCheck, which reads the stored event) read nothing of it.
 */
export const VOUCHED = Object.freeze({ type: 'ServiceRequestEvaluated', data: undefined }) as unknown as LedgerEvent;

const TABLE = `
    CREATE TABLE IF NOT EXISTS decisions (
      ord INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL, originator TEXT NOT NULL, srv TEXT NOT NULL,
      outcome TEXT NOT NULL, response_code TEXT NOT NULL, rule_set TEXT NOT NULL, received_at TEXT NOT NULL,
      evaluated_at TEXT NOT NULL, position TEXT NOT NULL, data TEXT NOT NULL);
  `;
/** The columns of a decision's row, in `rowOf`'s order. */
const NAMES = ['ord', 'request_id', 'device_id', 'originator', 'srv', 'outcome', 'response_code', 'rule_set', 'received_at', 'evaluated_at', 'position', 'data'];

/** A decision's row, its values in NAMES' order. `data`: the decision's stored form less the columns (decision-rows.ts), not the decision again. */
function rowOf({ event, recorded, ord, position }: ProjectedEvent): unknown[] {
  const d = (event as Extract<LedgerEvent, { type: 'ServiceRequestEvaluated' }>).data;
  return [ord, d.request.requestId, d.request.target, d.request.originator, d.request.srv, d.outcome, d.responseCode, `${d.ruleSet.id}@${d.ruleSet.version}`, d.request.receivedAt, d.evaluatedAt, position, decisionRowData(recorded, event as Extract<LedgerEvent, { type: 'ServiceRequestEvaluated' }>)];
}

/**
 * The check thread's table of decisions' rows (CheckThread), in `file` (made empty): the columns of
 * the `decisions` table, but the request id not unique (every decision has its row there; copying
 * them in keeps the first of a request id, as the projection does). `add` a row, `commit` those added.
 */
export function decisionRowsInto(file: string): { add(e: ProjectedEvent): void; commit(): void } {
  const rm = new ReadModelDb(file);
  rm.db.pragma('synchronous = OFF'); // a scratch file, removed with the rebuild's
  rm.db.exec(`DROP TABLE IF EXISTS decisions; ${TABLE.replace(' UNIQUE', '')}`);
  const insert = rm.db.prepare(`INSERT INTO decisions (${NAMES}) VALUES (${NAMES.map(() => '?').join(', ')})`);
  let rows: unknown[][] = [];
  return {
    add: (e) => rows.push(rowOf(e)),
    commit: () => {
      if (rows.length) rm.db.transaction(() => rows.forEach((r) => insert.run(r)))();
      rows = [];
    },
  };
}

/**
 * Runs of `ord`s (a range a batch: its first decision's and its last's), kept as a fold is: a
 * batch's once it commits. `add()` without a range: a batch whose decisions were written here,
 * which ends the run.
 */
class OrdRanges implements Fold {
  readonly all: Array<[number, number]> = [];
  private batch: [number, number] | null | undefined;
  private run = false;

  add(first?: number, last?: number): void {
    this.batch = first === undefined ? null : [first, last!];
  }

  committed(): void {
    const b = this.batch;
    this.batch = undefined;
    if (b === undefined) return;
    if (b === null) this.run = false;
    else if (this.run) this.all[this.all.length - 1][1] = b[1];
    else (this.all.push(b), (this.run = true));
  }

  discard(): void {
    this.batch = undefined;
  }

  reset(): void {
    this.all.length = 0;
    this.batch = undefined;
    this.run = false;
  }

  hold(): void {}
  finish(): void {}
}
