import type Database from 'better-sqlite3';
import { parentPort } from 'node:worker_threads';
import type { AppendResult } from './event-store.port';
import { openStoreDatabase, SqliteWriter, unpackAppends, wireError, type AppendOutcome, type PackedAppends, type PendingAppend, type WireError } from './sqlite-writer';

/**
 * The SQLite stores' writer thread (one per process, see writer-thread.ts): for each store a
 * connection of its own to the store's file, which runs the appends' checks, inserts and commits
 * (with their fsync) off the event loop of the thread that owns the store. The appends that arrive
 * while it writes are written together in that store's next transaction (group commit), and one
 * answer per transaction says how each went, once the transaction is on disk.
 */
export type ToWriter =
  | { type: 'open'; store: number; file: string; busyTimeoutMs: number; grouped: boolean }
  | { type: 'append'; store: number; appends: PackedAppends }
  | { type: 'max-pages'; store: number; id: number; pages: number }
  | { type: 'close'; store: number; id: number };

export type WireOutcome = { ok: AppendResult } | { err: WireError };

export type FromWriter =
  /** One transaction: the appends it held (by id, in order), each one's outcome, and how long it took. */
  | { type: 'done'; store: number; ids: number[]; outcomes: WireOutcome[]; seconds: number }
  /** Requests refused as a whole: a group that could not be written (SQLITE_FULL, busy), a setting that failed. */
  | { type: 'failed'; store: number; ids: number[]; error: WireError }
  /** A setting made, or the connection closed (after writing what it held). */
  | { type: 'ok'; store: number; id: number };

interface Connection {
  file: string;
  busyTimeoutMs: number;
  grouped: boolean;
  db?: Database.Database;
  writer?: SqliteWriter;
  pending: Array<{ id: number; append: PendingAppend }>;
}

const port = parentPort!;
const connections = new Map<number, Connection>();
const post = (m: FromWriter) => port.postMessage(m);
let scheduled = false;

const toWire = (o: AppendOutcome): WireOutcome => ('ok' in o ? o : { err: wireError(o.err) });

/** The store's connection, opened at its first write. */
function writerOf(c: Connection): SqliteWriter {
  if (!c.writer) {
    c.db = openStoreDatabase(c.file, { busyTimeoutMs: c.busyTimeoutMs });
    c.writer = new SqliteWriter(c.db);
  }
  return c.writer;
}

/** Writes what a store's connection holds: every append handed over since its last transaction, in one. */
function write(store: number, c: Connection): void {
  const held = c.pending;
  c.pending = [];
  if (held.length === 0) return;
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  const ids = held.map((h) => h.id);
  try {
    const writer = writerOf(c);
    if (!c.grouped) {
      for (const h of held) {
        let outcome: WireOutcome;
        try {
          outcome = { ok: writer.writeOne(h.append) };
        } catch (err) {
          outcome = { err: wireError(err) };
        }
        post({ type: 'done', store, ids: [h.id], outcomes: [outcome], seconds: seconds() });
      }
      return;
    }
    const outcomes = writer.writeGroup(held.map((h) => h.append));
    post({ type: 'done', store, ids, outcomes: outcomes.map(toWire), seconds: seconds() });
  } catch (err) {
    post({ type: 'failed', store, ids, error: wireError(err) });
  }
}

function writeAll(): void {
  scheduled = false;
  for (const [store, c] of connections) write(store, c);
}

port.on('message', (m: ToWriter) => {
  if (m.type === 'open') {
    connections.set(m.store, { file: m.file, busyTimeoutMs: m.busyTimeoutMs, grouped: m.grouped, pending: [] });
    return;
  }
  const c = connections.get(m.store)!;
  if (m.type === 'append') {
    for (const a of unpackAppends(m.appends)) c.pending.push(a);
    // Everything that arrives before the next turn goes into one transaction per store.
    if (!scheduled) {
      scheduled = true;
      setImmediate(writeAll);
    }
    return;
  }
  if (m.type === 'close') {
    // Appends not begun when the store closes are refused, as they are on the store's own thread.
    const refused = c.pending;
    c.pending = [];
    if (refused.length > 0) post({ type: 'failed', store: m.store, ids: refused.map((r) => r.id), error: { kind: 'closed', message: `the SQLite store ${c.file} is closed` } });
  } else write(m.store, c); // what it was handed before, first
  try {
    if (m.type === 'max-pages') {
      writerOf(c);
      c.db!.pragma(`max_page_count = ${m.pages}`);
    } else {
      c.db?.close();
      connections.delete(m.store);
    }
    post({ type: 'ok', store: m.store, id: m.id });
  } catch (err) {
    post({ type: 'failed', store: m.store, ids: [m.id], error: wireError(err) });
  }
});
