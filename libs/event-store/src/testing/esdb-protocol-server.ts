import * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { SupportedMethod, SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import {
  AppendReq,
  AppendResp,
  BatchAppendReq,
  BatchAppendResp,
  ReadReq,
  ReadResp,
} from '@eventstore/db-client/generated/streams_pb';
import {
  AllStreamPosition,
  Empty as ClientEmpty,
  MaximumAppendSizeExceeded,
  StreamIdentifier,
  UUID,
  WrongExpectedVersion,
} from '@eventstore/db-client/generated/shared_pb';
import { Status } from '@eventstore/db-client/generated/status_pb';

// The google.protobuf messages the generated stubs use, from the very copy the client loads.
const clientRequire = createRequire(require.resolve('@eventstore/db-client'));
const { Any } = clientRequire('google-protobuf/google/protobuf/any_pb') as typeof import('google-protobuf/google/protobuf/any_pb');
const { Empty } = clientRequire('google-protobuf/google/protobuf/empty_pb') as typeof import('google-protobuf/google/protobuf/empty_pb');

/**
 * An in-process EventStoreDB **test double at the protocol level**: a gRPC server (@grpc/grpc-js)
 * on the service definitions shipped inside @eventstore/db-client (`generated/`), so the real
 * client, unchanged, talks to it over real HTTP/2 and protobuf. It is a test helper only, never
 * imported by product code, and holds everything in memory.
 *
 * It implements what the ledger's adapter calls, with EventStoreDB's documented semantics (the
 * commit check of its index writer): ServerFeatures (so the client uses BatchAppend, as against
 * a 24.x server), Streams.BatchAppend and Streams.Append (expected revision any / no_stream /
 * stream_exists / exact; wrong expected version with the current revision; idempotent re-append of
 * the same ids at the expected position, answered with the original revision and position; for
 * any / stream_exists a bounded cache of recent event ids, as the server's; a partly matching
 * batch is a wrong expected version; the 1 MiB maximum append size), Streams.Read of a stream and
 * of $all forwards and backwards with a count (stream not found for a stream with no events), and
 * subscriptions to $all (exclusive start, catch-up then live, the event-type / stream-name filter
 * by prefix or regex, a checkpoint per filter window, caught-up). Positions are those of a
 * transaction file: each event a prepare record at its byte offset, each append one commit record
 * after them, so the events of one append share a commit position and differ in prepare position.
 * Like a real node it writes system events: `$settings`, `$users` at start, and a
 * `$statsCollected` event to `$stats-127.0.0.1:2113` on `collectStats()`.
 *
 * What it is not: no durability, no cluster, no leader election, no TLS, no ACLs, no deletes or
 * tombstones, no $maxCount/$tb metadata, no persistent subscriptions or projections, no scavenging,
 * and it is not EventStoreDB's code: agreement with a real server is shown only by the contract
 * suite's real-server leg.
 *
 * Every Read call is counted (`calls`), with the events it sent, so a test can show how much the
 * adapter reads.
 */
export interface ProtocolServerOptions {
  /** How many recent event ids the any/stream_exists idempotency check remembers (a real node bounds this by memory). */
  idCacheSize?: number;
  /** The largest append accepted, in bytes of data and metadata (EventStoreDB's default: 1 MiB). */
  maxAppendSize?: number;
  /** Holds each batch append this long before its commit check (ms): widens the window in which writers race. */
  appendDelayMs?: number;
}

export interface StoredEvent {
  stream: string;
  revision: bigint;
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
  createdTicks: bigint;
  commit: bigint;
  prepare: bigint;
}

export interface CallRecord {
  method: 'read-stream' | 'read-all' | 'subscribe-all' | 'append' | 'batch-append';
  stream?: string;
  /** Events sent to the client by this call (reads and subscriptions). */
  eventsSent: number;
}

type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: bigint };
type Proposed = { id: string; type: string; contentType: string; data: Uint8Array; customMetadata: Uint8Array };
type CommitOutcome =
  | { ok: true; lastRevision: bigint; commit: bigint; prepare: bigint }
  | { ok: false; kind: 'wrong-expected-version'; current: bigint | undefined }
  | { ok: false; kind: 'too-large'; max: number };

