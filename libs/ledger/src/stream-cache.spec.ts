import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LedgerEvent } from '@ledger/domain';
import { SqliteEventStore, type SqliteWriterMode } from '@ledger/event-store';
import { StreamCache } from './stream-cache';
import { nameUuid } from './streams';

/** Counts a stream's events: any event will do, the cache never looks inside one but to fold it. */
const count = (n: number, _e: LedgerEvent) => n + 1;
const inventory = (i: number) => ({ id: nameUuid(`e:${i}`), type: 'DeviceInventoryChanged', data: { schemaVersion: 1, deviceId: `d${i}` } });

describe('the stream cache', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stream-cache-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Streams a..e of `lengths` events each. */
  async function streams(lengths: number[]): Promise<string[]> {
    let i = 0;
    const names = lengths.map((_, k) => `device-${String.fromCharCode(97 + k)}`);
    for (const [k, n] of lengths.entries()) await store.appendToStream(names[k], Array.from({ length: n }, () => inventory(i++)));
    return names;
  }

  it('holds at most maxIds event ids between its streams, the least recently used out first', async () => {
    const [a, b, c] = await streams([4, 4, 4]);
    const cache = new StreamCache(store, 100, 10);
    const first = await cache.load(a, 0, count);
    await cache.load(b, 0, count);
    expect(cache.held).toEqual({ streams: 2, ids: 8 });
    await cache.load(a, 0, count); // a used again: b is now the least recently used
    await cache.load(c, 0, count);
    expect(cache.held).toEqual({ streams: 2, ids: 8 }); // b out: 12 > 10
    expect((await cache.load(a, 0, count)).ids).toBe(first.ids); // a was held: not read again whole
    expect((await cache.load(b, 0, count)).ids.size).toBe(4); // b read again whole; c out
    expect(cache.held).toEqual({ streams: 2, ids: 8 });
  });

  it('holds a stream with more ids than the bound on its own under the bound of streams only: it neither lets the others go nor is let go', async () => {
    const [a, b, c, long] = await streams([4, 4, 4, 12]);
    const cache = new StreamCache(store, 3, 10);
    const held = await cache.load(long, 0, count);
    for (const s of [a, b]) await cache.load(s, 0, count);
    expect(cache.held).toEqual({ streams: 3, ids: 8 });
    expect((await cache.load(long, 0, count)).ids).toBe(held.ids); // not read again whole
    await cache.load(c, 0, count); // 4 streams > 3: a, the least recently used, out
    expect(cache.held).toEqual({ streams: 3, ids: 8 });
    expect((await cache.load(long, 0, count)).ids).toBe(held.ids);
  });

  it('a stream loaded again after it was let go is folded whole, with every id and revision', async () => {
    const [a, b] = await streams([5, 5]);
    const cache = new StreamCache(store, 100, 5);
    const first = await cache.load(a, 0, count);
    await cache.load(b, 0, count);
    expect(cache.held).toEqual({ streams: 1, ids: 5 });
    const again = await cache.load(a, 0, count);
    expect(again.ids).not.toBe(first.ids); // a held stream keeps its map and grows it
    expect({ state: again.state, revision: again.revision, lastHash: again.lastHash }).toEqual({ state: 5, revision: 4n, lastHash: first.lastHash });
    expect([...again.ids]).toEqual([...first.ids]);
  });

  it('counts the ids an append adds to a held stream', async () => {
    const [a, b] = await streams([3, 3]);
    const cache = new StreamCache(store, 100, 7);
    const loaded = await cache.load(a, 0, count);
    await cache.load(b, 0, count);
    const events = [inventory(100), inventory(101)];
    const r = await store.appendToStream(a, events, { expectedRevision: loaded.revision! });
    cache.appended(loaded, events, count, r.nextExpectedRevision);
    expect(cache.held).toEqual({ streams: 1, ids: 5 }); // 8 > 7: b, the least recently used, out
  });
});

