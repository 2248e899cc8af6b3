import Database from 'better-sqlite3';
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventIdConflictError, isBusy, isDamaged, isFull, PartialIdempotencyError, StoreBusyError, StoreFileRefusedError, StoreFullError, StoreUnavailableError, UnreadableEventError, WrongExpectedRevisionError } from './errors';
import type { AppendResult, ExpectedRevision } from './event-store.port';
import { canonicalJson } from './hash-chain';

/** The SQLite page size of the ledger's databases (store and read models) when they are created. */
export const PAGE_SIZE = 8192;

/** An event as the writer stores it: its id in lower case, its data and metadata as JSON text. */
export interface EncodedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

/** One append, checked and serialised by the caller, for the writer to check against the store and write. */
export interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  encoded: EncodedEvent[];
}

/** Appends (each under its request id) as they cross to the writer thread: one flat list, see packAppends. */
export type PackedAppends = Array<string | number | bigint>;

/**
 * Appends as one flat list of their strings and numbers: `id, stream, expected, n` and for each of
 * the n events `id, type, data, metadata`. A structured clone of one list copies the strings and
 * not one object (and its keys) per append and per event: about half the cost of the hand-over
 * (4.7-16 us an append against 3-6.8, groups of 30 decision events, alternate runs, load ~9).
 */
export function packAppends(appends: ReadonlyArray<{ id: number; append: PendingAppend }>): PackedAppends {
  const out: PackedAppends = [];
  for (const { id, append } of appends) {
    out.push(id, append.stream, append.expected, append.encoded.length);
    for (const e of append.encoded) out.push(e.id, e.type, e.data, e.metadata);
  }
  return out;
}

export function unpackAppends(packed: PackedAppends): Array<{ id: number; append: PendingAppend }> {
  const out: Array<{ id: number; append: PendingAppend }> = [];
  let i = 0;
  const next = () => packed[i++] as string;
  while (i < packed.length) {
    const id = packed[i++] as number;
    const stream = next();
    const expected = packed[i++] as ExpectedRevision;
    const encoded: EncodedEvent[] = new Array(packed[i++] as number);
    for (let k = 0; k < encoded.length; k++) encoded[k] = { id: next(), type: next(), data: next(), metadata: next() };
    out.push({ id, append: { stream, expected, encoded } });
  }
  return out;
}

/** What the writer made of one append of a group. */
export type AppendOutcome = { ok: AppendResult } | { err: unknown };

export interface OpenOptions {
  busyTimeoutMs?: number;
}

/** The events table as a new file gets it (the text SQLite keeps in sqlite_master: unchanged since the table was first made). */
const EVENTS_TABLE = `
    CREATE TABLE IF NOT EXISTS events (
      position INTEGER PRIMARY KEY,
      stream   TEXT    NOT NULL,
      revision INTEGER NOT NULL,
      event_id TEXT    NOT NULL,
      type     TEXT    NOT NULL,
      data     TEXT    NOT NULL,
      metadata TEXT    NOT NULL,
      created  TEXT    NOT NULL,
      UNIQUE (stream, revision),
      UNIQUE (stream, event_id)
    );
  `;

/** A file's events table's columns, in their order (none: it has no events table). */
const eventColumnsOf = (db: Database.Database): string[] => db.prepare<[], string>("SELECT name FROM pragma_table_info('events')").pluck().all();

let eventColumns: string[] | undefined;
/** The events table's columns, which a file must have to be read as a ledger store: as SQLite reads EVENTS_TABLE (made once, in memory). */
function ledgerEventColumns(): string[] {
  if (eventColumns === undefined) {
    const db = new Database(':memory:');
    try {
      db.exec(EVENTS_TABLE);
      eventColumns = eventColumnsOf(db);
    } finally {
      db.close();
    }
  }
  return eventColumns;
}

/**
 * Opens the store's file with the settings every connection to it uses: safe integers, the busy
 * timeout, WAL, synchronous=FULL (a commit returns once it is fsynced), and for a new file 8 KiB
 * pages and the events table. The connection that appends and the one that reads (on another
 * thread) both open it this way. An existing file is only read here: the writers' log_head is made
 * by the first write transaction (SqliteWriter), so that opening a store to read it (verify, a
 * digest, an evidence copy, a damaged file) changes nothing in it (from 2026-11-28 until this
 * change every open of a store an older build wrote created the table and wrote its row).
 */
