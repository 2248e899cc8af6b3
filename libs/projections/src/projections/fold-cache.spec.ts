import { FoldCache } from './fold-cache';

/** A FoldCache over a map standing for the table, counting reads and writes; `batch` runs one batch and commits it. */
const cacheOver = (table: Map<string, number>) => {
  const log = { reads: [] as string[], writes: [] as string[] };
  const cache = new FoldCache<number>(
    (k) => (log.reads.push(k), table.get(k)),
    (k, v) => (log.writes.push(`${k}=${v}`), table.set(k, v)),
  );
  const add = (k: string, n = 1) => cache.update(k, (v) => (v ?? 0) + n);
  const batch = (...keys: string[]) => {
    for (const k of keys) add(k);
    cache.flush();
    cache.committed();
  };
  return { cache, log, add, batch };
};

describe('FoldCache', () => {
  it('not holding: reads a state once a batch, writes each one the batch updated at its end', () => {
    const table = new Map([['a', 10]]);
    const { log, batch } = cacheOver(table);
    batch('a', 'b', 'a');
    batch('a');
    expect(log.reads).toEqual(['a', 'b', 'a']);
    expect(log.writes).toEqual(['a=12', 'b=1', 'a=13']);
  });

  it('holding: keeps states across batches, writes a state once when it is pushed out (the least recently updated) and reads it back when it comes again; finish writes the rest', () => {
    const table = new Map<string, number>();
    const { cache, log, batch } = cacheOver(table);
    cache.hold(2);
    batch('a', 'b');
    batch('a');
    expect(log.writes).toEqual([]);
    batch('c'); // b, the least recently updated, leaves
    expect(log.writes).toEqual(['b=1']);
    batch('b', 'd'); // b read back; a and c leave
    expect(log.reads).toEqual(['a', 'b', 'c', 'b', 'd']);
    expect(log.writes).toEqual(['b=1', 'a=2', 'c=1']);
    batch('x', 'y', 'z'); // more keys in one batch than it holds: the batch's first ones leave too
    expect(log.writes).toEqual(['b=1', 'a=2', 'c=1', 'b=2', 'd=1', 'x=1']);
    cache.finish();
    expect(Object.fromEntries(table)).toEqual({ a: 2, b: 2, c: 1, d: 1, x: 1, y: 1, z: 1 });
    batch('a'); // no longer holding
    expect(table.get('a')).toBe(3);
  });

  it('holding: a batch rolled back (its writes undone with it) leaves the held states as they were, those it pushed out included', () => {
    const table = new Map<string, number>();
    const { cache, add, batch } = cacheOver(table);
    cache.hold(1);
    batch('a');
    add('a', 100);
    add('b');
    cache.flush(); // pushes a out...
    expect(table.get('a')).toBe(101);
    table.delete('a'); // ...but the transaction rolls back
    cache.discard();
    batch('a');
    cache.finish();
    expect(Object.fromEntries(table)).toEqual({ a: 2 });
  });
});
