import type { NewEvent, RecordedEvent } from './event-store.port';
import { EventIdConflictError } from './errors';
import { SqliteEventStore } from './sqlite-event-store';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What an append tells the rest of the store: a local commit wakes subscribers; content identity. */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-edges-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const ev = (n: number, extra: Partial<NewEvent> = {}): NewEvent => ({ id: id(n), type: 'T', data: { n }, ...extra });

describe.each([
  ['writer thread, group commit', 'thread', true],
  ['writer thread, one transaction per append', 'thread', false],
  ['inline writer, group commit', 'inline', true],
  ['inline writer, one transaction per append', 'inline', false],
] as const)('%s', (_name, writer, groupCommit) => {
  let store: SqliteEventStore;
  beforeEach(() => {
    // Polls once an hour: only the wake-up on a local commit can deliver within the test.
    store = new SqliteEventStore(writer === 'inline' ? ':memory:' : path.join(dir, `commit-${++n}.sqlite`), { writer, groupCommit, pollIntervalMs: 3_600_000 });
  });
  afterEach(async () => {
    await store.dispose();
  });

  it('a live subscriber is woken by a local commit, not by its next poll', async () => {
    const sub = store.subscribeToAll();
    try {
      const it = sub[Symbol.asyncIterator]();
      const next = it.next();
      await new Promise((resolve) => setImmediate(resolve)); // the subscriber is now waiting
      await store.appendToStream('s', [ev(1)]);
      let timer: NodeJS.Timeout | undefined;
      const got = await Promise.race([next, new Promise<'not woken'>((resolve) => (timer = setTimeout(() => resolve('not woken'), 10_000)))]);
      clearTimeout(timer);
      expect(got === 'not woken' ? got : (got.value as RecordedEvent).id).toBe(id(1));
    } finally {
      await sub.unsubscribe();
    }
  });

  it('a retry is the same append whatever the key order of its data and metadata, or a missing data', async () => {
    await store.appendToStream('s', [{ id: id(1), type: 'T', data: { a: 1, b: { c: 2, d: 3 } }, metadata: { x: 'y', z: 1 } }, { id: id(2), type: 'T', data: undefined }]);
    const again = await store.appendToStream('s', [{ id: id(1), type: 'T', data: { b: { d: 3, c: 2 }, a: 1 }, metadata: { z: 1, x: 'y' } }, { id: id(2), type: 'T', data: null, metadata: {} }]);
    expect(again.written).toBe(false);
    const read: RecordedEvent[] = [];
    for await (const e of store.readStream('s')) read.push(e);
    expect(read.map((e) => [e.data, e.metadata])).toEqual([
      [{ a: 1, b: { c: 2, d: 3 } }, { x: 'y', z: 1 }],
      [null, {}],
    ]);
  });

  it('the same id and data with other metadata is another event', async () => {
    await store.appendToStream('s', [ev(1, { metadata: { actor: 'a' } })]);
    await expect(store.appendToStream('s', [ev(1, { metadata: { actor: 'b' } })])).rejects.toBeInstanceOf(EventIdConflictError);
    await expect(store.appendToStream('s', [ev(1, { data: { n: 1, extra: true }, metadata: { actor: 'a' } })])).rejects.toBeInstanceOf(EventIdConflictError);
  });
});
