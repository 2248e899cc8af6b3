import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type Position,
  type ResolvedEvent,
  type AllStreamSubscription,
} from '@eventstore/db-client';
import {
  AppendTooLargeError,
  EventIdConflictError,
  InvalidStoreArgumentError,
  PartialIdempotencyError,
  StoreUnavailableError,
  WrongExpectedRevisionError,
} from './errors';
import {
  MAX_APPEND_BYTES,
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StoreHealth,
  type SubscribeOptions,
  type Subscription,
} from './event-store.port';
import { checkAppend } from './append-arguments';
import { canonicalJson } from './hash-chain';
import { KeyedQueue } from './keyed-queue';

const SHIFT = 64n;
const MASK = (1n << SHIFT) - 1n;
/** Events per read of $all. */
const READ_PAGE = 500;
/** Attempts to subscribe again after the server dropped a subscription, before giving up. */
const RESUBSCRIBE_ATTEMPTS = 5;

/**
 * EventStoreDB's $all position is a pair (commit, prepare), ordered by commit then prepare; events
 * of one append may share a commit position. The port wants one bigint, so it is the pair packed
 * as commit * 2^64 + prepare: unique per event, in the same order, and unpacked for reads.
 */
export function packPosition(p: Position): bigint {
  return (p.commit << SHIFT) | p.prepare;
}
export function unpackPosition(p: bigint): Position {
  return { commit: p >> SHIFT, prepare: p & MASK };
}

export interface EsdbEventStoreOptions {
  /** Our own deadline for every call (ms). The client's own deadline is not kept when a server accepts and never answers. */
  timeoutMs?: number;
  /** The first wait before subscribing again after a drop (ms); doubled on each failed attempt. */
  resubscribeDelayMs?: number;
}

/**
 * The EventStoreDB adapter (@eventstore/db-client 6). Every call runs under our own timeout;
 * an unreachable server (gRPC code 14, `type: 'unavailable'`, a call past the timeout) becomes a
 * StoreUnavailableError. System events (`$`-prefixed types) and system streams are never returned.
 */
export class EsdbEventStore implements EventStore {
  readonly kind = 'esdb' as const;
  private readonly client: EventStoreDBClient;
  private readonly timeoutMs: number;
  /** Appends to one stream run one at a time in this process. */
  private readonly appends = new KeyedQueue();
  private readonly resubscribeDelayMs: number;
  private closed = false;
  /** The unsubscribe functions of the subscriptions still open. */
  private readonly open = new Set<() => Promise<void>>();

  constructor(readonly connectionString: string, options: EsdbEventStoreOptions = {}) {
    this.client = EventStoreDBClient.connectionString(connectionString);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.resubscribeDelayMs = options.resubscribeDelayMs ?? 200;
  }

  async appendToStream(stream: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.ensureOpen();
    checkAppend(stream, events);
    let bytes = 0;
    for (const e of events) {
      bytes += Buffer.byteLength(JSON.stringify(e.data ?? null)) + Buffer.byteLength(JSON.stringify(e.metadata ?? {})) + Buffer.byteLength(e.type);
    }
    if (bytes > MAX_APPEND_BYTES) throw new AppendTooLargeError(stream, bytes, MAX_APPEND_BYTES);

    const expected = options.expectedRevision ?? 'any';
    return this.appends.run(stream, () => this.appendChecked(stream, events, expected, bytes));
  }

