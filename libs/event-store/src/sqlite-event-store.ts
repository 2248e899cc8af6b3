import Database from 'better-sqlite3';
import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { Subject } from 'rxjs/internal/Subject'; // not the index (~200 modules): a job's worker thread opens a store
import { checkAppend } from './append-arguments';
import { AppendTooLargeError, InvalidStoreArgumentError, isDamaged, notTextReason, StoreDamagedError, StoreUnavailableError, UnreadableEventError } from './errors';
import { keyTwiceInStored } from './hash-chain';
import {
  MAX_APPEND_BYTES,
  type AppendOptions,
  type AppendResult,
  type AppendStats,
  type EventStore,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StoreHealth,
  type SubscribeOptions,
  type Subscription,
} from './event-store.port';
import { pollingSubscription } from './polling-subscription';
import { fromWire, hasLogHead, headRevision, integerOf, notIntegerRevision, openStoreDatabase, openStoreReadOnly, prepareHead, SqliteWriter, storeError, type AppendOutcome, type HeadStatement, type PendingAppend } from './sqlite-writer';
import { WriterThread, type WriterAnswer } from './writer-thread';

export { openStoreReadOnly, PAGE_SIZE } from './sqlite-writer';

const PAGE = 500;
/** How many gaps of the log found deleted a store notes (gapsDeleted): a sound store has none; past these, a gap is asked again each read (but of a damaged store: lostCells). */
const GAPS_NOTED = 1024;
/** How many of the positions its index holds and its table lacks a damaged store lists (lostCells): a gap past the last listed is asked of the index. */
const LOST_LISTED = 10_000;
/** The columns of a read without the metadata (ReadAllOptions.metadata, ReadStreamOptions.metadata). */
const LEAN = 'position, stream, revision, event_id, type, data, created';
/** The columns of a read with the metadata, in the order of a raw row (RawRow). */
const ROW = 'position, stream, revision, event_id, type, data, metadata, created';
/** Why a row SQLite gave without an error is taken as damage (pager). */
const UNSOUND_ROW = 'SQLite gave a row that is no event the store wrote: a null in a NOT NULL column, or its position or revision out of the order read or past the head';
/** SQLite's largest max_page_count: no cap. */
const MAX_PAGE_COUNT = 4294967294;

interface Row {
  position: number | bigint;
  stream: string;
  revision: number | bigint;
  event_id: string;
  type: string;
  /** TEXT as the store writes it; a Buffer where an edit stored a BLOB (JSON.parse reads it as UTF-8). */
  data: string | Buffer;
  /** Left out of a read without the metadata (LEAN). */
  metadata?: string | Buffer;
  created: string;
}

/** A row as an array (readAllPages): ROW's columns, or LEAN's without the metadata. */
type RawRow = [number | bigint, string, number | bigint, string, string, string | Buffer, ...Array<string | Buffer>];

/** A keyset pagination: where it starts, which way, how many rows at most, a row's revision or position, and the query of a page. */
type Pagination<R> = [start: bigint | 'start' | 'end' | undefined, backwards: boolean, maxCount: number | undefined, cursorOf: (row: R) => number | bigint, page: (from: bigint, limit: number) => R[], stream?: string, whole?: (from: bigint, limit: number) => R[]];

/** Where the appends are written: on a thread of their own, or on the event loop's own connection. */
export type SqliteWriterMode = 'thread' | 'inline';

export interface SqliteEventStoreOptions {
  /** How long a writer waits for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
  /** How often a subscription polls for commits made by other processes (ms). */
  pollIntervalMs?: number;
  /** Write the appends that arrive together in one transaction (default true). */
  groupCommit?: boolean;
  /**
   * `thread` (default for a file): a writer thread with a connection of its own checks, writes and
   * commits (fsync included) while this thread goes on; `inline`: on this thread's connection, each
   * commit blocking it until it is on disk (always so for ':memory:', which one connection holds).
   */
  writer?: SqliteWriterMode;
  /** Open the file to be read only (openStoreReadOnly): nothing written to it, an append refused; a file that is not there, empty or no ledger store refused. */
  readOnly?: boolean;
}

type Waiter = { resolve(r: AppendResult): void; reject(e: unknown): void };
/** An append awaiting its answer: its stream and how many events it holds (see OwnCommit). */
type AppendWaiter = Waiter & { stream: string; events: number };
/** Positions `first`..`last` of the log, written by one append of this store to `stream`, its revision then `revision`. */
interface OwnCommit {
  first: bigint;
  last: bigint;
  stream: string;
  revision: bigint;
}
/** How many of its latest appends a store remembers (changesSince): a look further back queries the log. */
const OWN_COMMITS_KEPT = 4096;

/** Where a reader of the log stood (SqliteEventStore.changesSince): opaque to it, handed back. */
export interface ChangeMark {
  /** The head position read. */
  readonly position: bigint;
  /** The read snapshot it was taken in, this connection's `PRAGMA data_version` then, and this store's commits by then. */
  readonly snapshot: number;
  readonly dataVersion: bigint;
  readonly commits: number;
}

/**
 * What was committed to the file since a mark: `streams`, each stream appended to with its last
 * revision, or undefined when more than the `maxEvents` asked were (take every stream as moved).
 */
export interface Changes {
  mark: ChangeMark;
  streams: ReadonlyMap<string, bigint> | undefined;
}
type Queued = PendingAppend & AppendWaiter;

/**
 * The embedded event store: one SQLite file, WAL, synchronous=FULL (an acknowledged append has
 * been fsynced), every append in BEGIN IMMEDIATE. `position` is the table's INTEGER PRIMARY KEY:
 * rows are never deleted and writes are serialised by the write lock, so positions are gapless
 * (1, 2, 3, ...) and in commit order. Several processes may share the file (busy timeout).
 *
 * Reads run on this thread's connection. Appends are checked and serialised here, then written by
 * the writer (by default a thread of its own with its own connection, started at the first
 * append): WAL lets this connection read while the writer commits, so the event loop goes on
 * (judging the next requests) during the fsync, and everything appended meanwhile goes into the
 * writer's next transaction.
 */
