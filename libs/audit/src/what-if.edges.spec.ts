import { decodeDecision, getRuleSet, type DecisionRecordV3, type RuleSet } from '@ledger/domain';
import * as shapes from '../../domain/src/decision-shapes';
import { SqliteEventStore, UnreadableEventError, type EventStore, type ReadAllOptions, type RecordedEvent } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { foldsOf, inShares, scanShare, threadsFor, whatIf, type Scan, type ShareFailure, type WhatIfPage } from './what-if';

/**
 * What-if in shares at its edges, on a small estate in memory built for each case (what-if-shares.spec.ts
 * compares shares with one pass on a larger estate on a file, and on worker threads).
 */

describe('the threads a what-if runs on: at most those asked for, one per eventsPerThread events it may read', () => {
  it.each`
    page                                        | threads | why
    ${{}}                                       | ${3}    | ${'300 events: three threads of 100'}
    ${{ fromPosition: 101n }}                   | ${2}    | ${'200 events from 101 to the head'}
    ${{ fromPosition: 100n }}                   | ${3}    | ${'one event more: a third thread'}
    ${{ fromPosition: 101n, toPosition: 300n }} | ${2}    | ${'a window ending at the head'}
    ${{ toPosition: 1000n }}                    | ${3}    | ${'a window past the head reads up to the head only'}
    ${{ fromPosition: 301n }}                   | ${1}    | ${'a window past the head: nothing to read, still one thread'}
    ${{ maxEvents: 101 }}                       | ${2}    | ${'a count of events'}
    ${{ maxEvents: 0 }}                         | ${1}    | ${'no event at all'}
  `('a log of 300 events, 100 a thread, 4 asked for, $page: $threads ($why)', ({ page, threads }) => {
    expect(threadsFor(4, 300n, page, 100)).toBe(threads);
  });

  it('a fraction of a thread asked for is not a thread', () => {
    expect(threadsFor(2.5, 300n, {}, 100)).toBe(2);
    expect(threadsFor(1.5, 300n, {}, 100)).toBe(1);
  });
});

describe('windows at their edges: the shares report what one pass reports', () => {
  let store: SqliteEventStore;
  let head: bigint;
  beforeEach(async () => {
    // In memory: the windows are the point, not durability (and these run once per mutant).
    store = new SqliteEventStore(':memory:');
    await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 8, wrongNoShare: 0.5, seed: 5 });
    head = (await store.headPosition())!;
  });
  afterEach(() => store.dispose());

  const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  const inThree = (ruleSet: RuleSet | undefined, page: WhatIfPage) =>
    inShares(store, { store: { kind: 'sqlite', path: ':memory:' }, ruleSet, filter: {}, page, through: head }, 3, undefined, (share, marked) => scanShare(store, marked, share));

  it('a count of events that is no limit, a fraction, none or less; a window that starts before the log, ends before it starts, at or past the head, or reaches past it', async () => {
    expect(head).toBeGreaterThan(40n);
    const pages: WhatIfPage[] = [
      { maxEvents: Infinity },
      { maxEvents: 2.5 },
      { maxEvents: 0 },
      { maxEvents: -3 },
      { fromPosition: 0n, maxEvents: 3 },
      { fromPosition: 10n, toPosition: 9n },
      { fromPosition: 10n, toPosition: 5n },
      { fromPosition: 10n, toPosition: 10n },
      { toPosition: head },
      { toPosition: head + 5n },
      { fromPosition: head - 3n, maxEvents: 10 },
      { toPosition: head - 1n, maxEvents: 1000 },
      { fromPosition: head },
      { fromPosition: head + 1n },
      { fromPosition: 5n, toPosition: 20n, maxEvents: 7 },
      { fromPosition: 5n, toPosition: 8n, maxEvents: 7 },
    ];
    for (const page of pages) {
      for (const ruleSet of [undefined, getRuleSet('ownership-only')]) {
        const one = json(await whatIf(store, ruleSet, {}, page));
        expect({ page: json(page), report: json(await inThree(ruleSet, page)) }).toEqual({ page: json(page), report: one });
      }
    }
  });
});

