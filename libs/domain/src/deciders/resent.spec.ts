import { checkResent, FactReusedError, resentDifferences } from './resent';

describe('a fact sent again, against the one recorded under its name', () => {
  it.each`
    rule                                                             | recorded                                                  | again                                                     | fields                                    | then
    ${'the same content is the same fact'}                           | ${{ a: 1, b: { c: 'x' } }}                                | ${{ b: { c: 'x' }, a: 1 }}                                | ${{}}                                     | ${[]}
    ${'a field that differs is named by its path'}                   | ${{ a: 1, b: { c: 'x', d: [1, 2] } }}                     | ${{ a: 1, b: { c: 'y', d: [1, 2] } }}                     | ${{}}                                     | ${['b.c']}
    ${'a list is compared whole, in order'}                          | ${{ d: [1, 2] }}                                          | ${{ d: [2, 1] }}                                          | ${{}}                                     | ${['d']}
    ${'a field only one side has differs'}                           | ${{ a: 1 }}                                               | ${{ a: 1, e: 'z' }}                                       | ${{}}                                     | ${['e']}
    ${'where it came from is not its content'}                       | ${{ a: 1, source: { id: 'R1', file: 'x.csv', line: 2 } }} | ${{ a: 1, source: { id: 'R1', file: 'y.csv' } }}          | ${{ ignore: ['source.file', 'source.line'] }} | ${[]}
    ${'an instant is compared as an instant'}                        | ${{ at: '2019-01-01T00:00:00.000Z' }}                     | ${{ at: '2019-01-01T01:00:00+01:00' }}                    | ${{ instants: ['at'] }}                   | ${[]}
    ${'another instant differs'}                                     | ${{ at: '2019-01-01T00:00:00.000Z' }}                     | ${{ at: '2019-01-02T00:00:00.000Z' }}                     | ${{ instants: ['at'] }}                   | ${['at']}
  `('$rule', ({ recorded, again, fields, then }) => {
    expect(resentDifferences(recorded, again, fields)).toEqual(then);
  });

  it('other content is refused, naming the field of its name and what differs', () => {
    expect(() => checkResent('recordId', "record 'R1'", { a: 1, b: 2 }, { a: 3, b: 4 })).toThrow(
      new FactReusedError('recordId', "record 'R1'", ['a', 'b']),
    );
    expect(() => checkResent('recordId', "record 'R1'", { a: 1 }, { a: 3 })).toThrow("recordId: record 'R1' was recorded before with other content (it differs in a): a fact is recorded once; send a new recordId for another");
  });
});
