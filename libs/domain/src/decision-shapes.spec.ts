import { From, INSTANT, Nested, OPTIONAL, pack, same, STORED } from './decision-shapes';

/** The stored decision's shapes: `same` is JSON text equality; `pack` takes evidence of a Nested shape's keys, in its order. */

describe('same: two values are the same JSON text', () => {
  const values: unknown[] = [
    null,
    0,
    1,
    'a',
    true,
    [],
    [1, 2],
    [2, 1],
    [1, undefined],
    [1, null],
    {},
    { a: 1 },
    { a: 1, b: undefined },
    { b: undefined, a: 1 },
    { a: 1, b: 2 },
    { b: 2, a: 1 },
    { a: undefined },
    { a: { x: [1, { y: undefined, z: 2 }] } },
    { a: { x: [1, { z: 2 }] } },
    { a: { x: [1, { z: 2, y: 3 }] } },
    { a: 1, b: undefined, c: 3 },
    { a: 1, c: 3, d: undefined },
  ];
  it.each(values)('%j against each of the values', (a) => {
    for (const b of values) expect([b, same(a, b)]).toEqual([b, JSON.stringify(a) === JSON.stringify(b)]);
  });
});

describe('pack: evidence of a Nested shape', () => {
  const shape = new Nested({ userId: STORED, role: OPTIONAL, at: INSTANT, status: 'Active', derived: new From((b) => `${b.userId}!`), absent: undefined });
  it.each`
    evidence                                                                                  | ok       | out
    ${{ userId: 'u', role: 'r', at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'u!' }} | ${true}  | ${['u', 'r', '2024-01-01T00:00:00Z']}
    ${{ userId: 'u', at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'u!' }}            | ${true}  | ${['u', null, '2024-01-01T00:00:00Z']}
    ${{ role: 'r', userId: 'u', at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'u!' }} | ${false} | ${undefined}
    ${{ userId: 'u', role: 'r', status: 'Active', derived: 'u!' }}                                 | ${false} | ${undefined}
    ${{ userId: 'u', role: 'r', at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'x' }}  | ${false} | ${undefined}
    ${{ userId: 'u', role: 'r', at: '2024-01-01T00:00:00.000Z', status: 'Idle', derived: 'u!' }}   | ${false} | ${undefined}
    ${{ userId: 'u', role: 'r', at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'u!', more: 1 }} | ${false} | ${undefined}
    ${{ userId: 'u', role: 'r', at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'u!', absent: 1 }} | ${false} | ${undefined}
    ${{ userId: 'u', role: null, at: '2024-01-01T00:00:00.000Z', status: 'Active', derived: 'u!' }} | ${false} | ${undefined}
    ${['u']}                                                                                    | ${false} | ${undefined}
  `('$evidence: $ok', ({ evidence, ok, out }) => {
    const values: unknown[] = [];
    expect(pack(evidence, shape, values, {})).toBe(ok);
    if (ok) expect(values).toEqual(out);
  });
});