export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite' as const;
  readonly appendStats = new Subject<AppendStats>();
  /** Where this store's appends are written (see SqliteEventStoreOptions.writer). */
  readonly writerMode: SqliteWriterMode;
  /** Whether the file was opened to be read only (SqliteEventStoreOptions.readOnly). */
  readonly readOnly: boolean;
  private readonly db: Database.Database;
  private readonly commits = new EventEmitter();
  private readonly pollIntervalMs: number;
  private readonly groupCommit: boolean;
  private readonly busyTimeoutMs: number;
  /** Appends of this turn, not yet handed to the writer. */
  private queue: Queued[] = [];
  /** The writer thread this store's appends go to, its number for this store there, and what awaits its answers, by request id. */
  private thread: WriterThread | undefined;
  private threadStore: number | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private requests = 0;
  /** Appends not handed to the writer thread yet: handed over at the end of the turn, or once there are `handOverAt()` of them. */
  private handOver: Array<{ id: number; append: PendingAppend }> = [];
  private inline: SqliteWriter | undefined;
  private closed = false;
  /** Whether this turn's reads share an open read transaction (see `reading`), and how many such snapshots were begun. */
  private snapshot = false;
  private snapshots = 0;
  /** The head read in the snapshot numbered `snapshot` (snapshotHead). */
  private headSeen?: { snapshot: number; head: bigint | undefined };
  /** This store's commits (changesSince: those on this connection do not change its data_version). */
  private commitCount = 0;
  /** This store's latest appends that wrote, in commit order (changesSince names their streams without a query). */
  private own: OwnCommit[] = [];
  private readonly endSnapshotSoon = () => this.endSnapshot();
  /** The file, as the other stores of this process on it name it. */
  private readonly key: string;
  /** The `only` of the page being queried (ReadAllOptions.only) and which way it reads, set for that query alone: nothing of a read outlives its page. */
  private only: { wants: (stream: string) => boolean; backwards: boolean } | undefined;
  /** The positions of the first and the last row ledger_only was asked about: where the scan of an `only` page began (scanBegan) and stood (boundReached). */
  private scanFirst: number | undefined;
  private scanned: number | undefined;
  /** The gaps the scan of an `only` page stepped over, forward (each the positions of the rows before and after it), for gapChecked. */
  private scanGaps: number[] = [];
  /** The index scanBegan asks for a row the scan did not give, prepared at its first use (it runs only where a scan began past its start). */
  private heldIn: Database.Statement<[bigint, bigint], number | bigint> | undefined;
  /** Gaps of the log found deleted (from the key, the position of the row after the gap, back to its value): a deleted range stays deleted (appends go past the last row), so each is asked once; at most GAPS_NOTED of them. */
  private readonly gapsDeleted = new Map<bigint, bigint>();
  /** The table and its index as last counted (countedAt), for cellsCounted and indexDisagreement alike: one count a head. */
  private counted: Counted | undefined;
  /** countedAt's two counts, prepared at their first use (a gap not yet known, or indexDisagreement). */
  private counts: Database.Statement<[], { tableRows: number; tableSum: number | bigint | null; indexRows: number; indexSum: number | bigint | null }> | undefined;
  /** lostCells' query, prepared at its first use (a damaged store). */
  private lostQuery: Database.Statement<[number], number | bigint> | undefined;
  /** readAll's queries with `only` or without the metadata (ReadAllOptions), and readAllPages' (rows as arrays), prepared at their first use. */
  private readonly allLean = new Map<string, Paged<[number | bigint, ...Array<number | bigint>], Row | RawRow>>();
  private readonly stmt: {
    head: HeadStatement;
    readFwd: Paged<[string, number | bigint]>;
    readBwd: Paged<[string, number | bigint]>;
    readFwdLean: Paged<[string, number | bigint]>;
    readBwdLean: Paged<[string, number | bigint]>;
    allFwd: Paged<[number | bigint]>;
    allBwd: Paged<[number | bigint]>;
    headPosition: Database.Statement<[], { position: number | bigint | null }>;
    lastUpTo: Database.Statement<[bigint], number | bigint | null>;
    idAt: Database.Statement<[bigint], string>;
    dataVersion: Database.Statement<[], bigint>;
    tail: Database.Statement<[number | bigint, number | bigint], { stream: string; revision: number | bigint; position: number | bigint }>;
    gapless: Database.Statement<[], { n: number; head: number }>;
    begin: Database.Statement<[]>;
    commit: Database.Statement<[]>;
  };

  constructor(readonly file: string, options: SqliteEventStoreOptions = {}) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.readOnly = options.readOnly ?? false;
    try {
      this.db = (this.readOnly ? openStoreReadOnly : openStoreDatabase)(file, { busyTimeoutMs: this.busyTimeoutMs });
    } catch (err) {
      throw Object.assign(err as Error, { file }); // which file SQLite could not open ("unable to open database file" names none)
    }
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.groupCommit = options.groupCommit ?? true;
    this.writerMode = file === ':memory:' || this.readOnly ? 'inline' : (options.writer ?? 'thread'); // read only: no writer thread (its connection would open the file to write)
    this.commits.setMaxListeners(0);
    // ledger_only(stream, position): whether the read whose page is being queried wants the stream's events (its `only`), so the rows it does not are never fetched.
    // A row that is no event the store wrote (a null stream, a position out of the scan's order: a damaged page) is damage, as the pager
    // takes it (until 2026-11-27, sixteenth session, asked about here and left out: the read went on past it with no error).
    this.db.function('ledger_only', { safeIntegers: false }, (stream, position) => {
      const p = position as number;
      const { wants, backwards } = this.only!;
      if (typeof stream !== 'string' || (this.scanned !== undefined && (backwards ? p >= this.scanned : p <= this.scanned))) throw new UnreportedDamage(UNSOUND_ROW);
      if (!backwards && this.scanned !== undefined && p > this.scanned + 1) this.scanGaps.push(this.scanned, p); // asked once the query is done (no query runs within another)
      this.scanFirst ??= p;
      this.scanned = p;
      return wants(stream) ? 1 : 0;
    });
    this.stmt = {
      head: prepareHead(this.db),
      readFwd: paged(this.db, 'SELECT * FROM events WHERE stream = ? AND revision >= ? ORDER BY revision ASC'),
      readBwd: paged(this.db, 'SELECT * FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC'),
      readFwdLean: paged(this.db, `SELECT ${LEAN} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision ASC`),
      readBwdLean: paged(this.db, `SELECT ${LEAN} FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC`),
      allFwd: paged(this.db, 'SELECT * FROM events WHERE position >= ? ORDER BY position ASC'),
      allBwd: paged(this.db, 'SELECT * FROM events WHERE position <= ? ORDER BY position DESC'),
      headPosition: this.db.prepare('SELECT MAX(position) AS position FROM events'),
      lastUpTo: this.db.prepare<[bigint], number | bigint | null>('SELECT MAX(position) FROM events WHERE position <= ?').pluck(),
      idAt: this.db.prepare<[bigint], string>('SELECT event_id FROM events WHERE position = ?').pluck(),
      dataVersion: this.db.prepare<[], bigint>('PRAGMA data_version').pluck(),
      // The streams of the events after a position (up to a bound), each with its last revision, and the last position.
      tail: this.db.prepare('SELECT stream, MAX(revision) AS revision, MAX(position) AS position FROM (SELECT stream, revision, position FROM events WHERE position > ? ORDER BY position LIMIT ?) GROUP BY stream'),
      gapless: this.db.prepare('SELECT count(*) AS n, coalesce(max(position), 0) AS head FROM events'),
      begin: this.db.prepare('BEGIN'),
      commit: this.db.prepare('COMMIT'),
    };
    this.key = file === ':memory:' ? file : path.resolve(file);
    localCommits.on(this.key, this.endSnapshotSoon);
  }

  async appendToStream(stream: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.ensureOpen();
    if (this.readOnly) throw new Error(`the event store at ${this.file} was opened to be read only: nothing was appended to stream '${stream}'`);
    checkAppend(stream, events);
    const expected = options.expectedRevision ?? 'any';
    let chars = 0;
    const encoded = events.map((e) => {
      const data = JSON.stringify(e.data ?? null);
      const metadata = JSON.stringify(e.metadata ?? {});
      chars += data.length + metadata.length + e.type.length;
      return { id: e.id.toLowerCase(), type: e.type, data, metadata };
    });
    // A UTF-16 code unit is at most 3 bytes of UTF-8: the bytes are counted only where that bound passes the limit.
    if (chars * 3 > MAX_APPEND_BYTES) {
      const bytes = encoded.reduce((n, e) => n + Buffer.byteLength(e.data) + Buffer.byteLength(e.metadata) + Buffer.byteLength(e.type), 0);
      if (bytes > MAX_APPEND_BYTES) throw new AppendTooLargeError(stream, bytes, MAX_APPEND_BYTES);
    }

    const pending: PendingAppend = { stream, expected, encoded };
    if (this.writerMode === 'thread') {
      return new Promise<AppendResult>((resolve, reject) => {
        const id = ++this.requests;
        const waiter: AppendWaiter = { resolve, reject, stream, events: encoded.length };
        this.waiting.set(id, waiter);
        this.handOver.push({ id, append: pending });
        if (this.handOver.length >= this.handOverAt()) this.handOverNow();
        else if (this.handOver.length === 1) setImmediate(() => this.handOverNow());
      });
    }
    if (!this.groupCommit) return this.writeAlone(pending);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ stream, expected, encoded, resolve, reject, events: encoded.length }); // not a spread of `pending` that gains keys (~4 us on Node 20: state.ts, withKey)
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  /** One append in a transaction of its own, on this thread (inline writer, no group commit). */
  private writeAlone(pending: PendingAppend): AppendResult {
    let result: AppendResult;
    const started = process.hrtime.bigint();
    this.endSnapshot(); // a write on this connection must not run inside the read transaction
    try {
      result = this.inlineWriter().writeOne(pending);
    } catch (err) {
      throw storeError(err, this.file);
    }
    this.appendStats.next({ appends: 1, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    if (result.written) {
      this.wrote(pending.stream, pending.encoded.length, result);
      this.committed();
    }
    return result;
  }

  private inlineWriter(): SqliteWriter {
    return (this.inline ??= new SqliteWriter(this.db));
  }

  /**
   * Group commit on this thread: the appends that arrived in the same turn of the event loop are
   * written in one transaction, each inside a savepoint of its own (so one refused append leaves
   * the others alone), and each promise settles only after the COMMIT is on disk: an
   * acknowledgement promises exactly what it promises without grouping, and one fsync serves the
   * whole group. (The writer thread groups the same way what reaches it while it commits.)
   */
  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (this.closed) {
      const refused = new StoreUnavailableError(`the SQLite store ${this.file} is closed`);
      for (const item of batch) item.reject(refused);
      return;
    }
    const started = process.hrtime.bigint();
    this.endSnapshot(); // a write on this connection must not run inside the read transaction
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.inlineWriter().writeGroup(batch);
    } catch (err) {
      const mapped = storeError(err, this.file);
      for (const item of batch) item.reject(mapped);
      return;
    }
    this.settle(batch, outcomes, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Answers each append of a transaction once it is on disk: one durable write for the metrics, one wake-up for subscribers. */
  private settle(batch: AppendWaiter[], outcomes: AppendOutcome[], seconds: number): void {
    this.endSnapshot(); // what follows an acknowledged append reads it
    this.appendStats.next({ appends: batch.length, seconds });
    let written = false;
    outcomes.forEach((o, i) => {
      if (!('ok' in o) || !o.ok.written) return;
      this.wrote(batch[i].stream, batch[i].events, o.ok);
      written = true;
    });
    if (written) this.committed();
    batch.forEach((item, i) => {
      const o = outcomes[i];
      if ('ok' in o) item.resolve(o.ok);
      else item.reject(storeError(o.err, this.file));
    });
  }

  /**
   * How many appends to gather before handing them over before the turn ends. An idle writer gets
   * the appends of the turn at its end, together (one message, one transaction). A busy one gets
   * them as soon as there are as many as it holds, so that with many appends in flight the event
   * loop fills the next group while the writer commits one. Measured against handing every append
   * over at once (which splits groups more): the same decisions/s in process, and over HTTP at
   * 1,000 req/s a sixth less CPU per request (median 1.3 ms against 1.55) and no worse a p99.
   */
  private handOverAt(): number {
    const held = this.waiting.size - this.handOver.length;
    return held === 0 ? Infinity : held;
  }

  /** Hands the appends made since the last hand-over to the writer thread. */
  private handOverNow(): void {
    if (this.handOver.length === 0) return;
    const appends = this.handOver;
    this.handOver = [];
    this.writerThread().append(this.threadStore!, appends);
  }

  /** Posts a request to the writer thread under a new id; `waiter` hears its answer. */
  private toThread(post: (id: number) => void, waiter: Waiter): void {
    const id = ++this.requests;
    this.waiting.set(id, waiter);
    post(id);
  }

  /** Everything the writer thread says about this store. */
  private hear(a: WriterAnswer): void {
    if (a.type === 'lost') {
      // The thread is gone: what it had not answered is refused (it may or may not be on disk). What
      // was not handed to it yet (this turn's appends) goes on to the next hand-over: until
      // 2026-11-28 it was refused too, and then written, its answer found no waiter (a TypeError).
      this.thread = undefined;
      const notHanded = new Set(this.handOver.map((h) => h.id));
      for (const [id, w] of [...this.waiting]) {
        if (notHanded.has(id)) continue;
        this.waiting.delete(id);
        w.reject(a.error);
      }
      return;
    }
    if (a.type === 'ok') {
      const w = this.waiting.get(a.id);
      this.waiting.delete(a.id);
      w?.resolve(undefined as never);
      return;
    }
    const waiters = a.ids.map((id) => this.waiting.get(id)!) as AppendWaiter[];
    for (const id of a.ids) this.waiting.delete(id);
    if (a.type === 'failed') {
      const error = storeError(fromWire(a.error), this.file);
      for (const w of waiters) w.reject(error);
      return;
    }
    this.settle(waiters, a.outcomes.map((o) => ('ok' in o ? o : { err: fromWire(o.err) })), a.seconds);
  }

  /** The process's writer thread, with a connection for this store (opened at its first append, and again if the thread died). */
  private writerThread(): WriterThread {
    if (!this.thread?.alive) {
      this.thread = WriterThread.get();
      this.threadStore = this.thread.open(this.file, this.busyTimeoutMs, this.groupCommit, (a) => this.hear(a));
    }
    return this.thread;
  }

  /**
   * Caps the store file at `pages` pages for this store's appends (SQLite's max_page_count, on the
   * connection that writes), or lifts the cap (no argument): an append that needs more room is
   * refused with StoreFullError, as on a full disk. An operator's quota; tests use it to fill the store.
   */
  async setMaxPageCount(pages?: number): Promise<void> {
    this.ensureOpen();
    const limit = pages ?? MAX_PAGE_COUNT;
    if (this.writerMode === 'inline') {
      this.endSnapshot();
      this.db.pragma(`max_page_count = ${limit}`);
      return;
    }
    await new Promise((resolve, reject) => this.toThread((id) => this.writerThread().maxPages(this.threadStore!, id, limit), { resolve, reject }));
  }

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    const lean = options.metadata === false;
    const query = backwards ? (lean ? this.stmt.readBwdLean : this.stmt.readBwd) : lean ? this.stmt.readFwdLean : this.stmt.readFwd;
    return this.paged(options.fromRevision, backwards, options.maxCount, (row) => row.revision, (from, limit) => query(limit, stream, from), stream);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const page = this.allQuery(options, false) as (from: bigint, limit: number) => Row[];
    const whole = options.only ? (this.allQuery({ ...options, only: undefined }, false) as (from: bigint, limit: number) => Row[]) : undefined;
    return this.paged(options.fromPosition, options.direction === 'backwards', options.maxCount, (row) => row.position, page, undefined, whole, options.stored);
  }

  /**
   * What readAll reads, a page (of up to 500 events) at a time, for a reader whose work per event
   * is synchronous (the what-if): it awaits once per page, not once per event. Each page's events
   * are made from their rows as the page is iterated, so an event that cannot be read
   * (UnreadableEventError) fails there, after the events before it, as in readAll.
   */
  async *readAllPages(options: ReadAllOptions = {}): AsyncIterable<Iterable<RecordedEvent>> {
    // Its rows as arrays (better-sqlite3's raw mode: cheaper to make than objects), in the order of ROW's or LEAN's columns.
    const page = this.allQuery(options, true) as (from: bigint, limit: number) => RawRow[];
    const whole = options.only ? (this.allQuery({ ...options, only: undefined }, true) as (from: bigint, limit: number) => RawRow[]) : undefined;
    const next = this.pager(options.fromPosition, options.direction === 'backwards', options.maxCount, (row) => row[0], page, undefined, whole);
    for (let rows = next(); rows; rows = next()) yield recordedOf(rows, options.metadata ?? true, options.stored);
  }

  /** readAll's query of a page (readAll, readAllPages), whose rows are objects or (`raw`) arrays. */
  private allQuery(options: ReadAllOptions, raw: boolean): (from: bigint, limit: number) => Array<Row | RawRow> {
    const backwards = options.direction === 'backwards';
    const { only, metadata = true, toPosition } = options;
    if (toPosition !== undefined && backwards) throw new InvalidStoreArgumentError('readAll: toPosition is for a forward read');
    if (options.stored && !metadata) throw new InvalidStoreArgumentError('readAll: stored (the text of the data and the metadata, or that text checked) needs the metadata read: not with metadata false');
    if (!only && metadata && toPosition === undefined && !raw) return backwards ? (from, limit) => this.stmt.allBwd(limit, from) : (from, limit) => this.began(from, this.stmt.allFwd(limit, from));
    const key = `${backwards ? 'bwd' : 'fwd'}${only ? ' only' : ''}${metadata ? '' : ' lean'}${toPosition === undefined ? '' : ' to'}${raw ? ' raw' : ''}`;
    let query = this.allLean.get(key);
    if (!query) {
      const columns = metadata ? ROW : LEAN;
      const where = `position ${backwards ? '<=' : '>='} ?${toPosition === undefined ? '' : ' AND position <= ?'}${only ? ' AND ledger_only(stream, position)' : ''}`;
      this.allLean.set(key, (query = paged(this.db, `SELECT ${columns} FROM events WHERE ${where} ORDER BY position ${backwards ? 'DESC' : 'ASC'}`, raw)));
    }
    const q = query;
    const to = toPosition === undefined ? [] : [toPosition];
    return (from, limit) => {
      if (!only) {
        const rows = q(limit, from, ...to);
        if (!backwards) this.began(from, rows, toPosition);
        if (toPosition !== undefined && rows.length < limit) this.boundReached(toPosition, rows.length === 0 ? from - 1n : BigInt(positionOf(rows[rows.length - 1])), rows.length === 0);
        return rows;
      }
      // A page is one synchronous query: `only` is ledger_only's for it alone, so a read abandoned
      // without return() leaves nothing behind (no registry of reads to clean up).
      const outer = this.only;
      this.only = { wants: only, backwards };
      this.scanFirst = this.scanned = undefined;
      this.scanGaps = [];
      try {
        const rows = q(limit, from, ...to);
        for (let i = 0; i < this.scanGaps.length; i += 2) this.gapChecked(BigInt(this.scanGaps[i]), BigInt(this.scanGaps[i + 1]));
        if (!backwards && this.scanFirst !== Number(from > 0n ? from : 1n)) this.scanBegan(from, this.scanFirst === undefined ? undefined : BigInt(this.scanFirst), toPosition);
        if (toPosition !== undefined && rows.length < limit) this.boundReached(toPosition, this.scanned === undefined ? from - 1n : BigInt(this.scanned), this.scanned === undefined);
        return rows;
      } finally {
        this.only = outer;
      }
    };
  }

  /** A forward page of the log read from `from`: its rows, once `scanBegan` has checked that the scan began there, when its first row is not there. */
  private began<R extends Row | RawRow>(from: bigint, rows: R[], toPosition?: bigint): R[] {
    const first = rows.length === 0 ? undefined : BigInt(positionOf(rows[0]));
    if (first !== (from > 0n ? from : 1n)) this.scanBegan(from, first, toPosition);
    return rows;
  }

  /**
   * A forward page of the log read from `from` whose scan began at `first` (the position of the
   * first row it met, of any stream; undefined, none) and not at `from` (1 from the start): rows
   * deleted there (tampering, which verify names missing), or a damaged cell that SQLite's seek
   * stepped over with no error, as it steps over a row deleted (UnreportedDamage; until 2026-11-27,
   * sixteenth session, the read began past it: a live projector, its subscription reading on from
   * the last event it applied, named that event missing, a false tamper alarm). Told apart by the table's index on
   * (stream, revision), which holds the position of each row of the table but not of a row deleted:
   * one scan of the index (~6 ms for 200,000 events), only here. An empty page (no row met) is
   * looked into only where the log's head (or the read's bound) is at or past `from`.
   */
  private scanBegan(from: bigint, first: bigint | undefined, toPosition?: bigint): void {
    const start = from > 0n ? from : 1n;
    const head = this.snapshotHead() ?? 0n;
    const end = first ?? (toPosition !== undefined && toPosition < head ? toPosition : head) + 1n;
    if (end <= start) return;
    const held = first === undefined ? this.rangeHolds(start, end) : this.gapHolds(start, end);
    if (held !== undefined) throw new UnreportedDamage(`SQLite's scan of the log from position ${start} ${first === undefined ? 'met no row' : `began at position ${first}`} with no error, but the store's index on (stream, revision) holds an event at position ${held}`);
  }

  /**
   * A forward scan of the log that stepped from the row at `before` to the row at `at`, past
   * positions the table gives no row for: rows deleted (tampering, which verify names missing), or
   * a cell the table lost with no error, which its index on (stream, revision) still holds
   * (UnreportedDamage; until 2026-11-27, sixteenth session, only a gap where a scan began or ended
   * was asked about: a lost cell within a read was read past as a deletion). A sound store has no
   * gap; a gap found deleted is noted (gapsDeleted), asked once.
   */
  private gapChecked(before: bigint, at: bigint): void {
    const held = this.gapHolds(before + 1n, at);
    if (held !== undefined) throw new UnreportedDamage(`SQLite's scan of the log stepped from position ${before} to ${at} with no error, but the store's index on (stream, revision) holds an event at position ${held}`);
  }

  /** indexHolds, where `end` is a row's position (no append can fill a gap below it): a range found to hold nothing is noted, and not asked again. */
  private gapHolds(start: bigint, end: bigint): number | bigint | undefined {
    const noted = this.gapsDeleted.get(end);
    if (noted !== undefined && noted <= start) return undefined;
    if (this.cellsCounted(end)) return undefined;
    const held = this.heldOrLost(start, end);
    if (held === undefined && (noted !== undefined || this.gapsDeleted.size < GAPS_NOTED)) this.gapsDeleted.set(end, start);
    return held;
  }

  /**
   * Whether a gap below the row at `end` is a deletion without asking the index over it: the
   * table and its index on (stream, revision) give as many rows and the same sum of positions (a
   * scan of each, ~35 ms for 200,000 events), so the table has lost no cell the index holds, and
   * every gap at or below the head counted is rows deleted. The sum too: count(*) alone reads each
   * leaf's count of cells, which a damaged cell pointer leaves as it was (the specs of a damaged
   * cell failed with it). Counted once per head (a gap above it, after later appends,
   * counts again); unequal, the positions the index holds and the table lacks are listed
   * (lostCells) and each gap looked up in them (heldOrLost); the counting failing, each gap is asked (gapHolds). Until
   * 2026-11-27, sixteenth session, each gap not yet noted was a scan of the index (~40 ms for
   * 1,000,000 events): a store with 10,000 single rows deleted made a read pay ~400 s. What this
   * cannot see: the table losing cells AND the index losing others whose counts and sums of
   * positions are equal (for one cell each, only the same position, or one a multiple of 2^24 away: the sum is of the low 24 bits), a gap there
   * read as a deletion; as a cell lost after the count, in this process, is.
   */
  private cellsCounted(end: bigint): boolean {
    const counted = this.counted !== undefined && end <= this.counted.head ? this.counted : this.countedAt(this.snapshotHead() ?? 0n);
    return counted.equal && end <= counted.head;
  }

  /**
   * The table and its index counted (their rows and sums of positions, a scan of each) at `head`,
   * the log's head now, or as counted at it before: a head counted once, for the gaps of reads
   * (cellsCounted) and indexDisagreement alike (until 2026-11-28, seventeenth session,
   * indexDisagreement counted at each call: ~60 ms at 200,000 events, on the API's event loop for
   * each digest asked past the head). Unequal, the positions the index holds and the table lacks
   * are listed (lostCells); the counting failing, its error is kept (damage, which the pager names
   * where a read meets it: each gap is asked). A cell lost after the count, at the same head, is
   * not seen by this connection (a job's, opened for it, counts afresh).
   */
  private countedAt(head: bigint): Counted {
    if (this.counted?.head === head) return this.counted;
    this.counts ??= this.db.prepare(
      `SELECT t.rows AS tableRows, t.sum AS tableSum, i.rows AS indexRows, i.sum AS indexSum FROM (SELECT ${ROWS_AND_POSITIONS} FROM events NOT INDEXED) t, (SELECT ${ROWS_AND_POSITIONS} FROM events INDEXED BY sqlite_autoindex_events_1) i`,
    );
    try {
      const c = this.counts.get()!;
      const equal = c.tableRows === c.indexRows && String(c.tableSum) === String(c.indexSum);
      this.counted = { head, equal, tableRows: c.tableRows, indexRows: c.indexRows, ...(equal ? {} : { lost: this.lostCells() }) };
    } catch (err) {
      this.counted = { head, equal: false, failed: err };
    }
    return this.counted;
  }

  /**
   * The positions the table's index on (stream, revision) holds and the table lacks (cells the
   * table lost), in order, the first LOST_LISTED of them (`all`: no more); undefined where they
   * could not be read (damage the pager names where a read meets it). One query of the table and
   * the index together (~90 ms for 200,000 events, load 2.4, 2026-11-28), on a store whose counts
   * differ only: each gap of its reads is then looked up in it, not asked of the index (a scan of
   * the index each, ~7-16 ms at 200,000 events: until 2026-11-28, seventeenth session, a store
   * with 2,000 rows deleted and a lost cell paid ~14 s of CPU for its first full read, ~6.5 s for
   * each read after it, past the GAPS_NOTED gaps noted).
   */
  private lostCells(): LostCells | undefined {
    try {
      this.lostQuery ??= this.db.prepare<[number], number | bigint>('SELECT position FROM events INDEXED BY sqlite_autoindex_events_1 EXCEPT SELECT position FROM events NOT INDEXED ORDER BY 1 LIMIT ?').pluck();
      const positions = this.lostQuery.all(LOST_LISTED + 1).map((p) => BigInt(p));
      const all = positions.length <= LOST_LISTED;
      return { positions: all ? positions : positions.slice(0, LOST_LISTED), all };
    } catch {
      return undefined;
    }
  }

  /**
   * indexHolds, from the positions the table lost (lostCells, as counted at a head at or past
   * `end - 1`) where they are known over the range: the first of them in it, if any; else the index asked.
   */
  private heldOrLost(start: bigint, end: bigint): number | bigint | undefined {
    const lost = this.counted?.lost;
    if (!lost || this.counted!.head < end - 1n) return this.indexHolds(start, end);
    const { positions, all } = lost;
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (positions[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    if (lo < positions.length && positions[lo] < end) return positions[lo];
    // Past the last listed of a list cut short, not known: asked.
    return all || (positions.length > 0 && end - 1n <= positions[positions.length - 1]) ? undefined : this.indexHolds(start, end);
  }

  /**
   * indexHolds, for a range that is not a gap below a row (an empty page, a bounded read's end): not
   * asked where the table and its index count alike up to a head at or past it (cellsCounted; until
   * the sixteenth session's final read, a scan of the index at each such read of a store with rows
   * deleted).
   */
  private rangeHolds(start: bigint, end: bigint): number | bigint | undefined {
    return this.cellsCounted(end - 1n) ? undefined : this.heldOrLost(start, end);
  }

  /** A position from `start` to before `end` that the table's index on (stream, revision) holds (a scan of the index: for a check where a scan of the table met no row). */
  private indexHolds(start: bigint, end: bigint): number | bigint | undefined {
    return (this.heldIn ??= this.db.prepare<[bigint, bigint], number | bigint>('SELECT position FROM events INDEXED BY sqlite_autoindex_events_1 WHERE position >= ? AND position < ? LIMIT 1').pluck()).get(start, end);
  }

  /**
   * A forward read bounded by `toPosition` whose page came back short, its scan having ended at
   * `scanned` (the last row it met, of any stream): the read's end, unless the store holds an event
   * past it within the bound (MAX, a descent of the table's tree, not the scan), which the scan
   * never gave: a damaged cell whose position SQLite read as past the bound ends a range scan
   * there with no error (UnreportedDamage; until 2026-11-27 the read ended there). Where the bound
   * is the damaged cell's own event, MAX too lands before it: where the scan ended short of the
   * bound within the log (short of the head), the table's index on (stream, revision) is asked
   * (scanBegan's scan of it; until 2026-11-27, sixteenth session, the read ended there with no
   * error); a sound read ends at its bound or at the head, and asks nothing more. Events deleted
   * from the end of the range (tampering, which verify names missing) are no event held there.
   * `asked`: the scan met no row, and scanBegan has asked the index over the same range (until
   * 2026-11-27, sixteenth session, it was asked twice).
   */
  private boundReached(toPosition: bigint, scanned: bigint, asked: boolean): void {
    const held = this.stmt.lastUpTo.get(toPosition) ?? null; // MAX: a row, its value null on an empty range
    if (held !== null && BigInt(held) > scanned) throw new UnreportedDamage(`SQLite's scan of the log ended at position ${scanned} with no error, short of the read's toPosition ${toPosition}, but the store holds an event at position ${held}`);
    const head = this.snapshotHead() ?? 0n;
    const end = head < toPosition ? head : toPosition;
    const indexed = !asked && scanned < end ? this.rangeHolds(scanned + 1n, end + 1n) : undefined;
    if (indexed !== undefined) throw new UnreportedDamage(`SQLite's scan of the log ended at position ${scanned} with no error, short of the read's toPosition ${toPosition}, but the store's index on (stream, revision) holds an event at position ${indexed}`);
  }

  /** A query of the file outside the pager (`what` it reads): SQLITE_CORRUPT is named damage (StoreDamagedError), as the pager names it. */
  private direct<T>(what: string, query: () => T): T {
    try {
      return query();
    } catch (err) {
      throw StoreDamagedError.of(err, undefined, what);
    }
  }

  /** Keyset pagination over revisions or positions, a page of PAGE rows per query. */
  private async *paged(...[start, backwards, maxCount, cursorOf, page, stream, whole, stored]: [...Pagination<Row>, stored?: ReadAllOptions['stored']]): AsyncIterable<RecordedEvent> {
    const next = this.pager(start, backwards, maxCount, cursorOf, page, stream, whole);
    for (let rows = next(); rows; rows = next())
      for (const row of rows) yield toRecorded(row, stored);
  }

  /**
   * The pages of a keyset pagination, each queried when asked for (`undefined`: no more); `cursorOf`
   * gives a row's revision (of `stream`) or position. A damaged page of the file fails the read
   * with a StoreDamagedError naming the last row read before the damage, the same for every reader
   * wherever its pages began: the rows before it are given (the last page), and the next ask fails.
   * Damage is SQLITE_CORRUPT, or a row SQLite gives from a damaged page without an error (until
   * 2026-11-27 taken as an event): a null in a column that is NOT NULL, a revision or position out
   * of the order read (not past the one before), or a position past the head of the read's snapshot.
   * A page whose query fails is queried again with shorter LIMITs (a bisection: ~9 queries for 500
   * rows) for the longest run of sound rows the scan gives from the cursor; a scan reads the rows in
   * order, so none after the damage is given and none before it skipped (until 2026-11-27 it named
   * the start of the page of 500, and then a row at a time, which could step over a damaged row).
   */
  private pager<R>(...[start, backwards, maxCount, cursorOf, page, stream, whole]: Pagination<R>): () => R[] | undefined {
    const from = start ?? (backwards ? 'end' : 'start');
    let cursor: bigint | undefined = from === 'start' ? 0n : from === 'end' ? BigInt(Number.MAX_SAFE_INTEGER) : from;
    let remaining = maxCount ?? Infinity;
    let read = false;
    let failed: StoreDamagedError | undefined;
    /** The damage met at `at` (where the read's cursor stood): `err`, SQLite's, or (`err` undefined) a row that cannot be an event's. */
    const damaged = (err: Error | undefined, at: bigint): StoreDamagedError => {
      // Forward, the last position read is the one before the cursor (or before where the read began).
      const last = backwards ? (read ? at + 1n : undefined) : at > 0n ? at - 1n : undefined;
      const what =
        stream === undefined && !backwards
          ? undefined
          : `${stream === undefined ? 'the log read backwards' : `stream '${stream}'`} could not be read ${last === undefined ? `from its ${backwards ? 'end' : 'start'}` : `${backwards ? 'below' : 'past'} ${stream === undefined ? 'position' : 'revision'} ${last}`}`;
      return new StoreDamagedError(last, err?.message ?? UNSOUND_ROW, { what, fromSqlite: isDamaged(err) });
    };
    const after = (row: R) => {
      const last = integerOf(cursorOf(row));
      if (last === undefined) return undefined; // an edited revision (recorded refuses the row): the read ends there
      const next = backwards ? last - 1n : last + 1n;
      return next < 0n ? undefined : next;
    };
    /** A forward read of every stream's events (of the log, no `only`): no gap between its rows but where rows were deleted (gapChecked). */
    const everyStream = stream === undefined && !backwards && whole === undefined;
    /** The damage a gap between a page's rows is (gapChecked), where soundRows found one. */
    let gap: UnreportedDamage | undefined;
    /**
     * How many of a page's first rows (read from `cursor`) are sound: no null, each past the one
     * before, none past the snapshot's head, and (everyStream) no gap between two of them that the
     * table's index holds an event in (a gap before its first row is the page query's to ask:
     * scanBegan). A revision that is no integer is an edit's, not damage:
     * the row is given, and refused as it is read (`recorded`: UnreadableEventError).
     */
    const soundRows = (rows: R[]): number => {
      if (rows.length === 0) return 0;
      const head = this.snapshotHead();
      let bound = cursor!;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as Row | RawRow;
        if (hasNull(row)) return i;
        if (head === undefined || BigInt(positionOf(row)) > head) return i;
        const at = integerOf(cursorOf(rows[i]));
        if (at === undefined) continue;
        if (backwards ? at > bound : at < bound) return i;
        if (everyStream && i > 0 && at > bound) {
          try {
            this.gapChecked(bound - 1n, at);
          } catch (err) {
            if (!(err instanceof UnreportedDamage)) throw err;
            gap = err;
            return i;
          }
        }
        bound = backwards ? at - 1n : at + 1n;
      }
      return rows.length;
    };
    /** A page of up to `limit` rows from the cursor, with how many of them are sound; `err`, the query's error (damage) when it failed. */
    const query = (limit: number): { rows: R[]; sound: number; err?: undefined } | { rows?: undefined; err: Error } => {
      try {
        const rows = page(cursor!, limit);
        return { rows, sound: soundRows(rows) };
      } catch (err) {
        if (!isPageDamage(err)) throw err; // not damage (a reader's own error, a lock): not kept
        // damage, SQLite's or what the store's checks of a scan found (UnreportedDamage): shorter LIMITs find the rows before it
        return { err };
      }
    };
    return () => {
      if (failed) throw failed;
      if (cursor === undefined || remaining <= 0) return undefined;
      this.ensureOpen();
      this.reading();
      const limit = Math.min(PAGE, remaining);
      gap = undefined;
      const first = query(limit);
      let rows: R[];
      if (first.rows && first.sound === first.rows.length) rows = first.rows;
      else {
        // The longest run of sound rows from the cursor: none after an unsound one is given (the scan is not trusted past it).
        rows = first.rows ? first.rows.slice(0, first.sound) : [];
        let bad = limit; // a LIMIT that meets the damage; rows.length, one that does not
        while (!first.rows && bad - rows.length > 1) {
          const mid = (rows.length + bad) >> 1;
          const q = query(mid);
          if (!q.rows) bad = mid;
          else {
            rows = q.rows.slice(0, q.sound);
            if (q.sound < mid) break; // an unsound row at q.sound (or the end of the scan): the run is known
          }
        }
        if (rows.length > 0) {
          read = true;
          cursor = after(rows[rows.length - 1]);
        }
        failed = damaged(gap ?? first.err, cursor ?? -1n); // backwards past revision 0: the last read is 0
        if (whole && cursor !== undefined) failed = this.lastBefore(this.pager(cursor, backwards, undefined, cursorOf, whole)) ?? failed;
        if (rows.length === 0) throw failed;
        remaining -= rows.length;
        return rows;
      }
      read = true;
      if (rows.length === PAGE) this.endSnapshot(); // a long read does not hold one snapshot (and the WAL) from page to page
      remaining -= rows.length;
      cursor = rows.length < limit ? undefined : after(rows[rows.length - 1]);
      return rows;
    };
  }

  /**
   * Where a read of some streams only (`only`) met damage, named as a read of every stream names
   * it (the last event the scan read, whatever its stream: until 2026-11-27, sixteenth session, the
   * last of its own streams' events, 1459 where the others named 1462): `whole`, that read of every
   * stream from where this one stood, read to the damage. Undefined where it names no later event.
   */
  private lastBefore<R>(whole: () => R[] | undefined): StoreDamagedError | undefined {
    try {
      while (whole());
    } catch (err) {
      if (!(err instanceof StoreDamagedError)) throw err;
      return err.after === undefined ? undefined : err;
    }
    return undefined;
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    return pollingSubscription({
      fromPosition: options.fromPosition ?? 'start',
      readAfter: (after) => this.readAll({ fromPosition: after === 'start' ? 'start' : after + 1n, maxCount: PAGE, stored: options.stored }),
      onCommit: (wake) => {
        this.commits.on('commit', wake);
        return () => this.commits.off('commit', wake);
      },
      pollIntervalMs: this.pollIntervalMs,
      fromEvent: options.fromEvent,
      holds: (position, id) => {
        const held = this.eventIdAt(position);
        return held !== undefined && (id === undefined || held === id);
      },
    });
  }

  indexDisagreement(): StoreDamagedError | undefined {
    this.ensureOpen();
    this.reading();
    const head = this.snapshotHead();
    // Counted once a head (countedAt), with the reads' gaps.
    const counted = this.countedAt(head ?? 0n);
    if (counted.failed !== undefined) throw StoreDamagedError.of(counted.failed, undefined, "the log's table and its index could not be counted");
    if (counted.equal) return undefined;
    // The first position the index holds and the table lacks (a cell the table lost): the log is named as read to the event before it,
    // as a read meeting it names it (until 2026-11-28, seventeenth session, as read to where the asking verify stood, its bound
    // for one whose bound was before it: events appended while it ran).
    const lost = counted.lost?.positions[0];
    const reason = `the log's table holds ${counted.tableRows} events and its index on (stream, revision) ${counted.indexRows}, or their positions differ`;
    const cause = 'a cell lost from one of them with no error (disk damage, or a byte edit of the file; not a DELETE, which takes both)';
    // None known (a cell the index lost, not the table; or the list could not be read): no position named, as if a read had stopped there (until 2026-11-28, "past <the head>").
    if (lost === undefined) return new StoreDamagedError(undefined, `${reason}: ${cause}`, { what: "the log's table and its index do not hold the same events, at no position known", fromSqlite: false });
    const after = this.direct("the log's table could not be read", () => this.stmt.lastUpTo.get(lost - 1n));
    const at = lost > (head ?? 0n) ? `the index holding an event at position ${lost} past the table's last, ${head ?? 'none'}` : `the index holding an event at position ${lost} the table does not`;
    return new StoreDamagedError(after === null || after === undefined ? undefined : BigInt(after), `${reason}, ${at}: ${cause}`, { fromSqlite: false });
  }

  positionsMissingAtEnd(): { from: bigint; to: bigint } | null | undefined {
    this.ensureOpen();
    this.reading();
    // No log_head (table or row): no writer of this build has written to the file yet (it is made by the first write, not by an
    // open): not known, null.
    const ends = this.direct("the log's head could not be read", () =>
      hasLogHead(this.db) ? this.db.prepare<[], { table: bigint; kept: bigint | null }>('SELECT coalesce((SELECT max(position) FROM events), 0) AS "table", (SELECT last FROM log_head WHERE id = 1) AS kept').safeIntegers().get() : undefined,
    );
    if (!ends || ends.kept === null) return null;
    return ends.kept > ends.table ? { from: ends.table + 1n, to: ends.kept } : undefined;
  }

  eventIdAt(position: bigint): string | undefined {
    this.ensureOpen();
    this.reading();
    return this.direct(`the event at position ${position} could not be looked up`, () => this.stmt.idAt.get(position));
  }

  async streamRevision(stream: string): Promise<bigint | undefined> {
    this.ensureOpen();
    this.reading();
    return headRevision(stream, this.direct(`stream '${stream}''s last revision could not be read`, () => this.stmt.head.get(stream)));
  }

  /**
   * Whether the log's positions run 1, 2, 3, ... to the head with none missing (as the writer
   * leaves them: rows are never deleted). A what-if in shares counts on it; a row deleted (which
   * verify reports) leaves a gap.
   */
  positionsGapless(): boolean {
    this.ensureOpen();
    this.reading();
    const { n, head } = this.direct(`the log's positions could not be counted`, () => this.stmt.gapless.get()!);
    return n === head;
  }

  /**
   * What was committed to the file, by any connection, after `since` (a mark this store gave, or
   * none), as this store's reads see it now: undefined while the read snapshot of the mark is
   * open; the streams appended to with their last revision, none when nothing was committed (this
   * connection's `PRAGMA data_version` and this store's own commits say so, no query of the log)
   * or no mark was given; undefined streams when more than `maxEvents` events were (take every
   * stream as moved). For a reader that holds folded streams (the command handler's cache): a
   * stream not named has no event past the mark.
   */
  changesSince(since: ChangeMark | undefined, maxEvents: number): Changes | undefined {
    this.ensureOpen();
    this.reading();
    return this.direct(`the log's changes could not be read`, () => this.changes(since, maxEvents));
  }

  private changes(since: ChangeMark | undefined, maxEvents: number): Changes | undefined {
    if (since && since.snapshot === this.snapshots) return undefined;
    const dataVersion = this.stmt.dataVersion.get()!;
    const mark = (position: bigint): ChangeMark => ({ position, snapshot: this.snapshots, dataVersion, commits: this.commitCount });
    if (since && since.dataVersion === dataVersion && since.commits === this.commitCount) return { mark: mark(since.position), streams: NO_STREAMS };
    const head = BigInt(this.stmt.headPosition.get()?.position ?? 0);
    if (!since) return { mark: mark(head), streams: new Map() };
    if (head - since.position > BigInt(maxEvents)) return { mark: mark(head), streams: undefined }; // too many to name: not read (an index lookup, not the tail)
    const own = this.ownSince(since.position, head);
    if (own) return { mark: mark(head), streams: own };
    const rows = this.stmt.tail.all(since.position, maxEvents + 1);
    let position = since.position;
    const streams = new Map<string, bigint>();
    for (const r of rows) {
      streams.set(r.stream, BigInt(r.revision));
      if (BigInt(r.position) > position) position = BigInt(r.position);
    }
    if (position - since.position > BigInt(maxEvents)) return { mark: mark(head), streams: undefined };
    return { mark: mark(position), streams };
  }

  async headPosition(): Promise<bigint | undefined> {
    this.ensureOpen();
    this.reading();
    const p = this.direct(`the log's head position could not be read`, () => this.stmt.headPosition.get()?.position);
    return p === null || p === undefined ? undefined : BigInt(p);
  }

  async health(): Promise<StoreHealth> {
    try {
      this.ensureOpen();
      this.db.prepare('SELECT 1').get();
      return { kind: 'sqlite', reachable: true, detail: this.file };
    } catch (err) {
      return { kind: 'sqlite', reachable: false, detail: `${this.file}: ${(err as Error).message}` };
    }
  }

  /**
   * Closes the store once every append made before is answered: those the writer has begun are
   * written and resolve, the others are refused (StoreUnavailableError); then the writer's
   * connection and this one are closed.
   */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0) this.flush(); // refuses them, now
    this.handOverNow(); // the writer thread refuses what it has not begun
    const thread = this.thread;
    if (thread?.alive) {
      await new Promise((resolve, reject) => this.toThread((id) => thread.close(this.threadStore!, id), { resolve, reject })).catch(() => undefined);
      thread.forget(this.threadStore!);
    }
    this.appendStats.complete();
    this.commits.emit('commit');
    localCommits.off(this.key, this.endSnapshotSoon);
    this.endSnapshot();
    this.db.close();
  }

  /**
   * The reads of one turn of the event loop share one read transaction (one snapshot): opening
   * one costs this connection its locks and a look at the WAL index (~7 us a read measured here,
   * as much again as the query), and a decision reads three streams. The snapshot ends at the end
   * of the turn, before any write on this connection, before an append's acknowledgement is
   * passed on (so what follows reads it), and when another store of this process commits to the
   * same file. A read therefore sees every commit of this process that was acknowledged before
   * it, and every commit of another process made before the turn's first read.
   */
  private reading(): void {
    if (this.snapshot) return;
    this.stmt.begin.run();
    this.snapshot = true;
    this.snapshots++;
    setImmediate(this.endSnapshotSoon);
  }

  /**
   * Ends the turn's read transaction. It wrote nothing, so a COMMIT that fails (its reads met a
   * damaged page: SQLITE_CORRUPT, which those reads have thrown to their callers) is a ROLLBACK:
   * thrown here, from the setImmediate that ends the turn, it was uncaught and ended the process
   * (until 2026-11-27: an API on a store with one damaged page died at its first read).
   */
  private endSnapshot(): void {
    if (!this.snapshot) return;
    this.snapshot = false;
    if (!this.db.inTransaction) return;
    try {
      this.stmt.commit.run();
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
  }

  /** The log's head as this turn's snapshot sees it (read once a snapshot, by a read that has rows to check against it: `pager`). */
  private snapshotHead(): bigint | undefined {
    if (this.headSeen?.snapshot !== this.snapshots) {
      const p = this.stmt.headPosition.get()?.position;
      this.headSeen = { snapshot: this.snapshots, head: p === null || p === undefined ? undefined : BigInt(p) };
    }
    return this.headSeen.head;
  }

  /** An append of this store that wrote `events` events, now committed (OwnCommit). */
  private wrote(stream: string, events: number, r: AppendResult): void {
    this.own.push({ first: r.position - BigInt(events - 1), last: r.position, stream, revision: r.nextExpectedRevision });
    if (this.own.length > 2 * OWN_COMMITS_KEPT) this.own.splice(0, this.own.length - OWN_COMMITS_KEPT);
  }

  /**
   * The streams this store's own appends moved after `from` up to `head`, each with its last
   * revision, when those appends wrote every position in between: then no other connection's
   * event can be among them (a position is one row's), and the log's tail need not be read. Else
   * undefined (another connection wrote there too, or some of them are no longer remembered).
   */
  private ownSince(from: bigint, head: bigint): Map<string, bigint> | undefined {
    let k = this.own.length;
    while (k > 0 && this.own[k - 1].first > from) k--;
    const streams = new Map<string, bigint>();
    let next = from + 1n;
    for (; k < this.own.length && this.own[k].first === next && this.own[k].last <= head; k++) {
      streams.set(this.own[k].stream, this.own[k].revision);
      next = this.own[k].last + 1n;
    }
    return next === head + 1n ? streams : undefined;
  }

  /** A commit of this store: its subscribers, and the other stores of this process on the same file, hear of it. */
  private committed(): void {
    this.commitCount++;
    localCommits.emit(this.key);
    this.commits.emit('commit');
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreUnavailableError(`the SQLite store ${this.file} is closed`);
  }
}

