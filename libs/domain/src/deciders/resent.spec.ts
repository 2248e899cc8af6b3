import type { LedgerEvent } from '../events';
import { cert, ids, inventory, placed, userRole } from '../testing/scenario';
import { checkInventoryChangedSince, checkPlacementChangedSince, deviceDecider, parseChangeInventory, parsePlaceCertificate, type ChangeInventory, type PlaceCertificate } from './device';
import { checkChangedSince, checkResent, FactChangedSinceError, FactReusedError, resentDifferences } from './resent';
import { checkRoleChangedSince, parseRegisterUserRole, userDecider } from './user';

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

const { esme, noA, noB } = ids;
/** The event at another instant (its changedAt, placedAt or effectiveFrom). */
const at = (e: LedgerEvent, instant: string): LedgerEvent => {
  const data = Object.assign({}, e.data) as unknown as Record<string, unknown>;
  for (const k of ['changedAt', 'placedAt', 'effectiveFrom']) if (k in data) data[k] = instant;
  return { type: e.type, data } as unknown as LedgerEvent;
};
/** The fact sent again: the ESME Commissioned at 2020-01-01, NO-A's certificate A1 placed at 2020-06-01 in both copies, NO-A Active in ED from 2020-01-01. */
const commissioned = parseChangeInventory({ deviceId: esme, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: null, changedAt: '2020-01-01' });
const a1 = parsePlaceCertificate({ deviceId: esme, slot: 'networkOperator.critical', certificate: cert(noA), via: { kind: 'migration' }, placedAt: '2020-06-01' });
const active = parseRegisterUserRole({ userId: noA, role: 'ED', effectiveFrom: '2020-01-01' });
const a1Dsp = parsePlaceCertificate({ deviceId: esme, slot: 'networkOperator.critical', certificate: cert(noA), via: { kind: 'migration' }, placedAt: '2020-06-01', heldBy: ['DSP'] });
/** The fact recorded, then `later`, folded as the command side folds the stream: what the check reads. */
const deviceAfter = (fact: PlaceCertificate | ChangeInventory, later: LedgerEvent[]) =>
  [...deviceDecider.decide(fact, deviceDecider.initialState(esme)), ...later].reduce(deviceDecider.evolve, deviceDecider.initialState(esme));
const userAfter = (later: LedgerEvent[]) => [...userDecider.decide(active, userDecider.initialState(noA)), ...later].reduce(userDecider.evolve, userDecider.initialState(noA));
const check = {
  inventory: () => (later: LedgerEvent[]) => checkInventoryChangedSince(commissioned, deviceAfter(commissioned, later)),
  placement: () => (later: LedgerEvent[]) => checkPlacementChangedSince(a1, deviceAfter(a1, later)),
  dspPlacement: () => (later: LedgerEvent[]) => checkPlacementChangedSince(a1Dsp, deviceAfter(a1Dsp, later)),
  role: () => (later: LedgerEvent[]) => checkRoleChangedSince(active, userAfter(later)),
};

describe('a fact keyed by an instant, found recorded, against the facts recorded after it (as the stream\'s fold holds them)', () => {
  it.each`
    rule                                                                                   | fact           | later                                                                                                      | then
    ${'nothing recorded since: a retry'}                                                   | ${'inventory'} | ${[]}                                                                                                      | ${[]}
    ${'another status at the same changedAt since: refused, naming it'}                    | ${'inventory'} | ${[inventory(esme, 'ESME', 1, 'Suspended', null)]}                                                        | ${['status']}
    ${'changed and changed back at the same changedAt since: the last is what counts'}     | ${'inventory'} | ${[inventory(esme, 'ESME', 1, 'Suspended', null), inventory(esme, 'ESME', 1, 'Commissioned', null)]}      | ${[]}
    ${'another status at another changedAt: still the last at its instant, a retry'}       | ${'inventory'} | ${[at(inventory(esme, 'ESME', 1, 'Suspended', null), '2021-01-01T00:00:00.000Z')]}                         | ${[]}
    ${'the same changedAt written otherwise is the same instant'}                          | ${'inventory'} | ${[at(inventory(esme, 'ESME', 1, 'Suspended', null), '2020-01-01T01:00:00+01:00')]}                        | ${['status']}
    ${'another certificate in the slot at the same placedAt: refused'}                     | ${'placement'} | ${[placed(esme, 'networkOperator.critical', cert(noB), ['S1SP'])]}                                         | ${['certificate.ownerUserId']}
    ${'another slot at the same placedAt: a retry'}                                        | ${'placement'} | ${[placed(esme, 'networkOperator.nonCritical', cert(noB, 'keyAgreement'))]}                                | ${[]}
    ${'the same slot at another placedAt: a retry'}                                        | ${'placement'} | ${[at(placed(esme, 'networkOperator.critical', cert(noB)), '2020-07-01T00:00:00.000Z')]}                   | ${[]}
    ${'another certificate in one copy, then this one again in the other only: refused (the first copy holds the other)'} | ${'placement'} | ${[placed(esme, 'networkOperator.critical', cert(noB), ['DSP']), placed(esme, 'networkOperator.critical', cert(noA), ['S1SP'])]} | ${['certificate.ownerUserId']}
    ${'another certificate in the copy this one is not in: a retry'}                       | ${'dspPlacement'} | ${[placed(esme, 'networkOperator.critical', cert(noB), ['S1SP'])]}                                      | ${[]}
    ${'another status of the role at the same effectiveFrom: refused'}                     | ${'role'}      | ${[userRole(noA, 'ED', 'Suspended')]}                                                                      | ${['status']}
    ${'another role at the same effectiveFrom: a retry'}                                   | ${'role'}      | ${[userRole(noA, 'GT', 'Suspended')]}                                                                      | ${[]}
  `('$fact: $rule', ({ fact, later, then }) => {
    const run = () => check[fact as keyof typeof check]()(later);
    if (then.length === 0) expect(run).not.toThrow();
    else expect(run).toThrow(expect.objectContaining({ constructor: FactChangedSinceError, differences: then }));
  });

  it('the refusal names the fact, what the record holds at its instant, and asks for an instant of its own', () => {
    expect(() => checkChangedSince('changedAt', 'the change', { status: 'Suspended', at: 'x' }, { status: 'Commissioned', at: 'x' })).toThrow(
      'changedAt: the change was recorded before, but since then another with status "Suspended" was recorded at that instant, and it is what the record holds; a change back at the same instant cannot be told from a retry: send the change with its own, later changedAt',
    );
  });
});
