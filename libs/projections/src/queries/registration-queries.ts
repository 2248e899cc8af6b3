import { holderAt, type MeterPointState } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { loadStates } from './states';

/** Meter points' Registration Data. */
export class RegistrationQueries {
  private readonly stmt = this.rm.statements((db) => db.prepare<[string], { state: string }>('SELECT state FROM meter_points WHERE mpxn = ?'));

  constructor(private readonly rm: ReadModelDb) {}

  meterPoint(mpxn: string): MeterPointState | undefined {
    return loadState<MeterPointState>(this.stmt(), mpxn);
  }

  /** Many meter points at once, by MPxN (those known). */
  meterPoints(mpxns: Iterable<string>): Map<string, MeterPointState> {
    return loadStates<MeterPointState>(this.rm.db, 'meter_points', 'mpxn', mpxns);
  }

  /** Registration Data of a meter point: the whole timeline, and who held each role at `asOf` when given. */
  registrations(mpxn: string, asOf?: string) {
    const state = this.meterPoint(mpxn);
    if (!state) return undefined;
    const at = asOf ? { supplier: holderAt(state, 'supplier', asOf) ?? null, networkOperator: holderAt(state, 'networkOperator', asOf) ?? null } : undefined;
    return { mpxn, timelines: state.timelines, ...(at ? { asOf, registered: at } : {}) };
  }
}