const LOG_RECORD_OVERHEAD = 80n;
const COMMIT_RECORD_SIZE = 64n;
const EPOCH_TICKS = 10_000n; // ticks (100 ns) per millisecond
const NODE = '127.0.0.1:2113';

export class EsdbProtocolServer {
  private readonly server = new grpc.Server();
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  /** Recent event ids -> where they were written (insertion-ordered; oldest evicted first). */
  private readonly idCache = new Map<string, { stream: string; revision: bigint }>();
  private readonly live = new Set<(e: StoredEvent) => void>();
  private readonly subscriptions = new Set<{ call: grpc.ServerWritableStream<ReadReq, ReadResp>; wake: () => void }>();
  private logPosition = 0n;
  private readonly idCacheSize: number;
  private readonly maxAppendSize: number;
  private readonly appendDelayMs: number;
  /** How the appends were answered: written, already committed (idempotent), wrong expected version. */
  readonly outcomes = { written: 0, idempotent: 0, wrongExpectedVersion: 0 };
  /** Every call the server served, in order. */
  readonly calls: CallRecord[] = [];
  port = 0;

  constructor(options: ProtocolServerOptions = {}) {
    this.idCacheSize = options.idCacheSize ?? 100_000;
    this.maxAppendSize = options.maxAppendSize ?? 1024 * 1024;
    this.appendDelayMs = options.appendDelayMs ?? 0;
    this.server.addService(ServerFeaturesService, {
      getSupportedMethods: (_call: unknown, callback: grpc.sendUnaryData<SupportedMethods>) => callback(null, this.supportedMethods()),
    });
    this.server.addService(StreamsService, {
      read: (call: grpc.ServerWritableStream<ReadReq, ReadResp>) => void this.read(call),
      append: (call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>) => this.append(call, callback),
      batchAppend: (call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>) => this.batchAppend(call),
      delete: (_call: unknown, callback: grpc.sendUnaryData<never>) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'delete is not implemented by the test server' }),
      tombstone: (_call: unknown, callback: grpc.sendUnaryData<never>) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'tombstone is not implemented by the test server' }),
    });
  }

  /** Listens on 127.0.0.1 (a free port unless given) and writes the start-up system events. */
  async start(port = 0): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    this.writeSystem('$settings', '$settings', { $userStreamAcl: { $r: '$all' } });
    this.writeSystem('$users', '$User', { loginName: 'admin' });
    return this;
  }

  get connectionString(): string {
    return `esdb://127.0.0.1:${this.port}?tls=false`;
  }

  /** Writes a `$statsCollected` system event, as a node does every stats period. */
  collectStats(): void {
    this.writeSystem(`$stats-${NODE}`, '$statsCollected', { 'proc-mem': process.memoryUsage().rss });
  }

  /** Ends every open subscription with UNAVAILABLE, as a node does when it restarts or loses leadership. */
  dropSubscriptions(): number {
    const open = [...this.subscriptions];
    this.subscriptions.clear();
    for (const { call, wake } of open) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Server is shutting down' });
      wake();
    }
    return open.length;
  }

  /** The events of a stream as stored (system streams too). */
  storedStream(stream: string): readonly StoredEvent[] {
    return this.streams.get(stream) ?? [];
  }

  /** Events sent by the calls recorded since `from` (an index into `calls`). */
  eventsSentSince(from: number): number {
    return this.calls.slice(from).reduce((n, c) => n + c.eventsSent, 0);
  }

  /** Ends every call and connection at once, as a node that goes away. */
  async stop(): Promise<void> {
    const open = [...this.subscriptions];
    this.subscriptions.clear();
    for (const { call, wake } of open) {
      call.end();
      wake();
    }
    this.live.clear();
    // A client keeps its HTTP/2 session open, so a graceful shutdown would wait for it: cut it.
    this.server.forceShutdown();
  }

  // ---------------------------------------------------------------- writing

  private writeSystem(stream: string, type: string, data: unknown): void {
    const head = this.streams.get(stream)?.at(-1)?.revision;
    const outcome = this.commit(stream, head === undefined ? { kind: 'no_stream' } : { kind: 'revision', revision: head }, [
      { id: randomUUID(), type, contentType: 'application/json', data: Buffer.from(JSON.stringify(data)), customMetadata: new Uint8Array() },
    ]);
    if (!outcome.ok) throw new Error(`system write to ${stream} failed: ${outcome.kind}`);
  }

  /** The index writer's commit check, then the write: EventStoreDB's rules for expected versions and idempotency. */
  private commit(stream: string, expected: Expected, events: Proposed[]): CommitOutcome {
    const size = events.reduce((n, e) => n + e.data.length + e.customMetadata.length, 0);
    if (size > this.maxAppendSize) return { ok: false, kind: 'too-large', max: this.maxAppendSize };
    const existing = this.streams.get(stream) ?? [];
    const current = existing.at(-1)?.revision; // undefined: no stream
    const cur = current ?? -1n;
    if (current === undefined) {
      if (expected.kind === 'any' || expected.kind === 'no_stream') return this.write(stream, events, -1n);
      return { ok: false, kind: 'wrong-expected-version', current };
    }
    if (expected.kind === 'stream_exists' || expected.kind === 'any') {
      // Idempotency by the cache of recent ids: all found in this stream -> already committed.
      let first: bigint | undefined;
      let last: bigint | undefined;
      for (const e of events) {
        const hit = this.idCache.get(e.id);
        if (!hit || hit.stream !== stream) {
          if (first === undefined) return this.write(stream, events, cur);
          return { ok: false, kind: 'wrong-expected-version', current }; // corrupted idempotency
        }
        first ??= hit.revision;
        last = hit.revision;
      }
      return this.alreadyCommitted(stream, last!);
    }
    const exp = expected.kind === 'no_stream' ? -1n : expected.revision;
    if (exp < cur) {
      let n = exp;
      for (const e of events) {
        n += 1n;
        const at = existing[Number(n)];
        if (at && at.id === e.id) continue;
        return { ok: false, kind: 'wrong-expected-version', current }; // first: wrong version; later: corrupted idempotency
      }
      return this.alreadyCommitted(stream, n);
    }
    if (exp > cur) return { ok: false, kind: 'wrong-expected-version', current };
    return this.write(stream, events, cur);
  }

  private alreadyCommitted(stream: string, lastRevision: bigint): CommitOutcome {
    this.outcomes.idempotent++;
    const e = this.streams.get(stream)![Number(lastRevision)];
    return { ok: true, lastRevision, commit: e.commit, prepare: e.prepare };
  }

  private write(stream: string, events: Proposed[], cur: bigint): CommitOutcome {
    this.outcomes.written++;
    const list = this.streams.get(stream) ?? [];
    this.streams.set(stream, list);
    const prepares: bigint[] = [];
    for (const e of events) {
      prepares.push(this.logPosition);
      this.logPosition += LOG_RECORD_OVERHEAD + BigInt(e.data.length + e.customMetadata.length + e.type.length + stream.length);
    }
    const commit = this.logPosition;
    this.logPosition += COMMIT_RECORD_SIZE;
    const createdTicks = BigInt(Date.now()) * EPOCH_TICKS;
    const written = events.map((e, i): StoredEvent => ({ stream, revision: cur + 1n + BigInt(i), ...e, createdTicks, commit, prepare: prepares[i] }));
    for (const e of written) {
      list.push(e);
      this.log.push(e);
      this.idCache.set(e.id, { stream, revision: e.revision });
      if (this.idCache.size > this.idCacheSize) this.idCache.delete(this.idCache.keys().next().value!);
    }
    for (const notify of this.live) for (const e of written) notify(e);
    const last = written.at(-1)!;
    return { ok: true, lastRevision: last.revision, commit, prepare: last.prepare };
  }

  // ---------------------------------------------------------------- appends

  private batchAppend(call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>): void {
    this.calls.push({ method: 'batch-append', eventsSent: 0 });
    const pending = new Map<string, { options?: BatchAppendReq.Options; events: Proposed[] }>();
    call.on('data', (req: BatchAppendReq) => {
      const correlation = uuidString(req.getCorrelationId());
      const entry = pending.get(correlation) ?? { events: [] };
      pending.set(correlation, entry);
      if (req.hasOptions()) entry.options = req.getOptions();
      for (const m of req.getProposedMessagesList()) entry.events.push(proposed(m));
      if (!req.getIsFinal()) return;
      pending.delete(correlation);
      const options = entry.options!;
      if (this.appendDelayMs > 0) setTimeout(() => this.answerBatch(call, req, options, entry.events), this.appendDelayMs);
      else this.answerBatch(call, req, options, entry.events);
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  }

  private answerBatch(call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>, req: BatchAppendReq, options: BatchAppendReq.Options, events: Proposed[]): void {
    const stream = streamName(options.getStreamIdentifier());
    const expected = expectedOf(options.hasStreamPosition() ? options.getStreamPosition() : undefined, options.hasNoStream(), options.hasStreamExists());
    const outcome = this.commit(stream, expected, events);
    if (!outcome.ok && outcome.kind === 'wrong-expected-version') this.outcomes.wrongExpectedVersion++;
    const resp = new BatchAppendResp();
    resp.setCorrelationId(req.getCorrelationId());
    resp.setStreamIdentifier(options.getStreamIdentifier());
    if (expected.kind === 'revision') resp.setStreamPosition(expected.revision.toString());
    else if (expected.kind === 'no_stream') resp.setNoStream(new Empty());
    else if (expected.kind === 'stream_exists') resp.setStreamExists(new Empty());
    else resp.setAny(new Empty());
    if (outcome.ok) {
      const success = new BatchAppendResp.Success();
      success.setCurrentRevision(outcome.lastRevision.toString());
      const position = new AllStreamPosition();
      position.setCommitPosition(outcome.commit.toString());
      position.setPreparePosition(outcome.prepare.toString());
      success.setPosition(position);
      resp.setSuccess(success);
    } else {
      resp.setError(errorStatus(outcome, expected));
    }
    if (!call.writableEnded) call.write(resp);
  }

  private append(call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>): void {
    this.calls.push({ method: 'append', eventsSent: 0 });
    let options: AppendReq.Options | undefined;
    const events: Proposed[] = [];
    call.on('data', (req: AppendReq) => {
      if (req.hasOptions()) options = req.getOptions();
      if (req.hasProposedMessage()) events.push(proposed(req.getProposedMessage()!));
    });
    call.on('error', () => undefined);
    call.on('end', () => {
      if (!options) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'append without options' });
      const stream = streamName(options.getStreamIdentifier());
      const expected = expectedOf(options.hasRevision() ? options.getRevision() : undefined, options.hasNoStream(), options.hasStreamExists());
      const outcome = this.commit(stream, expected, events);
      if (!outcome.ok && outcome.kind === 'wrong-expected-version') this.outcomes.wrongExpectedVersion++;
      const resp = new AppendResp();
      if (outcome.ok) {
        const success = new AppendResp.Success();
        success.setCurrentRevision(outcome.lastRevision.toString());
        const position = new AppendResp.Position();
        position.setCommitPosition(outcome.commit.toString());
        position.setPreparePosition(outcome.prepare.toString());
        success.setPosition(position);
        resp.setSuccess(success);
        return callback(null, resp);
      }
      if (outcome.kind === 'too-large') {
        const metadata = new grpc.Metadata();
        metadata.set('exception', 'maximum-append-size-exceeded');
        metadata.set('maximum-append-size', String(outcome.max));
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: `Maximum Append Size of ${outcome.max} Exceeded.`, metadata });
      }
      const wrong = new AppendResp.WrongExpectedVersion();
      if (outcome.current === undefined) wrong.setCurrentNoStream(new ClientEmpty());
      else wrong.setCurrentRevision(outcome.current.toString());
      if (expected.kind === 'revision') wrong.setExpectedRevision(expected.revision.toString());
      else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new ClientEmpty());
      else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new ClientEmpty());
      else wrong.setExpectedAny(new ClientEmpty());
      resp.setWrongExpectedVersion(wrong);
      callback(null, resp);
    });
  }

  // ---------------------------------------------------------------- reads

  private async read(call: grpc.ServerWritableStream<ReadReq, ReadResp>): Promise<void> {
    const options = call.request.getOptions()!;
    const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
    const count = options.hasCount() ? Number(BigInt(options.getCount())) : Number.MAX_SAFE_INTEGER;
    let cancelled = false;
    call.on('cancelled', () => (cancelled = true));
    call.on('error', () => (cancelled = true));
    const send = async (resp: ReadResp): Promise<void> => {
      if (!call.write(resp)) await new Promise<void>((resolve) => {
        const done = () => (call.off('drain', done), call.off('cancelled', done), resolve());
        call.on('drain', done);
        call.on('cancelled', done);
      });
    };

    if (options.hasSubscription()) return this.subscribe(call, options, send, () => cancelled);

    if (options.hasStream()) {
      const so = options.getStream()!;
      const stream = streamName(so.getStreamIdentifier());
      const record: CallRecord = { method: 'read-stream', stream, eventsSent: 0 };
      this.calls.push(record);
      const events = this.streams.get(stream);
      if (!events || events.length === 0) {
        const nf = new ReadResp.StreamNotFound();
        nf.setStreamIdentifier(so.getStreamIdentifier());
        const resp = new ReadResp();
        resp.setStreamNotFound(nf);
        await send(resp);
        call.end();
        return;
      }
      const last = events.length - 1;
      let i = so.hasRevision() ? Number(BigInt(so.getRevision())) : so.hasEnd() ? last : 0;
      if (so.hasStart()) i = backwards ? -1 : 0;
      if (backwards) i = Math.min(i, last);
      for (let sent = 0; sent < count && !cancelled && i >= 0 && i <= last; sent++, i += backwards ? -1 : 1) {
        await send(readEvent(events[i], false));
        record.eventsSent++;
      }
      call.end();
      return;
    }

    const ao = options.getAll()!;
    const record: CallRecord = { method: 'read-all', eventsSent: 0 };
    this.calls.push(record);
    let i: number;
    if (ao.hasPosition()) {
      const p = ao.getPosition()!;
      const from = { commit: BigInt(p.getCommitPosition()), prepare: BigInt(p.getPreparePosition()) };
      i = backwards ? this.lastIndexAtOrBefore(from) : this.firstIndexAtOrAfter(from);
    } else if (ao.hasEnd()) i = backwards ? this.log.length - 1 : this.log.length;
    else i = backwards ? -1 : 0;
    for (let sent = 0; sent < count && !cancelled && i >= 0 && i < this.log.length; sent++, i += backwards ? -1 : 1) {
      await send(readEvent(this.log[i], true));
      record.eventsSent++;
    }
    call.end();
  }

  /** Catch-up from an exclusive position, caught-up, then live; the filter applies server side. */
  private async subscribe(
    call: grpc.ServerWritableStream<ReadReq, ReadResp>,
    options: ReadReq.Options,
    send: (r: ReadResp) => Promise<void>,
    cancelled: () => boolean,
  ): Promise<void> {
    const record: CallRecord = { method: 'subscribe-all', eventsSent: 0 };
    this.calls.push(record);
    if (!options.hasAll()) {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'the test server subscribes to $all only' });
      return;
    }
    const ao = options.getAll()!;
    const keep = eventFilter(options);
    const window = options.hasFilter() ? (options.getFilter()!.hasMax() ? options.getFilter()!.getMax() : 32) * Math.max(1, options.getFilter()!.getCheckpointintervalmultiplier()) : 0;
    const queue: StoredEvent[] = [];
    let wake: (() => void) | undefined;
    const entry = { call, wake: () => wake?.() };
    this.subscriptions.add(entry);
    call.on('cancelled', entry.wake);
    const onEvent = (e: StoredEvent) => {
      queue.push(e);
      wake?.();
    };
    let i: number;
    if (ao.hasPosition()) {
      const p = ao.getPosition()!;
      i = this.firstIndexAfter({ commit: BigInt(p.getCommitPosition()), prepare: BigInt(p.getPreparePosition()) });
    } else i = ao.hasEnd() ? this.log.length : 0;
    const confirmation = new ReadResp();
    const c = new ReadResp.SubscriptionConfirmation();
    c.setSubscriptionId(randomUUID());
    confirmation.setConfirmation(c);
    const open = () => !cancelled() && this.subscriptions.has(entry);
    let searched = 0;
    const deliver = async (e: StoredEvent) => {
      searched++;
      if (keep(e)) {
        await send(readEvent(e, true));
        record.eventsSent++;
      } else if (window > 0 && searched % window === 0) {
        const cp = new ReadResp.Checkpoint();
        cp.setCommitPosition(e.commit.toString());
        cp.setPreparePosition(e.prepare.toString());
        const resp = new ReadResp();
        resp.setCheckpoint(cp);
        await send(resp);
      }
    };
    try {
      await send(confirmation);
      // Catch-up: read the log up to its head, then go live with no await in between (no gap).
      while (i < this.log.length && open()) await deliver(this.log[i++]);
      this.live.add(onEvent);
      if (!open()) return;
      const caughtUp = new ReadResp();
      caughtUp.setCaughtUp(new ReadResp.CaughtUp());
      await send(caughtUp);
      while (open()) {
        if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        while (queue.length && open()) await deliver(queue.shift()!);
      }
    } finally {
      this.live.delete(onEvent);
      this.subscriptions.delete(entry);
      call.off('cancelled', entry.wake);
    }
  }

  private compare(e: StoredEvent, p: { commit: bigint; prepare: bigint }): number {
    if (e.commit !== p.commit) return e.commit < p.commit ? -1 : 1;
    return e.prepare === p.prepare ? 0 : e.prepare < p.prepare ? -1 : 1;
  }

  /** Binary search: the first event at or after p (forwards reads are inclusive). */
  private firstIndexAtOrAfter(p: { commit: bigint; prepare: bigint }): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.compare(this.log[mid], p) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private firstIndexAfter(p: { commit: bigint; prepare: bigint }): number {
    const i = this.firstIndexAtOrAfter(p);
    return i < this.log.length && this.compare(this.log[i], p) === 0 ? i + 1 : i;
  }

  private lastIndexAtOrBefore(p: { commit: bigint; prepare: bigint }): number {
    return this.firstIndexAfter(p) - 1;
  }

  private supportedMethods(): SupportedMethods {
    const methods = new SupportedMethods();
    methods.setEventStoreServerVersion('24.10.0-protocol-test-server');
    const add = (service: string, method: string) => {
      const m = new SupportedMethod();
      m.setServiceName(service);
      m.setMethodName(method);
      methods.addMethods(m);
    };
    for (const m of ['Read', 'Append', 'BatchAppend']) add('event_store.client.streams.Streams', m);
    add('event_store.client.server_features.ServerFeatures', 'GetSupportedMethods');
    return methods;
  }
}

