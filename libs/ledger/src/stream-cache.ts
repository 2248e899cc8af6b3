import type { LedgerEvent } from '@ledger/domain';
import { GENESIS_HASH, hashOf, SqliteEventStore, type ChangeMark, type EventStore, type NewEvent } from '@ledger/event-store';
import { toLedgerEvent } from './streams';

/**
 * How a stream's events are read for its fold: the only part of a decision a fold reads is its
 * `evaluatedAt` (the device decider's, evolveJudgedDevice), so its checks' reasons are not
 * rendered; it is still decoded whole (not as lean as the what-if's folds, stream-folds.ts), so
 * that one that does not decode stops the command (an UnreadableEventError), as it halts the projector where no check thread has read it first
 * (check-thread.ts, readEvent).
 */
const FOLDED = { reasons: false } as const;

/** A stream's fold: its decider's evolve. */
export type Evolve<S> = (s: S, e: LedgerEvent) => S;

/** A stream folded up to a revision, with what an append after it needs. */
export interface FoldedStream<S> {
  stream: string;
  /** The state folded from the decider's initial state (that state itself for a stream with no events). */
  state: S;
  /** The last revision folded, or undefined for a stream with no events. */
  revision: bigint | undefined;
  lastHash: string;
  /** The event ids of the stream seen so far, with their revisions (for idempotency by id, and to read a recorded fact back from where it is): every id up to `revision`, and maybe some after it that another load of the stream has met since. */
  ids: ReadonlyMap<string, number>;
}

/**
 * The command handlers' read side: folded streams kept in memory (least recently used first out,
 * up to `maxStreams` streams and `maxIds` event ids between them: a stream's ids are all kept, so
 * long streams, not their number, are what fill memory. A stream with more ids than `maxIds` on its
 * own is held under `maxStreams` only: it neither lets the others go nor is let go for its ids, so
 * it is not read again whole for each command on it),
 * each brought up to the head of its stream before every use by reading only the events after the
 * revision it holds. A decision made on a cached fold is the decision a full read would give: the
 * fold is always of the whole stream up to the head read, and the append that follows still
 * carries that revision as its expected revision. States are immutable, so sharing them is safe;
 * a stream's id map is shared and only grows.
 *
 * On a SQLite store a held stream is not read at all when the store says no event was committed
 * to it since it was last read or appended to (SqliteEventStore.changesSince: nothing committed
 * to the file since the last look, by this process or another, or the streams the log's tail
 * names since). A held stream the tail shows past its fold is read, from its revision, before its
 * next use.
 */