describe('a store that is not SQLite (read event by event, not a page at a time)', () => {
  it('gives the report of the same log on SQLite, windows and a failure included', async () => {
    const store = new SqliteEventStore(':memory:');
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 8, wrongNoShare: 0.5, seed: 5 });
      // Only what a what-if calls, through an object that is not a SqliteEventStore (as EventStoreDB's adapter is not).
      const other = { kind: 'esdb', readAll: (o) => store.readAll(o), readStream: (s, o) => store.readStream(s, o), headPosition: () => store.headPosition() } as Pick<EventStore, 'kind' | 'readAll' | 'readStream' | 'headPosition'> as EventStore;
      const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
      for (const ruleSet of [undefined, getRuleSet('ownership-only')])
        for (const page of [{}, { fromPosition: 5n, maxEvents: 30, offset: 1, limit: 2 }] as WhatIfPage[])
          for (const maxFolds of [10_000, 3]) expect(json(await whatIf(other, ruleSet, {}, page, undefined, { maxFolds }))).toBe(json(await whatIf(store, ruleSet, {}, page)));
      const broken = { ...other, readAll: async function* (o?: ReadAllOptions) {
        for await (const e of store.readAll(o)) yield e.position === 40n ? { ...e, type: 'ServiceRequestEvaluated', data: { schemaVersion: 99 } } : e;
      } } as EventStore;
      await expect(whatIf(broken, undefined)).rejects.toThrow(/position 40 .*version 99 is not known/);
    } finally {
      await store.dispose();
    }
  });
});

describe("a what-if under another rule set reads what each decision read without making its revisionsRead (byName's dictionary)", () => {
  it('builds none (as recorded, the whole decision is compared, and it does), and reports as where each is stored as an object (made, and read by name), a failure included', async () => {
    const store = new SqliteEventStore(':memory:');
    const made = jest.spyOn(shapes, 'byName');
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 8, wrongNoShare: 0.5, seed: 5 });
      const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
      // The same log, each decision's revisions read stored as the object of stream names they decode to (a stored form the decode takes as it is).
      const asObjects = (o?: ReadAllOptions) =>
        (async function* () {
          for await (const e of store.readAll(o)) {
            if (e.type !== 'ServiceRequestEvaluated') yield e;
            else yield { ...e, data: { ...(e.data as object), revisionsRead: { ...decodeDecision(e.data as DecisionRecordV3, e.stream.slice('device-'.length)).revisionsRead } } };
          }
        })();
      const other = { kind: 'esdb', readAll: asObjects, readStream: (s, o) => store.readStream(s, o), headPosition: () => store.headPosition() } as Pick<EventStore, 'kind' | 'readAll' | 'readStream' | 'headPosition'> as EventStore;
      for (const ruleSet of [getRuleSet('ownership-only'), getRuleSet('registered-operator', 1)]) {
        made.mockClear();
        const report = await whatIf(store, ruleSet, {}, {});
        const readBack = await whatIf(store, ruleSet, {}, {}, undefined, { maxFolds: 3 }); // streams read back from the store (stateAt) as well
        expect(made).not.toHaveBeenCalled();
        expect(json(readBack)).toBe(json(report));
        expect(report.judged).toBeGreaterThan(10);
        expect(json(await whatIf(other, ruleSet, {}, {}, undefined, { maxFolds: 3 }))).toBe(json(report));
      }
      await whatIf(store, undefined, {}, { limit: 1 });
      expect(made).toHaveBeenCalled();
      // A revision that is not one fails the run as it did when read from the object.
      let decision: RecordedEvent | undefined;
      for await (const e of store.readAll({ fromPosition: 30n })) {
        if (e.type !== 'ServiceRequestEvaluated') continue;
        decision = e;
        break;
      }
      const broken = (bad: unknown) =>
        ({ ...other, readAll: async function* (o?: ReadAllOptions) {
          for await (const e of store.readAll(o)) yield e.position === decision!.position ? { ...e, data: bad } : e;
        } }) as EventStore;
      const record = decision!.data as DecisionRecordV3;
      const read = decodeDecision(record, decision!.stream.slice('device-'.length)).revisionsRead;
      const [user] = Object.keys(read);
      const asList = await whatIf(broken({ ...record, revisionsRead: [{ a: 1 }, ...(record.revisionsRead as unknown[]).slice(1)] }), getRuleSet('ownership-only')).catch((e: Error) => e);
      const asObject = await whatIf(broken({ ...record, revisionsRead: { ...read, [user]: '[object Object]' } }), getRuleSet('ownership-only')).catch((e: Error) => e);
      expect(asList).toBeInstanceOf(SyntaxError);
      expect(String(asList)).toBe(String(asObject));
    } finally {
      made.mockRestore();
      await store.dispose();
    }
  });
});

