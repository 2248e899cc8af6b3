import { getRuleSet, type RuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { inShares, scanShare, threadsFor, whatIf, type WhatIfPage } from './what-if';

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

  it('a count of events that is no limit, a fraction, none or less; a window that starts before the log, ends before it starts, at or past the head', async () => {
    expect(head).toBeGreaterThan(40n);
    const pages: WhatIfPage[] = [
      { maxEvents: Infinity },
      { maxEvents: 2.5 },
      { maxEvents: 0 },
      { maxEvents: -3 },
      { fromPosition: 0n, maxEvents: 3 },
      { fromPosition: 10n, toPosition: 9n },
      { fromPosition: 10n, toPosition: 10n },
      { toPosition: head },
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
