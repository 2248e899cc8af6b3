import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeEventStoreContract } from './event-store.contract';
import { StoreUnavailableError, WrongExpectedRevisionError } from './errors';
import { PAGE_SIZE, SqliteEventStore } from './sqlite-event-store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

describe.each([
  ['group commit', true],
  ['one transaction per append', false],
])('sqlite, %s', (_name, groupCommit) => {
  describeEventStoreContract(`sqlite (groupCommit: ${groupCommit})`, {
    makeStore: async () => new SqliteEventStore(path.join(dir, `contract-${++n}.sqlite`), { groupCommit }),
    makeSecondStore: async (first) => new SqliteEventStore((first as SqliteEventStore).file, { groupCommit }),
  });
});

describe('SqliteEventStore specifics', () => {
  it('creates the directory, and keeps the durability settings a ledger needs', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'ledger.sqlite');
    const store = new SqliteEventStore(file);
    await store.appendToStream('s', [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: {} }]);
    await store.dispose();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string }).sql;
    expect(sql).toMatch(/UNIQUE \(stream, revision\)/);
    expect(sql).toMatch(/UNIQUE \(stream, event_id\)/);
    db.close();
  });

  it('positions are gapless 1, 2, 3 ... across streams', async () => {
    const store = new SqliteEventStore(path.join(dir, 'gapless.sqlite'));
    try {
      const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      await store.appendToStream('a', [{ id: id(1), type: 'T', data: {} }, { id: id(2), type: 'T', data: {} }]);
      await store.appendToStream('b', [{ id: id(3), type: 'T', data: {} }]);
      const positions: bigint[] = [];
      for await (const e of store.readAll()) positions.push(e.position);
      expect(positions).toEqual([1n, 2n, 3n]);
    } finally {
      await store.dispose();
    }
  });

  it('group commit: appends of one turn share a transaction, yet one refused append leaves the others written', async () => {
    const store = new SqliteEventStore(path.join(dir, 'group.sqlite'));
    try {
      const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const results = await Promise.allSettled([
        store.appendToStream('g', [{ id: id(1), type: 'T', data: {} }], { expectedRevision: 'no_stream' }),
        store.appendToStream('g', [{ id: id(2), type: 'T', data: {} }], { expectedRevision: 'no_stream' }),
        store.appendToStream('g', [{ id: id(3), type: 'T', data: {} }], { expectedRevision: 0n }),
        store.appendToStream('h', [{ id: id(4), type: 'T', data: {} }]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(await store.streamRevision('g')).toBe(1n);
      expect(await store.headPosition()).toBe(3n);
    } finally {
      await store.dispose();
    }
  });

  it('appends queued when the store closes are refused, not lost silently', async () => {
    const store = new SqliteEventStore(path.join(dir, 'closing.sqlite'));
    const pending = store.appendToStream('c', [{ id: '00000000-0000-4000-8000-000000000009', type: 'T', data: {} }]);
    await store.dispose();
    await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('a closed store reports itself unreachable, and calls fail with StoreUnavailableError', async () => {
    const store = new SqliteEventStore(path.join(dir, 'closed.sqlite'));
    await store.dispose();
    expect(await store.health()).toMatchObject({ kind: 'sqlite', reachable: false });
    await expect(store.streamRevision('x')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses an event id that is not a UUID and an empty stream name', async () => {
    const store = new SqliteEventStore(path.join(dir, 'args.sqlite'));
    try {
      await expect(store.appendToStream('s', [{ id: 'nope', type: 'T', data: {} }])).rejects.toThrow(/not a UUID/);
      await expect(store.appendToStream('', [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: {} }])).rejects.toThrow(/must not be empty/);
    } finally {
      await store.dispose();
    }
  });
});
