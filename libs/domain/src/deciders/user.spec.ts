import { fold, evolveUser } from '../state';
import { decide, parsed } from '../testing/decider-table';
import { ids, inventory, userRole } from '../testing/scenario';
import { foldStream } from './decider';
import { parseRegisterUserRole, userDecider, type RegisterUserRole } from './user';

const { noA, supplierA, esme } = ids;
const register = (over: Partial<RegisterUserRole> = {}): RegisterUserRole => ({
  kind: 'RegisterUserRole',
  userId: noA as RegisterUserRole['userId'],
  role: 'ED',
  status: 'Active',
  marketIds: [],
  effectiveFrom: '2019-01-01T00:00:00.000Z',
  ...over,
});
const registered = (over: Partial<RegisterUserRole> = {}) => {
  const c = register(over);
  return { type: 'UserRoleRegistered', data: { schemaVersion: 1, userId: c.userId, role: c.role, status: c.status, marketIds: c.marketIds, effectiveFrom: c.effectiveFrom } };
};

describe('the user decider: a User and the roles it holds', () => {
  it.each`
    rule                                                                    | given                              | when                                                  | then
    ${'a User unknown so far is registered in a role'}                      | ${[]}                              | ${register()}                                         | ${[registered()]}
    ${'a second role of the same User is recorded beside the first'}        | ${[userRole(noA, 'ED')]}           | ${register({ role: 'IS' })}                           | ${[registered({ role: 'IS' })]}
    ${'a role suspended is recorded: the DSP is told, it does not ask'}     | ${[userRole(noA, 'ED')]}           | ${register({ status: 'Suspended' })}                  | ${[registered({ status: 'Suspended' })]}
    ${'an org id of the DCC is registered in its party role'}               | ${[]}                              | ${register({ role: 'TransCoS' })}                     | ${[registered({ role: 'TransCoS' })]}
    ${'market ids are kept as given, in order'}                             | ${[]}                              | ${register({ marketIds: ['22', '14'] })}              | ${[registered({ marketIds: ['22', '14'] })]}
  `('$rule', ({ given, when, then }) => {
    expect(decide(userDecider, noA, given, when)).toEqual({ then });
  });

  it.each`
    rule                                                        | input                                                                                    | outcome
    ${'a role is Active with no market ids unless told'}        | ${{ userId: noA.toLowerCase(), role: 'ED', effectiveFrom: '2019-01-01' }}                 | ${{ command: register() }}
    ${'the status is one of Active, Suspended, Withdrawn'}      | ${{ userId: noA, role: 'ED', status: 'Dormant', effectiveFrom: '2019-01-01' }}            | ${{ refused: "status: 'Dormant' is not one of Active, Suspended, Withdrawn" }}
    ${'market ids are a list of strings'}                       | ${{ userId: noA, role: 'ED', marketIds: [14], effectiveFrom: '2019-01-01' }}              | ${{ refused: 'marketIds: must be a list of strings' }}
    ${'the role is a User Role or a DCC party'}                 | ${{ userId: noA, role: 'NO', effectiveFrom: '2019-01-01' }}                               | ${{ refused: expect.stringMatching(/^role: 'NO' is not a User Role/) }}
    ${'the User ID is an EUI-64'}                               | ${{ userId: 'NO-A', role: 'ED', effectiveFrom: '2019-01-01' }}                            | ${{ refused: expect.stringMatching(/^userId: 'NO-A' is not an EUI-64/) }}
    ${'the User ID is checked before anything else'}            | ${{ userId: 'NO-A', role: 'NO', status: 'Dormant', effectiveFrom: 'x' }}                  | ${{ refused: expect.stringMatching(/^userId: /) }}
    ${'the effective date has a time zone'}                     | ${{ userId: noA, role: 'ED', effectiveFrom: '2019-01-01T00:00:00' }}                      | ${{ refused: expect.stringMatching(/^effectiveFrom: /) }}
  `('parse: $rule', ({ input, outcome }) => {
    expect(parsed(parseRegisterUserRole, input)).toEqual(outcome);
  });

  it('a User with no events holds no role, and its stream folds to the state the ledger always folded', () => {
    expect(userDecider.initialState(supplierA)).toEqual({ userId: supplierA, roles: {} });
    const events = [userRole(noA, 'ED'), userRole(noA, 'IS'), inventory(esme, 'ESME', 1, 'Commissioned', null), userRole(noA, 'ED', 'Suspended')];
    expect(foldStream(userDecider, noA, events)).toEqual(fold(evolveUser, events));
    expect(foldStream(userDecider, noA, events).roles.ED?.status).toBe('Suspended');
  });
});
