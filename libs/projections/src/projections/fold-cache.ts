/**
 * The folded states a batch touches, read at most once and written once when the batch ends
 * (inside the batch's transaction), rather than read, parsed, serialised and written per event.
 *
 * Holding (`hold`: a rebuild into a file nobody else reads, rebuildInto), it keeps up to `limit`
 * states across batches (plus the keys of the batch at hand), written out when more come in: first
 * those the batch did not touch (least recently updated first), then the batch's own in the order it
 * first touched them. A state is
 * then written once when it leaves, not read back and written again in every batch that touches
 * it (a key's events are close together in the log). Nothing held changes until the batch's
 * transaction (or its savepoint: ProjectionWriter.hold) has committed (`committed`), so a batch rolled back (`discard`) leaves it as it was.
 * `finish` writes every state still held.
 */
export class FoldCache<S> implements Fold {
  /** The states this batch updated. */
  private readonly states = new Map<string, S>();
  /** Holding: the states committed but not written, least recently updated first. */
  private held: Map<string, S> | undefined;
  private limit = 0;
  /** Written out by this batch's flush (holding): dropped from `held` once it commits. */
  private evicted = new Set<string>();

  constructor(
    private readonly read: (key: string) => S | undefined,
    private readonly write: (key: string, state: S) => void,
  ) {}

  hold(limit: number): void {
    this.held = new Map();
    this.limit = limit;
  }

  update(key: string, evolve: (state: S | undefined) => S): void {
    const state = this.states.has(key) ? this.states.get(key) : this.held?.has(key) ? this.held.get(key) : this.read(key);
    this.states.set(key, evolve(state));
  }

  /** Sets a key's state without reading what it was. */
  set(key: string, state: S): void {
    this.states.set(key, state);
  }

  /** At the end of a batch, in its transaction: writes its states, or, holding, those it pushes out. */
  flush(): void {
    const held = this.held;
    if (!held) {
      for (const [key, state] of this.states) this.write(key, state);
      this.states.clear();
      return;
    }
    let over = held.size - this.limit;
    for (const key of this.states.keys()) if (!held.has(key)) over++;
    if (over <= 0) return;
    // The held ones this batch did not touch (least recently updated first), then this batch's in the order first touched.
    for (const key of held.keys()) {
      if (over === 0) return;
      if (this.states.has(key)) continue;
      this.write(key, held.get(key)!);
      this.evicted.add(key);
      over--;
    }
    for (const [key, state] of this.states) {
      if (over === 0) return;
      this.write(key, state);
      this.evicted.add(key);
      over--;
    }
  }

  /** The batch's transaction committed: what it updated is held (most recent last), what it wrote out is not. */
  committed(): void {
    const held = this.held;
    if (!held) return;
    for (const [key, state] of this.states) {
      held.delete(key);
      if (!this.evicted.has(key)) held.set(key, state);
    }
    for (const key of this.evicted) held.delete(key);
    this.states.clear();
    this.evicted.clear();
  }

  /** The batch was rolled back: forgets what it updated. */
  discard(): void {
    this.states.clear();
    this.evicted.clear();
  }

  /** Forgets everything, held or not, and stops holding (the tables are emptied). */
  reset(): void {
    this.discard();
    this.held = undefined;
  }

  /** Writes every state held (in the caller's transaction) and stops holding. */
  finish(): void {
    for (const [key, state] of this.held ?? []) this.write(key, state);
    this.held = undefined;
  }
}

/**
 * The states a projection holds during a rebuild (FoldCache.hold). A key's events lie close together
 * in the log (at 10^6 events, p99 112 events apart): holding 256 already reads each key back from
 * the file only the once it is new (measured at 10^5); more costs memory (4096: +30 MB peak RSS).
 */
export const HELD_STATES = 1024;

/** What the processor tells a projection's FoldCache (Projection.folds), whatever its states. */
export type Fold = Pick<FoldCache<unknown>, 'hold' | 'committed' | 'discard' | 'finish' | 'reset'>;
