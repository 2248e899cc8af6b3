/**
 * The folded states a batch touches, read at most once and written once when the batch ends
 * (inside the batch's transaction), rather than read, parsed, serialised and written per event.
 */
export class FoldCache<S> {
  /** Every state here was updated in this batch, so every one is written by flush(). */
  private readonly states = new Map<string, S>();

  constructor(
    private readonly read: (key: string) => S | undefined,
    private readonly write: (key: string, state: S) => void,
  ) {}

  update(key: string, evolve: (state: S | undefined) => S): void {
    const state = this.states.has(key) ? this.states.get(key) : this.read(key);
    this.states.set(key, evolve(state));
  }

  flush(): void {
    for (const [key, state] of this.states) this.write(key, state);
  }
}
