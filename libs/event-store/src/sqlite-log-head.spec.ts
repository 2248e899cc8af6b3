import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StoreDamagedError } from './errors';
import { SqliteEventStore, type SqliteWriterMode } from './sqlite-event-store';
import { loseLastEvent, makeDamagedStore } from './testing/damaged-store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-log-head-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const event = (i: number) => ({ id: id(i), type: 'T', data: { i } });

/** The file's log_head row and, for `position`, the streams its table and its index on (stream, revision) hold there. */
function held(file: string, position: bigint) {
  const db = new Database(file, { readonly: true });
  try {
    db.defaultSafeIntegers(true);
    return {
      last: db.prepare('SELECT last FROM log_head').pluck().all(),
      table: db.prepare('SELECT stream FROM events WHERE position = ?').pluck().all(position),
      index: db.prepare('SELECT stream FROM events INDEXED BY sqlite_autoindex_events_1 WHERE position = ?').pluck().all(position),
    };
  } finally {
    db.close();
  }
}

/** A sound store of two events in stream 'd', as a build before log_head left it. */
async function olderStore(name: string) {
  const file = path.join(dir, name);
  const made = new SqliteEventStore(file, { writer: 'inline' });
  await made.appendToStream('d', [event(1), event(2)]);
  await made.dispose();
  const old = new Database(file);
  old.exec('DROP TABLE log_head');
  old.close();
  return file;
}

/** What a read gave: the positions (or a stream's revisions) it read, and the error it ended with. */
async function read(events: AsyncIterable<{ position: bigint; revision: bigint }>, by: 'position' | 'revision' = 'position') {
  const given: bigint[] = [];
  try {
    for await (const e of events) given.push(e[by]);
    return { given, error: undefined };
  } catch (err) {
    return { given, error: err as Error };
  }
}

