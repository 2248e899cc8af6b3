import type Database from 'better-sqlite3';
import { evolveMeterPoint, type LedgerEventType, type MeterPointState } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { ACTOR_COLUMN, addActorColumn } from './actors';
import { FoldCache } from './fold-cache';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/**
 * Meter points: each one's Registration Data as the domain folds it (`meter_points.state`, the
 * effective-dated timelines), and every change received as a row (`registrations`, with its source).
 */
export class MeterPointProjection implements Projection {
  readonly name = 'meter-points';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['RegistrationChanged'] as const);
  readonly tables = ['meter_points', 'registrations'];
  readonly schema = `
    CREATE TABLE IF NOT EXISTS meter_points (mpxn TEXT PRIMARY KEY, state TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS registrations (
      ord INTEGER PRIMARY KEY, mpxn TEXT NOT NULL, responsibility TEXT NOT NULL, party TEXT NOT NULL, effective_from TEXT NOT NULL,
      record_id TEXT NOT NULL, source TEXT NOT NULL, position TEXT NOT NULL, ${ACTOR_COLUMN});
  `;
  readonly queryIndexes = 'CREATE INDEX IF NOT EXISTS registrations_mpxn ON registrations (mpxn, effective_from);';

  private readonly stmts = this.rm.statements((db) => ({
    meterPoint: db.prepare<[string], { state: string }>('SELECT state FROM meter_points WHERE mpxn = ?'),
    putMeterPoint: db.prepare<[string, string]>('INSERT INTO meter_points (mpxn, state) VALUES (?, ?) ON CONFLICT (mpxn) DO UPDATE SET state = excluded.state'),
    addRegistration: db.prepare('INSERT INTO registrations (ord, mpxn, responsibility, party, effective_from, record_id, source, position, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
  }));

  private readonly meterPoints = new FoldCache<MeterPointState>(
    (k) => loadState<MeterPointState>(this.stmts().meterPoint, k),
    (k, state) => this.stmts().putMeterPoint.run(k, JSON.stringify(state)),
  );
  readonly folds = [this.meterPoints];

  constructor(private readonly rm: ReadModelDb) {}

  /** The actor column, added to a file made before it (its rows' actors not known: see actors.ts). */
  upgrade(db: Database.Database): void {
    addActorColumn(db, 'registrations');
  }

  applyBatch(batch: readonly ProjectedEvent[]): void {
    const s = this.stmts();
    const meterPoints = this.meterPoints;
    for (const { event, ord, position, actor } of batch) {
      if (event.type !== 'RegistrationChanged') continue;
      const d = event.data;
      meterPoints.update(d.mpxn, (state) => evolveMeterPoint(state, event)!);
      s.addRegistration.run(ord, d.mpxn, d.responsibility, d.partyUserId, d.effectiveFrom, d.source.recordId, JSON.stringify(d.source), position, actor);
    }
    meterPoints.flush();
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
