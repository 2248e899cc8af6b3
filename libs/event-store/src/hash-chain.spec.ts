import { createHash } from 'node:crypto';
import type { RecordedEvent } from './event-store.port';
import { canonicalJson, chainEvents, eventHash, GENESIS_HASH, hashOf, keyTwiceInStored, keyWrittenTwice, sha256HexByHash, verifyLink } from './hash-chain';

/** The hash chain: what goes into each link, and each way a link can break. */

const ID = '00000000-0000-4000-8000-000000000001';
const base = { id: ID, type: 'T', stream: 'device-X', revision: 0n, data: { a: 1, b: [2, 1] }, metadata: { actor: 'test' } };

/** Records a chained batch as the store would (position = revision + 1). */
function recorded(stream: string, events: Array<{ id: string; type: string; data: unknown; metadata?: Record<string, unknown> }>, first = 0n, prev = GENESIS_HASH): RecordedEvent[] {
  return chainEvents(stream, first, prev, events).map((e, i) => ({
    id: e.id,
    type: e.type,
    stream,
    revision: first + BigInt(i),
    position: first + BigInt(i) + 1n,
    data: e.data,
    metadata: e.metadata!,
    created: '2024-01-01T00:00:00.000Z',
  }));
}
const ids = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('canonical JSON', () => {
  it.each`
    value                                        | json
    ${{ b: 1, a: { d: 2, c: 3 } }}               | ${'{"a":{"c":3,"d":2},"b":1}'}
    ${[{ b: 1, a: 2 }, 3]}                       | ${'[{"a":2,"b":1},3]'}
    ${{ z: [3, 1, 2], y: null }}                 | ${'{"y":null,"z":[3,1,2]}'}
    ${'text'}                                    | ${'"text"'}
    ${JSON.parse('{"b":1,"__proto__":{"y":1,"x":2}}')} | ${'{"__proto__":{"x":2,"y":1},"b":1}'}
  `('$json', ({ value, json }) => expect(canonicalJson(value)).toBe(json));

  /** What canonicalJson has always meant: JSON.stringify with a replacer that sorts each object's keys. */
  const byReplacer = (value: unknown) =>
    JSON.stringify(value, (_key, v: unknown) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const sorted: Record<string, unknown> = {};
        for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
        return sorted;
      }
      return v;
    });
  it.each([
    ['integer-like keys, which JSON writes first in numeric order', { b: 1, '10': 2, '9': 3, a: { '2': 0, '1': 0, x: 0 } }],
    ['undefined, functions and symbols: left out of objects, null in arrays', { a: undefined, f: () => 1, s: Symbol('s'), l: [undefined, () => 1, Symbol('t'), 1] }],
    ['toJSON, with its key', { when: new Date(0), own: { toJSON: (k: string) => ({ z: k, a: 1 }) }, list: [{ toJSON: (k: string) => k }] }],
    ['a sparse array, NaN and Infinity', { l: [1, , 3], n: NaN, i: -Infinity, z: -0 }], // eslint-disable-line no-sparse-arrays
    ['strings that need escaping', { '\u2028': 'a"b\\c\n', é: 'ü' }],
    ['wrapped primitives and a Map', { n: new Number(1), s: new String('ab'), m: new Map([[1, 2]]) }],
    ['nothing at the top', undefined],
    ['a string at the top', 'x'],
  ])('is what a sorting replacer gives: %s', (_case, value) => {
    expect(canonicalJson(value)).toBe(byReplacer(value));
  });
  it("orders any object's keys as sort() does (UTF-16 code units), however many it has and whatever order they come in", () => {
    const names = ['a', 'B', 'b', 'ab', 'a b', '$x', '_', 'Z', 'é', 'e\u0301', '\u{1F600}', '\uFFFD', '~', '', 'x1', 'x10', 'x2', '10', '9', '-1', '1.5', 'Ä'];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let n = 0; n <= names.length; n++) {
      for (let round = 0; round < 20; round++) {
        const keys = [...names].sort(() => random() - 0.5).slice(0, n);
        const value = Object.fromEntries(keys.map((k, i) => [k, { [k]: i, ...Object.fromEntries(keys.slice(0, i).map((x) => [x, 0])) }]));
        expect(canonicalJson(value)).toBe(byReplacer(value));
        expect(eventHash(GENESIS_HASH, { ...base, metadata: value })).toBe(eventHash(GENESIS_HASH, { ...base, metadata: JSON.parse(byReplacer(value)) }));
      }
    }
  });
  it('refuses a bigint as JSON.stringify does', () => {
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });
});