export class StreamCache {
  private readonly entries = new Map<string, FoldedStream<unknown>>();
  /** The ids each held stream had when it was last kept, and their sum. */
  private readonly idsOf = new Map<string, number>();
  private idsHeld = 0;
  /** Where the log was last looked at (changesSince), and how many looks have found it moved on. */
  private mark: ChangeMark | undefined;
  private looks = 0;
  /**
   * Held streams to read before their next use, each with the last revision the log's tail showed
   * it at (the fold's revision + 1 where that is not known).
   */
  private readonly moved = new Map<string, bigint>();
  /** The store, when it can say what was committed since a look (SQLite). */
  private readonly sqlite: SqliteEventStore | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly maxStreams = 20_000,
    private readonly maxIds = 1_000_000,
  ) {
    this.sqlite = store instanceof SqliteEventStore ? store : undefined;
  }

  /** The streams held, and the event ids held between them. */
  get held(): { streams: number; ids: number } {
    return { streams: this.entries.size, ids: this.idsHeld };
  }

  async load<S>(stream: string, initialState: S, evolve: Evolve<S>): Promise<FoldedStream<S>> {
    if (this.sqlite) this.look(this.sqlite);
    const cached = this.entries.get(stream) as FoldedStream<S> | undefined;
    if (cached && this.sqlite && !this.moved.has(stream)) {
      this.entries.delete(stream); // used: the most recently
      this.entries.set(stream, cached);
      return cached;
    }
    const looks = this.looks;
    let { state, revision, lastHash } = cached ?? { state: initialState, revision: undefined, lastHash: GENESIS_HASH };
    // One id map per stream, grown in place: copying it for every append made each decision cost
    // the length of its stream (and a busy device's history is long). Another load of the stream
    // (a decision reading a user's stream) may add ids past a held fold's revision: harmless, each
    // is a recorded fact at the revision it names.
    const ids = (cached?.ids as Map<string, number> | undefined) ?? new Map<string, number>();
    for await (const e of this.store.readStream(stream, revision === undefined ? {} : { fromRevision: revision + 1n })) {
      state = evolve(state, toLedgerEvent(e, FOLDED));
      revision = e.revision;
      lastHash = hashOf(e) ?? lastHash;
      ids.set(e.id, Number(e.revision)); // a number: no BigInt kept per id
    }
    const folded: FoldedStream<S> = { stream, state, revision, lastHash, ids };
    this.keep(folded);
    // Read after the last look (taken first, in the same turn): it holds all the look saw,
    // unless another look was taken during the read, which this read may predate.
    if (this.looks === looks) this.moved.delete(stream);
    else this.movedPast(stream, revision === undefined ? 0n : revision + 1n);
    return folded;
  }

  /**
   * Looks at what was committed since the last look (changesSince) and marks the held streams it
   * moved (every one at the first look, or when the tail is too long to name them).
   */
  private look(store: SqliteEventStore): void {
    const changes = store.changesSince(this.mark, this.maxStreams);
    if (!changes) return;
    const first = this.mark === undefined;
    if (changes.mark.position !== this.mark?.position) this.looks++;
    this.mark = changes.mark;
    if (first || changes.streams === undefined) {
      for (const [s, held] of this.entries) this.movedPast(s, held.revision === undefined ? 0n : held.revision + 1n);
      return;
    }
    for (const [s, revision] of changes.streams) {
      const held = this.entries.get(s);
      if (held && (held.revision === undefined || revision > held.revision)) this.movedPast(s, revision);
    }
  }

  private movedPast(stream: string, revision: bigint): void {
    const known = this.moved.get(stream);
    if (known === undefined || revision > known) this.moved.set(stream, revision);
  }

  /** Records what this process just appended after `before`, so the next load need not read it back. */
  appended<S>(before: FoldedStream<S>, events: NewEvent[], evolve: Evolve<S>, nextExpectedRevision: bigint): void {
    let state = before.state;
    for (const e of events) state = evolve(state, { type: e.type, data: e.data } as LedgerEvent);
    const ids = before.ids as Map<string, number>;
    const first = Number(nextExpectedRevision) - (events.length - 1);
    events.forEach((e, i) => ids.set(e.id, first + i));
    const last = events[events.length - 1].metadata?.$hash;
    const held = this.entries.has(before.stream);
    this.keep({ stream: before.stream, state, revision: nextExpectedRevision, lastHash: typeof last === 'string' ? last : before.lastHash, ids });
    // The append was checked against the stream's head: nothing else is at or before its revision.
    // What the tail showed past it (or, when the stream was let go meanwhile, may have) is read before use.
    const moved = this.moved.get(before.stream);
    if (!held) this.movedPast(before.stream, nextExpectedRevision + 1n);
    else if (moved !== undefined && moved <= nextExpectedRevision) this.moved.delete(before.stream);
  }

  /** A held stream found behind its head (an append refused for its expected revision): read before its next use. */
  behind(stream: string): void {
    const held = this.entries.get(stream);
    if (held) this.movedPast(stream, held.revision === undefined ? 0n : held.revision + 1n);
  }

  /** Keeps a fold unless a later one of the same stream is already held. */
  private keep(folded: FoldedStream<unknown>): void {
    const held = this.entries.get(folded.stream);
    if (held && held.revision !== undefined && (folded.revision === undefined || folded.revision < held.revision)) {
      this.count(held); // its id map is the one the load grew
      return;
    }
    this.entries.delete(folded.stream);
    this.entries.set(folded.stream, folded);
    this.count(folded);
    if (this.entries.size > this.maxStreams) this.drop(this.entries.keys().next().value!);
    for (const stream of this.entries.keys()) {
      if (this.idsHeld <= this.maxIds) break;
      if (this.idsOf.get(stream)! > 0) this.drop(stream); // the least recently used that counts
    }
  }

  /** Counts a held stream's ids (none for one over the bound on its own: see the class). */
  private count(folded: FoldedStream<unknown>): void {
    const ids = folded.ids.size > this.maxIds ? 0 : folded.ids.size;
    this.idsHeld += ids - (this.idsOf.get(folded.stream) ?? 0);
    this.idsOf.set(folded.stream, ids);
  }

  private drop(stream: string): void {
    this.entries.delete(stream);
    this.moved.delete(stream);
    this.idsHeld -= this.idsOf.get(stream)!;
    this.idsOf.delete(stream);
  }
}
