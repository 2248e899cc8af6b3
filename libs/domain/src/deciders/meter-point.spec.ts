import { evolveMeterPoint, fold, holderAt } from '../state';
import { decide, parsed } from '../testing/decider-table';
import { ids, mpan, mprn, registration } from '../testing/scenario';
import { foldStream } from './decider';
import { meterPointDecider, parseRecordRegistration, type RecordRegistration } from './meter-point';

const { noA, noB, supplierA } = ids;
const change = (over: Partial<RecordRegistration> = {}): RecordRegistration => ({
  kind: 'RecordRegistration',
  mpxn: mpan as RecordRegistration['mpxn'],
  responsibility: 'networkOperator',
  partyUserId: noA as RecordRegistration['partyUserId'],
  effectiveFrom: '2019-01-01T00:00:00.000Z',
  source: { recordId: 'R1' },
  ...over,
});
const changed = (over: Partial<RecordRegistration> = {}) => {
  const c = change(over);
  return { type: 'RegistrationChanged', data: { schemaVersion: 1, mpxn: c.mpxn, responsibility: c.responsibility, partyUserId: c.partyUserId, effectiveFrom: c.effectiveFrom, source: c.source } };
};
const input = { mpxn: mpan, responsibility: 'networkOperator', partyUserId: noA, effectiveFrom: '2019-01-01', recordId: 'R1' };

describe('the meter point decider: Registration Data, one timeline per responsibility', () => {
  it.each`
    rule                                                                       | given                                                               | when                                                                                  | then
    ${'the first change for a meter point is recorded'}                        | ${[]}                                                               | ${change()}                                                                           | ${[changed()]}
    ${'a change of network operator is recorded as the RDP sent it'}           | ${[registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z')]} | ${change({ partyUserId: noB as never, effectiveFrom: '2024-01-01T00:00:00.000Z', source: { recordId: 'R2' } })} | ${[changed({ partyUserId: noB as never, effectiveFrom: '2024-01-01T00:00:00.000Z', source: { recordId: 'R2' } })]}
    ${'a change dated before the ones held is recorded (the fold orders it)'}  | ${[registration(mpan, 'supplier', supplierA, '2024-01-01T00:00:00.000Z')]} | ${change({ responsibility: 'supplier', partyUserId: supplierA as never })}            | ${[changed({ responsibility: 'supplier', partyUserId: supplierA as never })]}
    ${'the file and line that carried it are kept in its source'}              | ${[]}                                                               | ${change({ source: { recordId: 'R9', file: 'rdp.csv', line: 7 } })}                  | ${[changed({ source: { recordId: 'R9', file: 'rdp.csv', line: 7 } })]}
  `('$rule', ({ given, when, then }) => {
    expect(decide(meterPointDecider, mpan, given, when)).toEqual({ then });
  });

  it.each`
    rule                                                             | over                                                | outcome
    ${'a record id is trimmed, and the file and line kept'}          | ${{ recordId: ' R1 ', file: 'f.csv', line: 3 }}     | ${{ command: change({ source: { recordId: 'R1', file: 'f.csv', line: 3 } }) }}
    ${'an MPRN is a meter point too'}                                | ${{ mpxn: mprn }}                                   | ${{ command: change({ mpxn: mprn as never }) }}
    ${'an MPAN must pass its check digit'}                           | ${{ mpxn: '1412345678902' }}                        | ${{ refused: expect.stringMatching(/^mpxn: '1412345678902' fails the MPAN check digit/) }}
    ${"the responsibility is 'supplier' or 'networkOperator'"}       | ${{ responsibility: 'network_operator' }}           | ${{ refused: "responsibility: must be 'supplier' or 'networkOperator'" }}
    ${'the party is a User ID'}                                      | ${{ partyUserId: 'NO-A' }}                          | ${{ refused: expect.stringMatching(/^partyUserId: /) }}
    ${'the RDP record id is named'}                                  | ${{ recordId: '   ' }}                              | ${{ refused: 'recordId: must be the RDP record id' }}
  `('parse: $rule', ({ over, outcome }) => {
    expect(parsed(parseRecordRegistration, { ...input, ...over })).toEqual(outcome);
  });

  it('a meter point with no events has empty timelines, and its stream folds to the state the ledger always folded', () => {
    expect(meterPointDecider.initialState(mprn)).toEqual({ mpxn: mprn, timelines: { supplier: [], networkOperator: [] } });
    expect(holderAt(meterPointDecider.initialState(mpan), 'networkOperator', '2024-01-01T00:00:00.000Z')).toBeUndefined();
    const events = [registration(mpan, 'networkOperator', noB, '2024-01-01T00:00:00.000Z'), registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z')];
    expect(foldStream(meterPointDecider, mpan, events)).toEqual(fold(evolveMeterPoint, events));
    expect(holderAt(foldStream(meterPointDecider, mpan, events), 'networkOperator', '2020-01-01T00:00:00.000Z')?.partyUserId).toBe(noA);
  });
});
