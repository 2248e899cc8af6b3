/**
 * The EventStore port: the one interface the rest of the ledger uses to reach its store.
 * Its semantics are EventStoreDB's, so that the embedded SQLite adapter and the EventStoreDB
 * adapter are interchangeable and one contract suite (event-store.contract.ts) holds both to them.
 *
 * - Stream revisions are 0-based and gapless per stream (bigint).
 * - Positions are global commit positions (bigint). For SQLite they are gapless 1, 2, 3...;
 *   for EventStoreDB they are the transaction-file positions (increasing, not gapless).
 *   Callers must only compare them and hand them back, never compute with them.
 * - Reading a stream that has no events yields nothing (an empty iteration), in both adapters;
 *   `streamRevision(stream)` answers `undefined` for it.
 */

import type { Observable } from 'rxjs';
import type { StoreDamagedError } from './errors';

/** What the writer expects the stream to be before its append. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export const ANY = 'any' as const;
export const NO_STREAM = 'no_stream' as const;
export const STREAM_EXISTS = 'stream_exists' as const;

/** Metadata carried by every event. `$correlationId` and `$causationId` are EventStoreDB's own keys. */
export interface EventMetadata {
  $correlationId?: string;
  $causationId?: string;
  [key: string]: unknown;
}

/**
 * An event about to be appended. `id` is a UUID. Appending a batch whose ids are all in the stream
 * already is idempotent only when each event is the same (type, data and metadata, compared as
 * canonical JSON): then nothing is written and the result says `written: false`. The same ids with
 * other content are an EventIdConflictError; some ids already present and some new, a
 * PartialIdempotencyError.
 */
export interface NewEvent<T = unknown> {
  id: string;
  type: string;
  data: T;
  metadata?: EventMetadata;
}

/** An event as stored. */
export interface RecordedEvent<T = unknown> {
  id: string;
  type: string;
  stream: string;
  /** 0-based revision of the event within its stream. */
  revision: bigint;
  /** Global commit position. */
  position: bigint;
  data: T;
  metadata: EventMetadata;
  /** When the store committed the event (ISO 8601). Informational: the domain never reads it. */
  created: string;
  /**
   * The stored text of data and metadata, when the read asked for it (ReadAllOptions.stored; SQLite
   * only). A column stored as bytes (an edit's BLOB) is read as UTF-8, as its parse reads it; where
   * they are not UTF-8, `notText` names the column (or both).
   */
  stored?: { data: string; metadata: string; notText?: 'data' | 'metadata' | 'data and metadata' };
  /**
   * Why its stored text is not the JSON of what it parses to (a key written twice: keyTwiceInStored),
   * or undefined, when the read asked for its text checked (ReadAllOptions.stored 'checked'; SQLite only).
   */
  storedTextMismatch?: string;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /**
   * The revision of the last event now in the stream (the revision the next writer should expect).
   * For an idempotent retry, the EventStoreDB adapter answers as EventStoreDB does, with the
   * revision of the batch's last event: the same unless the stream has moved on since.
   */
  nextExpectedRevision: bigint;
  /** The commit position of the last event of the batch (of the already-written batch when idempotent). */
  position: bigint;
  /**
   * Whether this call wrote the batch. False for an idempotent retry: every id was in the stream
   * already with the same type, data and metadata, and nothing was written by this call.
   */
  written: boolean;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** Inclusive. Defaults to the start (forwards) or the end (backwards). */
  fromRevision?: bigint | 'start' | 'end';
  direction?: Direction;
  maxCount?: number;
  /** false: the reader never looks at the events' metadata. A hint, as ReadAllOptions.metadata. Default true. */
  metadata?: boolean;
}

