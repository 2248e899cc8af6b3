import type { LedgerEvent } from '@ledger/domain';
import { EventIdConflictError, KeyedQueue, WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '@ledger/event-store';
import { StreamCache, type Evolve, type FoldedStream } from '../stream-cache';
import { appendAfter, nameUuid, readAppendAt, toLedgerEvent, type CommandContext } from '../streams';

/** Reads a stream (from the cache when it is current) folded from an initial state. */
export type LoadStream = <S>(stream: string, initialState: S, evolve: Evolve<S>) => Promise<FoldedStream<S>>;

/**
 * How the one handler runs a kind of command: which stream it appends to and how that stream
 * folds (its decider's initial state and evolve), what else the decision reads, the decider's
 * decide, and the name each event's id derives from.
 */
export interface CommandWiring<C, S, T = S> {
  /** The stream the command's events are appended to, and the id of the entity it is the stream of. */
  stream(command: C): { name: string; id: string };
  /** The written stream's decider: the state before its first event, and how each event changes it. */
  fold: { initialState(id: string): S; evolve: Evolve<S> };
  /** The state decide is given: the written stream's (writtenState), or that and other streams read with it. */
  read(command: C, written: FoldedStream<S>, load: LoadStream): Promise<T>;
  decide(command: C, state: T): LedgerEvent[];
  /**
   * The name each event's id derives from, by its index among the events decided. Index 0 names
   * the fact itself: a stream that holds that id has this command's outcome already (a retry).
   */
  eventName(command: C, index: number): string;
  /**
   * For a fact whose name does not cover all it says (a record id, a placement's identity): refuses
   * the command when the fact recorded under its name says otherwise (FactReusedError), so that a
   * retry is told "recorded before" only when it is what was recorded.
   */
  resent?(command: C, recorded: LedgerEvent): void;
  /**
   * For a fact keyed by an instant (an inventory change, a role, a placement), whose name a change
   * back to it at the same instant shares: refuses the command when the stream's state as folded
   * (its timeline of such facts) holds another for the same thing recorded last at that instant
   * (FactChangedSinceError), so that a retry is told "recorded before" only while it is what the
   * record holds.
   */
  changedSince?(command: C, state: S): void;
  /** Names the fact was recorded under by earlier code, looked for when its name today is not found. */
  formerNames?(command: C): string[];
  /** The context written into the events' metadata (default: the caller's). */
  context?(ctx: CommandContext, factId: string): CommandContext;
}

/** The state of the written stream alone: what most deciders decide on. */
export const writtenState = async <S>(_command: unknown, written: FoldedStream<S>): Promise<S> => written.state;

/** What the handler did: appended the events decided, or found the fact recorded before (nothing written). */
export type Handled =
  | { written: true; stream: string; events: LedgerEvent[]; position: bigint; revision: bigint }
  | { written: false; stream: string; /** The events the command wrote before, as stored, its fact first. */ recorded: RecordedEvent[]; /** The first of them, as the ledger reads it. */ fact: LedgerEvent };

/** Attempts at one command when writers in other processes keep moving its stream. */
const MAX_ATTEMPTS = 20;

/**
 * A command's stream kept moving under it, written by other processes, through every attempt.
 * Nothing was written for it; the client may send it again (a 503 in the API).
 */
export class StreamContentionError extends Error {
  override readonly name = 'StreamContentionError';
  constructor(readonly stream: string, readonly attempts: number) {
    super(`stream '${stream}' was changed by other writers during each of ${attempts} attempts; nothing was written for this command: send it again`);
  }
}

/** A conflict another writer caused: read the stream again and decide again. */
function isConflict(err: unknown): boolean {
  return err instanceof WrongExpectedRevisionError || err instanceof EventIdConflictError;
}

/** Jittered exponential back-off before attempt `attempt` + 1 (1 ms up to ~100 ms). */
function backOff(attempt: number): Promise<void> {
  const ceiling = Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * The one command handler, whatever the command: fold the stream it appends to (from the cache
 * when current), read what else the decision needs, decide with the pure domain, and append with
 * the revision read as the expected revision; on a conflict read and decide again, with a
 * jittered back-off, up to MAX_ATTEMPTS. Commands run one at a time per stream in this process.
 * Event ids derive from names of the fact (a RequestID, an RDP record id), so a command sent
 * again finds its fact and writes nothing.
 */
export class CommandHandler {
  private readonly streams: StreamCache;
  /** Commands queued per stream they append to: one at a time per stream in this process. */
  private readonly queue = new KeyedQueue();
  private readonly load: LoadStream = (stream, initialState, evolve) => this.streams.load(stream, initialState, evolve);

  constructor(private readonly store: EventStore) {
    this.streams = new StreamCache(store);
  }

  handle<C, S, T>(wiring: CommandWiring<C, S, T>, command: C, ctx: CommandContext): Promise<Handled> {
    return this.queue.run(wiring.stream(command).name, () => this.decideAndAppend(wiring, command, ctx));
  }

  private async decideAndAppend<C, S, T>(wiring: CommandWiring<C, S, T>, command: C, ctx: CommandContext): Promise<Handled> {
    const { name: stream, id } = wiring.stream(command);
    const factId = nameUuid(wiring.eventName(command, 0));
    const context = wiring.context?.(ctx, factId) ?? ctx;
    const namedIds = [factId, ...(wiring.formerNames?.(command) ?? []).map(nameUuid)];
    for (let attempt = 1; ; attempt++) {
      const written = await this.load(stream, wiring.fold.initialState(id), wiring.fold.evolve);
      const foundId = namedIds.find((i) => written.ids.has(i));
      const recordedAt = foundId === undefined ? undefined : written.ids.get(foundId);
      if (foundId !== undefined && recordedAt !== undefined) {
        // A retry: the events the command wrote (the ids it names, at the revisions the cache holds
        // for them) are read back from where they are, not the whole stream.
        const idAt = (i: number) => (i === 0 ? foundId : nameUuid(wiring.eventName(command, i)));
        let count = 1;
        while (written.ids.get(idAt(count)) === recordedAt + count) count++;
        const recorded = await readAppendAt(this.store, stream, BigInt(recordedAt), count, idAt);
        const fact = toLedgerEvent(recorded[0]);
        wiring.resent?.(command, fact);
        wiring.changedSince?.(command, written.state);
        return { written: false, stream, recorded, fact };
      }
      const events = wiring.decide(command, await wiring.read(command, written, this.load));
      // Object.assign onto a new object, not a spread that gains a key (~4 us an event on Node 20: state.ts, withKey); an event the domain decides has no own `__proto__`.
      const named = events.map((e, i) => Object.assign({}, e, { id: i === 0 ? factId : nameUuid(wiring.eventName(command, i)) }));
      try {
        const r = await appendAfter(this.store, written, named, context);
        if (r.written) {
          this.streams.appended(written, r.events, wiring.fold.evolve, r.nextExpectedRevision);
          return { written: true, stream, events, position: r.position, revision: r.nextExpectedRevision };
        }
        // Not written by this call: the same events were there already. Read again, answer with the record.
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.streams.behind(stream);
        if (attempt >= MAX_ATTEMPTS) throw new StreamContentionError(stream, attempt);
        await backOff(attempt);
      }
    }
  }
}
