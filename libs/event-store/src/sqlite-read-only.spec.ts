import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteEventStore } from './sqlite-event-store';
import { eventId as id, hashOf, headerMode, storeHashes } from './testing/file-hashes';

/**
 * A store opened to be read only (`readOnly`, as the CLI's commands that only read open it, since
 * 2026-11-28, eighteenth session) writes nothing to its file or its -wal, alone on them (no other
 * connection holding them open), reads the -wal's events, leaves a file in rollback-journal mode
 * so, refuses an append, and refuses a file that is not a ledger store, naming it.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-read-only-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const files = (file: string) => ({ ...storeHashes(file), mode: headerMode(file) });

/** A copy of a store whose last 3 of 5 events are in its -wal only (written while another connection held the file). */
async function copyWithWal(name: string): Promise<string> {
  const source = path.join(dir, `${name}-source.sqlite`);
  const store = new SqliteEventStore(source, { writer: 'inline' });
  await store.appendToStream('a', [{ id: id(1), type: 'T', data: {} }, { id: id(2), type: 'T', data: {} }]);
  const holder = new Database(source);
  holder.prepare('SELECT 1 FROM events').get();
  holder.pragma('wal_checkpoint(TRUNCATE)'); // the first two in the file, the -wal empty
  await store.appendToStream('b', [1, 2, 3].map((i) => ({ id: id(10 + i), type: 'T', data: { i } })));
  await store.dispose();
  const copy = path.join(dir, `${name}.sqlite`);
  for (const suffix of ['', '-wal']) fs.copyFileSync(source + suffix, copy + suffix);
  holder.close();
  return copy;
}

async function readEverything(store: SqliteEventStore) {
  const streams: string[] = [];
  for await (const e of store.readAll()) streams.push(`${e.stream}@${e.revision}`);
  return { streams, head: await store.headPosition() };
}

describe('a SQLite store opened to be read only', () => {
  it("reads the -wal's events, refuses an append, and leaves the file and the -wal byte-identical at its close", async () => {
    const file = await copyWithWal('wal');
    const before = files(file);
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0); // the last three events are there only
    for (const writer of ['thread', 'inline'] as const) {
      const store = new SqliteEventStore(file, { readOnly: true, writer });
      try {
        expect(await readEverything(store)).toEqual({ streams: ['a@0', 'a@1', 'b@0', 'b@1', 'b@2'], head: 5n });
        await expect(store.appendToStream('c', [{ id: id(20), type: 'T', data: {} }])).rejects.toThrow(`the event store at ${file} was opened to be read only: nothing was appended to stream 'c'`);
      } finally {
        await store.dispose();
      }
      expect(files(file)).toEqual(before);
    }
  });

  it('leaves a file in rollback-journal mode so, and makes no -wal or -shm beside it', async () => {
    const source = await copyWithWal('rollback-source');
    const file = path.join(dir, 'rollback.sqlite');
    const db = new Database(source, { readonly: true });
    db.exec(`VACUUM INTO '${file}'`);
    db.close();
    const before = files(file);
    expect(before.mode).toEqual([1, 1]);
    const store = new SqliteEventStore(file, { readOnly: true });
    try {
      expect(await readEverything(store)).toEqual({ streams: ['a@0', 'a@1', 'b@0', 'b@1', 'b@2'], head: 5n });
    } finally {
      await store.dispose();
    }
    expect(files(file)).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('rollback.sqlite'))).toEqual(['rollback.sqlite']);
  });

  it('refuses a file that is not there, is empty or is not a ledger store, naming it, and makes nothing', () => {
    const missing = path.join(dir, 'missing.sqlite');
    const empty = path.join(dir, 'empty.sqlite');
    const other = path.join(dir, 'other.sqlite');
    const notOurs = path.join(dir, 'not-ours.sqlite');
    fs.writeFileSync(empty, '');
    fs.writeFileSync(`${empty}-wal`, 'a -wal beside an empty file, which SQLite deletes at an open');
    const o = new Database(other);
    o.exec('CREATE TABLE notes (text TEXT)');
    o.close();
    const n = new Database(notOurs);
    n.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT)');
    n.close();
    const before = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, hashOf(path.join(dir, f))]));
    expect(() => new SqliteEventStore(missing, { readOnly: true })).toThrow(`${missing} names no file: there is no event store there to read, and a read makes none (nothing was read or made)`);
    const notAStore = (why: string) => `names a file that is not a ledger event store (${why}; nothing was read or written)`;
    expect(() => new SqliteEventStore(empty, { readOnly: true })).toThrow(`${empty} ${notAStore('the file is empty')}`);
    expect(() => new SqliteEventStore(other, { readOnly: true })).toThrow(`${other} ${notAStore('it has no events table')}`);
    expect(() => new SqliteEventStore(notOurs, { readOnly: true })).toThrow(`${notOurs} ${notAStore('its events table has no revision, event_id, type, data, metadata, created columns')}`);
    expect(Object.fromEntries(fs.readdirSync(dir).map((f) => [f, hashOf(path.join(dir, f))]))).toEqual(before);
  });

  it('refuses a copy with a hot -journal (a transaction interrupted in rollback-journal mode), naming the -journal, and changes neither file', () => {
    // A copy taken while a transaction had written to the file (its cache spilled): the file and the -journal that would undo it.
    const source = path.join(dir, 'hot-source.sqlite');
    const file = path.join(dir, 'hot.sqlite');
    const db = new Database(source);
    db.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER, event_id TEXT, type TEXT, data TEXT, metadata TEXT, created TEXT)');
    const insert = db.prepare("INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES ('s', ?, ?, 'T', ?, '{}', '')");
    db.transaction(() => [...Array(2000).keys()].forEach((i) => insert.run(i, id(i), 'x'.repeat(500))))();
    db.pragma('cache_size = 2');
    db.exec("BEGIN; UPDATE events SET data = 'y'");
    for (const suffix of ['', '-journal']) fs.copyFileSync(source + suffix, file + suffix);
    db.exec('ROLLBACK');
    db.close();
    const before = [hashOf(file), hashOf(`${file}-journal`)];
    // Until the review of 2026-11-28: SQLite's "attempt to write a readonly database" (SQLITE_READONLY_ROLLBACK), read as a matter of permissions.
    expect(() => new SqliteEventStore(file, { readOnly: true })).toThrow(`${file} has a hot -journal beside it (${file}-journal: a transaction interrupted before its commit, which SQLite would roll back, writing the file; nothing was read or written)`);
    expect([hashOf(file), hashOf(`${file}-journal`)]).toEqual(before);
  });
});