describe('the shares merged: counts summed, the failure met first in the log reported', () => {
  let empty: SqliteEventStore;
  beforeEach(() => {
    empty = new SqliteEventStore(':memory:');
  });
  afterEach(() => empty.dispose());
  const input = { store: { kind: 'sqlite' as const, path: ':memory:' }, ruleSet: undefined, filter: {}, page: {} };
  /** What another share found: counts only (its report's other fields as an empty share's). */
  const found = (counts: { judged: number; unchanged: number; rejectedToAccepted: number; acceptedToRejected: number; codeOnly: number; notReproduced: number; notJudgeable: number }): Scan => {
    const { rejectedToAccepted, acceptedToRejected, codeOnly, ...rest } = counts;
    const report = { ruleSet: 'as recorded' as const, filter: {}, ...rest, changed: { rejectedToAccepted, acceptedToRejected, codeOnly }, bySrv: {}, byCode: {}, changes: { total: 0, offset: 0, items: [] } };
    return { report, positions: [], firstSrv: new Map(), firstCode: new Map() };
  };

  it("every count of the other shares' reports is added to the first's", async () => {
    const a = { judged: 9, unchanged: 2, rejectedToAccepted: 1, acceptedToRejected: 3, codeOnly: 2, notReproduced: 4, notJudgeable: 1 };
    const b = { judged: 5, unchanged: 1, rejectedToAccepted: 2, acceptedToRejected: 1, codeOnly: 1, notReproduced: 2, notJudgeable: 3 };
    const others = [found(a), found(b)];
    const r = await inShares(empty, input, 3, undefined, async (share) => others[share.index - 1]);
    expect(r).toMatchObject({ judged: 14, unchanged: 3, changed: { rejectedToAccepted: 3, acceptedToRejected: 4, codeOnly: 3 }, notReproduced: 6, notJudgeable: 4 });
  });

  it('of several shares that failed, the one whose failure is first in the log is reported, whatever the order of the shares', async () => {
    for (const [later, earlier] of [[1, 2], [2, 1]]) {
      const failures: Record<number, ShareFailure> = { [later]: { failedAt: 50n, error: { message: 'met at 50' } }, [earlier]: { failedAt: 20n, error: { message: 'met at 20' } } };
      await expect(inShares(empty, input, 3, undefined, async (share) => failures[share.index])).rejects.toThrow(/^met at 20$/);
    }
  });

  it('a share that failed on something other than an unreadable event is reported with its own error', async () => {
    const closed = new SqliteEventStore(':memory:');
    await closed.dispose();
    const error = await inShares(empty, input, 2, undefined, (share, marked) => scanShare(closed, marked, share)).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnreadableEventError);
    expect((error as Error).message).toMatch(/closed/);
  });
});

describe("a pass's folds (foldsOf: the least recently used out, at most maxFolds)", () => {
  it('drops the fold used least recently once there are more than maxFolds, and keeps one in use', () => {
    const { folds, remember } = foldsOf(4);
    for (const s of ['a', 'b', 'c', 'd']) remember(s, undefined, s, 0n);
    remember('a', folds.get('a'), 'a1', 1n); // placed 4 uses ago, over maxFolds / 2: moved to the young end
    remember('e', undefined, 'e', 0n);
    expect([folds.size, folds.get('b'), folds.get('a')?.state]).toEqual([4, undefined, 'a1']);
    remember('f', undefined, 'f', 0n);
    expect(['a', 'c', 'd', 'e', 'f'].filter((s) => folds.get(s))).toEqual(['a', 'd', 'e', 'f']);
  });

  it('keeps no old copies of its table alive when none is ever dropped (fewer streams than maxFolds, a long log)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => (gc(), process.memoryUsage().heapUsed);
    const { folds, remember } = foldsOf(2_500);
    const streams = Array.from({ length: 2_000 }, (_, i) => `device-${i}`);
    const before = heap();
    // Each stream is met again 2,000 uses later, over maxFolds / 2: every use moves its fold.
    for (let i = 0; i < 300_000; i++) {
      const s = streams[i % streams.length];
      remember(s, folds.get(s), { revision: i }, BigInt(i));
    }
    expect(folds.size).toBe(2_000);
    // An iterator kept and never stepped held every table the Map was rehashed from: ~100 MB here.
    expect((heap() - before) / 1e6).toBeLessThan(20);
  });
});