describe.each<SqliteWriterMode>(['thread', 'inline'])('the stream cache on a SQLite store (%s writer): a held stream is read again only when something was committed to it', (writer) => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;
  let other: SqliteEventStore;
  /** The streams readStream was called for, in order. */
  let reads: string[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stream-cache-'));
    file = path.join(dir, 'ledger.sqlite');
    store = new SqliteEventStore(file, { writer });
    // Another connection to the file, as another process has: its commits change nothing this store's writer knows of.
    other = new SqliteEventStore(file, { writer: 'inline' });
    reads = [];
    const readStream = store.readStream.bind(store);
    jest.spyOn(store, 'readStream').mockImplementation((stream, options) => {
      reads.push(stream);
      return readStream(stream, options);
    });
  });
  afterEach(async () => {
    await store.dispose();
    await other.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let i = 0;
  const append = (to: SqliteEventStore, stream: string, n: number) => to.appendToStream(stream, Array.from({ length: n }, () => inventory(1000 + i++)));

  it('is not read again while nothing is committed to the file', async () => {
    await append(store, 'device-a', 2);
    const cache = new StreamCache(store);
    const first = await cache.load('device-a', 0, count);
    const again = await cache.load('device-a', 0, count);
    expect(again).toBe(first);
    expect(reads).toEqual(['device-a']);
  });

  it('is read again, from its revision, after another connection appended to it; a held stream it did not append to is not', async () => {
    await append(store, 'device-a', 2);
    await append(store, 'device-b', 1);
    const cache = new StreamCache(store);
    await cache.load('device-a', 0, count);
    await cache.load('device-b', 0, count);
    await append(other, 'device-a', 3);
    const a = await cache.load('device-a', 0, count);
    expect({ state: a.state, revision: a.revision, ids: a.ids.size }).toEqual({ state: 5, revision: 4n, ids: 5 });
    expect((await cache.load('device-b', 0, count)).state).toBe(1);
    expect((await cache.load('device-a', 0, count)).state).toBe(5);
    expect(reads).toEqual(['device-a', 'device-b', 'device-a']);
  });

  it('is read again after an append through its own store that the cache did not make', async () => {
    await append(store, 'device-a', 2);
    const cache = new StreamCache(store);
    await cache.load('device-a', 0, count);
    await append(store, 'device-a', 1);
    expect((await cache.load('device-a', 0, count)).state).toBe(3);
    expect(reads).toEqual(['device-a', 'device-a']);
  });

  it("is not read again after the cache's own append to it, and is after another connection appended to it since", async () => {
    await append(store, 'device-a', 2);
    const cache = new StreamCache(store);
    const loaded = await cache.load('device-a', 0, count);
    const events = [inventory(2000), inventory(2001)];
    const r = await store.appendToStream('device-a', events, { expectedRevision: loaded.revision! });
    cache.appended(loaded, events, count, r.nextExpectedRevision);
    expect((await cache.load('device-a', 0, count)).state).toBe(4);
    expect(reads).toEqual(['device-a']);
    await append(other, 'device-a', 1);
    expect((await cache.load('device-a', 0, count)).state).toBe(5);
    expect(reads).toEqual(['device-a', 'device-a']);
  });

  it("learns what the store's own appends moved without reading the log's tail, and reads the tail when another connection wrote between them", async () => {
    await append(store, 'device-a', 2);
    await append(store, 'device-b', 1);
    const cache = new StreamCache(store);
    const a = await cache.load('device-a', 0, count);
    await cache.load('device-b', 0, count);
    const tail = jest.spyOn(store['stmt'].tail, 'all');
    // The cache's own append to a, and one through the store that the cache did not make, to b.
    const events = [inventory(3000)];
    const r = await store.appendToStream('device-a', events, { expectedRevision: a.revision! });
    cache.appended(a, events, count, r.nextExpectedRevision);
    await append(store, 'device-b', 2);
    expect((await cache.load('device-a', 0, count)).state).toBe(3);
    expect((await cache.load('device-b', 0, count)).state).toBe(3);
    expect(reads).toEqual(['device-a', 'device-b', 'device-b']);
    expect(tail).not.toHaveBeenCalled();
    // Another connection's append between two of the store's own: the tail is read, and names it.
    await append(store, 'device-c', 1);
    await append(other, 'device-a', 1);
    await append(store, 'device-c', 1);
    expect((await cache.load('device-a', 0, count)).state).toBe(4);
    expect((await cache.load('device-b', 0, count)).state).toBe(3);
    expect(reads).toEqual(['device-a', 'device-b', 'device-b', 'device-a']);
    expect(tail).toHaveBeenCalledTimes(1);
  });

  it('every held stream is read again when more events were committed since the last look than it holds streams (the tail is not named)', async () => {
    await append(store, 'device-a', 1);
    await append(store, 'device-b', 1);
    const cache = new StreamCache(store, 2);
    await cache.load('device-a', 0, count);
    await cache.load('device-b', 0, count);
    await append(other, 'device-c', 3);
    expect((await cache.load('device-a', 0, count)).state).toBe(1);
    expect((await cache.load('device-b', 0, count)).state).toBe(1);
    expect(reads).toEqual(['device-a', 'device-b', 'device-a', 'device-b']);
  });
});

describe('nameUuid', () => {
  it('derives the same ids as it always has (a version 5 layout)', () => {
    expect(nameUuid('decision:90-B3-D5-1F-30-01-00-01:00-DB-12-34-56-78-90-01:1')).toBe('1e851ef7-a6d5-5749-9b88-29139d4cdf55');
    expect(nameUuid('placed:x:0')).toBe('36870222-58f4-5c0e-8e4f-b8ecf76b8414');
    expect(nameUuid('')).toBe('f1b9e1bb-acbe-5bfc-b203-f9769b5de353');
  });

  it('gives ids that are cheap to keep: a flat string (~90 bytes with its map entry), not pieces of a longer one (~400)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 20_000;
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = new Map<string, number>();
    for (let i = 0; i < n; i++) kept.set(nameUuid(`decision:${i}`), i);
    gc();
    const perId = (process.memoryUsage().heapUsed - before) / n;
    expect(kept.size).toBe(n);
    expect(perId).toBeLessThan(200);
  });
});
