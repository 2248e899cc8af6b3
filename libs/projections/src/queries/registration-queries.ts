import { holderAt, type MeterPointState, type RegistrationEntry } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { shownActor } from './actor-filter';
import { loadStates } from './states';

/** Meter points' Registration Data. */
export class RegistrationQueries {
  private readonly stmt = this.rm.statements((db) => db.prepare<[string], { state: string }>('SELECT state FROM meter_points WHERE mpxn = ?'));
  private readonly actorRows = this.rm.statements((db) =>
    db.prepare<[string], { responsibility: string; record_id: string; actor: number | null; actor_text: string | null }>(
      'SELECT r.responsibility, r.record_id, r.actor, a.actor AS actor_text FROM registrations r LEFT JOIN actors a ON a.id = r.actor WHERE r.mpxn = ?',
    ),
  );

  constructor(private readonly rm: ReadModelDb) {}

  meterPoint(mpxn: string): MeterPointState | undefined {
    return loadState<MeterPointState>(this.stmt(), mpxn);
  }

  /** Many meter points at once, by MPxN (those known). */
  meterPoints(mpxns: Iterable<string>): Map<string, MeterPointState> {
    return loadStates<MeterPointState>(this.rm.db, 'meter_points', 'mpxn', mpxns);
  }

  /**
   * Registration Data of a meter point: the whole timeline, and who held each role at `asOf` when
   * given; each entry with the actor of the change that recorded it (shownActor: its row in
   * `registrations`, by responsibility and record id).
   */
  registrations(mpxn: string, asOf?: string) {
    // The state and its entries' actors in one read transaction (another process's projector may commit between two reads).
    const read = this.rm.db.transaction(() => {
      const state = this.meterPoint(mpxn);
      return state && { state, rows: this.actorRows().all(mpxn) };
    })();
    if (!read) return undefined;
    const { state, rows } = read;
    const actors = new Map(rows.map((r) => [`${r.responsibility}|${r.record_id}`, shownActor(r.actor, r.actor_text)]));
    const withActor = (responsibility: string) => (e: RegistrationEntry) => ({ ...e, ...actors.get(`${responsibility}|${e.recordId}`) });
    const timelines = { supplier: state.timelines.supplier.map(withActor('supplier')), networkOperator: state.timelines.networkOperator.map(withActor('networkOperator')) };
    const holder = (responsibility: 'supplier' | 'networkOperator', at: string) => {
      const e = holderAt(state, responsibility, at);
      return e ? withActor(responsibility)(e) : null;
    };
    const at = asOf ? { supplier: holder('supplier', asOf), networkOperator: holder('networkOperator', asOf) } : undefined;
    return { mpxn, timelines, ...(at ? { asOf, registered: at } : {}) };
  }
}