/**
 * The log a page at a time, for a reader whose work per event is synchronous: a SQLite store's
 * pages as it reads them (readAllPages), another store's events one by one.
 */
export async function* pagesOf(store: EventStore, options: ReadAllOptions = {}): AsyncIterable<Iterable<RecordedEvent>> {
  if (store instanceof SqliteEventStore) yield* store.readAllPages(options);
  else for await (const e of store.readAll(options)) yield [e];
}

/** Whether a row (an array of columns, or an object of them) holds a null: read for every row of every page, so without a copy of its values. */
function hasNull(row: Row | RawRow): boolean {
  // SQLite gives null from a damaged cell where the types say it cannot
  if (Array.isArray(row)) return (row as unknown[]).includes(null);
  const columns = row as unknown as Record<string, unknown>;
  for (const k in columns) if (columns[k] === null) return true;
  return false;
}

/** Damage SQLite gave no error for, found by the store's own checks of a forward scan of the log (where it began, scanBegan; where it ended, boundReached): named by the pager. */
class UnreportedDamage extends Error {}

/**
 * What the table of events and its index on (stream, revision) are compared by (cellsCounted,
 * indexDisagreement): their rows, and the sum of each position's low 24 bits, an integer that
 * cannot overflow below ~5 x 10^11 events. The sum of the positions themselves would pass 2^63 at
 * ~4 x 10^9 events (four months at the DCC's billion messages a month), where SQLite's sum()
 * fails ("integer overflow"); total(), a double, rounds by the order it adds in, which differs
 * between the two scans (a false alarm).
 */