export function openStoreDatabase(file: string, options: OpenOptions = {}): Database.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.defaultSafeIntegers(true);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  // 8 KiB pages (for a new file; an existing one keeps its own): a decision event is ~2 KB with
  // its metadata, and on 4 KiB pages only one fits per page. Measured on a 10^5-event estate: the
  // file 187 -> 145 MB, appends and reads no slower.
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(EVENTS_TABLE);
  return db;
}

/**
 * Refuses, before SQLite opens it, a store's file that a read-only open would find no store in: one
 * that is not there (a read makes none), or an empty one (SQLite deletes a -wal beside an empty
 * file at its open). openStoreReadOnly's first step.
 */
function refuseMissingStoreFile(file: string): void {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat === undefined) throw new StoreFileRefusedError(file, 'names no file: there is no event store there to read, and a read makes none (nothing was read or made)');
  if (stat.isFile() && stat.size === 0) throw notAStore(file, 'the file is empty');
}

const notAStore = (file: string, why: string) => new StoreFileRefusedError(file, `names a file that is not a ledger event store (${why}; nothing was read or written)`);

/**
 * Opens a store's file to be read only, writing nothing to it: SQLite's read-only open
 * (SQLITE_OPEN_READONLY), no pragma that writes (page size, journal mode), no table made. It
 * reads what the file and its -wal hold (the -wal's committed frames included: not `immutable`,
 * which would ignore them), and its close folds nothing into the file: a checkpoint needs a write
 * lock, which a file opened read-only cannot take. A file in rollback-journal mode stays so.
 * SQLite still makes or writes the -shm beside a file in WAL mode (the -wal's index, rebuilt from
 * the -wal, no data of its own; its readers need it), and an empty -wal where there was none. A
 * file that is not there, is empty, or has no events table of the ledger's columns is refused,
 * naming it (StoreFileRefusedError); so is one beside a hot -journal (a transaction interrupted
 * before its commit in rollback-journal mode), which SQLite would roll back, writing the file
 * (SQLITE_READONLY_ROLLBACK: until the review of 2026-11-28 reported as "attempt to write a
 * readonly database").
 */
export function openStoreReadOnly(file: string, options: OpenOptions = {}): Database.Database {
  refuseMissingStoreFile(file);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    const columns = eventColumnsOf(db);
    if (columns.length === 0) throw notAStore(file, 'it has no events table');
    const lacking = ledgerEventColumns().filter((c) => !columns.includes(c));
    if (lacking.length > 0) throw notAStore(file, `its events table has no ${lacking.join(', ')} column${lacking.length > 1 ? 's' : ''}`);
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code === 'SQLITE_READONLY_ROLLBACK') {
      throw new StoreFileRefusedError(
        file,
        `has a hot -journal beside it (${file}-journal: a transaction interrupted before its commit, which SQLite would roll back, writing the file; nothing was read or written): to read it, open a copy of the file and its -journal read-write, which rolls it back, or ask the source for a copy taken at rest`,
      );
    }
    throw err;
  }
  return db;
}

/** Whether the file has the writers' log_head table (none: a store no writer of this build has written to yet). */
export function hasLogHead(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_head'").get() !== undefined;
}

/**
 * Makes the log's head as its writers keep it (log_head's one row, `last`: the highest position
 * ever written), where the file has none: a new file (0), or one an older build wrote, whose head
 * is the highest position its table or its index on (stream, revision) holds (a scan of the index,
 * once: a cell the table lost at its end, which the index still holds, is a position written).
 * Runs inside a write transaction (the writer's first on this file), so only a write writes it.
 * What this cannot see: a tail lost from both before this build wrote to the file. Where the
 * counting meets damage the table's head alone is taken, or none (the writer's `next` takes the
 * table's then, and its commit writes the row); the reads name the damage.
 */
function startLogHead(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS log_head (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL)');
  const start = (head: string) => db.transaction(() => db.prepare(`INSERT INTO log_head (id, last) SELECT 1, ${head} WHERE NOT EXISTS (SELECT 1 FROM log_head)`).run())(); // a savepoint: damage met rolls back only it
  const table = 'coalesce((SELECT max(position) FROM events), 0)';
  try {
    start(`max(${table}, coalesce((SELECT max(position) FROM events INDEXED BY sqlite_autoindex_events_1), 0))`);
  } catch (err) {
    if (!isDamaged(err)) throw err;
    try {
      start(table);
    } catch (again) {
      if (!isDamaged(again)) throw again;
    }
  }
}