describe("the SQLite store's head: no append takes a position written before", () => {
  it.each<[string, SqliteWriterMode, boolean]>([
    ['writer thread, group commit', 'thread', true],
    ['writer thread, one transaction per append', 'thread', false],
    ['inline writer, group commit', 'inline', true],
    ['inline writer, one transaction per append', 'inline', false],
  ])("%s: after the table lost its last event (the index still holding it), the next append takes the position after it, and every read meets the lost one as damage (until 2026-11-28 the append took the lost event's position: a read of its stream gave the new event as it, with no error)", async (_, writer, groupCommit) => {
    const file = path.join(dir, `lost-tail-${writer}-${groupCommit}.sqlite`);
    await makeDamagedStore(file, undefined, { leaf: -1, lastCellLost: true }); // position 3000 lost, no error
    const store = new SqliteEventStore(file, { writer, groupCommit });
    try {
      expect(await store.headPosition()).toBe(2999n);
      const appended = await Promise.all([store.appendToStream('job', [event(9001)]), store.appendToStream('job-2', [event(9002), event(9003)])]);
      expect(appended.map((r) => r.position)).toEqual([3001n, 3003n]);
      expect(held(file, 3000n)).toEqual({ last: [3003n], table: [], index: ['d'] });
      expect(held(file, 3001n)).toEqual({ last: [3003n], table: ['job'], index: ['job'] });
      // The lost event's stream names the damage at its revision before it (until 2026-11-28 it gave job's event as its revision 2999).
      const stream = await read(store.readStream('d', { fromRevision: 2990n }), 'revision');
      expect(stream.given).toEqual([2990n, 2991n, 2992n, 2993n, 2994n, 2995n, 2996n, 2997n, 2998n]);
      expect(stream.error).toBeInstanceOf(StoreDamagedError);
      expect(stream.error!.message).toContain("stream 'd' could not be read past revision 2998");
      // The log read forward meets the gap and names it (until 2026-11-28 it read job's event at 3000 with no error).
      const log = await read(store.readAll({ fromPosition: 2995n }));
      expect(log.given).toEqual([2995n, 2996n, 2997n, 2998n, 2999n]);
      expect(log.error).toEqual(expect.objectContaining({ name: 'StoreDamagedError', after: 2999n }));
      expect(log.error!.message).toContain("stepped from position 2999 to 3001 with no error, but the store's index on (stream, revision) holds an event at position 3000");
    } finally {
      await store.dispose();
    }
  });

  it('a store an older build wrote (no log_head) gets one at its first append (not at an open: from 2026-11-28 until the next change every open made it), from the highest position its table or its index holds: a last event the table lost before then is not reused either', async () => {
    const file = path.join(dir, 'older.sqlite');
    const whole = new SqliteEventStore(file, { writer: 'inline' });
    for (let b = 0; b < 3; b++) await whole.appendToStream('d', Array.from({ length: 100 }, (_, i) => ({ id: id(b * 100 + i + 1), type: 'T', data: { text: 'x'.repeat(1000) } })));
    await whole.dispose();
    const db = new Database(file);
    db.exec('DROP TABLE log_head');
    db.close();
    expect(loseLastEvent(file)).toEqual({ position: 300n, stream: 'd' });
    const store = new SqliteEventStore(file, { writer: 'inline' });
    try {
      expect(() => held(file, 300n)).toThrow('no such table: log_head');
      expect((await store.appendToStream('job', [event(9001)])).position).toBe(301n);
      expect(held(file, 300n)).toEqual({ last: [301n], table: [], index: ['d'] });
    } finally {
      await store.dispose();
    }
    // A sound one: its table's head.
    const sound = await olderStore('older-sound.sqlite');
    const reopened = new SqliteEventStore(sound);
    try {
      expect(() => held(sound, 2n)).toThrow('no such table: log_head');
      expect((await reopened.appendToStream('d', [event(3)])).position).toBe(3n);
      expect(held(sound, 3n).last).toEqual([3n]);
    } finally {
      await reopened.dispose();
    }
  });

  it.each<[SqliteWriterMode]>([['inline'], ['thread']])("%s writer, one transaction per append: on an older store (no log_head) a first append refused (its transaction, which made log_head, rolled back) leaves the next append to make it", async (writer) => {
    const file = await olderStore(`older-refused-${writer}.sqlite`);
    const store = new SqliteEventStore(file, { writer, groupCommit: false });
    try {
      await expect(store.appendToStream('d', [event(3)], { expectedRevision: 5n })).rejects.toThrow(expect.objectContaining({ name: 'WrongExpectedRevisionError' }));
      expect(() => held(file, 2n)).toThrow('no such table: log_head');
      expect((await store.appendToStream('d', [event(3)])).position).toBe(3n);
      expect(held(file, 3n).last).toEqual([3n]);
    } finally {
      await store.dispose();
    }
  });

  it.each<[SqliteWriterMode, boolean]>([
    ['inline', false],
    ['thread', true],
  ])("%s writer (group commit %s): log_head gone under a running writer (an older file restored in place): the next append (or the one after) makes it again (until the seventeenth session's final read, 'no such table: log_head' at every append until a restart)", async (writer, groupCommit) => {
    const file = path.join(dir, `dropped-${writer}.sqlite`);
    const store = new SqliteEventStore(file, { writer, groupCommit });
    try {
      await store.appendToStream('d', [event(1), event(2)]);
      const other = new Database(file);
      other.exec('DROP TABLE log_head');
      other.close();
      // The first append after it fails on the statements prepared before (or, where SQLite's prepared statement saw the schema
      // change first, is written, making the table again: seen in a busy run); either way the next ones are written.
      const first = await store.appendToStream('d', [event(3)]).then(() => undefined, (err: Error) => err.message);
      expect([undefined, 'no such table: log_head']).toContain(first);
      expect((await store.appendToStream('d', [event(3)])).position).toBe(3n); // written now, or a retry of the one written
      expect((await store.appendToStream('d', [event(4)])).position).toBe(4n);
      expect(held(file, 4n).last).toEqual([4n]);
    } finally {
      await store.dispose();
    }
  });

  it('an append refused within a group (its savepoint rolled back) leaves no gap: the next append of the group takes its positions', async () => {
    const store = new SqliteEventStore(path.join(dir, 'refused.sqlite'), { writer: 'inline' });
    try {
      const outcomes = await Promise.allSettled([store.appendToStream('a', [event(1)]), store.appendToStream('a', [event(2), event(3)], { expectedRevision: 5n }), store.appendToStream('b', [event(4), event(5)])]);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.position : (o.reason as Error).name))).toEqual([1n, 'WrongExpectedRevisionError', 3n]);
      expect(store.positionsGapless()).toBe(true);
    } finally {
      await store.dispose();
    }
  });

  it('two connections appending in turn (two stores, an older writer without log_head too) take each position once, gapless, and keep the head', async () => {
    const file = path.join(dir, 'two.sqlite');
    const a = new SqliteEventStore(file, { writer: 'inline' });
    const b = new SqliteEventStore(file);
    const older = new Database(file);
    const insert = older.prepare("INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES ('o', ?, ?, 'T', '{}', '{}', '')");
    try {
      const positions: bigint[] = [];
      for (let i = 0; i < 6; i++) {
        positions.push((await a.appendToStream('a', [event(10 + i), event(20 + i)])).position);
        positions.push((await b.appendToStream('b', [event(30 + i)])).position);
        if (i === 2) insert.run(0, id(99)); // position 10, log_head left at 9
      }
      expect(positions).toEqual([2n, 3n, 5n, 6n, 8n, 9n, 12n, 13n, 15n, 16n, 18n, 19n]);
      expect(held(file, 19n).last).toEqual([19n]);
      expect(await b.positionsGapless()).toBe(true);
    } finally {
      older.close();
      await a.dispose();
      await b.dispose();
    }
  });
});