export interface ReadAllOptions {
  /** Inclusive. Defaults to the start (forwards) or the end (backwards). */
  fromPosition?: bigint | 'start' | 'end';
  direction?: Direction;
  maxCount?: number;
  /**
   * Inclusive, forwards only: the last position to read. No event past it is read (so one that
   * cannot be read there is not reported by this read). A backwards read with it is refused.
   */
  toPosition?: bigint;
  /**
   * The streams whose events the reader needs at all. A hint: an adapter may leave the events of
   * the other streams out of the read (SQLite does, in its query: their rows are never fetched),
   * or yield them all (EventStoreDB's client reads every event of the log), so a reader that
   * needs a count of the log's events or its positions cannot take them from what it is given.
   * With it, `maxCount` counts the events yielded. For one share of a what-if: its own streams.
   */
  only?: (stream: string) => boolean;
  /**
   * false: the reader never looks at the events' metadata. A hint: an adapter may yield `{}` for
   * it (SQLite does, and neither fetches nor parses it, so a metadata that does not parse is not
   * reported by that read), or yield it as always (EventStoreDB). Default true.
   */
  metadata?: boolean;
  /**
   * true: each event carries the text its data and metadata are stored as (`stored`), for a reader
   * that checks the text itself (verify, the projector's chain check: a key written twice, which the
   * parse hides); a column that is not UTF-8 text (an edit's BLOB) is still refused, as by any read
   * (UnreadableEventError). 'not-text-too': such an event is yielded too, `stored.notText` naming the
   * column (verify, which reports it). SQLite only: EventStoreDB keeps no text to edit in place (its
   * log is append-only), and yields no `stored`. 'checked': each event carries, not its text, what a
   * check of it found (`storedTextMismatch`), for a reader that holds a batch of events in memory
   * (the projector's chain check), which need not hold their texts too. Any of them with `metadata:
   * false` is refused (InvalidStoreArgumentError, by both adapters): the text is the metadata's too
   * (until 2026-11-27, fourteenth session, SQLite ignored `stored` there).
   */
  stored?: boolean | 'not-text-too' | 'checked';
}

export interface SubscribeOptions {
  /** Exclusive, as in EventStoreDB: the first event delivered is the one after this position. */
  fromPosition?: bigint | 'start';
  /**
   * The id of the event at `fromPosition`, when the caller knows it. SQLite only: before each read
   * of the log, its subscription looks that the event it last delivered (at first this one; by
   * position only when not given) is still at its position, and ends with LogRewrittenError when it
   * is not (one lookup by position a read, not one an event). EventStoreDB's log is not rewritten
   * under a running server (a restore restarts it, which drops the subscription): ignored there.
   */
  fromEvent?: string;
  /** Each event with its stored text, or that text checked (ReadAllOptions.stored's true, 'checked'). SQLite only. */
  stored?: boolean | 'checked';
}

/** A live subscription. Iterate it; `unsubscribe()` ends the iteration. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** The position of the last event delivered (or the starting position). */
  readonly lastPosition: bigint | 'start';
  unsubscribe(): Promise<void>;
}

export interface StoreHealth {
  kind: 'sqlite' | 'esdb';
  reachable: boolean;
  detail?: string;
}

/** The largest append a store accepts, as EventStoreDB's default max append size (1 MiB). */
export const MAX_APPEND_BYTES = 1024 * 1024;

/** What one durable write did: how many appends it held (a group commit holds several) and how long it took. */
export interface AppendStats {
  appends: number;
  seconds: number;
}

export interface EventStore {
  readonly kind: 'sqlite' | 'esdb';
  /** Each durable write, for metrics (an adapter that does not group may leave it out). */
  readonly appendStats?: Observable<AppendStats>;
  appendToStream(stream: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /**
   * The id of the event at `position`, or undefined when there is none: one lookup by position, in
   * this turn's read snapshot. SQLite only (its log can be rewritten under a running process: rows
   * removed, others written at their positions); EventStoreDB's cannot, and has no such method.
   */
  eventIdAt?(position: bigint): string | undefined;
  /**
   * Where the store's table of events and its index on (stream, revision) do not hold the same rows
   * (their count and sum of positions): a cell lost from one of them with no error (disk damage or a
   * byte edit of the file), which a read of the log cannot show where no row follows it (the log's
   * last event): the damage, named as a read meeting it names it (the last event before the first
   * position the index holds and the table lacks); undefined where they agree. One scan of each. SQLite only (verify asks at its end).
   */
  indexDisagreement?(): StoreDamagedError | undefined;
  /**
   * The positions past the table's last event up to the highest its writers ever wrote (log_head),
   * in one read snapshot: the log's own last events removed (a DELETE of its tail: no later row shows
   * the gap to a read), or undefined where the table ends where its writers last wrote, or null
   * where that is not known (a file no writer of this build has appended to). SQLite only (verify
   * asks at its end, after indexDisagreement, which names a tail lost to damage instead).
   */
  positionsMissingAtEnd?(): { from: bigint; to: bigint } | null | undefined;
  subscribeToAll(options?: SubscribeOptions): Subscription;
  /** The revision of the last event of a stream, or undefined for a stream with no events. */
  streamRevision(stream: string): Promise<bigint | undefined>;
  /** The position of the last event in the store, or undefined for an empty store. */
  headPosition(): Promise<bigint | undefined>;
  health(): Promise<StoreHealth>;
  dispose(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
