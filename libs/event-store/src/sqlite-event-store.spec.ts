import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describeEventStoreContract } from './event-store.contract';
import { EventIdConflictError, InvalidStoreArgumentError, LogRewrittenError, StoreDamagedError, StoreFullError, StoreUnavailableError, WrongExpectedRevisionError } from './errors';
import type { ReadAllOptions, ReadStreamOptions } from './event-store.port';
import { PAGE_SIZE, SqliteEventStore } from './sqlite-event-store';
import { packAppends, unpackAppends } from './sqlite-writer';
import { loseIndexCell, makeDamagedStore } from './testing/damaged-store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

describe.each([
  ['writer thread, group commit', 'thread', true],
  ['writer thread, one transaction per append', 'thread', false],
  ['inline writer, group commit', 'inline', true],
  ['inline writer, one transaction per append', 'inline', false],
] as const)('sqlite, %s', (_name, writer, groupCommit) => {
  describeEventStoreContract(`sqlite (writer: ${writer}, groupCommit: ${groupCommit})`, {
    makeStore: async () => new SqliteEventStore(path.join(dir, `contract-${++n}.sqlite`), { writer, groupCommit }),
    makeSecondStore: async (first) => new SqliteEventStore((first as SqliteEventStore).file, { writer, groupCommit }),
  });
});

const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const big = 'x'.repeat(64 * 1024);
/** Caps the store at the pages its file has now. */
async function fillUp(store: SqliteEventStore): Promise<void> {
  const other = new Database(store.file, { readonly: true });
  await store.setMaxPageCount(other.pragma('page_count', { simple: true }) as number);
  other.close();
}

describe('appends as they cross to the writer thread', () => {
  it('come out of one flat list of strings and numbers as they went in: every kind of expected revision, several events an append', () => {
    const e = (i: number) => ({ id: id(i), type: `T${i}`, data: `{"n":${i}}`, metadata: `{"a":"${i}"}` });
    const appends = [
      { id: 1, append: { stream: 's', expected: 'any' as const, encoded: [e(1)] } },
      { id: 2, append: { stream: 't', expected: 'no_stream' as const, encoded: [e(2), e(3), e(4)] } },
      { id: 7, append: { stream: 'u', expected: 'stream_exists' as const, encoded: [e(5)] } },
      { id: 9, append: { stream: 'v', expected: 41n, encoded: [e(6), e(7)] } },
    ];
    const packed = packAppends(appends);
    expect(packed.every((x) => typeof x !== 'object')).toBe(true);
    expect(unpackAppends(structuredClone(packed))).toEqual(appends);
  });
});

