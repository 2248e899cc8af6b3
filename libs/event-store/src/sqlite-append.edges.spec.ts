import Database from 'better-sqlite3';
import { AppendTooLargeError, EventIdConflictError, InvalidStoreArgumentError, PartialIdempotencyError, UnreadableEventError, WrongExpectedRevisionError } from './errors';
import { MAX_APPEND_BYTES, type NewEvent } from './event-store.port';
import { SqliteEventStore } from './sqlite-event-store';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The SQLite store's append rules at their edges, with and without group commit. */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-edges-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const ev = (n: number, extra: Partial<NewEvent> = {}): NewEvent => ({ id: id(n), type: 'T', data: { n }, ...extra });

/** Each writer (the writer thread, inline), with group commit and without. */
const WRITERS = [
  ['writer thread, group commit', 'thread', true],
  ['writer thread, one transaction per append', 'thread', false],
  ['inline writer, group commit', 'inline', true],
  ['inline writer, one transaction per append', 'inline', false],
] as const;

describe.each(WRITERS)('SQLite appends at the edges, %s', (_name, writer, groupCommit) => {
  let store: SqliteEventStore;
  beforeEach(() => {
    // Inline, in memory: the rules, not durability (the contract suite covers files and two
    // connections); the writer thread needs a file, which its connection and this one share.
    store = new SqliteEventStore(writer === 'inline' ? ':memory:' : path.join(dir, `edges-${++n}.sqlite`), { writer, groupCommit });
  });
  afterEach(async () => {
    await store.dispose();
  });
  const streamIds = async (s: string) => {
    const out: string[] = [];
    for await (const e of store.readStream(s)) out.push(e.id);
    return out;
  };

  it('a retry after the stream has moved on writes nothing, answers the stream head and the position of the batch', async () => {
    const first = await store.appendToStream('s', [ev(1), ev(2)]);
    await store.appendToStream('other', [ev(3)]);
    await store.appendToStream('s', [ev(4)]);
    const again = await store.appendToStream('s', [ev(1), ev(2)], { expectedRevision: 'no_stream' });
    expect(again).toEqual({ written: false, nextExpectedRevision: 2n, position: first.position });
    expect(first).toEqual({ written: true, nextExpectedRevision: 1n, position: 2n });
  });

  it('event ids are kept in lower case, and a retry in upper case is the same append', async () => {
    const upper = id(1).toUpperCase().replace('0000-4000', 'ABCD-4000');
    await store.appendToStream('s', [ev(1, { id: upper })]);
    expect(await streamIds('s')).toEqual([upper.toLowerCase()]);
    expect((await store.appendToStream('s', [ev(1, { id: upper.toLowerCase() })])).written).toBe(false);
  });

  it('an id conflict names only the ids whose content differs, in batch order', async () => {
    await store.appendToStream('s', [ev(1), ev(2), ev(3)]);
    const err = await store.appendToStream('s', [ev(1, { data: { n: 9 } }), ev(2), ev(3, { type: 'U' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventIdConflictError);
    expect(err).toMatchObject({ stream: 's', conflictingIds: [id(1), id(3)] });
    expect((err as Error).message).toBe(`Append to stream 's' re-uses 2 event id(s) already written with other content (${id(1)}, ${id(3)}): nothing was written`);
  });

  it('a partly written batch names the ids already written', async () => {
    await store.appendToStream('s', [ev(1), ev(2)]);
    const err = await store.appendToStream('s', [ev(5), ev(2), ev(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialIdempotencyError);
    expect(err).toMatchObject({ stream: 's', duplicateIds: [id(2), id(1)] });
    expect(await streamIds('s')).toEqual([id(1), id(2)]);
  });

  it('the same ids in another stream are another append', async () => {
    await store.appendToStream('s', [ev(1)]);
    expect(await store.appendToStream('t', [ev(1)])).toMatchObject({ written: true, nextExpectedRevision: 0n, position: 2n });
  });

  it('an append of exactly the limit is taken; one byte more is refused', async () => {
    // bytes = JSON of data + JSON of metadata ('{}') + type ('T')
    const fill = (n: number) => [ev(1, { data: 'x'.repeat(n) })];
    const exact = MAX_APPEND_BYTES - 2 - 2 - 1;
    const err = await store.appendToStream('big', fill(exact + 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppendTooLargeError);
    expect(err).toMatchObject({ stream: 'big', bytes: MAX_APPEND_BYTES + 1, limit: MAX_APPEND_BYTES });
    expect((await store.appendToStream('big', fill(exact))).written).toBe(true);
  });

  it('an append counts bytes, not characters', async () => {
    const err = await store.appendToStream('big', [ev(1, { data: 'é'.repeat(MAX_APPEND_BYTES / 2) })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppendTooLargeError);
    // 3 bytes a character: one character more than the limit holds is refused, with its bytes counted.
    const fill = (n: number) => [ev(1, { data: '€'.repeat(n) })];
    const most = Math.floor((MAX_APPEND_BYTES - 2 - 2 - 1) / 3);
    expect(await store.appendToStream('big', fill(most + 1)).catch((e: unknown) => e)).toMatchObject({ bytes: 3 * (most + 1) + 5, limit: MAX_APPEND_BYTES });
    expect((await store.appendToStream('big', fill(most))).written).toBe(true);
  });

  it('an append whose characters could not reach the limit in bytes is not counted byte by byte', async () => {
    const byteLength = jest.spyOn(Buffer, 'byteLength');
    try {
      expect((await store.appendToStream('s', [ev(1, { data: 'é'.repeat(Math.floor(MAX_APPEND_BYTES / 3) - 5) })])).written).toBe(true);
      expect(byteLength).not.toHaveBeenCalled();
    } finally {
      byteLength.mockRestore();
    }
  });

  it.each`
    case                     | stream | events                              | message
    ${'no event'}            | ${'s'} | ${[]}                               | ${"append to 's' holds no event"}
    ${'an event with no type'} | ${'s'} | ${[ev(1), ev(2, { type: '' })]}   | ${"event 1 of the append to 's' has no type"}
    ${'an id that is no UUID'} | ${'s'} | ${[ev(1), ev(2, { id: 'x' })]}    | ${"event 1 of the append to 's': id 'x' is not a UUID"}
  `('$case is refused before anything is written', async ({ stream, events, message }) => {
    const err = await store.appendToStream(stream, events).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStoreArgumentError);
    expect((err as Error).message).toBe(message);
    expect(await store.headPosition()).toBeUndefined();
  });

  it('copies of one append sent at once: exactly one writes, the others say they did not', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => store.appendToStream('s', [ev(1), ev(2)], { expectedRevision: 'no_stream' })));
    expect(results.map((r) => r.written).sort()).toEqual([false, false, false, false, true]);
    expect(new Set(results.map((r) => `${r.nextExpectedRevision}@${r.position}`))).toEqual(new Set(['1@2']));
    expect(await streamIds('s')).toEqual([id(1), id(2)]);
  });

  it.each`
    expectedRevision     | existing | accepted
    ${'any'}             | ${false} | ${true}
    ${'any'}             | ${true}  | ${true}
    ${'no_stream'}       | ${false} | ${true}
    ${'no_stream'}       | ${true}  | ${false}
    ${'stream_exists'}   | ${false} | ${false}
    ${'stream_exists'}   | ${true}  | ${true}
    ${0n}                | ${false} | ${false}
    ${0n}                | ${true}  | ${true}
    ${1n}                | ${true}  | ${false}
  `('expected revision $expectedRevision on a stream that exists: $existing, accepted: $accepted', async ({ expectedRevision, existing, accepted }) => {
    if (existing) await store.appendToStream('s', [ev(1)]);
    const r = store.appendToStream('s', [ev(2), ev(3)], { expectedRevision });
    if (accepted) {
      await expect(r).resolves.toEqual({ written: true, nextExpectedRevision: existing ? 2n : 1n, position: existing ? 3n : 2n });
    } else {
      await expect(r).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', stream: 's', expected: expectedRevision, actual: existing ? 0n : 'no_stream' });
      expect(await store.streamRevision('s')).toBe(existing ? 0n : undefined);
    }
  });

  it('an exact expected revision is checked against the head, not the count of events', async () => {
    await store.appendToStream('s', [ev(1), ev(2), ev(3)]);
    await expect(store.appendToStream('s', [ev(4)], { expectedRevision: 3n })).rejects.toMatchObject({ expected: 3n, actual: 2n });
    await expect(store.appendToStream('s', [ev(4)], { expectedRevision: 2n })).resolves.toMatchObject({ nextExpectedRevision: 3n });
    const wrong = await store.appendToStream('s', [ev(5)], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(WrongExpectedRevisionError);
    expect((wrong as Error).message).toBe("Wrong expected revision on stream 's': expected no_stream, actual 3");
  });
});

describe.each(WRITERS)('an append to a stream whose last revision (the highest, as SQLite sorts them) was edited to no integer, %s', (_name, writer, groupCommit) => {
  it.each`
    edit     | stored    | kind
    ${"'abc'"} | ${"'abc'"} | ${'text'}
    ${'1.5'} | ${'1.5'}  | ${'a real number'}
    ${"'0x10'"} | ${"'0x10'"} | ${'text'}
    ${"''"}  | ${"''"}   | ${'text'}
  `("$edit: refused as its reads refuse it (UnreadableEventError naming the position), and nothing written; until 2026-11-27, fifteenth session, the writer's raw SyntaxError or RangeError, or for a text BigInt reads ('0x10', '') a silent append after it (revision 17, or 1)", async ({ edit, stored, kind }) => {
    const file = path.join(dir, `edited-revision-${++n}.sqlite`);
    const store = new SqliteEventStore(file, { writer, groupCommit });
    try {
      await store.appendToStream('r', [ev(1), ev(2), ev(3)]);
      const raw = new Database(file);
      try {
        expect(raw.prepare(`UPDATE events SET revision = ${edit} WHERE position = 3`).run().changes).toBe(1);
        const unreadable = { stream: 'r', revision: stored, position: 3n, reason: `its stored revision is not an integer (${kind})` };
        await expect(store.streamRevision('r')).rejects.toMatchObject(unreadable);
        for (const expectedRevision of ['any', 'stream_exists', 2n] as const) {
          const refused = await store.appendToStream('r', [ev(4)], { expectedRevision }).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(UnreadableEventError);
          expect(refused).toMatchObject(unreadable);
        }
        // A retry of the append already written reads the head too.
        await expect(store.appendToStream('r', [ev(1), ev(2), ev(3)], { expectedRevision: 'no_stream' })).rejects.toMatchObject(unreadable);
        expect(raw.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 3 });
        // Another stream's append is not held up by it.
        await expect(store.appendToStream('s', [ev(5)])).resolves.toEqual({ written: true, nextExpectedRevision: 0n, position: 4n });
      } finally {
        raw.close();
      }
    } finally {
      await store.dispose();
    }
  });
});