function expectedOf(revision: string | undefined, noStream: boolean, streamExists: boolean): Expected {
  if (revision !== undefined) return { kind: 'revision', revision: BigInt(revision) };
  return noStream ? { kind: 'no_stream' } : streamExists ? { kind: 'stream_exists' } : { kind: 'any' };
}

function uuidString(u: UUID | undefined): string {
  if (!u) return '';
  if (u.hasString()) return u.getString().toLowerCase();
  const s = u.getStructured()!;
  const buf = Buffer.alloc(16);
  buf.writeBigInt64BE(BigInt(s.getMostSignificantBits()), 0);
  buf.writeBigInt64BE(BigInt(s.getLeastSignificantBits()), 8);
  const x = buf.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function streamName(id: StreamIdentifier | undefined): string {
  return Buffer.from(id!.getStreamName_asU8()).toString('utf8');
}

function proposed(m: AppendReq.ProposedMessage | BatchAppendReq.ProposedMessage): Proposed {
  const meta = m.getMetadataMap();
  return {
    id: uuidString(m.getId()),
    type: meta.get('type') ?? '',
    contentType: meta.get('content-type') ?? 'application/octet-stream',
    data: m.getData_asU8(),
    customMetadata: m.getCustomMetadata_asU8(),
  };
}

function readEvent(e: StoredEvent, withCommitPosition: boolean): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  const id = new UUID();
  id.setString(e.id);
  recorded.setId(id);
  const sid = new StreamIdentifier();
  sid.setStreamName(Buffer.from(e.stream, 'utf8'));
  recorded.setStreamIdentifier(sid);
  recorded.setStreamRevision(e.revision.toString());
  recorded.setCommitPosition(e.commit.toString());
  recorded.setPreparePosition(e.prepare.toString());
  const meta = recorded.getMetadataMap();
  meta.set('type', e.type);
  meta.set('content-type', e.contentType);
  meta.set('created', e.createdTicks.toString());
  recorded.setCustomMetadata(e.customMetadata);
  recorded.setData(e.data);
  const read = new ReadResp.ReadEvent();
  read.setEvent(recorded);
  if (withCommitPosition) read.setCommitPosition(e.commit.toString());
  else read.setNoPosition(new ClientEmpty());
  const resp = new ReadResp();
  resp.setEvent(read);
  return resp;
}