  /**
   * The append, as EventStoreDB is meant to be used: one append with the expected revision, whose
   * idempotency (the same ids at the expected position) and concurrency check the server makes.
   * The port asks two things more, and both are settled by reads bounded by the batch size, never
   * by the stream's length:
   * - before: the events a retry of this batch would be (the `n` after the expected revision; for
   *   `any`/`stream_exists`, the last `n` of the stream). Found there with the same content: a
   *   retry, nothing is sent, `written: false`; with other content: EventIdConflictError; some of
   *   the ids: PartialIdempotencyError.
   * - after: the `n` events at the revisions the server answered with, compared with ours: the
   *   server's idempotency looks at ids only, so a batch with the same ids and other content that
   *   another process wrote meanwhile is an EventIdConflictError here, not a success.
   * Appends to one stream from this process run one at a time, so two copies of one append in
   * this process cannot both be told they wrote. Across processes, two identical copies sent at the
   * same instant may both be (the content is the same, so nothing is misreported about what is in
   * the stream). Ids already in the stream before the expected revision are not looked for (that
   * read would grow with the stream): EventStoreDB writes such a batch again, and so does this
   * adapter. With `any`, a retry older than the last `n` events is left to EventStoreDB's own
   * best-effort cache of recent ids; when the server answers it as already written, the revision
   * it answers with (not after the head we read) says `written: false`.
   */
  private async appendChecked(stream: string, events: NewEvent[], expected: ExpectedRevision, bytes: number): Promise<AppendResult> {
    const n = events.length;
    const exact = expected === 'no_stream' || typeof expected === 'bigint';
    const before = exact
      ? await this.collect(this.readStream(stream, { fromRevision: expected === 'no_stream' ? 0n : expected + 1n, maxCount: n }))
      : await this.collect(this.readStream(stream, { direction: 'backwards', maxCount: n }));
    const retry = asRetry(stream, events, before);
    if (retry) return retry;
    const headBefore = exact ? undefined : (before[0]?.revision ?? -1n);

    let result: AppendResult;
    try {
      const r = await this.call(`append to '${stream}'`, () =>
        this.client.appendToStream(
          stream,
          events.map((e) => jsonEvent({ id: e.id.toLowerCase(), type: e.type, data: (e.data ?? null) as never, metadata: (e.metadata ?? {}) as never })),
          { expectedRevision: toEsdbExpected(expected) },
        ),
      );
      result = { nextExpectedRevision: r.nextExpectedRevision, position: r.position ? packPosition(r.position) : 0n, written: true };
    } catch (err) {
      const e = err as { type?: string; actualVersion?: bigint | string };
      if (e.type === 'wrong-expected-version') {
        const actual = e.actualVersion === NO_STREAM || e.actualVersion === undefined ? 'no_stream' : BigInt(e.actualVersion);
        throw new WrongExpectedRevisionError(stream, expected, actual);
      }
      if (e.type === 'maximum-append-size-exceeded') throw new AppendTooLargeError(stream, bytes, MAX_APPEND_BYTES);
      throw err;
    }

    const first = result.nextExpectedRevision - BigInt(n) + 1n;
    const stored = await this.collect(this.readStream(stream, { fromRevision: first, maxCount: n }));
    const differing = events.filter((e, i) => !stored[i] || stored[i].id !== e.id.toLowerCase() || !sameContent(stored[i], e)).map((e) => e.id);
    if (differing.length > 0) throw new EventIdConflictError(stream, differing);
    const written = headBefore === undefined || first > headBefore;
    return { nextExpectedRevision: result.nextExpectedRevision, position: stored[n - 1].position, written };
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.ensureOpen();
    const direction = options.direction === 'backwards' ? BACKWARDS : FORWARDS;
    const from = options.fromRevision ?? (direction === BACKWARDS ? 'end' : 'start');
    const read = this.client.readStream(stream, {
      direction,
      fromRevision: from === 'start' ? START : from === 'end' ? END : from,
      ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
    });
    try {
      for await (const resolved of this.timed(`read of '${stream}'`, read)) {
        const recorded = fromResolved(resolved as ResolvedEvent);
        if (recorded) yield recorded;
      }
    } catch (err) {
      if ((err as { type?: string }).type === 'stream-not-found') return; // a missing stream reads as empty
      throw err;
    } finally {
      await read.cancel().catch(() => undefined);
    }
  }

