import type { DeviceState, MeterPointState } from '@ledger/domain';

/**
 * The folded states a batch touches, read at most once and written once when the batch ends
 * (inside the batch's transaction), rather than read, parsed, serialised and written per event.
 */
export class FoldCache<S> {
  constructor(
    private readonly read: (key: string) => S | undefined,
    private readonly write: (key: string, state: S) => void,
    /** Every state here was updated in this batch, so every one is written by flush(). Given: the batch's BatchStates map. */
    private readonly states = new Map<string, S>(),
  ) {}

  update(key: string, evolve: (state: S | undefined) => S): void {
    const state = this.states.has(key) ? this.states.get(key) : this.read(key);
    this.states.set(key, evolve(state));
  }

  flush(): void {
    for (const [key, state] of this.states) this.write(key, state);
  }
}

/**
 * The device and meter-point states the batch being applied has folded (and written), held for the
 * projections after those two in the batch (the stuck-device projection), which use them rather
 * than read them back from the tables and parse them again. They hold only what the batch wrote:
 * the ProjectionWriter empties them when the batch ends, committed or rolled back.
 */
export class BatchStates {
  readonly devices = new Map<string, DeviceState>();
  readonly meterPoints = new Map<string, MeterPointState>();

  clear(): void {
    this.devices.clear();
    this.meterPoints.clear();
  }
}
