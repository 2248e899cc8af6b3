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
import { canonicalJson } from './hash-chain';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHIFT = 64n;
const MASK = (1n << SHIFT) - 1n;

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

  constructor(readonly connectionString: string, options: EsdbEventStoreOptions = {}) {
    this.client = EventStoreDBClient.connectionString(connectionString);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async appendToStream(stream: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (!stream) throw new InvalidStoreArgumentError('stream name must not be empty');
    if (events.length === 0) throw new InvalidStoreArgumentError(`append to '${stream}' holds no event`);
    let bytes = 0;
    for (const [i, e] of events.entries()) {
      if (!UUID.test(e.id)) throw new InvalidStoreArgumentError(`event ${i} of the append to '${stream}': id '${e.id}' is not a UUID`);
      if (!e.type) throw new InvalidStoreArgumentError(`event ${i} of the append to '${stream}' has no type`);
      bytes += Buffer.byteLength(JSON.stringify(e.data ?? null)) + Buffer.byteLength(JSON.stringify(e.metadata ?? {})) + Buffer.byteLength(e.type);
    }
    if (bytes > MAX_APPEND_BYTES) throw new AppendTooLargeError(stream, bytes, MAX_APPEND_BYTES);

    // EventStoreDB is idempotent by event id only when the batch repeats the events at the
    // expected position; to keep the port's rule (all ids already written: success, writes
    // nothing; some: error) identical to SQLite's, the stream's events with these ids are looked
    // up first. This costs one read of the stream tail per append.
    const ids = new Set(events.map((e) => e.id.toLowerCase()));
    const existing = await this.findIds(stream, ids);
    if (existing.size === ids.size) {
      const differing = events
        .filter((e) => {
          const stored = existing.get(e.id.toLowerCase())!;
          return stored.type !== e.type || canonicalJson(stored.data) !== canonicalJson(e.data ?? null) || canonicalJson(stored.metadata) !== canonicalJson(e.metadata ?? {});
        })
        .map((e) => e.id);
      if (differing.length > 0) throw new EventIdConflictError(stream, differing);
      const head = await this.streamRevision(stream);
      const last = [...existing.values()].map((e) => e.position).reduce((a, b) => (b > a ? b : a));
      return { nextExpectedRevision: head!, position: last, written: false };
    }
    if (existing.size > 0) throw new PartialIdempotencyError(stream, [...existing.keys()]);

    const expected = options.expectedRevision ?? 'any';
    try {
      const result = await this.call(`append to '${stream}'`, () =>
        this.client.appendToStream(
          stream,
          events.map((e) => jsonEvent({ id: e.id.toLowerCase(), type: e.type, data: (e.data ?? null) as never, metadata: (e.metadata ?? {}) as never })),
          { expectedRevision: toEsdbExpected(expected) },
        ),
      );
      return { nextExpectedRevision: result.nextExpectedRevision, position: result.position ? packPosition(result.position) : 0n, written: true };
    } catch (err) {
      const e = err as { type?: string; actualVersion?: bigint | string };
      if (e.type === 'wrong-expected-version') {
        const actual = e.actualVersion === NO_STREAM || e.actualVersion === undefined ? 'no_stream' : BigInt(e.actualVersion);
        throw new WrongExpectedRevisionError(stream, expected, actual);
      }
      if (e.type === 'maximum-append-size-exceeded') throw new AppendTooLargeError(stream, bytes, MAX_APPEND_BYTES);
      throw err;
    }
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
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

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const direction = options.direction === 'backwards' ? BACKWARDS : FORWARDS;
    const from = options.fromPosition ?? (direction === BACKWARDS ? 'end' : 'start');
    let remaining = options.maxCount ?? Infinity;
    if (remaining <= 0) return;
    const read = this.client.readAll({
      direction,
      fromPosition: from === 'start' ? START : from === 'end' ? END : unpackPosition(from),
    });
    try {
      for await (const resolved of this.timed('read of $all', read)) {
        const recorded = fromResolved(resolved as AllStreamResolvedEvent);
        if (!recorded) continue;
        yield recorded;
        if (--remaining <= 0) return;
      }
    } finally {
      await read.cancel().catch(() => undefined);
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const from = options.fromPosition ?? 'start';
    let lastPosition: bigint | 'start' = from;
    const sub = this.client.subscribeToAll({
      fromPosition: from === 'start' ? START : unpackPosition(from),
      filter: excludeSystemEvents(),
    });
    async function* iterate(): AsyncGenerator<RecordedEvent> {
      try {
        for await (const resolved of sub) {
          const recorded = fromResolved(resolved);
          if (!recorded) continue;
          lastPosition = recorded.position;
          yield recorded;
        }
      } catch (err) {
        throw mapUnavailable(err, 'subscription to $all');
      }
    }
    const iterator = iterate();
    return {
      get lastPosition() {
        return lastPosition;
      },
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe: async () => {
        await sub.unsubscribe();
      },
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
    await this.client.dispose();
  }

  /** The stream's events whose ids are in `ids` (read from the tail). */
  private async findIds(stream: string, ids: Set<string>): Promise<Map<string, RecordedEvent>> {
    const found = new Map<string, RecordedEvent>();
    for await (const e of this.readStream(stream, { direction: 'backwards' })) {
      if (ids.has(e.id)) found.set(e.id, e);
      if (found.size === ids.size) break;
    }
    return found;
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
  if (!e || e.type.startsWith('$') || e.streamId.startsWith('$') || !e.isJson) return undefined;
  const position = e.position ? packPosition(e.position) : resolved.commitPosition !== undefined ? resolved.commitPosition << SHIFT : 0n;
  return {
    id: e.id,
    type: e.type,
    stream: e.streamId,
    revision: e.revision,
    position,
    data: e.data,
    metadata: (e.metadata ?? {}) as EventMetadata,
    created: e.created instanceof Date ? e.created.toISOString() : String(e.created),
  };
}

function redact(connectionString: string): string {
  return connectionString.replace(/\/\/[^@/]*@/, '//***@');
}