const ROWS_AND_POSITIONS = 'count(*) AS rows, sum(position & 16777215) AS sum';

/** The positions the table's index holds and the table lacks, in order (the first LOST_LISTED: `all`, every one). */
type LostCells = { positions: bigint[]; all: boolean };

/**
 * The table and its index on (stream, revision) counted at a head (countedAt): whether their rows and
 * sums of positions are equal, their rows, and unequal, the positions the table lost (lostCells;
 * undefined where they could not be read); `failed`, the counting's error (damage).
 */
type Counted = { head: bigint; equal: boolean; tableRows?: number; indexRows?: number; lost?: LostCells; failed?: unknown };

/** A failed page's error that is damage (the pager keeps it): SQLite's for a damaged file (isDamaged) or what the store's checks of a scan found (UnreportedDamage). */
function isPageDamage(err: unknown): err is Error {
  return isDamaged(err) || err instanceof UnreportedDamage;
}

/** A row's position, an object's or (readAllPages) an array's. */
function positionOf(row: Row | RawRow): number | bigint {
  return Array.isArray(row) ? row[0] : row.position;
}

const NO_STREAMS: ReadonlyMap<string, bigint> = new Map();

/** Commits by the stores of this process, by file: each store's reads end their snapshot at another's commit. */
const localCommits = new EventEmitter().setMaxListeners(0);