/** The subscription filter: on event type or stream name, by regex or by prefixes. */
function eventFilter(options: ReadReq.Options): (e: StoredEvent) => boolean {
  if (!options.hasFilter()) return () => true;
  const f = options.getFilter()!;
  const onType = f.hasEventType();
  const expr = onType ? f.getEventType()! : f.getStreamIdentifier()!;
  const regex = expr.getRegex() ? new RegExp(expr.getRegex()) : undefined;
  const prefixes = expr.getPrefixList();
  return (e) => {
    const subject = onType ? e.type : e.stream;
    if (regex) return regex.test(subject);
    return prefixes.length === 0 || prefixes.some((p) => subject.startsWith(p));
  };
}

function errorStatus(outcome: Extract<CommitOutcome, { ok: false }>, expected: Expected): Status {
  const status = new Status();
  const details = new Any();
  if (outcome.kind === 'too-large') {
    status.setCode(3);
    status.setMessage(`Maximum Append Size of ${outcome.max} Exceeded.`);
    const m = new MaximumAppendSizeExceeded();
    m.setMaxappendsize(outcome.max);
    details.pack(m.serializeBinary(), 'event_store.client.MaximumAppendSizeExceeded');
  } else {
    status.setCode(9);
    status.setMessage('Wrong expected version.');
    const w = new WrongExpectedVersion();
    if (outcome.current === undefined) w.setCurrentNoStream(new Empty());
    else w.setCurrentStreamRevision(outcome.current.toString());
    if (expected.kind === 'revision') w.setExpectedStreamPosition(expected.revision.toString());
    else if (expected.kind === 'no_stream') w.setExpectedNoStream(new Empty());
    else if (expected.kind === 'stream_exists') w.setExpectedStreamExists(new Empty());
    else w.setExpectedAny(new Empty());
    details.pack(w.serializeBinary(), 'event_store.client.WrongExpectedVersion');
  }
  status.setDetails(details);
  return status;
}