/**
 * The store's write side on one connection: the expected-revision and idempotency checks and the
 * inserts of each append, inside BEGIN IMMEDIATE, so that the connection that writes is the one
 * source of truth for revisions (and so for the hash chain, whose links the caller computed for
 * the revision it expects). Used on the event loop's own connection, or on the writer thread's.
 *
 * Each transaction writes its events at the positions after the highest ever written (the table's
 * MAX(position), or log_head's `last` where that is higher), and sets `last` to its own last: read
 * and written inside the transaction, so several connections and processes writing in turn keep
 * it. A position is never given twice: a table that lost its last cells (a damaged disk) leaves
 * their positions a gap below the next append's, which every read meets and names as damage (its
 * index holds them). Until 2026-11-28 SQLite gave each row MAX(position) + 1 (the INTEGER PRIMARY
 * KEY's rowid), so an append after such a loss took the lost event's position: the index held two
 * events there, a stream's read gave the new event as the lost one with no error, and an append to
 * that stream chained to it.
 */
export class SqliteWriter {
  private readonly stmt: {
    head: HeadStatement;
    findIds: Database.Statement<[string, string], { revision: number | bigint; position: number | bigint; type: string; data: string | Buffer; metadata: string | Buffer } | undefined>;
    insert: Database.Statement<[bigint, string, number | bigint, string, string, string, string, string]>;
  };
  /** log_head's statements, prepared once the writer's first transaction has made sure of the table. */
  private headStmt?: { next: Database.Statement<[], bigint>; set: Database.Statement<[bigint]> };
  /** appendOne inside a savepoint (better-sqlite3 nests a transaction function as a savepoint). */
  private readonly appendSavepoint: (p: PendingAppend, next: bigint) => AppendResult;
  private readonly appendAlone: Database.Transaction<(p: PendingAppend) => AppendResult>;
  private readonly group: Database.Transaction<(batch: PendingAppend[], outcomes: AppendOutcome[]) => void>;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      head: prepareHead(db),
      findIds: db.prepare('SELECT revision, position, type, data, metadata FROM events WHERE stream = ? AND event_id = ?'),
      insert: db.prepare('INSERT INTO events (position, stream, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    };
    this.appendSavepoint = db.transaction((p: PendingAppend, next: bigint) => this.appendOne(p, next));
    this.appendAlone = db.transaction((p: PendingAppend) => {
      const result = this.appendOne(p, this.next());
      if (result.written) this.headStmt!.set.run(result.position);
      return result;
    });
    this.group = db.transaction((batch: PendingAppend[], outcomes: AppendOutcome[]) => {
      const first = this.next();
      let next = first;
      for (const item of batch) {
        try {
          const ok = this.appendSavepoint(item, next);
          outcomes.push({ ok });
          if (ok.written) next = ok.position + 1n; // a savepoint rolled back wrote nothing: its positions are the next append's
        } catch (err) {
          if (isFull(err)) throw err; // the whole group is refused: nothing of it can be written
          outcomes.push({ err });
        }
      }
      if (next > first) this.headStmt!.set.run(next - 1n);
    });
  }

  /**
   * Group commit: the appends of `batch` are written in one transaction, each inside a savepoint
   * of its own (so one refused append leaves the others alone), and the transaction commits (and
   * is fsynced) before this returns. Throws when the whole group is refused (SQLITE_FULL, a lock
   * held past the busy timeout).
   */
  writeGroup(batch: PendingAppend[]): AppendOutcome[] {
    const outcomes: AppendOutcome[] = [];
    this.committing(() => this.group.immediate(batch, outcomes));
    return outcomes;
  }

  /**
   * The position after the highest ever written, read inside the write transaction. The writer's
   * first transaction makes log_head where the file has none (another connection may have made it
   * since this one opened; one writing without it, an older build, leaves the table's MAX higher).
   */
  private next(): bigint {
    if (!this.headStmt) {
      if (!hasLogHead(this.db) || this.db.prepare('SELECT 1 FROM log_head').get() === undefined) startLogHead(this.db);
      this.headStmt = {
        next: this.db.prepare<[], bigint>('SELECT max(coalesce((SELECT max(position) FROM events), 0), coalesce((SELECT last FROM log_head WHERE id = 1), 0)) + 1').pluck(),
        set: this.db.prepare('INSERT INTO log_head (id, last) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last = excluded.last'),
      };
    }
    return this.headStmt.next.get()!;
  }