/** A page of a query: `limit` rows at most, from the bound parameters. */
type Paged<P extends unknown[], R = Row> = (limit: number, ...params: P) => R[];

/**
 * A query read a page at a time. A whole page has its LIMIT written into the statement: with the
 * LIMIT bound as a parameter, each run of these statements cost ~6 us more (an empty read of a
 * stream 14 us instead of 7, one row 20 instead of 12; better-sqlite3 12, SQLite 3.53 built with
 * STAT4, measured on this machine), as if the statement were planned again at each run. A shorter
 * page (the end of a maxCount) binds its limit.
 */
function paged<P extends unknown[], R = Row>(db: Database.Database, sql: string, raw = false): Paged<P, R> {
  const page = db.prepare<P, R>(`${sql} LIMIT ${PAGE}`).raw(raw);
  const short = db.prepare<[...P, number], R>(`${sql} LIMIT ?`).raw(raw);
  return (limit, ...params) => (limit >= PAGE ? page.all(...params) : short.all(...params, limit));
}

/** The events of a page of raw rows (readAllPages), each made as it is iterated; `stored`, with their stored text (ReadAllOptions.stored's true, with the metadata). */
function* recordedOf(rows: RawRow[], withMetadata: boolean, stored: ReadAllOptions['stored']): Iterable<RecordedEvent> {
  for (const r of rows) yield recorded(r[0], r[1], r[2], r[3], r[4], r[5], withMetadata ? r[6] : undefined, (withMetadata ? r[7] : r[6]) as string, stored);
}