  /**
   * $all in pages of READ_PAGE events, each page one read from where the last ended (inclusive, so
   * its first event, already delivered, is skipped). System events count in the server's page but
   * are not returned, so a `maxCount` is met by reading on.
   */
  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.ensureOpen();
    const direction = options.direction === 'backwards' ? BACKWARDS : FORWARDS;
    const { toPosition } = options;
    if (toPosition !== undefined && direction === BACKWARDS) throw new InvalidStoreArgumentError('readAll: toPosition is for a forward read');
    // Refused as SQLite refuses it (this adapter yields no stored text): a reader written against one adapter works on the other.
    if (options.stored && options.metadata === false) throw new InvalidStoreArgumentError('readAll: stored (the text of the data and the metadata, or that text checked) needs the metadata read: not with metadata false');
    const from = options.fromPosition ?? (direction === BACKWARDS ? 'end' : 'start');
    let remaining = options.maxCount ?? Infinity;
    let cursor: Position | typeof START | typeof END = from === 'start' ? START : from === 'end' ? END : unpackPosition(from);
    let skip: bigint | undefined;
    let atLeast = 1;
    while (remaining > 0) {
      // No more than is wanted (and the already-delivered event a continuation page starts with),
      // but pages that double while system events use them up (a quiet node's tail is $statsCollected).
      const page = Math.min(READ_PAGE, Math.max(remaining + (skip === undefined ? 0 : 1), atLeast));
      atLeast = Math.min(READ_PAGE, page * 2);
      const read = this.client.readAll({ direction, fromPosition: cursor, maxCount: page });
      let seen = 0;
      let last: Position | undefined;
      try {
        for await (const resolved of this.timed('read of $all', read)) {
          seen++;
          last = (resolved as AllStreamResolvedEvent).event?.position ?? last;
          if (skip !== undefined && last && packPosition(last) === skip) continue;
          if (toPosition !== undefined && last && packPosition(last) > toPosition) return;
          const recorded = fromResolved(resolved as AllStreamResolvedEvent);
          if (!recorded) continue;
          yield recorded;
          if (--remaining <= 0) return;
        }
      } finally {
        await read.cancel().catch(() => undefined);
      }
      if (seen < page || !last) return;
      cursor = last;
      skip = packPosition(last);
    }
  }

  /**
   * A catch-up subscription to $all with the server-side filter that leaves out system events
   * (`excludeSystemEvents`). When the server drops it (unavailable: a restart, a leader change),
   * it subscribes again from the last position delivered (exclusive), so the caller sees no gap
   * and no duplicate; after RESUBSCRIBE_ATTEMPTS failed attempts in a row the error is thrown.
   */
  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    this.ensureOpen();
    let lastPosition: bigint | 'start' = options.fromPosition ?? 'start';
    let stopped = false;
    let current: AllStreamSubscription | undefined;
    // Woken by unsubscribe(). A new one-shot signal for each wait, so that nothing a wait held (a
    // delivered event) is kept alive by a promise that lives as long as the subscription.
    let wake: (() => void) | undefined;
    const stopSignal = () => new Promise<'stopped'>((resolve) => (wake = () => resolve('stopped')));
    const open = () =>
      this.client.subscribeToAll({ fromPosition: lastPosition === 'start' ? START : unpackPosition(lastPosition), filter: excludeSystemEvents() });
    const resubscribeDelayMs = this.resubscribeDelayMs;
    const forget = () => this.open.delete(unsubscribe);
    async function* iterate(): AsyncGenerator<RecordedEvent> {
      let failures = 0;
      try {
        while (!stopped) {
          const sub = open();
          current = sub;
          const it = sub[Symbol.asyncIterator]();
          try {
            for (;;) {
              const next = await Promise.race([it.next(), stopSignal()]);
              wake = undefined;
              if (next === 'stopped' || next.done) return;
              failures = 0;
              const recorded = fromResolved(next.value);
              if (!recorded) continue;
              lastPosition = recorded.position;
              yield recorded;
            }
          } catch (err) {
            if (stopped) return;
            // Dropped by the server (unavailable, or cancelled by a node going away): subscribe again.
            const dropped = (err as { type?: string }).type === 'cancelled' || mapUnavailable(err, '') instanceof StoreUnavailableError;
            if (!dropped) throw err;
            if (++failures > RESUBSCRIBE_ATTEMPTS) {
              throw new StoreUnavailableError(`the subscription to $all was dropped and could not be resumed in ${RESUBSCRIBE_ATTEMPTS} attempts (${(err as Error).message})`, err);
            }
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([new Promise((r) => (timer = setTimeout(r, resubscribeDelayMs * 2 ** (failures - 1)))), stopSignal()]);
            clearTimeout(timer);
            wake = undefined;
          } finally {
            await sub.unsubscribe().catch(() => undefined);
          }
        }
      } finally {
        forget(); // ended, failed or unsubscribed: not an open subscription any more
      }
    }
    const iterator = iterate();
    const unsubscribe = async () => {
      stopped = true;
      wake?.();
      forget();
      await current?.unsubscribe().catch(() => undefined);
    };
    this.open.add(unsubscribe);
    return {
      get lastPosition() {
        return lastPosition;
      },
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe,
    };
  }

  async streamRevision(stream: string): Promise<bigint | undefined> {
    for await (const e of this.readStream(stream, { direction: 'backwards', maxCount: 1 })) return e.revision;
    return undefined;
  }

  async headPosition(): Promise<bigint | undefined> {
    for await (const e of this.readAll({ direction: 'backwards', maxCount: 1 })) return e.position;
    return undefined;
  }

  async health(): Promise<StoreHealth> {
    try {
      await this.headPosition();
      return { kind: 'esdb', reachable: true, detail: redact(this.connectionString) };
    } catch (err) {
      return { kind: 'esdb', reachable: false, detail: (err as Error).message };
    }
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Subscriptions end (their iterations finish) rather than wait forever on a closed client.
    await Promise.all([...this.open].map((unsubscribe) => unsubscribe()));
    await this.client.dispose();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the EventStoreDB connection of this store is closed');
  }

  private async collect(source: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for await (const e of source) out.push(e);
    return out;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`${what} got no answer from EventStoreDB within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([fn().catch((err) => Promise.reject(mapUnavailable(err, what))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Iterates a streaming read, each next() under our own timeout. */
  private async *timed<E>(what: string, source: AsyncIterable<E>): AsyncGenerator<E> {
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.call(what, () => it.next());
      if (next.done) return;
      yield next.value;
    }
  }
}

/** A batch found among the events a retry of it would be: written before (same content), or an error. */
function asRetry(stream: string, events: NewEvent[], found: RecordedEvent[]): AppendResult | undefined {
  const byId = new Map(found.map((e) => [e.id, e]));
  const present = events.filter((e) => byId.has(e.id.toLowerCase()));
  if (present.length === 0) return undefined;
  if (present.length < events.length) throw new PartialIdempotencyError(stream, present.map((e) => e.id));
  const differing = events.filter((e) => !sameContent(byId.get(e.id.toLowerCase())!, e)).map((e) => e.id);
  if (differing.length > 0) throw new EventIdConflictError(stream, differing);
  const last = present.map((e) => byId.get(e.id.toLowerCase())!).reduce((a, b) => (b.revision > a.revision ? b : a));
  return { nextExpectedRevision: last.revision, position: last.position, written: false };
}

function sameContent(stored: RecordedEvent, e: NewEvent): boolean {
  return stored.type === e.type && canonicalJson(stored.data) === canonicalJson(e.data ?? null) && canonicalJson(stored.metadata) === canonicalJson(e.metadata ?? {});
}

function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  return expected;
}

function mapUnavailable(err: unknown, what: string): unknown {
  const e = err as { type?: string; code?: number; message?: string };
  if (err instanceof StoreUnavailableError) return err;
  if (e?.type === 'unavailable' || e?.code === 14 || e?.type === 'deadline-exceeded') {
    return new StoreUnavailableError(`${what}: EventStoreDB is unavailable (${e.message ?? 'gRPC code 14'})`, err);
  }
  return err;
}

function fromResolved(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const e = resolved.event;
  if (!e || e.type.startsWith('$') || e.streamId.startsWith('$')) return undefined;
  // An event not stored as JSON (another tool's binary event, or bytes written behind the ledger's
  // back) comes in its place without data, as SQLite gives stored JSON that does not parse: an
  // error to whoever must read it (a ledger event without data cannot be decoded; verify finds no
  // chain on it). It was skipped, and a device stream holding one read as if it were not there.
  if (!e.isJson) return { id: e.id, type: e.type, stream: e.streamId, revision: e.revision, position: positionOf(resolved), data: undefined, metadata: {}, created: createdOf(e.created) };
  return { id: e.id, type: e.type, stream: e.streamId, revision: e.revision, position: positionOf(resolved), data: e.data, metadata: (e.metadata ?? {}) as EventMetadata, created: createdOf(e.created) };
}

function positionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): bigint {
  const e = resolved.event!;
  return e.position ? packPosition(e.position) : resolved.commitPosition !== undefined ? resolved.commitPosition << SHIFT : 0n;
}

function createdOf(created: unknown): string {
  return created instanceof Date ? created.toISOString() : String(created);
}

function redact(connectionString: string): string {
  return connectionString.replace(/\/\/[^@/]*@/, '//***@');
}