  /** One append in a transaction of its own (no group commit). */
  writeOne(p: PendingAppend): AppendResult {
    return this.committing(() => this.appendAlone.immediate(p));
  }

  /**
   * Runs one write transaction. One that failed forgets the log_head statements, so the next looks
   * for the table again: a first transaction rolled back takes the log_head it made with it, and a
   * log_head gone under a running writer (an older file restored in place) is made again, not "no
   * such table" at every append until a restart (the seventeenth session's final read). Two small
   * queries again, after a SQLite error only.
   */
  private committing<T>(transaction: () => T): T {
    const had = this.headStmt !== undefined;
    try {
      return transaction();
    } catch (err) {
      // Not for the ledger's own refusals (a wrong expected revision, an id conflict: normal traffic on one device), which leave the
      // table as it was, unless this transaction made it.
      if (!had || String((err as { code?: unknown }).code).startsWith('SQLITE')) this.headStmt = undefined;
      throw err;
    }
  }

  /** One append's checks and inserts, its events at positions `next`, `next` + 1, ...; runs inside a transaction (or a savepoint of one). */
  private appendOne({ stream, expected, encoded }: PendingAppend, next: bigint): AppendResult {
    // Idempotency: a batch whose ids are all already in the stream, each with the same content, is
    // a retry of a written append; the same ids with other content are another append's events.
    const found = encoded.map((e) => this.stmt.findIds.get(stream, e.id));
    const already = found.filter((f) => f !== undefined);
    if (already.length === encoded.length) {
      const differing = encoded.filter((e, i) => !sameContent(e, found[i]!)).map((e) => e.id);
      if (differing.length > 0) throw new EventIdConflictError(stream, differing);
      const last = already.reduce((a, b) => (BigInt(b.position) > BigInt(a.position) ? b : a));
      return { nextExpectedRevision: this.head(stream)!, position: BigInt(last.position), written: false };
    }
    if (already.length > 0) {
      throw new PartialIdempotencyError(stream, encoded.filter((_, i) => found[i] !== undefined).map((e) => e.id));
    }
    const head = this.head(stream);
    const actual = head === undefined ? ('no_stream' as const) : head;
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && head === undefined) ||
      (expected === 'stream_exists' && head !== undefined) ||
      (typeof expected === 'bigint' && head === expected);
    if (!ok) throw new WrongExpectedRevisionError(stream, expected, actual);
    const created = new Date().toISOString();
    let revision = head === undefined ? 0n : head + 1n;
    let position = next;
    for (const e of encoded) this.stmt.insert.run(position++, stream, revision++, e.id, e.type, e.data, e.metadata, created);
    return { nextExpectedRevision: revision - 1n, position: position - 1n, written: true };
  }

  /** The stream's last revision (undefined: no stream), refused as headRevision says: nothing is written then. */
  private head(stream: string): bigint | undefined {
    return headRevision(stream, this.stmt.head.get(stream));
  }
}

export type HeadStatement = Database.Statement<[string], { revision: unknown; position: number | bigint } | undefined>;

/**
 * A stream's last row, its revision and position (the writer's and streamRevision's one query). A revision an edit
 * made text or a blob sorts after every number, so it is this row, and refused; one made a real sorts among the
 * integers (0.5 between 0 and 1): only when it sorts last is it this row. A real edited lower is passed by here
 * (an append then chains to the highest integer revision), and verify names the edited event unreadable.
 */
export function prepareHead(db: Database.Database): HeadStatement {
  return db.prepare('SELECT revision, position FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1');
}

/**
 * The stream's last revision from its row as prepareHead reads it (undefined: no stream). One an
 * edit left no integer (`'abc'`, 1.5, `'0x10'`) is refused as every read refuses it
 * (UnreadableEventError naming its position): an append is refused with it, nothing written (until
 * 2026-11-27, fifteenth session, a raw SyntaxError or RangeError, or a silent wrong write).
 */
export function headRevision(stream: string, last: { revision: unknown; position: number | bigint } | undefined): bigint | undefined {
  return last === undefined ? undefined : (integerOf(last.revision) ?? notIntegerRevision(stream, last.revision, BigInt(last.position)));
}

/** A stored position or revision as a bigint; undefined where SQLite holds no integer there (an edit: `UPDATE events SET revision = 'abc'`). */
export function integerOf(value: unknown): bigint | undefined {
  return typeof value === 'bigint' ? value : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
}