/** Which of a row's columns are bytes that are not UTF-8 text (a BLOB an edit stored), if any. */
function notTextOf(data: string | Buffer, metadata: string | Buffer | undefined): NonNullable<RecordedEvent['stored']>['notText'] | undefined {
  const d = typeof data !== 'string' && !isUtf8(data);
  const m = metadata !== undefined && typeof metadata !== 'string' && !isUtf8(metadata);
  return d && m ? 'data and metadata' : d ? 'data' : m ? 'metadata' : undefined;
}

/** A row's event, with its stored text as ReadAllOptions.stored asks. */
function toRecorded(row: Row, stored: ReadAllOptions['stored']): RecordedEvent {
  return recorded(row.position, row.stream, row.revision, row.event_id, row.type, row.data, row.metadata, row.created, stored);
}

/**
 * An event from its row's columns; `stored` (ReadAllOptions.stored), with the text its data and
 * metadata are stored as (the metadata read). SQLite keeps what an edit gives a column, bytes too
 * (`CAST(data AS BLOB)`), which better-sqlite3 returns as a Buffer: a BLOB is read as its UTF-8
 * text, as JSON.parse reads it; bytes that are not UTF-8 the parse would read with U+FFFD in
 * their place, text the store does not hold, which no reader may project, replay or decide on:
 * refused (UnreadableEventError), but for a read that reports them itself ('not-text-too': verify),
 * which is given them named (`notText`), their text as the parse reads it. 'checked': not the
 * text, but what keyTwiceInStored found in it (`storedTextMismatch`). One check of each column's
 * type on the normal path (TEXT).
 */