describe('an event hash covers the previous hash and every part of the event but its own $hash', () => {
  const h = eventHash(GENESIS_HASH, base);
  it('is the SHA-256 of the previous hash, a newline and the canonical JSON of id, type, stream, revision, data and metadata', () => {
    const body = canonicalJson({ id: ID, type: 'T', stream: 'device-X', revision: '0', data: base.data, metadata: base.metadata });
    expect(h).toBe(createHash('sha256').update(`${GENESIS_HASH}\n${body}`).digest('hex'));
  });
  it("is the same digest through a Hash object (Node before 20.12) as through crypto.hash, for any text", () => {
    expect(sha256HexByHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const body = canonicalJson({ id: ID, type: 'T', stream: 'device-X', revision: '0', data: { text: 'é€𝄞 \ud800' }, metadata: base.metadata });
    expect(eventHash(GENESIS_HASH, { ...base, data: { text: 'é€𝄞 \ud800' } })).toBe(sha256HexByHash(`${GENESIS_HASH}\n${body}`));
  });
  it.each`
    part                  | changed
    ${'the stream name'}  | ${{ ...base, stream: 'device-Y' }}
    ${'the revision'}     | ${{ ...base, revision: 1n }}
    ${'the id'}           | ${{ ...base, id: ids(2) }}
    ${'the type'}         | ${{ ...base, type: 'U' }}
    ${'the data'}         | ${{ ...base, data: { a: 1, b: [1, 2] } }}
    ${'the metadata'}     | ${{ ...base, metadata: { actor: 'other' } }}
  `('changes with $part', ({ changed }) => {
    expect(eventHash(GENESIS_HASH, changed)).not.toBe(h);
  });
  it('changes with the previous hash, but not with the $hash in the metadata or the key order', () => {
    expect(eventHash('1'.repeat(64), base)).not.toBe(h);
    expect(eventHash(GENESIS_HASH, { ...base, metadata: { ...base.metadata, $hash: 'anything' } })).toBe(h);
    expect(eventHash(GENESIS_HASH, { ...base, data: { b: [2, 1], a: 1 } })).toBe(h);
  });
});

describe('an event hash is built without the intermediate copies, and is still the hash of its canonical JSON', () => {
  /** What eventHash has always been: the canonical JSON of the event without its $hash, hashed after the previous hash and a newline. */
  const asDefined = (prev: string, e: typeof base) => {
    const { $hash: _omitted, ...metadata } = e.metadata as Record<string, unknown>;
    const body = canonicalJson({ id: e.id, type: e.type, stream: e.stream, revision: e.revision.toString(), data: e.data, metadata });
    return createHash('sha256').update(`${prev}\n${body}`).digest('hex');
  };
  it.each([
    ['metadata as the ledger writes it', { $correlationId: 'c', $causationId: 'c', actor: 'a', $prevHash: GENESIS_HASH, $hash: 'h' }],
    ['nested values and arrays in the metadata', { z: { b: [{ d: 1, c: 2 }], a: null }, a: [3, 'x'], $hash: 'h' }],
    ['integer-like keys, which JSON writes first', { b: 1, '10': 2, '9': { '2': 0, '1': 0 }, $hash: 'h' }],
    ['undefined, functions and symbols', { u: undefined, f: () => 1, s: Symbol('s'), l: [undefined, 1] }],
    ['a toJSON of its own', { toJSON: () => ({ b: 1, a: 2 }), actor: 'a', $hash: 'h' }],
    ['a toJSON in a value', { when: new Date(0), $hash: 'h' }],
    ['a __proto__ key, as JSON.parse makes it', JSON.parse('{"__proto__":{"x":1},"actor":"a","$hash":"h"}')],
    ['no $hash', { actor: 'a' }],
    ['a string, not an object (a damaged store)', 'text'],
  ])('%s', (_case, metadata) => {
    for (const data of [base.data, JSON.parse('{"b":{"__proto__":1,"10":[1,{"y":2,"x":1}]},"a":"\\u2028"}'), undefined, 'text']) {
      const event = { ...base, data, metadata: metadata as typeof base.metadata };
      expect(eventHash('1'.repeat(64), event)).toBe(asDefined('1'.repeat(64), event));
    }
  });
});

describe('chaining a batch', () => {
  it('links each event to the one before, starting from the given hash and revision, and keeps the metadata given', () => {
    const prev = 'f'.repeat(64);
    const chained = chainEvents('s', 5n, prev, [{ id: ids(1), type: 'T', data: 1, metadata: { actor: 'a' } }, { id: ids(2), type: 'T', data: 2 }]);
    expect(chained[0].metadata).toMatchObject({ actor: 'a', $prevHash: prev });
    expect(chained[0].metadata!.$hash).toBe(eventHash(prev, { id: ids(1), type: 'T', stream: 's', revision: 5n, data: 1, metadata: { actor: 'a', $prevHash: prev } }));
    expect(chained[1].metadata).toEqual({ $prevHash: chained[0].metadata!.$hash, $hash: eventHash(chained[0].metadata!.$hash as string, { id: ids(2), type: 'T', stream: 's', revision: 6n, data: 2, metadata: { $prevHash: chained[0].metadata!.$hash } }) });
  });
  it("writes the metadata's keys in the order given, $prevHash and $hash after them (or where given), and keeps a __proto__ key as a key, as a spread would", () => {
    const proto = JSON.parse('{"__proto__":{"x":1},"actor":"a"}');
    const given: Array<Record<string, unknown>> = [{ b: 1, actor: 'a', '10': 2 }, { $hash: 'old', actor: 'a', $prevHash: 'old' }, proto];
    const chained = chainEvents('s', 0n, 'f'.repeat(64), given.map((metadata, i) => ({ id: ids(i + 1), type: 'T', data: i, metadata })));
    chained.forEach((e, i) => {
      expect(JSON.stringify(e.metadata)).toBe(JSON.stringify({ ...given[i], $prevHash: e.metadata!.$prevHash, $hash: e.metadata!.$hash }));
      expect(Object.getPrototypeOf(e.metadata)).toBe(Object.prototype);
    });
    expect(Object.keys(chained[1].metadata!)).toEqual(['$hash', 'actor', '$prevHash']);
    expect(Object.hasOwn(chained[2].metadata!, '__proto__')).toBe(true);
    expect(JSON.stringify(chained[2].metadata)).toMatch(/^\{"__proto__":\{"x":1\},"actor":"a","\$prevHash":"[0-9a-f]{64}","\$hash":"[0-9a-f]{64}"\}$/);
    const prev = chained[1].metadata!.$hash as string;
    expect(chained[2].metadata!.$hash).toBe(eventHash(prev, { id: ids(3), type: 'T', stream: 's', revision: 2n, data: 2, metadata: { ...proto, $prevHash: prev } }));
  });
  it('hashOf reads the $hash, or nothing for an event written without a chain', () => {
    const [e] = recorded('s', [{ id: ids(1), type: 'T', data: 1 }]);
    expect(hashOf(e)).toBe(e.metadata.$hash);
    expect(hashOf({ ...e, metadata: {} })).toBeUndefined();
    expect(hashOf({ ...e, metadata: { $hash: 7 } })).toBeUndefined();
    expect(hashOf(undefined)).toBeUndefined();
  });
});

describe('verifying a link: one row per way to break it', () => {
  const [e0, e1, e2] = recorded('s', [1, 2, 3].map((n) => ({ id: ids(n), type: 'T', data: { n } })));
  const link = (e: RecordedEvent) => ({ hash: e.metadata.$hash as string, revision: e.revision });
  it('an intact chain verifies from genesis', () => {
    expect(verifyLink(undefined, e0)).toBeUndefined();
    expect(verifyLink(link(e0), e1)).toBeUndefined();
    expect(verifyLink(link(e1), e2)).toBeUndefined();
  });
  it.each`
    case                                          | prev                                          | event                                                                  | kind
    ${'a first event that is not at revision 0'} | ${undefined}                                  | ${e1}                                                                  | ${'revision-gap'}
    ${'a removed event (revision skipped)'}      | ${link(e0)}                                   | ${e2}                                                                  | ${'revision-gap'}
    ${'a repeated revision'}                     | ${link(e1)}                                   | ${e1}                                                                  | ${'revision-gap'}
    ${'no $hash'}                                | ${link(e0)}                                   | ${{ ...e1, metadata: { $prevHash: e1.metadata.$prevHash } }}           | ${'missing-hash'}
    ${'no $prevHash'}                            | ${link(e0)}                                   | ${{ ...e1, metadata: { $hash: e1.metadata.$hash } }}                   | ${'missing-hash'}
    ${'a $prevHash that is not the previous hash'} | ${{ hash: '1'.repeat(64), revision: 0n }}   | ${e1}                                                                  | ${'prev-hash-mismatch'}
    ${'a first event not chained to genesis'}    | ${undefined}                                  | ${recorded('s', [{ id: ids(1), type: 'T', data: { n: 1 } }], 0n, '2'.repeat(64))[0]} | ${'prev-hash-mismatch'}
    ${'edited data'}                             | ${link(e0)}                                   | ${{ ...e1, data: { n: 9 } }}                                           | ${'hash-mismatch'}
    ${'edited metadata'}                         | ${link(e0)}                                   | ${{ ...e1, metadata: { ...e1.metadata, actor: 'mallory' } }}           | ${'hash-mismatch'}
    ${'an event moved to another stream'}        | ${link(e0)}                                   | ${{ ...e1, stream: 't' }}                                              | ${'hash-mismatch'}
  `('$case: $kind', ({ prev, event, kind }) => {
    const broken = verifyLink(prev, event);
    expect(broken).toMatchObject({ kind, stream: event.stream, revision: event.revision, position: event.position });
    if (kind === 'revision-gap') expect(broken).toMatchObject({ expectedRevision: prev ? prev.revision + 1n : 0n });
  });
});

describe('a key written twice in one object of a stored text', () => {
  it.each`
    text                                                                   | found
    ${'{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}'}                         | ${undefined}
    ${'{"a":"{\\"a\\":1,","b":"}","c":"\\\\"}'}                    | ${undefined}
    ${'[1,{"a":1},"a",{"a":2}]'}                                           | ${undefined}
    ${'{"a":1,"a":2}'}                                                     | ${'a'}
    ${'{ "a" : 1 , "b" : { "x" : [ 1 , { "y" : 1 , "y" : 2 } ] } }'}       | ${'b.x[1].y'}
    ${'{"c":[{"a":3},{"a":4,"b":1,"b":2}]}'}                               | ${'c[1].b'}
    ${'{"role":1,"r\\u006fle":2}'}                                       | ${'role'}
    ${'{"":1,"":2}'}                                                       | ${''}
    ${'{"a":{},"b":[],"c":{"d":[[{}]]}}'}                                   | ${undefined}
  `('$text: $found', ({ text, found }) => {
    JSON.parse(text); // texts that parse, as verify's are
    expect(keyWrittenTwice(text)).toBe(found);
  });

  // keyTwiceInStored's pre-test (no string made) passes a text to keyWrittenTwice only when it may give a key twice: it misses none.
  const many = (n: number) => Array.from({ length: n }, (_, k) => `"k${k}":${k}`).join(',');
  const deep = (n: number, inner: string) => '{"a":'.repeat(n) + inner + '}'.repeat(n);
  it.each`
    text                                                      | found
    ${'{"x":1,"a":{"x":2},"x":3}'}                            | ${'x'}
    ${'{"x":1,"a":{"y":2},"b":[{"y":1}],"y":3}'}              | ${undefined}
    ${'{"ab":1,"a":2,"b":3,"ba":4}'}                          | ${undefined}
    ${'{"a\\"":1,"a\\"":2}'}                              | ${'a"'}
    ${'{"a":"\\\\","a":2}'}                                | ${'a'}
    ${'{"b":{"role":1,"r\\u006fle":2}}'}                      | ${'b.role'}
    ${'[{"a":1},{"a":2},{"b":1,"b":2}]'}                      | ${'[2].b'}
    ${`{${many(16)},"k0":0}`}                                 | ${'k0'}
    ${`{${many(20)},"k19":0}`}                                | ${'k19'}
    ${`{${many(20)}}`}                                        | ${undefined}
    ${deep(70, '{"z":1,"z":2}')}                              | ${`${'a.'.repeat(70)}z`}
    ${deep(70, '{"z":1}')}                                    | ${undefined}
  `('keyTwiceInStored, $found: as keyWrittenTwice', ({ text, found }) => {
    JSON.parse(text);
    expect(keyWrittenTwice(text)).toBe(found);
    const both = [keyTwiceInStored({ data: text, metadata: '{}' }), keyTwiceInStored({ data: '{}', metadata: text })];
    expect(both).toEqual(found === undefined ? [undefined, undefined] : [expect.stringContaining(`'data.${found}'`), expect.stringContaining(`'metadata.${found}'`)]);
  });

  it("every text a chained event's data and metadata are stored as (JSON.stringify): none", () => {
    const [e] = chainEvents('s', 0n, GENESIS_HASH, [{ id: 'x', type: 'T', data: { a: { b: [{ c: 1, d: 'e' }] }, f: null }, metadata: { actor: 'a' } }]);
    expect([keyWrittenTwice(JSON.stringify(e.data)), keyWrittenTwice(JSON.stringify(e.metadata))]).toEqual([undefined, undefined]);
  });
});