describe('SqliteEventStore specifics', () => {
  it('a subscription ends with LogRewrittenError when the event it last reached (or was started after, fromEvent) is no longer at its position; not while it is', async () => {
    const file = path.join(dir, 'rewritten.sqlite');
    const store = new SqliteEventStore(file, { pollIntervalMs: 5 });
    try {
      for (let i = 1; i <= 3; i++) await store.appendToStream('s', [{ id: id(i), type: 'T', data: { n: i } }]);
      const ended = async (sub: AsyncIterable<unknown>, onEach?: (seen: number) => Promise<void>) => {
        let seen = 0;
        try {
          for await (const _ of sub) await onEach?.(++seen);
        } catch (err) {
          return { seen, err };
        }
        return { seen };
      };
      expect(await ended(store.subscribeToAll({ fromPosition: 2n, fromEvent: id(9) }))).toEqual({ seen: 0, err: new LogRewrittenError(2n, id(9)) });
      const live = store.subscribeToAll({ fromPosition: 2n, fromEvent: id(2) });
      const result = await ended(live, async (seen) => {
        if (seen === 1) await store.appendToStream('s', [{ id: id(4), type: 'T', data: { n: 4 } }]); // the normal path: goes on
        if (seen !== 2) return;
        const raw = new Database(file);
        raw.prepare('DELETE FROM events WHERE position >= 3').run();
        raw.close();
        await store.appendToStream('s', [{ id: id(5), type: 'T', data: { n: 3 } }, { id: id(6), type: 'T', data: { n: 4 } }, { id: id(7), type: 'T', data: { n: 5 } }], { expectedRevision: 1n });
      });
      expect(result).toEqual({ seen: 2, err: new LogRewrittenError(4n, id(4)) }); // the last it reached (position 4) holds another event: 5 is not delivered
    } finally {
      await store.dispose();
    }
  });

  it("only: the other streams' rows are left out of the query, so one of them that does not parse stops nothing; pages and maxCount count the rows yielded", async () => {
    const file = path.join(dir, 'only.sqlite');
    const store = new SqliteEventStore(file);
    await store.appendToStream('a', [{ id: id(1), type: 'T', data: { n: 1 }, metadata: { m: 1 } }]);
    await store.appendToStream('b', [{ id: id(2), type: 'T', data: { n: 2 } }]);
    for (let i = 0; i < 3; i++) await store.appendToStream('c', Array.from({ length: 400 }, (_, j) => ({ id: id(10 + 800 * i + 2 * j), type: 'T', data: { n: j } })));
    const raw = new Database(file);
    raw.prepare("UPDATE events SET data = '{broken' WHERE stream = 'b'").run();
    raw.close();
    const read = async (options: { only?: (s: string) => boolean; fromPosition?: bigint; maxCount?: number; direction?: 'backwards' }) => {
      const out = [];
      for await (const e of store.readAll(options)) out.push(e);
      return out;
    };
    const all = await read({ only: (s) => s !== 'b' });
    expect(all).toHaveLength(1201);
    expect(all[0]).toMatchObject({ stream: 'a', revision: 0n, position: 1n, data: { n: 1 }, metadata: { m: 1 } });
    expect(all[1]).toMatchObject({ stream: 'c', revision: 0n, position: 3n });
    expect(all.map((e) => e.position)).toEqual([1n, ...Array.from({ length: 1200 }, (_, i) => BigInt(i + 3))]);
    expect((await read({ only: (s) => s === 'a', direction: 'backwards' })).map((e) => e.position)).toEqual([1n]);
    expect((await read({ only: (s) => s !== 'b', fromPosition: 2n, maxCount: 600 })).map((e) => e.position)).toEqual(Array.from({ length: 600 }, (_, i) => BigInt(i + 3)));
    await expect(read({})).rejects.toThrow(/position 2 \(stream 'b', revision 0\) cannot be read/);
    await expect(read({ only: (s) => s === 'b' })).rejects.toThrow(/cannot be read/);
    // Two reads with their own `only`, interleaved page by page on one connection.
    const [x, y] = [store.readAll({ only: (s) => s === 'a' || s === 'c' })[Symbol.asyncIterator](), store.readAll({ only: (s) => s === 'c' })[Symbol.asyncIterator]()];
    const xs: bigint[] = [];
    const ys: bigint[] = [];
    for (let done = 0; done < 2; ) {
      done = 0;
      for (const [it, out] of [[x, xs], [y, ys]] as const) {
        const r = await it.next();
        if (r.done) done++;
        else out.push(r.value.position);
      }
    }
    expect(xs).toEqual(all.map((e) => e.position));
    expect(ys).toEqual(all.slice(1).map((e) => e.position));
    await store.dispose();
  });

  it("a page's error that is not damage (a reader's own, a lock) fails the read as it is: not taken for damage", async () => {
    const store = new SqliteEventStore(path.join(dir, 'only-throws.sqlite'));
    try {
      await store.appendToStream('a', [{ id: id(1), type: 'T', data: { n: 1 } }]);
      const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      for (const err of [new Error('x'), busy]) {
        const read = async () => {
          for await (const _ of store.readAll({ only: () => { throw err; } }));
        };
        await expect(read()).rejects.toBe(err);
      }
    } finally {
      await store.dispose();
    }
  });

  it('metadata: false: the metadata is neither fetched nor parsed (one that does not parse stops nothing); with only, too; a stream read, too', async () => {
    const file = path.join(dir, 'no-metadata.sqlite');
    const store = new SqliteEventStore(file);
    await store.appendToStream('a', [{ id: id(1), type: 'T', data: { n: 1 }, metadata: { m: 1 } }]);
    await store.appendToStream('b', [{ id: id(2), type: 'T', data: { n: 2 }, metadata: { m: 2 } }]);
    const raw = new Database(file);
    raw.prepare("UPDATE events SET metadata = '{broken' WHERE stream = 'b'").run();
    raw.close();
    const read = async (options: ReadAllOptions) => {
      const out = [];
      for await (const e of store.readAll(options)) out.push(e);
      return out;
    };
    const lean = await read({ metadata: false });
    expect(lean).toMatchObject([{ stream: 'a', position: 1n, data: { n: 1 }, metadata: {} }, { stream: 'b', position: 2n, data: { n: 2 }, metadata: {} }]);
    expect(await read({ metadata: false, direction: 'backwards' })).toEqual([...lean].reverse());
    expect(await read({ metadata: false, only: (s) => s === 'b' })).toEqual([lean[1]]);
    await expect(read({})).rejects.toThrow(/position 2 \(stream 'b', revision 0\) cannot be read/);
    expect((await read({ only: (s) => s === 'a' }))[0].metadata).toMatchObject({ m: 1 });
    const stream = async (options: ReadStreamOptions) => {
      const out = [];
      for await (const e of store.readStream('b', options)) out.push(e);
      return out;
    };
    expect(await stream({ metadata: false })).toEqual([lean[1]]);
    expect(await stream({ metadata: false, direction: 'backwards' })).toEqual([lean[1]]);
    await expect(stream({})).rejects.toThrow(/position 2 \(stream 'b', revision 0\) cannot be read/);
    await store.dispose();
  });

  it("a revision edited to no integer makes its event unreadable, named with the revision as stored, in every read and the stream's revision (until 2026-11-27: 'SyntaxError: Cannot convert abc to a BigInt')", async () => {
    const file = path.join(dir, 'revision-not-integer.sqlite');
    const store = new SqliteEventStore(file);
    await store.appendToStream('r', [1, 2, 3].map((i) => ({ id: id(40_000 + i), type: 'T', data: { i } })));
    const raw = new Database(file);
    raw.prepare("UPDATE events SET revision = 'abc' WHERE position = 2").run();
    raw.close();
    const unreadable = { name: 'UnreadableEventError', stream: 'r', revision: "'abc'", position: 2n, reason: 'its stored revision is not an integer (text)' };
    const seen: bigint[] = [];
    const read = async (events: AsyncIterable<{ position: bigint } | Iterable<{ position: bigint }>>) => {
      for await (const x of events) for (const e of Symbol.iterator in x ? x : [x]) seen.push(e.position);
    };
    await expect(read(store.readAll())).rejects.toMatchObject(unreadable);
    await expect(read(store.readAllPages({ metadata: false }))).rejects.toMatchObject(unreadable);
    expect(seen).toEqual([1n, 1n]);
    await expect(read(store.readStream('r'))).rejects.toMatchObject(unreadable); // 'abc' sorts after every integer: last
    await expect(store.streamRevision('r')).rejects.toMatchObject(unreadable);
    expect(seen).toEqual([1n, 1n, 1n, 3n]);
    await store.dispose();
  });

  it('a metadata that parses but is not an object (an edited row) is an unreadable event, in every read that takes the metadata', async () => {
    const file = path.join(dir, 'metadata-not-object.sqlite');
    const store = new SqliteEventStore(file);
    for (let i = 1; i <= 4; i++) await store.appendToStream(`m${i}`, [{ id: id(30_000 + i), type: 'T', data: { i }, metadata: { i } }]);
    const raw = new Database(file);
    for (const [position, text] of [[2, 'null'], [3, '[1]'], [4, '"text"']] as const) raw.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(text, position);
    raw.close();
    const seen: bigint[] = [];
    const readAll = async () => {
      for await (const e of store.readAll({})) seen.push(e.position);
    };
    await expect(readAll()).rejects.toMatchObject({ name: 'UnreadableEventError', position: 2n, reason: 'its stored metadata is not an object' });
    expect(seen).toEqual([1n]);
    for (const stream of ['m3', 'm4']) {
      const read = async () => {
        for await (const _e of store.readStream(stream)) void _e;
      };
      await expect(read()).rejects.toThrow(/its stored metadata is not an object/);
    }
    const pages = async () => {
      for await (const page of store.readAllPages({ fromPosition: 3n })) for (const _e of page) void _e;
    };
    await expect(pages()).rejects.toMatchObject({ position: 3n });
    const lean = [];
    for await (const e of store.readAll({ metadata: false })) lean.push(e.position);
    expect(lean).toEqual([1n, 2n, 3n, 4n]); // not read, not judged
    await store.dispose();
  });

  it('readAllPages: what readAll reads, a page of at most 500 events at a time; an event that does not parse fails where its page reaches it, after the events before it', async () => {
    const file = path.join(dir, 'pages.sqlite');
    const store = new SqliteEventStore(file);
    for (let i = 0; i < 12; i++) await store.appendToStream(`s${i % 3}`, Array.from({ length: 100 }, (_, k) => ({ id: id(20_000 + 100 * i + k), type: 'T', data: { i: 100 * i + k }, metadata: { k } })));
    const all = async (options: ReadAllOptions) => {
      const out = [];
      for await (const e of store.readAll(options)) out.push(e);
      return out;
    };
    const paged = async (options: ReadAllOptions) => {
      const pages = [];
      for await (const page of store.readAllPages(options)) pages.push([...page]);
      return pages;
    };
    for (const options of [{}, { metadata: false }, { only: (s: string) => s !== 's1', metadata: false }, { fromPosition: 450n, toPosition: 1020n }, { fromPosition: 100n, maxCount: 700 }] as ReadAllOptions[]) {
      const pages = await paged(options);
      expect(pages.every((p) => p.length <= 500)).toBe(true);
      expect(pages.flat()).toEqual(await all(options));
    }
    expect((await paged({})).map((p) => p.length)).toEqual([500, 500, 200]);
    const raw = new Database(file);
    raw.prepare("UPDATE events SET data = '{broken' WHERE position = 620").run();
    raw.close();
    const seen: bigint[] = [];
    const read = async () => {
      for await (const page of store.readAllPages({})) for (const e of page) seen.push(e.position);
    };
    await expect(read()).rejects.toThrow(/position 620 \(stream 's0', revision 219\) cannot be read/);
    expect(seen).toEqual(Array.from({ length: 619 }, (_, i) => BigInt(i + 1)));
    await store.dispose();
  });

  it("only: reads interleaved page by page each get their own streams; one abandoned without return() leaves nothing of it behind", async () => {
    const store = new SqliteEventStore(path.join(dir, 'only-abandoned.sqlite'));
    // 1,200 events a stream: a read of one stream takes three pages (500 rows a page).
    for (let i = 0; i < 3600; i += 100) await store.appendToStream(`s${(i / 100) % 3}`, Array.from({ length: 100 }, (_, k) => ({ id: id(10_000 + i + k), type: 'T', data: { i: i + k } })));
    const reader = (stream: string) => store.readAll({ only: (s) => s === stream })[Symbol.asyncIterator]();
    const [a, b] = [reader('s0'), reader('s1')];
    const streams = { a: new Set<string>(), b: new Set<string>() };
    const counts = { a: 0, b: 0 };
    for (let r; !(r = await a.next()).done; counts.a++) {
      streams.a.add(r.value.stream);
      const x = await b.next();
      if (!x.done) (counts.b++, streams.b.add(x.value.stream));
    }
    expect({ streams, counts }).toEqual({ streams: { a: new Set(['s0']), b: new Set(['s1']) }, counts: { a: 1200, b: 1200 } });
    // Abandoned after its first event: neither read to its end nor return()ed. Its test is then held by nothing.
    let test: WeakRef<(stream: string) => boolean> | undefined;
    await (async () => {
      const only = (stream: string) => stream === 's2';
      test = new WeakRef(only);
      const it = store.readAll({ only })[Symbol.asyncIterator]();
      expect((await it.next()).value).toMatchObject({ stream: 's2' });
    })();
    await new Promise((r) => setImmediate(r)); // a WeakRef holds its target until the end of the job that made it
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    expect(test!.deref()).toBeUndefined();
    await store.dispose();
  });

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
        await store.appendToStream('a', [{ id: id(1), type: 'T', data: {} }, { id: id(2), type: 'T', data: {} }]);
      await store.appendToStream('b', [{ id: id(3), type: 'T', data: {} }]);
      const positions: bigint[] = [];
      for await (const e of store.readAll()) positions.push(e.position);
      expect(positions).toEqual([1n, 2n, 3n]);
    } finally {
      await store.dispose();
    }
  });

  it('appends sent together (group commit): one refused append leaves the others written', async () => {
    const store = new SqliteEventStore(path.join(dir, 'group.sqlite'));
    try {
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

  it('a closed store reports itself unreachable, and calls fail with StoreUnavailableError', async () => {
    const store = new SqliteEventStore(path.join(dir, 'closed.sqlite'));
    await store.dispose();
    expect(await store.health()).toMatchObject({ kind: 'sqlite', reachable: false });
    await expect(store.streamRevision('x')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it.each(['thread', 'inline'] as const)('%s writer: an append made before dispose is answered before dispose returns, never lost silently: written and on disk, or refused', async (writer) => {
    const file = path.join(dir, `dispose-${writer}.sqlite`);
    const store = new SqliteEventStore(file, { writer });
    await store.appendToStream('d', [{ id: id(1), type: 'T', data: {} }]);
    let answer: unknown;
    const late = store.appendToStream('d', [{ id: id(2), type: 'T', data: {} }]).then(
      (r) => (answer = r),
      (e: unknown) => (answer = e),
    );
    await store.dispose();
    for (let i = 0; i < 10; i++) await Promise.resolve(); // a few microtasks for the answer's callbacks, no turn of the event loop
    expect(answer).toBeDefined();
    await late;
    const db = new Database(file, { readonly: true });
    const ids = db.prepare('SELECT event_id FROM events ORDER BY position').all();
    db.close();
    if (answer instanceof Error) {
      expect(answer).toBeInstanceOf(StoreUnavailableError);
      expect(ids).toEqual([{ event_id: id(1) }]);
    } else {
      expect(answer).toEqual({ written: true, nextExpectedRevision: 1n, position: 2n });
      expect(ids).toEqual([{ event_id: id(1) }, { event_id: id(2) }]);
    }
  });

  it.each`
    writer       | edit                                                                                 | made
    ${'thread'}  | ${"CAST(replace(data, 'CN=C' || char(65533), 'CN=C' || x'c1') AS BLOB)"}            | ${'bytes that are not UTF-8 (until 2026-11-27 read with U+FFFD, they matched a text holding one)'}
    ${'inline'}  | ${"CAST(replace(data, 'CN=C' || char(65533), 'CN=C' || x'c1') AS BLOB)"}            | ${'bytes that are not UTF-8 (until 2026-11-27 read with U+FFFD, they matched a text holding one)'}
    ${'thread'}  | ${"'{'"}                                                                             | ${'text that is not JSON (until 2026-11-27 a SyntaxError)'}
    ${'inline'}  | ${"'{'"}                                                                             | ${'text that is not JSON (until 2026-11-27 a SyntaxError)'}
  `('$writer writer: a retry of an event whose stored row an edit made $made is a conflict, not "already written"', async ({ writer, edit }: { writer: 'thread' | 'inline'; edit: string }) => {
    const file = path.join(dir, `edited-retry-${writer}-${edit.length}.sqlite`);
    const event = { id: id(1), type: 'T', data: { issuer: 'CN=C\uFFFD' } };
    const store = new SqliteEventStore(file, { writer });
    try {
      await store.appendToStream('s', [event]);
      const db = new Database(file);
      expect(db.prepare(`UPDATE events SET data = ${edit} WHERE event_id = ?`).run(id(1)).changes).toBe(1);
      db.close();
      await expect(store.appendToStream('s', [event])).rejects.toBeInstanceOf(EventIdConflictError);
    } finally {
      await store.dispose();
    }
  });

  it.each(['thread', 'inline'] as const)('%s writer: an append into a full store (SQLITE_FULL) is refused with StoreFullError, and appends are taken again once there is room', async (writer) => {
    const store = new SqliteEventStore(path.join(dir, `full-${writer}.sqlite`), { writer });
    try {
      await store.appendToStream('f', [{ id: id(1), type: 'T', data: {} }]);
      await fillUp(store);
      const err = await store.appendToStream('f', [{ id: id(2), type: 'T', data: { big } }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreFullError);
      expect((err as Error).message).toMatch(/^store out of space: /);
      expect(await store.headPosition()).toBe(1n);
      await store.setMaxPageCount();
      await expect(store.appendToStream('f', [{ id: id(2), type: 'T', data: { big } }])).resolves.toMatchObject({ written: true, position: 2n });
    } finally {
      await store.dispose();
    }
  });

  it('group commit meeting a full store refuses the whole group: none of it is written', async () => {
    const store = new SqliteEventStore(path.join(dir, 'full-group.sqlite'), { writer: 'inline' });
    try {
      await store.appendToStream('f', [{ id: id(1), type: 'T', data: {} }]);
      await fillUp(store);
      const refused = await Promise.allSettled([
        store.appendToStream('g', [{ id: id(3), type: 'T', data: {} }]),
        store.appendToStream('f', [{ id: id(2), type: 'T', data: { big } }]),
      ]);
      expect(refused.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : r.status))).toEqual(['StoreFullError', 'StoreFullError']);
      expect(await store.headPosition()).toBe(1n);
    } finally {
      await store.dispose();
    }
  });

  it('a writer thread that dies refuses what it had not answered (StoreUnavailableError), and the next append starts another', async () => {
    const store = new SqliteEventStore(path.join(dir, 'lost.sqlite'));
    try {
        await store.appendToStream('l', [{ id: id(1), type: 'T', data: {} }]);
      const thread = (store as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread;
      const pending = store.appendToStream('l', [{ id: id(2), type: 'T', data: {} }], { expectedRevision: 0n });
      await new Promise((resolve) => setImmediate(resolve));
      await thread.worker.terminate();
      const lost = await pending.catch((e: unknown) => e);
      // Either the thread wrote it before it was stopped, or the append is refused as unanswered.
      if (lost instanceof Error) expect(lost).toBeInstanceOf(StoreUnavailableError);
      const head = (await store.streamRevision('l'))!;
      await expect(store.appendToStream('l', [{ id: id(3), type: 'T', data: {} }], { expectedRevision: head })).resolves.toMatchObject({ written: true, nextExpectedRevision: head + 1n });
    } finally {
      await store.dispose();
    }
  });

  it('an append made in the turn the writer thread is lost, before it was handed over, is written and answered (until 2026-11-28 refused, then written all the same, and its answer found no waiter)', async () => {
    const store = new SqliteEventStore(path.join(dir, 'lost-turn.sqlite'));
    try {
      await Promise.all([store.appendToStream('s', [{ id: id(1), type: 'T', data: {} }]), store.appendToStream('t', [{ id: id(2), type: 'T', data: {} }])]); // the thread writes them
      const worker = (store as unknown as { thread: { worker: import('node:worker_threads').Worker } }).thread.worker;
      let made: Promise<unknown> | undefined;
      worker.prependListener('exit', () => (made = store.appendToStream('s', [{ id: id(3), type: 'T', data: {} }], { expectedRevision: 0n }).catch((e: unknown) => e))); // before the store hears of the loss
      await worker.terminate();
      await new Promise((resolve) => setImmediate(resolve));
      expect(await made).toEqual({ written: true, nextExpectedRevision: 1n, position: 3n });
      await expect(Promise.all([store.appendToStream('s', [{ id: id(4), type: 'T', data: {} }]), store.appendToStream('t', [{ id: id(5), type: 'T', data: {} }])])).resolves.toMatchObject([{ position: 4n }, { position: 5n }]); // another thread
    } finally {
      await store.dispose();
    }
  });

  it("reads of one turn share a snapshot, which another store of this process ends when it commits to the file", async () => {
    const file = path.join(dir, 'snapshot.sqlite');
    const reader = new SqliteEventStore(file);
    const writer = new SqliteEventStore(file, { writer: 'inline', groupCommit: false }); // its append settles in this turn
    try {
      expect(await reader.streamRevision('s')).toBeUndefined(); // the snapshot opens
      await writer.appendToStream('s', [{ id: id(1), type: 'T', data: {} }]);
      expect(await reader.streamRevision('s')).toBe(0n);
      expect(await reader.headPosition()).toBe(1n);
    } finally {
      await writer.dispose();
      await reader.dispose();
    }
  });

  it('a read that meets a damaged page fails saying the store is damaged and how far it read (every reader: the log, its pages, a stream), and the end of its snapshot does not take the process down', async () => {
    const file = path.join(dir, 'damaged.sqlite');
    await makeDamagedStore(file);
    const store = new SqliteEventStore(file);
    try {
      // until 2026-11-27 SQLite's error alone ("database disk image is malformed": SQLITE_CORRUPT), for every reader but verify and digest
      const drain = async (read: AsyncIterable<unknown>) => {
        for await (const _ of read) void _;
      };
      const damaged = (what: string) => new RegExp(`^the store's file is damaged: ${what} \\(SQLite: database disk image is malformed\\); sqlite3 <store> "PRAGMA integrity_check" names the damaged pages$`);
      await expect(drain(store.readAll())).rejects.toThrow(damaged('the log could not be read past position [1-9]\\d*'));
      await expect(drain(store.readAll())).rejects.toBeInstanceOf(StoreDamagedError);
      await expect(drain(store.readAllPages({ fromPosition: 2n }))).rejects.toThrow(damaged('the log could not be read past position [1-9]\\d*'));
      await expect(drain(store.readStream('d'))).rejects.toThrow(damaged("stream 'd' could not be read past revision \\d+"));
      await expect(drain(store.readAll({ direction: 'backwards' }))).rejects.toThrow(damaged('the log read backwards could not be read below position \\d+'));
      // The turn's read transaction ends on the next turn (setImmediate): its COMMIT failed there, uncaught, until 2026-11-27.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(await store.headPosition()).toBe(3000n);
    } finally {
      await store.dispose();
    }
  });

  it('readAllPages refuses stored with metadata false, as readAll does (until 2026-11-27, fourteenth session, ignored: no text given to a reader that asked for it)', async () => {
    const store = new SqliteEventStore(path.join(dir, 'lean-stored.sqlite'));
    try {
      await store.appendToStream('s', [{ id: id(1), type: 'T', data: {} }]);
      await expect(async () => {
        for await (const page of store.readAllPages({ stored: 'checked', metadata: false })) void page;
      }).rejects.toThrow(new InvalidStoreArgumentError('readAll: stored (the text of the data and the metadata, or that text checked) needs the metadata read: not with metadata false'));
    } finally {
      await store.dispose();
    }
  });

  it('a read that meets a damaged page names the last event before the damage, the same for every reader wherever its pages began, having given every event up to it (until 2026-11-27 the start of its page of 500: 1000 from the start, 1001 from position 2)', async () => {
    const file = path.join(dir, 'damaged-where.sqlite');
    await makeDamagedStore(file);
    const store = new SqliteEventStore(file);
    try {
      const whole = await reach(store.readAll());
      const last = whole.after!;
      expect(whole).toEqual({ first: 1n, last, count: Number(last), after: last });
      expect(last % 500n).not.toBe(0n); // not a page boundary
      expect(await reach(store.readAll({ fromPosition: 2n }))).toEqual({ first: 2n, last, count: Number(last) - 1, after: last });
      expect(await reach(store.readAllPages({ fromPosition: 777n }))).toEqual({ first: 777n, last, count: Number(last) - 776, after: last });
      expect(await reach(store.readAll({ fromPosition: last - 3n, maxCount: 700 }))).toEqual({ first: last - 3n, last, count: 4, after: last });
      expect(await reach(store.readStream('d'))).toEqual({ first: 1n, last, count: Number(last), after: last - 1n }); // revision = position - 1
      // Exactly there: the event at `last` reads alone, the next cannot, whichever way it is asked.
      expect(await reach(store.readAll({ fromPosition: last + 1n }))).toEqual({ first: undefined, last: undefined, count: 0, after: last });
      const one: bigint[] = [];
      for await (const e of store.readAll({ fromPosition: last, maxCount: 1 })) one.push(e.position);
      expect(one).toEqual([last]);
      // Backwards, the first event above the damage, from the end or from anywhere above it.
      const below = (await reach(store.readAll({ direction: 'backwards' }))).after!;
      expect(below).toBeGreaterThan(last + 1n);
      expect(await reach(store.readAll({ direction: 'backwards', fromPosition: 2000n }))).toEqual({ first: 2000n, last: below, count: Number(2000n - below) + 1, after: below });
    } finally {
      await store.dispose();
    }
  });

  it.each([
    ['a row SQLite gives from a damaged page without an error (nulls in NOT NULL columns) is damage, not an event, and no read goes past it (until 2026-11-27 given as one: "Cannot convert null to a BigInt", or stepped over)', 50, 256, 350n],
    ['a damaged cell SQLite steps over when a read asks for one row is not stepped over: no read names a later event (until 2026-11-27 a row-at-a-time re-read did, with no error)', 300, 4000, 2100n],
  ])('%s', async (_, leaf, pointer, last) => {
    const file = path.join(dir, `damaged-cell-${leaf}.sqlite`);
    await makeDamagedStore(file, undefined, { leaf, pointer });
    const store = new SqliteEventStore(file);
    try {
      expect(await reach(store.readAll())).toEqual({ first: 1n, last, count: Number(last), after: last });
      expect(await reach(store.readAll({ fromPosition: 2n, metadata: false }))).toEqual({ first: 2n, last, count: Number(last) - 1, after: last });
      expect(await reach(store.readAllPages({ fromPosition: last - 20n, stored: 'checked' }))).toEqual({ first: last - 20n, last, count: 21, after: last });
      expect(await reach(store.readAll({ fromPosition: last - 9n, maxCount: 11 }))).toEqual({ first: last - 9n, last, count: 10, after: last });
      expect(await reach(store.readAll({ fromPosition: last - 3n, maxCount: 700 }))).toEqual({ first: last - 3n, last, count: 4, after: last });
      expect(await reach(store.readStream('d'))).toEqual({ first: 1n, last, count: Number(last), after: last - 1n }); // revision = position - 1
      // Some streams only (`only`): the same event, whatever its stream, where none of its own was read (until 2026-11-27, sixteenth session,
      // the last of its own streams' events, "from its start" here), and a row that is no event's is damage there too (until then left out
      // by ledger_only: the read went on past it with no error).
      expect(await reach(store.readAll({ only: (s) => s === 'd' }))).toEqual({ first: 1n, last, count: Number(last), after: last });
      expect(await reach(store.readAllPages({ only: () => false }))).toEqual({ first: undefined, last: undefined, count: 0, after: last });
      expect(await reach(store.readAll({ only: () => false, fromPosition: last - 20n, metadata: false }))).toEqual({ first: undefined, last: undefined, count: 0, after: last });
      // A read that begins at the damaged row itself, whose seek SQLite lands past it as past a row deleted, names it too
      // (until 2026-11-27, sixteenth session, it began at the next event with no error: a live projector whose checkpoint was the last
      // event before the damage, its subscription reading from the next, named the damaged event missing, a false tamper alarm).
      const none = { first: undefined, last: undefined, count: 0, after: last };
      const live = store.subscribeToAll({ fromPosition: last });
      const given = await live[Symbol.asyncIterator]().next().then(({ value }) => value?.position, (err: unknown) => err);
      await live.unsubscribe();
      expect(given).toBeInstanceOf(StoreDamagedError);
      expect((given as StoreDamagedError).after).toBe(last);
      expect(await reach(store.readAll({ fromPosition: last + 1n }))).toEqual(none);
      expect(await reach(store.readAllPages({ fromPosition: last + 1n, metadata: false }))).toEqual(none);
      expect(await reach(store.readAll({ fromPosition: last + 1n, toPosition: 2900n }))).toEqual(none);
      expect(await reach(store.readAllPages({ fromPosition: last + 1n, toPosition: 2900n, only: (s) => s === 'd' }))).toEqual(none);
    } finally {
      await store.dispose();
    }
  });

  it('a read bounded by toPosition that meets a damaged cell whose position SQLite reads as past the bound fails naming the event before it, with `only` too (until 2026-11-27 the range scan stopped there and the read ended with no error: what-if shares, a bounded rebuild)', async () => {
    const file = path.join(dir, 'damaged-bounded.sqlite');
    // leaf 50's first cell pointer sent to the page's unused part, where a cell now reads: payload 0 bytes, rowid 2999 (varint 0x97 0x37)
    await makeDamagedStore(file, undefined, { leaf: 50, pointer: 256, bytes: [0x00, 0x97, 0x37] });
    const store = new SqliteEventStore(file);
    try {
      const to = { toPosition: 2900n };
      await expect(reach(store.readAll(to))).resolves.toEqual({ first: 1n, last: 350n, count: 350, after: 350n });
      await expect(reach(store.readAll({ ...to, metadata: false, fromPosition: 300n }))).resolves.toEqual({ first: 300n, last: 350n, count: 51, after: 350n });
      await expect(reach(store.readAllPages({ ...to, only: (s) => s === 'd' }))).resolves.toEqual({ first: 1n, last: 350n, count: 350, after: 350n });
      await expect(reach(store.readAllPages({ ...to, only: (s) => s === 'd', fromPosition: 351n }))).resolves.toEqual({ first: undefined, last: undefined, count: 0, after: 350n });
      const none = async () => {
        for await (const e of store.readAll({ ...to, only: () => false })) void e;
      };
      // None of its streams' events read: the scan's end, where ledger_only last looked (until 2026-11-27, sixteenth session, "from its start").
      await expect(none()).rejects.toThrow("the store's file is damaged: the log could not be read past position 350 (SQLite's scan of the log ended at position 350 with no error, short of the read's toPosition 2900, but the store holds an event at position 2900)");
      // Bounded at the damaged cell's own event, where the table's MAX lands before it too: the table's index holds it
      // (until 2026-11-27, sixteenth session, the read ended at 350 with no error).
      await expect(reach(store.readAll({ toPosition: 351n }))).resolves.toEqual({ first: 1n, last: 350n, count: 350, after: 350n });
      await expect(reach(store.readAllPages({ toPosition: 351n, fromPosition: 340n, only: (s) => s === 'd' }))).resolves.toEqual({ first: 340n, last: 350n, count: 11, after: 350n });
      // Bounded short of the damaged leaf, or the events deleted past the scan's end (tampering, which verify names missing): the read's end, no error.
      await expect(reach(store.readAll({ toPosition: 300n }))).rejects.toThrow('read to its end: 300 events, the last 300');
    } finally {
      await store.dispose();
    }
    const db = new Database(file);
    try {
      db.prepare('DELETE FROM events WHERE position > 2000 OR position = 1500').run();
    } finally {
      db.close();
    }
    const deleted = new SqliteEventStore(file);
    try {
      // A read that begins at a row deleted is no damage either: the scan began past it, and the table's index holds no row there.
      await expect(reach(deleted.readAll({ fromPosition: 1500n, toPosition: 2900n }))).rejects.toThrow('read to its end: 500 events, the last 2000');
      await expect(reach(deleted.readAllPages({ fromPosition: 1500n, only: (s) => s === 'd' }))).rejects.toThrow('read to its end: 500 events, the last 2000');
    } finally {
      await deleted.dispose();
    }
  });

  it('a cell the table lost within a read (its index still holds it) fails the read naming the event before it, wherever its pages begin, with `only` too; rows deleted within a read are read past, asking the index no more than once per head where the table and the index count as many rows (until 2026-11-27, sixteenth session, only a gap where a scan began or ended was asked about: 2,999 events read, 707 taken as deleted)', async () => {
    const file = path.join(dir, 'damaged-lost-cell.sqlite');
    await makeDamagedStore(file, undefined, { leaf: 100, lastCellLost: true }); // position 707 lost
    const store = new SqliteEventStore(file);
    const at706 = { first: 1n, last: 706n, count: 706, after: 706n };
    try {
      await expect(reach(store.readAll())).resolves.toEqual(at706);
      for (const fromPosition of [206n, 207n, 208n]) {
        await expect(reach(store.readAllPages({ fromPosition }))).resolves.toEqual({ first: fromPosition, last: 706n, count: Number(707n - fromPosition), after: 706n });
        await expect(reach(store.readAll({ fromPosition, toPosition: 2000n, metadata: false }))).resolves.toEqual({ first: fromPosition, last: 706n, count: Number(707n - fromPosition), after: 706n });
      }
      await expect(reach(store.readAllPages({ only: (s) => s === 'd' }))).resolves.toEqual(at706);
      await expect(reach(store.readAll({ fromPosition: 700n, only: () => false }))).resolves.toEqual({ first: undefined, last: undefined, count: 0, after: 706n });
    } finally {
      await store.dispose();
    }
    // REINDEX: the index now as the table is: 707 no event's, a deleted row
    edit(file, 'REINDEX', 'DELETE FROM events WHERE position IN (100, 900, 901, 1402) OR position BETWEEN 1200 AND 1300');
    const deleted = new SqliteEventStore(file);
    try {
      const asked = indexAsks(deleted);
      for (let round = 0; round < 2; round++) {
        await expect(reach(deleted.readAll())).rejects.toThrow('read to its end: 2894 events, the last 3000');
        await expect(reach(deleted.readAllPages({ only: (s) => s === 'd' }))).rejects.toThrow('read to its end: 2894 events, the last 3000');
      }
      // The table and its index count as many rows: every gap is a deletion, none asked about (until 2026-11-27, sixteenth session, each once).
      expect(asked).toEqual(['counted']);
      // A bounded page that meets no row is not asked about either, the counts alike (until the sixteenth session's final read, a scan of the index at each such read; before its review, two).
      asked.length = 0;
      await expect(reach(deleted.readAll({ fromPosition: 1200n, toPosition: 1300n }))).rejects.toThrow('read to its end: 0 events');
      await expect(reach(deleted.readAllPages({ fromPosition: 1200n, toPosition: 1300n, only: (s) => s === 'd' }))).rejects.toThrow('read to its end: 0 events');
      await expect(reach(deleted.readAll({ fromPosition: 1100n, toPosition: 1250n }))).rejects.toThrow('read to its end: 100 events, the last 1199');
      expect(asked).toEqual([]);
    } finally {
      await deleted.dispose();
    }
  });

  it("the table and its index are compared by an integer sum that does not overflow where the positions' own sum would (past 2^63: here edited positions; at ~4 x 10^9 events a real log's): they agree (until the sixteenth session's final read, SQLite's \"integer overflow\")", async () => {
    const file = path.join(dir, 'big-positions.sqlite');
    const made = new SqliteEventStore(file, { writer: 'inline' });
    try {
      await made.appendToStream('d', [1, 2, 3].map((i) => ({ id: id(i), type: 'T', data: {} })));
    } finally {
      await made.dispose();
    }
    edit(file, 'UPDATE events SET position = position + 4611686018427387904 WHERE position > 1');
    const store = new SqliteEventStore(file);
    try {
      expect(store.indexDisagreement()).toBeUndefined();
    } finally {
      await store.dispose();
    }
  });

  it('a store with many single rows deleted (2,000, more than the 1,024 gaps a store notes) is read twice asking its index once, not per gap (until 2026-11-27, sixteenth session, a scan of the index for each gap not noted: 4,928 over these four reads)', async () => {
    const file = path.join(dir, 'many-deleted.sqlite');
    const made = new SqliteEventStore(file, { writer: 'inline' });
    try {
      for (let b = 0; b < 10; b++) await made.appendToStream('d', Array.from({ length: 500 }, (_, i) => ({ id: id(b * 500 + i + 1), type: 'T', data: {} })));
    } finally {
      await made.dispose();
    }
    edit(file, 'DELETE FROM events WHERE position <= 4000 AND position % 2 = 0');
    const store = new SqliteEventStore(file);
    try {
      const asked = indexAsks(store);
      for (let round = 0; round < 2; round++) {
        await expect(reach(store.readAll())).rejects.toThrow('read to its end: 3000 events, the last 5000');
        await expect(reach(store.readAllPages({ only: (s) => s === 'd' }))).rejects.toThrow('read to its end: 3000 events, the last 5000');
      }
      expect(asked).toEqual(['counted']);
      // An append past the head counted: a gap above it counts again.
      await store.appendToStream('d', [{ id: id(5001), type: 'T', data: {} }, { id: id(5002), type: 'T', data: {} }, { id: id(5003), type: 'T', data: {} }]);
      edit(file, 'DELETE FROM events WHERE position = 5002');
      await new Promise((resolve) => setImmediate(resolve));
      await expect(reach(store.readAll())).rejects.toThrow('read to its end: 3002 events, the last 5003');
      expect(asked).toEqual(['counted', 'counted']);
    } finally {
      await store.dispose();
    }
  });

  it("a damaged store (a cell lost: the table and its index count unequal) with more gaps deleted than the 1,024 a store notes is read twice listing the index's positions the table lacks once, not asking the index per gap (until 2026-11-28, seventeenth session, a scan of the index for each gap, and again at each read past the 1,024 noted: ~14 s of CPU for a first read of 200,000 events with 2,000 rows deleted, ~6.5 s each after)", async () => {
    const file = path.join(dir, 'many-deleted-lost-cell.sqlite');
    await makeDamagedStore(file, undefined, { leaf: -1, lastCellLost: true }); // position 3000 lost: no gap a read meets
    edit(file, 'DELETE FROM events WHERE position <= 2400 AND position % 2 = 0'); // 1,200 single rows
    const store = new SqliteEventStore(file);
    try {
      const asked = indexAsks(store);
      for (let round = 0; round < 2; round++) {
        await expect(reach(store.readAll())).rejects.toThrow('read to its end: 1799 events, the last 2999');
        await expect(reach(store.readAllPages({ only: (s) => s === 'd' }))).rejects.toThrow('read to its end: 1799 events, the last 2999');
      }
      expect(asked).toEqual(['counted', 'listed']);
      // The lost cell is named where it is, as a read meeting it would name it.
      expect(store.indexDisagreement()).toEqual(expect.objectContaining({ after: 2999n, message: expect.stringContaining('the index holding an event at position 3000 past the table\'s last, 2999') }));
    } finally {
      await store.dispose();
    }
    // The same with the lost cell within the log: each read fails there, having read past the gaps before it, none asked of the index.
    const within = path.join(dir, 'many-deleted-lost-within.sqlite');
    await makeDamagedStore(within, undefined, { leaf: 350, lastCellLost: true }); // position 2457 lost
    edit(within, 'DELETE FROM events WHERE position <= 2400 AND position % 2 = 0');
    const damaged = new SqliteEventStore(within);
    try {
      const asked = indexAsks(damaged);
      for (let round = 0; round < 2; round++) {
        let read = 0;
        const reading = (async () => {
          for await (const e of damaged.readAll()) read = Number(e.position);
        })();
        await expect(reading).rejects.toEqual(expect.objectContaining({ name: 'StoreDamagedError', after: 2456n }));
        expect(read).toBe(2456);
      }
      expect(asked).toEqual(['counted', 'listed']);
    } finally {
      await damaged.dispose();
    }
  });

  it("counts the table against its index once a head, for indexDisagreement asked again (a digest asked of the API past the head, each time) and for the gaps of reads alike (until 2026-11-28, seventeenth session, each indexDisagreement counted both and listed the lost positions again: ~60 ms at 200,000 events, on the API's event loop)", async () => {
    const file = path.join(dir, 'lost-cell-asked-twice.sqlite');
    await makeDamagedStore(file, undefined, { leaf: -1, lastCellLost: true }); // position 3000 lost: the head reads 2999
    const store = new SqliteEventStore(file);
    try {
      const asked = indexAsks(store);
      for (let i = 0; i < 2; i++) expect(store.indexDisagreement()).toEqual(expect.objectContaining({ after: 2999n, message: expect.stringContaining("the index holding an event at position 3000 past the table's last, 2999") }));
      await expect(reach(store.readAll())).rejects.toThrow('read to its end: 2999 events, the last 2999');
      expect(asked).toEqual(['counted', 'listed']);
    } finally {
      await store.dispose();
    }
  });

  it("a cell the index lost, not the table (no position the index holds and the table lacks), is damage named at no position: not 'could not be read past <the head>', as if a read had stopped there (until 2026-11-28, seventeenth session)", async () => {
    const file = path.join(dir, 'index-lost-cell.sqlite');
    const made = new SqliteEventStore(file, { writer: 'inline' });
    try {
      await made.appendToStream('d', Array.from({ length: 1000 }, (_, i) => ({ id: id(i + 1), type: 'T', data: {} })));
    } finally {
      await made.dispose();
    }
    loseIndexCell(file); // its first leaf's count of cells one less
    const store = new SqliteEventStore(file);
    try {
      const damage = store.indexDisagreement()!;
      expect(damage).toBeInstanceOf(StoreDamagedError);
      expect(damage.after).toBeUndefined();
      expect(damage.message).toContain("the store's file is damaged: the log's table and its index do not hold the same events, at no position known (the log's table holds 1000 events and its index on (stream, revision) 999, or their positions differ: a cell lost");
      expect(damage.message).not.toContain('could not be read');
    } finally {
      await store.dispose();
    }
  });

  it("a damaged interior page of the events' table or its index fails the store's lookups outside the pager saying the store is damaged and what could not be read (until 2026-11-27 SQLite's error alone: the CLI's 'unexpected error: database disk image is malformed')", async () => {
    const file = path.join(dir, 'damaged-interior.sqlite');
    await makeDamagedStore(file, undefined, { root: 'events' });
    const store = new SqliteEventStore(file);
    try {
      const damaged = (what: string) => new StoreDamagedError(undefined, 'database disk image is malformed', { what });
      await expect(store.headPosition()).rejects.toThrow(damaged("the log's head position could not be read"));
      expect(() => store.eventIdAt(5n)).toThrow(damaged('the event at position 5 could not be looked up'));
      expect(() => store.changesSince(undefined, 10)).toThrow(damaged("the log's changes could not be read"));
    } finally {
      await store.dispose();
    }
    const index = path.join(dir, 'damaged-index.sqlite');
    await makeDamagedStore(index, undefined, { root: 'sqlite_autoindex_events_1' }); // the index on (stream, revision)
    const byStream = new SqliteEventStore(index);
    try {
      await expect(byStream.streamRevision('d')).rejects.toThrow(new StoreDamagedError(undefined, 'database disk image is malformed', { what: "stream 'd''s last revision could not be read" }));
    } finally {
      await byStream.dispose();
    }
  });

  it("another process's commit is read from the next turn of the event loop on", async () => {
    const file = path.join(dir, 'foreign.sqlite');
    const store = new SqliteEventStore(file);
    const foreign = new Database(file);
    try {
      expect(await store.headPosition()).toBeUndefined();
      foreign.prepare("INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES ('f', 0, ?, 'T', '{}', '{}', '')").run(id(1));
      await new Promise((resolve) => setImmediate(resolve));
      expect(await store.headPosition()).toBe(1n);
      const read: string[] = [];
      for await (const e of store.readStream('f')) read.push(e.id);
      expect(read).toEqual([id(1)]);
    } finally {
      foreign.close();
      await store.dispose();
    }
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

/** Runs `statements` on the store's file, as an editor of it outside the store would. */
function edit(file: string, ...statements: string[]): void {
  const db = new Database(file);
  try {
    for (const sql of statements) db.prepare(sql).run();
  } finally {
    db.close();
  }
}

/** The questions `store` asks its table's index on (stream, revision) from now on: the range of each gap asked about ('start,end'), 'counted' (its rows counted against the table's), or 'listed' (the positions it holds and the table lacks). */
function indexAsks(store: SqliteEventStore): string[] {
  const asked: string[] = [];
  const db = (store as unknown as { db: Database.Database }).db;
  const prepare = db.prepare.bind(db);
  jest.spyOn(db, 'prepare').mockImplementation((sql: string) => {
    const stmt = prepare(sql);
    if (!sql.includes('INDEXED BY')) return stmt;
    const get = stmt.get.bind(stmt);
    const all = stmt.all.bind(stmt);
    return Object.assign(stmt, { get: (...args: unknown[]) => (asked.push(args.length ? String(args) : 'counted'), get(...args)), all: (...args: unknown[]) => (asked.push('listed'), all(...args)) });
  });
  return asked;
}

/** The events a read of a damaged store gave (each one next to the one before), and the position (a stream's revision) its StoreDamagedError named. */
async function reach(read: AsyncIterable<{ position: bigint } | Iterable<{ position: bigint }>>) {
  const given: bigint[] = [];
  try {
    for await (const x of read) for (const e of Symbol.iterator in x ? x : [x]) given.push(e.position);
  } catch (err) {
    expect(err).toBeInstanceOf(StoreDamagedError);
    expect(given.every((p, i) => i === 0 || p === given[i - 1] + (given[1] < given[0] ? -1n : 1n))).toBe(true);
    return { first: given[0], last: given.at(-1), count: given.length, after: (err as StoreDamagedError).after };
  }
  throw new Error(`read to its end: ${given.length} events, the last ${given.at(-1)}`);
}
