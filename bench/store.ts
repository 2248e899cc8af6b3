import Database from 'better-sqlite3';
import * as path from 'node:path';
import { PAGE_SIZE, SqliteEventStore, type SqliteWriterMode } from '@ledger/event-store';
import { rate, timed, tmpDir, uuid } from './util';

/**
 * Case 1: the same events through our SQLite store, Emmett's SQLite event store (the peer) and
 * raw better-sqlite3 inserts into a table of the same shape (the ceiling). All three on a file,
 * WAL, synchronous=FULL: every acknowledged append is on disk.
 */
export interface StoreCase {
  single: number;
  batch100: number;
  readAll: number;
}

const STREAMS = 100;
const payload = (i: number) => ({ deviceId: `00-DB-12-34-56-78-${(i % 256).toString(16).padStart(2, '0')}-01`, n: i, slot: 'networkOperator.critical', serial: `A${i}` });

/** Our store, with its appends written on the writer thread (the default) or inline. */
export async function ours(singles: number, batched: number, writer: SqliteWriterMode = 'thread'): Promise<StoreCase> {
  const dir = tmpDir(`ours-${writer}`);
  const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'), { writer });
  const revs = new Map<string, bigint>();
  const single = await timed(async () => {
    for (let i = 0; i < singles; i++) {
      const stream = `s-${i % STREAMS}`;
      const r = await store.appendToStream(stream, [{ id: uuid(i + 1), type: 'Bench', data: payload(i) }], { expectedRevision: revs.get(stream) ?? 'no_stream' });
      revs.set(stream, r.nextExpectedRevision);
    }
  });
  const batch = await timed(async () => {
    for (let b = 0; b < batched / 100; b++) {
      const events = Array.from({ length: 100 }, (_, j) => ({ id: uuid(singles + b * 100 + j + 1), type: 'Bench', data: payload(b * 100 + j) }));
      await store.appendToStream(`b-${b}`, events, { expectedRevision: 'no_stream' });
    }
  });
  let n = 0;
  const read = await timed(async () => {
    for await (const _ of store.readAll()) n++;
  });
  await store.dispose();
  return { single: rate(singles, single.seconds), batch100: rate(batched, batch.seconds), readAll: rate(n, read.seconds) };
}

export async function peer(singles: number, batched: number): Promise<StoreCase> {
  // Emmett's own functions on one persistent connection (its getSQLiteEventStore opens and
  // closes a connection per call for a file, which would only make it slower).
  const emmett = require('@event-driven-io/emmett-sqlite') as typeof import('@event-driven-io/emmett-sqlite');
  const dir = tmpDir('emmett');
  const conn = emmett.sqliteConnection({ fileName: path.join(dir, 'emmett.sqlite') });
  await conn.command('PRAGMA journal_mode = WAL');
  await conn.command('PRAGMA synchronous = FULL');
  await emmett.createEventStoreSchema(conn);
  const versions = new Map<string, bigint>();
  const single = await timed(async () => {
    for (let i = 0; i < singles; i++) {
      const stream = `s-${i % STREAMS}`;
      const r = await emmett.appendToStream(conn, stream, 'bench', [{ type: 'Bench', data: payload(i) }], { expectedStreamVersion: versions.get(stream) ?? 0n });
      if (!r.success) throw new Error('emmett append failed');
      versions.set(stream, r.nextStreamPosition);
    }
  });
  const batch = await timed(async () => {
    for (let b = 0; b < batched / 100; b++) {
      const events = Array.from({ length: 100 }, (_, j) => ({ type: 'Bench', data: payload(b * 100 + j) }));
      const r = await emmett.appendToStream(conn, `b-${b}`, 'bench', events, { expectedStreamVersion: 0n });
      if (!r.success) throw new Error('emmett batch append failed');
    }
  });
  let n = 0;
  const read = await timed(async () => {
    let after = 0n;
    for (;;) {
      const page = await emmett.readMessagesBatch(conn, { after, batchSize: 500 });
      n += page.messages.length;
      if (page.messages.length === 0 || !page.areEventsLeft) break;
      after = page.currentGlobalPosition;
    }
  });
  conn.close();
  return { single: rate(singles, single.seconds), batch100: rate(batched, batch.seconds), readAll: rate(n, read.seconds) };
}

export async function ceiling(singles: number, batched: number): Promise<StoreCase> {
  const dir = tmpDir('raw');
  const db = new Database(path.join(dir, 'raw.sqlite'));
  db.pragma(`page_size = ${PAGE_SIZE}`); // as our store
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL, event_id TEXT NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, created TEXT NOT NULL, UNIQUE (stream, revision), UNIQUE (stream, event_id))`);
  const insert = db.prepare('INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const revs = new Map<string, number>();
  const one = db.transaction((stream: string, rev: number, i: number) => insert.run(stream, rev, uuid(i + 1), 'Bench', JSON.stringify(payload(i)), '{}', new Date().toISOString()));
  const single = await timed(async () => {
    for (let i = 0; i < singles; i++) {
      const stream = `s-${i % STREAMS}`;
      const rev = (revs.get(stream) ?? -1) + 1;
      one(stream, rev, i);
      revs.set(stream, rev);
    }
  });
  const hundred = db.transaction((b: number) => {
    for (let j = 0; j < 100; j++) insert.run(`b-${b}`, j, uuid(singles + b * 100 + j + 1), 'Bench', JSON.stringify(payload(b * 100 + j)), '{}', new Date().toISOString());
  });
  const batch = await timed(async () => {
    for (let b = 0; b < batched / 100; b++) hundred(b);
  });
  let n = 0;
  const read = await timed(async () => {
    for (const row of db.prepare('SELECT * FROM events ORDER BY position').iterate()) {
      JSON.parse((row as { data: string }).data);
      n++;
    }
  });
  db.close();
  return { single: rate(singles, single.seconds), batch100: rate(batched, batch.seconds), readAll: rate(n, read.seconds) };
}
