import { decodeDecision, encodeDecision } from './decision-record';
import type { LedgerEvent, ServiceRequestEvaluatedV1 } from './events';
import { evolveDevice, evolveUser, fold, inventoryAt, rolesAt, userAt, type DeviceState, type UserState } from './state';
import { given, ids, inventory, mpan, registration, request, userRole, when, type World } from './testing/scenario';

/**
 * Edition 3 (rule sets @3): a User Role is judged by its registration in force at the time of the
 * check (the latest effectiveFrom at or before it; of two at the same instant, the one appended
 * later), and a device by its inventory change in force then (the latest changedAt at or before
 * it; none yet: not in the inventory). Editions 1 and 2 judge both as last recorded.
 */
const { noA, esme } = ids;
const NOW = '2024-03-01T12:00:00.000Z';
const LATER = '2031-06-01T00:00:00.000Z';
const EARLIER = '2023-06-01T00:00:00.000Z';

/** The ESME on its meter point, NO-A registered for it since 2019: a read (4.1.1) from NO-A passes every step but what the rows change. */
const meterPoint = [registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z')];
const commissioned = inventory(esme, 'ESME', 1, 'Commissioned', mpan);
const edActive = userRole(noA, 'ED');
const read = request({ from: noA, to: esme, srv: '4.1.1' });
const judged = (w: World, ruleSet: string, at: string) => when(w, { ...read, receivedAt: at }, ruleSet, at).decision.data;
/** Each decision stored compactly (version 3, nothing kept as recorded: every check fits its template) and read back as made. */
function expectStoredAsMade(...decisions: ServiceRequestEvaluatedV1[]) {
  for (const d of decisions) {
    const record = encodeDecision(d)!;
    expect(record.schemaVersion).toBe(3);
    expect(JSON.stringify(record)).not.toMatch(/AsRecorded/);
    expect(JSON.stringify(decodeDecision(record, esme))).toBe(JSON.stringify(d));
  }
}

describe('edition 3: a User Role as in force at the time of the check', () => {
  it.each`
    rule                                                                                  | roles                                                                                           | ruleSet        | at         | code
    ${'a suspension dated 2031, recorded today: today the role is Active'}                | ${[edActive, userRole(noA, 'ED', 'Suspended', '2031-01-01T00:00:00.000Z')]}                     | ${'baseline@3'} | ${NOW}     | ${'I0'}
    ${'... and once 2031 comes, it is Suspended'}                                         | ${[edActive, userRole(noA, 'ED', 'Suspended', '2031-01-01T00:00:00.000Z')]}                     | ${'baseline@3'} | ${LATER}   | ${'E3'}
    ${'... edition 2 judged it Suspended today (its last registration)'}                  | ${[edActive, userRole(noA, 'ED', 'Suspended', '2031-01-01T00:00:00.000Z')]}                     | ${'baseline@2'} | ${NOW}     | ${'E3'}
    ${'... and so did edition 1'}                                                         | ${[edActive, userRole(noA, 'ED', 'Suspended', '2031-01-01T00:00:00.000Z')]}                     | ${'baseline@1'} | ${NOW}     | ${'E3'}
    ${'a role held only from 2030: not held today'}                                       | ${[userRole(noA, 'ED', 'Active', '2030-01-01T00:00:00.000Z')]}                                  | ${'baseline@3'} | ${NOW}     | ${'E1'}
    ${'... held once 2030 comes'}                                                         | ${[userRole(noA, 'ED', 'Active', '2030-01-01T00:00:00.000Z')]}                                  | ${'baseline@3'} | ${LATER}   | ${'I0'}
    ${'... edition 2 accepted it today'}                                                  | ${[userRole(noA, 'ED', 'Active', '2030-01-01T00:00:00.000Z')]}                                  | ${'baseline@2'} | ${NOW}     | ${'I0'}
    ${'... and so did edition 1'}                                                         | ${[userRole(noA, 'ED', 'Active', '2030-01-01T00:00:00.000Z')]}                                  | ${'baseline@1'} | ${NOW}     | ${'I0'}
    ${'a backdated suspension (effective January 2024, recorded after): Suspended today'}  | ${[edActive, userRole(noA, 'ED', 'Suspended', '2024-01-01T00:00:00.000Z')]}                     | ${'baseline@3'} | ${NOW}     | ${'E3'}
    ${'... but Active before it took effect'}                                             | ${[edActive, userRole(noA, 'ED', 'Suspended', '2024-01-01T00:00:00.000Z')]}                     | ${'baseline@3'} | ${EARLIER} | ${'I0'}
    ${'an earlier registration appended last does not undo a later-dated one'}             | ${[userRole(noA, 'ED', 'Suspended', '2024-01-01T00:00:00.000Z'), edActive]}                     | ${'baseline@3'} | ${NOW}     | ${'E3'}
    ${'... edition 2 took the last appended (Active)'}                                    | ${[userRole(noA, 'ED', 'Suspended', '2024-01-01T00:00:00.000Z'), edActive]}                     | ${'baseline@2'} | ${NOW}     | ${'I0'}
    ${'two at the same instant: the later appended corrects the earlier (Suspended)'}     | ${[edActive, userRole(noA, 'ED', 'Suspended')]}                                                 | ${'baseline@3'} | ${NOW}     | ${'E3'}
    ${'two at the same instant: the later appended corrects the earlier (Active)'}        | ${[userRole(noA, 'ED', 'Suspended'), edActive]}                                                 | ${'baseline@3'} | ${NOW}     | ${'I0'}
  `('$rule: under $ruleSet at $at, $code', ({ roles, ruleSet, at, code }) => {
    const w = given([...meterPoint, commissioned, ...(roles as LedgerEvent[])]);
    expect(judged(w, ruleSet, at).responseCode).toBe(code);
  });

  it("the user-role check's evidence names the status in force, and the decision is stored and read back as it was made", () => {
    const w = given([...meterPoint, commissioned, edActive, userRole(noA, 'ED', 'Suspended', '2031-01-01T00:00:00.000Z')]);
    const today = judged(w, 'baseline@3', NOW);
    expect(today.checks[0]).toMatchObject({ outcome: 'pass', evidence: { role: 'ED', status: 'Active' } });
    const then = judged(w, 'baseline@3', LATER);
    expect(then.checks[0]).toMatchObject({ outcome: 'fail', code: 'E3', reason: `User ${noA} in role ED is Suspended, not Active`, evidence: { status: 'Suspended' } });
    expectStoredAsMade(today, then);
    const early = judged(given([...meterPoint, commissioned, userRole(noA, 'ED', 'Active', '2030-01-01T00:00:00.000Z')]), 'baseline@3', NOW);
    expect(early.checks[0]).toMatchObject({ code: 'E1', reason: `User ${noA} holds no User Role`, evidence: { heldRoles: [] } });
  });
});

describe('edition 3: a device as its inventory record in force at the time of the check', () => {
  const dated = (status: string, changedAt: string, mpxn: string | null = mpan) => inventory(esme, 'ESME', 1, status as never, mpxn, changedAt);
  it.each`
    rule                                                                                  | changes                                                                                                   | ruleSet        | at         | code
    ${'a suspension dated next month, recorded today: Commissioned today'}                | ${[commissioned, dated('Suspended', '2024-04-01T00:00:00.000Z')]}                                          | ${'baseline@3'} | ${NOW}     | ${'I0'}
    ${'... Suspended once the date comes'}                                                | ${[commissioned, dated('Suspended', '2024-04-01T00:00:00.000Z')]}                                          | ${'baseline@3'} | ${LATER}   | ${'E5'}
    ${'... edition 2 judged it Suspended today'}                                          | ${[commissioned, dated('Suspended', '2024-04-01T00:00:00.000Z')]}                                          | ${'baseline@2'} | ${NOW}     | ${'E5'}
    ${'... and so did edition 1'}                                                         | ${[commissioned, dated('Suspended', '2024-04-01T00:00:00.000Z')]}                                          | ${'baseline@1'} | ${NOW}     | ${'E5'}
    ${'a decommissioning dated next month: Commissioned today'}                           | ${[commissioned, dated('Decommissioned', '2024-04-01T00:00:00.000Z')]}                                     | ${'baseline@3'} | ${NOW}     | ${'I0'}
    ${'a device Decommissioned, Commissioned again from next month: not yet'}             | ${[dated('Decommissioned', '2020-01-01T00:00:00.000Z'), dated('Commissioned', '2024-04-01T00:00:00.000Z')]} | ${'baseline@3'} | ${NOW}     | ${'E5'}
    ${'... edition 2 took it as Commissioned today'}                                      | ${[dated('Decommissioned', '2020-01-01T00:00:00.000Z'), dated('Commissioned', '2024-04-01T00:00:00.000Z')]} | ${'baseline@2'} | ${NOW}     | ${'I0'}
    ${'a device whose first inventory record takes effect next month: not in the inventory'} | ${[dated('Commissioned', '2024-04-01T00:00:00.000Z')]}                                                  | ${'baseline@3'} | ${NOW}     | ${'E19'}
    ${'... in it once the date comes'}                                                    | ${[dated('Commissioned', '2024-04-01T00:00:00.000Z')]}                                                     | ${'baseline@3'} | ${LATER}   | ${'I0'}
    ${'... edition 2 took it as in the inventory today'}                                  | ${[dated('Commissioned', '2024-04-01T00:00:00.000Z')]}                                                     | ${'baseline@2'} | ${NOW}     | ${'I0'}
    ${'a backdated suspension (January 2024, recorded after): Suspended today'}           | ${[commissioned, dated('Suspended', '2024-01-01T00:00:00.000Z')]}                                          | ${'baseline@3'} | ${NOW}     | ${'E5'}
    ${'... Commissioned before it took effect'}                                           | ${[commissioned, dated('Suspended', '2024-01-01T00:00:00.000Z')]}                                          | ${'baseline@3'} | ${EARLIER} | ${'I0'}
    ${'an earlier change appended last does not undo a later-dated one'}                  | ${[dated('Suspended', '2024-01-01T00:00:00.000Z'), commissioned]}                                          | ${'baseline@3'} | ${NOW}     | ${'E5'}
    ${'... edition 2 took the last appended (Commissioned)'}                              | ${[dated('Suspended', '2024-01-01T00:00:00.000Z'), commissioned]}                                          | ${'baseline@2'} | ${NOW}     | ${'I0'}
    ${'two at the same instant: the later appended corrects the earlier (Suspended)'}     | ${[commissioned, dated('Suspended', '2020-01-01T00:00:00.000Z')]}                                          | ${'baseline@3'} | ${NOW}     | ${'E5'}
    ${'two at the same instant: the later appended corrects the earlier (Commissioned)'}  | ${[dated('Suspended', '2020-01-01T00:00:00.000Z'), commissioned]}                                          | ${'baseline@3'} | ${NOW}     | ${'I0'}
    ${'... so with a change dated next month too (Commissioned)'}                         | ${[dated('Suspended', '2020-01-01T00:00:00.000Z'), commissioned, dated('Decommissioned', '2024-04-01T00:00:00.000Z')]} | ${'baseline@3'} | ${NOW} | ${'I0'}
    ${'... and (Suspended)'}                                                              | ${[commissioned, dated('Suspended', '2020-01-01T00:00:00.000Z'), dated('Decommissioned', '2024-04-01T00:00:00.000Z')]} | ${'baseline@3'} | ${NOW} | ${'E5'}
    ${'... and with a backdated change appended after them (Commissioned)'}                | ${[dated('Suspended', '2020-01-01T00:00:00.000Z'), commissioned, dated('Decommissioned', '2019-01-01T00:00:00.000Z')]} | ${'baseline@3'} | ${NOW} | ${'I0'}
    ${'a meter point unlinked from next month: today the device serves it (step 4 passes)'} | ${[commissioned, dated('Commissioned', '2024-04-01T00:00:00.000Z', null)]}                              | ${'baseline@3'} | ${NOW}     | ${'I0'}
    ${'... edition 2 judged it as serving none today (E4)'}                               | ${[commissioned, dated('Commissioned', '2024-04-01T00:00:00.000Z', null)]}                                 | ${'baseline@2'} | ${NOW}     | ${'E4'}
  `('$rule: under $ruleSet at $at, $code', ({ changes, ruleSet, at, code }) => {
    const w = given([...meterPoint, edActive, ...(changes as LedgerEvent[])]);
    expect(judged(w, ruleSet, at).responseCode).toBe(code);
  });

  it("the device check's evidence names the record in force, and the decision is stored and read back as it was made", () => {
    const w = given([...meterPoint, edActive, commissioned, dated('Suspended', '2024-04-01T00:00:00.000Z')]);
    const today = judged(w, 'baseline@3', NOW);
    expect(today.checks[2]).toMatchObject({ outcome: 'pass', reason: 'ESME (SMETS1) is Commissioned', evidence: { status: 'Commissioned', mpxn: mpan } });
    const then = judged(w, 'baseline@3', LATER);
    expect(then.checks[2]).toMatchObject({ outcome: 'fail', code: 'E5', evidence: { status: 'Suspended' } });
    const asBefore = judged(w, 'baseline@2', NOW);
    expect(asBefore.checks[2]).toMatchObject({ outcome: 'fail', code: 'E5', evidence: { status: 'Suspended' } });
    expectStoredAsMade(today, then);
  });
});

describe('the timelines edition 3 reads, and states folded before they were kept', () => {
  it('rolesAt and inventoryAt give what was in force; a state without its timeline gives what was last recorded', () => {
    const user = fold(evolveUser, [edActive, userRole(noA, 'IS', 'Active', '2030-01-01T00:00:00.000Z')])!;
    expect(Object.keys(rolesAt(user, NOW))).toEqual(['ED']);
    expect(Object.keys(rolesAt(user, LATER))).toEqual(['ED', 'IS']);
    expect(userAt(user, NOW)).toEqual({ ...user, roles: { ED: user.roles.ED } });
    const before: UserState = { userId: noA, roles: user.roles };
    expect(rolesAt(before, NOW)).toBe(user.roles);

    const device = fold(evolveDevice, [commissioned, inventory(esme, 'ESME', 1, 'Suspended', null, '2024-04-01T00:00:00.000Z')])!;
    expect(inventoryAt(device, NOW)).toMatchObject({ inInventory: true, status: 'Commissioned', mpxn: mpan });
    expect(inventoryAt(device, LATER)).toMatchObject({ inInventory: true, status: 'Suspended', mpxn: null });
    expect(inventoryAt(device, '2019-01-01T00:00:00.000Z')).toEqual({ deviceId: esme, inInventory: false, slots: {}, inventory: device.inventory });
    const { inventory: _kept, ...folded } = device;
    expect(inventoryAt(folded as DeviceState, NOW)).toBe(folded);
    // Every change in force and appended in date order: the fold's own fields are the record in force, and no copy is made.
    expect(inventoryAt(device, LATER)).toBe(device);
    expect(userAt(user, LATER)).toBe(user);
  });

  it('of two at one instant the one appended later is in force, also while a change dated later is pending (not only where every change is in force and in order)', () => {
    const T1 = '2020-01-01T00:00:00.000Z';
    const device = fold(evolveDevice, [inventory(esme, 'ESME', 1, 'InstalledNotCommissioned', mpan, T1), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T1), inventory(esme, 'ESME', 1, 'Decommissioned', null, LATER)])!;
    expect(inventoryAt(device, NOW)).toMatchObject({ status: 'Commissioned', mpxn: mpan });
    const user = fold(evolveUser, [userRole(noA, 'ED', 'Active', T1), userRole(noA, 'ED', 'Suspended', T1), userRole(noA, 'ED', 'Active', LATER)])!;
    expect(rolesAt(user, NOW).ED).toMatchObject({ status: 'Suspended' });
  });

  it('a state folded before the timelines were kept, and then changed, keeps none (its history is not known): it is judged as last recorded', () => {
    const user: UserState = { userId: noA, roles: { ED: { status: 'Active', marketIds: [], effectiveFrom: '2020-01-01T00:00:00.000Z' } } };
    const suspended = evolveUser(user, userRole(noA, 'ED', 'Suspended', '2031-01-01T00:00:00.000Z'));
    expect(suspended.registrations).toBeUndefined();
    expect(rolesAt(suspended, NOW).ED?.status).toBe('Suspended');
    const device: DeviceState = { deviceId: esme, inInventory: true, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: mpan, slots: {} };
    const changed = evolveDevice(device, inventory(esme, 'ESME', 1, 'Suspended', mpan, '2031-01-01T00:00:00.000Z'));
    expect(changed.inventory).toBeUndefined();
    expect(inventoryAt(changed, NOW).status).toBe('Suspended');
    // A device known only by its certificates has no inventory history to lose: its timeline starts.
    expect(evolveDevice({ deviceId: esme, inInventory: false, slots: {} }, commissioned).inventory).toHaveLength(1);
  });
});
