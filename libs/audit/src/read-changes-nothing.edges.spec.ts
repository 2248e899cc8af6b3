import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { eventId as id, headerMode, storeHashes as files } from '@ledger/event-store/testing/file-hashes';
import { Ledger } from '@ledger/ledger';
import { digestAt, verifyStore } from './tamper';
import { whatIf } from './what-if';

/**
 * Nothing stored is changed by reading it: a store an older build wrote (no log_head) opened,
 * verified and digested is byte for byte what it was, its -wal too. From 2026-11-28 (seventeenth
 * session) until this spec every open created log_head and wrote its row; the first append does now.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-read-only-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tables = (db: Database.Database) => db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();

/** A store of 5 events (hash-chained, as the ledger writes them) as a build before log_head left it; `older` is the connection that dropped the table, left open when `keepWal` (its -wal holding the drop, not checkpointed). */
async function olderStore(name: string, keepWal: boolean) {
  const file = path.join(dir, name);
  const ledger = new Ledger(new SqliteEventStore(file, { writer: 'inline' }), getRuleSet('baseline'));
  try {
    for (const role of ['ED', 'GT', 'IS', 'ES', 'GS']) await ledger.registerUserRole({ userId: '90-B3-D5-1F-30-03-00-0A', role, effectiveFrom: '2019-01-01' }, { actor: 'test' });
  } finally {
    await ledger.store.dispose();
  }
  const older = new Database(file);
  older.pragma('wal_autocheckpoint = 0');
  older.exec('DROP TABLE log_head');
  if (!keepWal) older.close();
  return { file, older };
}

async function readIt(file: string) {
  for (const writer of ['thread', 'inline'] as const) {
    const store = new SqliteEventStore(file, { writer });
    try {
      expect(store.positionsMissingAtEnd()).toBeNull(); // not known: no writer of this build has appended
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 5, missing: [] });
      expect((await digestAt(store)).position).toBe('5');
    } finally {
      await store.dispose();
    }
  }
}

describe('a store opened to be read is not written to', () => {
  it('an older store (no log_head), closed: opened, verified and digested, its file is byte-identical and it has no -wal after; its first append then makes log_head from its last position', async () => {
    const { file } = await olderStore('closed.sqlite', false);
    const before = files(file);
    expect(before.wal).toBe('absent');
    await readIt(file);
    expect(files(file)).toEqual(before);
    const store = new SqliteEventStore(file, { writer: 'inline' });
    try {
      expect((await store.appendToStream('f', [{ id: id(6), type: 'T', data: {} }])).position).toBe(6n);
    } finally {
      await store.dispose();
    }
    const db = new Database(file, { readonly: true });
    expect(tables(db)).toEqual(['events', 'log_head']);
    expect(db.prepare('SELECT id, last FROM log_head').raw().all()).toEqual([[1, 6]]);
    db.close();
  });

  it('an older store with a -wal (another connection holding it open): opened, verified and digested, its file and its -wal are byte-identical', async () => {
    const { file, older } = await olderStore('open.sqlite', true);
    try {
      const before = files(file);
      expect(before.wal).not.toBe('absent');
      await readIt(file);
      expect(files(file)).toEqual(before);
      expect(tables(older)).toEqual(['events']);
    } finally {
      older.close();
    }
  });

  it('a what-if on two threads over a store opened read only (a copy in rollback-journal mode): its worker opens it read only too, and the file is byte-identical and stays so', async () => {
    const { file } = await olderStore('what-if-source.sqlite', false);
    const copy = path.join(dir, 'what-if.sqlite');
    const source = new Database(file, { readonly: true });
    source.exec(`VACUUM INTO '${copy}'`);
    source.close();
    const before = { ...files(copy), mode: headerMode(copy) };
    expect(before.mode).toEqual([1, 1]);
    const store = new SqliteEventStore(copy, { readOnly: true });
    const threads: number[] = [];
    try {
      // Until 2026-11-28 (eighteenth session) the worker opened the file to write, and set it to WAL mode.
      await whatIf(store, getRuleSet('registered-operator'), {}, {}, undefined, { threads: 2, eventsPerThread: 1, store: { kind: 'sqlite', path: copy, readOnly: true }, onThreads: (n) => threads.push(n) });
    } finally {
      await store.dispose();
    }
    expect(threads).toEqual([2]);
    expect({ ...files(copy), mode: headerMode(copy) }).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('what-if.sqlite'))).toEqual(['what-if.sqlite']);
  });
});