/** Refuses the event at `position`, whose stored revision `value` is no integer (an edit), naming the value as stored. */
export function notIntegerRevision(stream: string, value: unknown, position: bigint): never {
  const stored = Buffer.isBuffer(value) ? `x'${value.toString('hex')}'` : typeof value === 'string' ? `'${value}'` : String(value);
  throw new UnreadableEventError(stream, stored, position, `its stored revision is not an integer (${Buffer.isBuffer(value) ? 'bytes, a BLOB' : typeof value === 'string' ? 'text' : 'a real number'})`);
}

/**
 * Whether a stored event has the type, data and metadata of one about to be appended (key order
 * aside). A stored column of bytes (a BLOB, by an edit) is its UTF-8 text; bytes that are not UTF-8,
 * or text that is not JSON, are no append's content (read as text such bytes would give U+FFFD, and
 * match a text holding one; text that does not parse would end the append with a SyntaxError).
 */
function sameContent(a: { type: string; data: string; metadata: string }, b: { type: string; data: string | Buffer; metadata: string | Buffer }): boolean {
  if (a.type !== b.type) return false;
  const data = storedText(b.data);
  const metadata = storedText(b.metadata);
  if (data === undefined || metadata === undefined) return false;
  if (a.data === data && a.metadata === metadata) return true;
  try {
    return canonicalJson(JSON.parse(a.data)) === canonicalJson(JSON.parse(data)) && canonicalJson(JSON.parse(a.metadata)) === canonicalJson(JSON.parse(metadata));
  } catch {
    return false; // the stored text is not JSON (an edit made it so): no append's content
  }
}

const storedText = (v: string | Buffer): string | undefined => (typeof v === 'string' ? v : isUtf8(v) ? v.toString('utf8') : undefined);

/**
 * SQLITE_FULL (disk full, or a size limit reached) as the port's StoreFullError; SQLITE_BUSY
 * (another connection's lock held past the busy timeout) as StoreBusyError (since
 * 2026-11-27, fourteenth session: until then SQLite's bare "database is locked", a 500 in the API);
 * other errors as they are.
 */
export function storeError(err: unknown, file: string): unknown {
  if (isFull(err)) return new StoreFullError(`${file}: ${(err as Error).message}`, err);
  if (isBusy(err)) return new StoreBusyError(`${file}: ${(err as Error).message}`, err);
  return err;
}

/**
 * An error as it crosses from the writer thread to the event loop (a structured clone keeps
 * neither the class nor the fields of our errors): `wireError` on the writer, `fromWire` on the
 * other side gives back the same class with the same fields and message.
 */
export type WireError =
  | { kind: 'wrong-revision'; stream: string; expected: ExpectedRevision; actual: bigint | 'no_stream' }
  | { kind: 'id-conflict'; stream: string; ids: string[] }
  | { kind: 'partial'; stream: string; ids: string[] }
  | { kind: 'unreadable'; stream: string; revision: bigint | string; position: bigint; reason: string }
  | { kind: 'closed'; message: string }
  | { kind: 'other'; name: string; message: string; code?: string };

export function wireError(err: unknown): WireError {
  if (err instanceof WrongExpectedRevisionError) return { kind: 'wrong-revision', stream: err.stream, expected: err.expected, actual: err.actual };
  if (err instanceof EventIdConflictError) return { kind: 'id-conflict', stream: err.stream, ids: err.conflictingIds };
  if (err instanceof PartialIdempotencyError) return { kind: 'partial', stream: err.stream, ids: err.duplicateIds };
  if (err instanceof UnreadableEventError) return { kind: 'unreadable', stream: err.stream, revision: err.revision, position: err.position, reason: err.reason };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { kind: 'other', name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromWire(w: WireError): Error {
  if (w.kind === 'wrong-revision') return new WrongExpectedRevisionError(w.stream, w.expected, w.actual);
  if (w.kind === 'id-conflict') return new EventIdConflictError(w.stream, w.ids);
  if (w.kind === 'partial') return new PartialIdempotencyError(w.stream, w.ids);
  if (w.kind === 'unreadable') return new UnreadableEventError(w.stream, w.revision, w.position, w.reason);
  if (w.kind === 'closed') return new StoreUnavailableError(w.message);
  const e = new Error(w.message) as Error & { code?: string };
  e.name = w.name;
  if (w.code !== undefined) e.code = w.code;
  return e;
}