function recorded(p: number | bigint, stream: string, r: number | bigint, id: string, type: string, json: string | Buffer, metadataJson: string | Buffer | undefined, created: string, stored: ReadAllOptions['stored']): RecordedEvent {
  const position = BigInt(p);
  const revision = integerOf(r) ?? notIntegerRevision(stream, r, position);
  let notText: NonNullable<RecordedEvent['stored']>['notText'];
  if (typeof json !== 'string' || (metadataJson !== undefined && typeof metadataJson !== 'string')) {
    notText = notTextOf(json, metadataJson);
    if (notText && stored !== 'not-text-too') throw new UnreadableEventError(stream, revision, position, `${notTextReason(notText)}; read as text, they would be replaced by U+FFFD without a word`);
  }
  let data: unknown;
  let metadata: RecordedEvent['metadata'];
  try {
    data = JSON.parse(json as string);
    metadata = metadataJson === undefined ? {} : JSON.parse(metadataJson as string);
  } catch (err) {
    throw new UnreadableEventError(stream, revision, position, `its stored JSON does not parse (${(err as Error).message})`);
  }
  // The store writes an object; anything else (an edited row: `null`, a list, a string) is no event's metadata.
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new UnreadableEventError(stream, revision, position, 'its stored metadata is not an object');
  if (!stored || metadataJson === undefined) return { id, type, stream, revision, position, data, metadata, created };
  if (stored === 'checked') return { id, type, stream, revision, position, data, metadata, created, storedTextMismatch: keyTwiceInStored({ data: text(json), metadata: text(metadataJson) }) };
  // Made with the event (not added to it after): the events of a read keep one shape.
  return { id, type, stream, revision, position, data, metadata, created, stored: { data: text(json), metadata: text(metadataJson), ...(notText ? { notText } : {}) } };
}

/** A column as text: a BLOB (an edit's) as its UTF-8, as JSON.parse reads it. */
function text(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}
