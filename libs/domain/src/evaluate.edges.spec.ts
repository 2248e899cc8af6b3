import type { ResponseCode } from './events';
import { cert, commit, given, ids, inventory, mpan, mprn, NOW, placed, registration, request, userRole, when, type RequestSpec, type World } from './testing/scenario';

/**
 * The edges of every check of evaluate(), one row per way to fail, rows where two checks fail at
 * once (so the order shows), the timeline edges of step 4 and the limits of the rule sets.
 * Read each table as a rule of domain.md section 5 or 6.
 */

const { supplierA, supplierB, noA, noB, gtA, esme, esme2, gsme, chf, unknownDevice } = ids;
/** A User the estate does not know. */
const stranger = '90-B3-D5-1F-30-09-00-01';
const T2019 = '2019-01-01T00:00:00.000Z';

/** A code, and the check that decided it (null when accepted). */
const decided = (w: World, spec: RequestSpec, ruleSet = 'baseline', now = NOW) => {
  const ev = when(w, request(spec), ruleSet, now);
  const failed = ev.decision.data.checks.find((c) => c.outcome === 'fail');
  return { code: ev.decision.data.responseCode as ResponseCode, failsAt: failed?.check ?? null, ev };
};

const noCerts = (owner: string, roleCode = '03') => [cert(owner, 'digitalSignature', roleCode, 'N1'), cert(owner, 'keyAgreement', roleCode, 'N2')];

/** A commissioned SMETS1 ESME on an MPAN whose supplier is supplier A and NO is NO-A, each owning its slots. */
function estate(extra: Parameters<typeof given>[0] = []): World {
  return given([
    userRole(supplierA, 'IS'),
    userRole(supplierB, 'IS'),
    userRole(noA, 'ED'),
    userRole(noB, 'ED'),
    userRole(gtA, 'GT'),
    registration(mpan, 'supplier', supplierA, T2019),
    registration(mpan, 'networkOperator', noA, T2019),
    registration(mprn, 'supplier', supplierA, T2019),
    registration(mprn, 'networkOperator', gtA, T2019),
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1')),
    placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'A1')),
    ...extra,
  ]);
}

describe('step 1: E1 the User does not hold the role, E3 the User Role is not Active', () => {
  it.each`
    case                                                              | events                                                        | spec                                                    | code
    ${'a User holding no role at all'}                                | ${[]}                                                         | ${{ from: stranger, to: esme, srv: '4.1.1' }}                | ${'E1'}
    ${'a User stating a role it does not hold'}                       | ${[userRole(stranger, 'ED')]}                                      | ${{ from: stranger, to: esme, srv: '4.1.1', role: 'GT' }}    | ${'E1'}
    ${'a supplier signing with a network-operator certificate'}       | ${[userRole(stranger, 'IS')]}                                      | ${{ from: stranger, to: esme, srv: '4.1.1', signingRoleCode: '03' }} | ${'E1'}
    ${'a signing role code that is no remote-party role'}             | ${[userRole(stranger, 'ED')]}                                      | ${{ from: stranger, to: esme, srv: '4.1.1', signingRoleCode: '07' }} | ${'E1'}
    ${'a gas transporter on an electricity meter (the fuel decides)'} | ${[userRole(stranger, 'GT')]}                                      | ${{ from: stranger, to: esme, srv: '4.1.1' }}                | ${'E1'}
    ${'a Suspended User Role'}                                        | ${[userRole(stranger, 'ED', 'Suspended')]}                         | ${{ from: stranger, to: esme, srv: '4.1.1' }}                | ${'E3'}
    ${'a Withdrawn User Role'}                                        | ${[userRole(stranger, 'ED', 'Withdrawn')]}                         | ${{ from: stranger, to: esme, srv: '4.1.1' }}                | ${'E3'}
    ${'a Withdrawn role stated in the request'}                       | ${[userRole(stranger, 'ED', 'Withdrawn')]}                         | ${{ from: stranger, to: esme, srv: '4.1.1', role: 'ED' }}    | ${'E3'}
    ${'a role Active once, Withdrawn since'}                          | ${[userRole(stranger, 'ED'), userRole(stranger, 'ED', 'Withdrawn')]}    | ${{ from: stranger, to: esme, srv: '4.1.1' }}                | ${'E3'}
    ${'a Suspended role sending a request its role may not send'}     | ${[userRole(stranger, 'ED', 'Suspended')]}                         | ${{ from: stranger, to: esme, srv: '7.3' }}                  | ${'E3'}
    ${'a User holding no role, sending to a device not in the inventory'} | ${[]}                                                     | ${{ from: stranger, to: unknownDevice, srv: '7.3' }}         | ${'E1'}
  `('given $case, then $code at step 1', ({ events, spec, code }) => {
    const r = decided(estate(events), spec);
    expect(r.code).toBe(code);
    expect(r.failsAt).toBe('user-role');
    expect(r.ev.decision.data.checks.map((c) => c.outcome)).toEqual(['fail', 'skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('an E1 records no sender role and says which roles the User holds; an E3 says the status', () => {
    const e1 = decided(estate([userRole(stranger, 'ED')]), { from: stranger, to: esme, srv: '4.1.1', role: 'IS' });
    expect(e1.ev.decision.data.senderRole).toBeNull();
    expect(e1.ev.decision.data.checks[0]).toMatchObject({ step: 1, code: 'E1', reason: `User ${stranger} does not hold role IS`, evidence: { heldRoles: ['ED'], statedRole: 'IS' } });
    const nothing = decided(estate(), { from: '90-B3-D5-1F-30-09-00-02', to: esme, srv: '4.1.1' });
    expect(nothing.ev.decision.data.checks[0].reason).toMatch(/holds no User Role$/);
    const e3 = decided(estate([userRole(stranger, 'ED', 'Withdrawn')]), { from: stranger, to: esme, srv: '4.1.1' });
    expect(e3.ev.decision.data.senderRole).toBe('ED');
    expect(e3.ev.decision.data.checks[0]).toMatchObject({ code: 'E3', reason: `User ${stranger} in role ED is Withdrawn, not Active`, evidence: { status: 'Withdrawn', role: 'ED' } });
  });
});

describe('the derived role: roles held, narrowed by the signing role code and the fuel, then IS, GS, ED, GT, ES, OU, RSA', () => {
  const multi = (roles: Array<'IS' | 'ES' | 'GS' | 'ED' | 'GT' | 'OU' | 'RSA'>) => estate(roles.map((r) => userRole(stranger, r)));
  it.each`
    holds                  | device  | srv         | signingRoleCode | role
    ${['IS', 'GS']}        | ${esme} | ${'4.1.1'}  | ${undefined}    | ${'IS'}
    ${['IS', 'GS']}        | ${gsme} | ${'4.1.1'}  | ${undefined}    | ${'GS'}
    ${['ED', 'IS']}        | ${esme} | ${'4.1.1'}  | ${undefined}    | ${'IS'}
    ${['ED', 'IS']}        | ${esme} | ${'4.1.1'}  | ${'03'}         | ${'ED'}
    ${['ED', 'IS']}        | ${esme} | ${'4.1.1'}  | ${'02'}         | ${'IS'}
    ${['ES', 'ED']}        | ${esme} | ${'4.1.1'}  | ${undefined}    | ${'ED'}
    ${['ES', 'IS']}        | ${esme} | ${'7.1'}    | ${'02'}         | ${'IS'}
    ${['ES']}              | ${esme} | ${'4.1.1'}  | ${undefined}    | ${'ES'}
    ${['GT', 'ED']}        | ${gsme} | ${'4.1.1'}  | ${undefined}    | ${'GT'}
    ${['OU', 'RSA']}       | ${chf}  | ${'4.1.1'}  | ${undefined}    | ${'OU'}
  `('a User holding $holds, sending $srv to $device (role code $signingRoleCode), is judged as $role', ({ holds, device, srv, signingRoleCode, role }) => {
    const w = multi(holds);
    w.devices.set(gsme, given([inventory(gsme, 'GSME', 1, 'Commissioned', mprn)]).devices.get(gsme)!);
    w.devices.set(chf, given([inventory(chf, 'CHF', 1, 'Commissioned', null)]).devices.get(chf)!);
    expect(decided(w, { from: stranger, to: device, srv, signingRoleCode }).ev.decision.data.senderRole).toBe(role);
  });

  it('the first of the roles eligible for the SRV is chosen, else the first held (which then fails E2)', () => {
    const w = multi(['ES', 'ED']);
    expect(decided(w, { from: stranger, to: esme, srv: '7.3' })).toMatchObject({ code: 'E2', ev: { decision: { data: { senderRole: 'ED' } } } });
  });
});

describe('step 2: E2 the role is not eligible for the SRV, or names a DCC remote party', () => {
  it.each`
    case                                              | spec                                                                                                        | code
    ${'an ED arming supply'}                          | ${{ from: noA, to: esme, srv: '7.3' }}                                                                      | ${'E2'}
    ${'an ED enabling supply'}                        | ${{ from: noA, to: esme, srv: '7.1' }}                                                                      | ${'E2'}
    ${'an ED handing over a device (6.21)'}           | ${{ from: noA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }}                 | ${'E2'}
    ${'an ED replacing the device credentials'}       | ${{ from: noA, to: esme, srv: '6.15.2' }}                                                                   | ${'E2'}
    ${'an ED activating firmware'}                    | ${{ from: noA, to: esme, srv: '11.3' }}                                                                     | ${'E2'}
    ${'6.15.1 replacing Root credentials'}            | ${{ from: noA, to: esme, srv: '6.15.1', rpr: 'Root', certificates: noCerts(noA) }}                          | ${'E2'}
    ${'6.15.1 replacing ACB credentials'}             | ${{ from: noA, to: esme, srv: '6.15.1', rpr: 'ACB', certificates: noCerts(noA) }}                           | ${'E2'}
    ${'6.15.1 replacing Recovery credentials'}        | ${{ from: supplierA, to: esme, srv: '6.15.1', rpr: 'Recovery', certificates: noCerts(supplierA, '02') }}    | ${'E2'}
    ${'6.15.1 replacing TransCoS credentials'}        | ${{ from: supplierA, to: esme, srv: '6.15.1', rpr: 'TransCoS', certificates: noCerts(supplierA, '02') }}    | ${'E2'}
    ${'6.21 handing over ACB credentials'}            | ${{ from: supplierA, to: esme, srv: '6.21', rpr: 'ACB', certificates: noCerts(supplierA, '02') }}           | ${'E2'}
    ${'an ED arming supply on a device not in the inventory'} | ${{ from: noA, to: unknownDevice, srv: '7.3' }}                                                     | ${'E2'}
    ${'Root credentials on a device not in the inventory'} | ${{ from: noA, to: unknownDevice, srv: '6.15.1', rpr: 'Root', certificates: noCerts(noA) }}            | ${'E2'}
  `('given $case, then $code at step 2, before the device is looked at', ({ spec, code }) => {
    const r = decided(estate(), spec);
    expect(r).toMatchObject({ code, failsAt: 'srv-eligibility' });
    expect(r.ev.placed).toEqual([]);
  });

  it('a DCC remote party refusal names it, and step 2 passes for a User party', () => {
    const root = decided(estate(), { from: noA, to: esme, srv: '6.15.1', rpr: 'Root', certificates: noCerts(noA) });
    expect(root.ev.decision.data.checks[1]).toMatchObject({ code: 'E2', reason: expect.stringMatching(/cannot replace Root credentials .* the DCC's/), evidence: { remotePartyRole: 'Root', role: 'ED' } });
    const ok = decided(estate(), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) });
    expect(ok.ev.decision.data.checks[1]).toMatchObject({ outcome: 'pass', evidence: { srv: '6.15.1', role: 'ED', critical: true } });
  });
});

describe('step 3: E19 not in the inventory, E11 not for this device type, E5 not in this status', () => {
  it.each`
    case                                                                    | events                                                                                              | spec                                                   | code
    ${'a device never heard of'}                                            | ${[]}                                                                                               | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E19'}
    ${'a device known only through a certificate placed on it'}             | ${[placed(unknownDevice, 'networkOperator.critical', cert(noA))]}                                   | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E19'}
    ${'a CHF asked to read import registers'}                               | ${[inventory(unknownDevice, 'CHF', 1, 'Commissioned', mpan)]}                                       | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E11'}
    ${'a GPF asked to disable supply'}                                      | ${[inventory(unknownDevice, 'GPF', 1, 'Commissioned', mprn)]}                                       | ${{ from: supplierA, to: unknownDevice, srv: '7.2', role: 'IS' }} | ${'E11'}
    ${'a decommissioned GPF asked to disable supply (type checked before status)'} | ${[inventory(unknownDevice, 'GPF', 1, 'Decommissioned', mprn)]}                               | ${{ from: supplierA, to: unknownDevice, srv: '7.2', role: 'IS' }} | ${'E11'}
    ${'a decommissioned CHF asked to read (type checked before status)'}   | ${[inventory(unknownDevice, 'CHF', 1, 'Decommissioned', mpan)]}                                     | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E11'}
    ${'a decommissioned GPF asked to read (a GPF may be read under @2)'}    | ${[inventory(unknownDevice, 'GPF', 1, 'Decommissioned', mprn)]}                                     | ${{ from: gtA, to: unknownDevice, srv: '4.1.1' }}      | ${'E5'}
    ${'an ESME Decommissioned'}                                             | ${[inventory(unknownDevice, 'ESME', 1, 'Decommissioned', mpan)]}                                    | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E5'}
    ${'an ESME Suspended'}                                                  | ${[inventory(unknownDevice, 'ESME', 1, 'Suspended', mpan)]}                                         | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E5'}
    ${'an ESME Withdrawn'}                                                  | ${[inventory(unknownDevice, 'ESME', 1, 'Withdrawn', mpan)]}                                         | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E5'}
    ${'an ESME InstalledNotCommissioned, for a read'}                       | ${[inventory(unknownDevice, 'ESME', 1, 'InstalledNotCommissioned', mpan)]}                          | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}      | ${'E5'}
    ${'an ESME InstalledNotCommissioned, for arming supply'}                | ${[inventory(unknownDevice, 'ESME', 1, 'InstalledNotCommissioned', mpan)]}                          | ${{ from: supplierA, to: unknownDevice, srv: '7.3' }}  | ${'E5'}
    ${'an ESME Pending, for a credential request'}                          | ${[inventory(unknownDevice, 'ESME', 1, 'Pending', mpan)]}                                           | ${{ from: noA, to: unknownDevice, srv: '6.24.1' }}     | ${'E5'}
    ${'a decommissioned ESME whose sender is not registered (E5 before E4)'} | ${[inventory(unknownDevice, 'ESME', 1, 'Decommissioned', mpan)]}                                   | ${{ from: noB, to: unknownDevice, srv: '4.1.1' }}      | ${'E5'}
    ${'an inventory record after a placement'}                              | ${[placed(unknownDevice, 'networkOperator.critical', cert(noA)), inventory(unknownDevice, 'ESME', 1, 'Recovered', mpan)]} | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }} | ${'E5'}
  `('given $case, then $code at step 3', ({ events, spec, code }) => {
    expect(decided(estate(events), spec)).toMatchObject({ code, failsAt: 'device' });
  });

  it.each`
    case                                                            | events                                                                                         | spec
    ${'an ESME InstalledNotCommissioned, for a credential read'}    | ${[inventory(unknownDevice, 'ESME', 1, 'InstalledNotCommissioned', mpan)]}                     | ${{ from: noA, to: unknownDevice, srv: '6.24.1' }}
    ${'a GPF Commissioned, for a credential read by its GT'}        | ${[inventory(unknownDevice, 'GPF', 1, 'Commissioned', mprn)]}                                  | ${{ from: gtA, to: unknownDevice, srv: '6.24.1' }}
    ${'a device placed on before it entered the inventory'}        | ${[placed(unknownDevice, 'networkOperator.critical', cert(noA)), inventory(unknownDevice, 'ESME', 1, 'Commissioned', mpan)]} | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}
  `('given $case, then step 3 passes', ({ events, spec }) => {
    const r = decided(estate(events), spec);
    expect(r.code).toBe('I0');
    expect(r.ev.decision.data.checks[2]).toMatchObject({ outcome: 'pass', evidence: { deviceId: unknownDevice } });
  });

  it('under baseline@1 (catalogue@1) 4.1.1 does not apply to a GPF: type checked before status, then E11 at step 3', () => {
    const gpf = [inventory(unknownDevice, 'GPF', 1, 'Decommissioned', mprn)];
    expect(decided(estate(gpf), { from: gtA, to: unknownDevice, srv: '4.1.1' }, 'baseline@1')).toMatchObject({ code: 'E11', failsAt: 'device' });
    const e11 = decided(estate([inventory(unknownDevice, 'GPF', 1, 'Commissioned', mprn)]), { from: gtA, to: unknownDevice, srv: '4.1.1' }, 'baseline@1');
    expect(e11).toMatchObject({ code: 'E11', failsAt: 'device' });
    expect(e11.ev.decision.data.checks[2]).toMatchObject({ evidence: { deviceType: 'GPF', appliesTo: ['ESME', 'GSME'] } });
  });

  it('each refusal carries the device and what the SRV allows', () => {
    const e11 = decided(estate([inventory(unknownDevice, 'CHF', 1, 'Commissioned', mpan)]), { from: noA, to: unknownDevice, srv: '4.1.1' });
    expect(e11.ev.decision.data.checks[2]).toMatchObject({ code: 'E11', evidence: { deviceType: 'CHF', appliesTo: ['ESME', 'GSME', 'GPF'] } });
    const e5 = decided(estate([inventory(unknownDevice, 'ESME', 1, 'Suspended', mpan)]), { from: noA, to: unknownDevice, srv: '4.1.1' });
    expect(e5.ev.decision.data.checks[2]).toMatchObject({ code: 'E5', evidence: { status: 'Suspended', allowedStatuses: ['Commissioned'], mpxn: mpan } });
    const e19 = decided(estate([placed(unknownDevice, 'networkOperator.critical', cert(noA))]), { from: noA, to: unknownDevice, srv: '4.1.1' });
    expect(e19.ev.decision.data.checks[2]).toMatchObject({ code: 'E19', evidence: { deviceId: unknownDevice } });
  });
});

describe('step 4 applies to non-critical requests and to SMETS1 critical ones, never to SMETS2 critical ones', () => {
  // NO-B is not registered anywhere: wherever step 4 applies to it, it fails E4.
  it.each`
    generation | srv         | critical | step4        | code
    ${1}       | ${'4.1.1'}  | ${false} | ${'fail'}    | ${'E4'}
    ${2}       | ${'4.1.1'}  | ${false} | ${'fail'}    | ${'E4'}
    ${1}       | ${'6.24.1'} | ${false} | ${'fail'}    | ${'E4'}
    ${2}       | ${'6.24.1'} | ${false} | ${'fail'}    | ${'E4'}
    ${1}       | ${'6.15.1'} | ${true}  | ${'fail'}    | ${'E4'}
    ${2}       | ${'6.15.1'} | ${true}  | ${'skipped'} | ${'I0'}
  `('SMETS$generation, $srv (critical: $critical) by an unregistered NO: step 4 $step4, $code', ({ generation, srv, step4, code }) => {
    const w = given([userRole(noB, 'ED'), registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', generation, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]);
    const spec = srv === '6.15.1' ? { from: noB, to: esme, srv, rpr: 'NetworkOperator' as const, certificates: noCerts(noB) } : { from: noB, to: esme, srv };
    const r = decided(w, spec);
    expect(r.code).toBe(code);
    expect(r.ev.decision.data.checks[3].outcome).toBe(step4);
  });

  it.each`
    srv        | generation
    ${'7.3'}   | ${2}
    ${'11.3'}  | ${2}
    ${'7.3'}   | ${1}
  `('$srv (critical) to a SMETS$generation ESME by a supplier that is not registered', ({ srv, generation }) => {
    const w = given([userRole(supplierB, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', generation, 'Commissioned', mpan), placed(esme, 'supplier.critical', cert(supplierB, 'digitalSignature', '02'))]);
    expect(decided(w, { from: supplierB, to: esme, srv }).code).toBe(generation === 2 ? 'I0' : 'E4');
  });

  it('a device that serves no meter point fails step 4, saying so', () => {
    const r = decided(estate([inventory(unknownDevice, 'ESME', 1, 'Commissioned', null)]), { from: noA, to: unknownDevice, srv: '4.1.1' });
    expect(r).toMatchObject({ code: 'E4', failsAt: 'registration-data' });
    expect(r.ev.decision.data.checks[3]).toMatchObject({ reason: `device ${unknownDevice} serves no meter point in the inventory`, evidence: { mpxn: null, responsibility: 'networkOperator', userId: noA } });
  });

  it('a supplier is judged against the supplier timeline, a NO against the NO timeline', () => {
    const w = given([userRole(noA, 'IS'), userRole(supplierA, 'ED'), registration(mpan, 'supplier', supplierA, T2019), registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
    // each holds the other's registration: as supplier, noA is not the registered supplier; as ED, supplierA is not the NO
    expect(decided(w, { from: noA, to: esme, srv: '4.1.1' })).toMatchObject({ code: 'E4' });
    expect(decided(w, { from: supplierA, to: esme, srv: '4.1.1' })).toMatchObject({ code: 'E4' });
    const evidence = decided(w, { from: noA, to: esme, srv: '4.1.1' }).ev.decision.data.checks[3];
    expect(evidence).toMatchObject({ reason: `at ${NOW} the registered supplier is ${supplierA} for ${mpan}, not ${noA}`, evidence: { responsibility: 'supplier', registered: { partyUserId: supplierA } } });
  });

  it('nobody registered for the responsibility: E4 that says so', () => {
    const w = given([userRole(noA, 'ED'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
    expect(decided(w, { from: noA, to: esme, srv: '4.1.1' }).ev.decision.data.checks[3]).toMatchObject({ code: 'E4', reason: `at ${NOW} no network operator is registered for ${mpan}, not ${noA}`, evidence: { registered: null } });
  });
});

describe('step 4 timing: throughout a date range, else at the execution time, else at the time of the check', () => {
  // NO-A until 2024-06-01, NO-B from then on.
  const CHANGE = '2024-06-01T00:00:00.000Z';
  const changeOfNo = (extra: Parameters<typeof given>[0] = []) =>
    given([
      userRole(noA, 'ED'),
      userRole(noB, 'ED'),
      registration(mpan, 'networkOperator', noA, T2019),
      registration(mpan, 'networkOperator', noB, CHANGE),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      ...extra,
    ]);
  const range = (from: string, to: string) => ({ from, to });
  it.each`
    case                                                             | sender | dateRange                                                          | executionDateTime             | now                           | code     | basis
    ${'a range wins over the execution time (range spans a change)'} | ${noA} | ${range('2024-05-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z')}   | ${'2024-05-15T00:00:00.000Z'} | ${NOW}                        | ${'E4'}  | ${'dateRange'}
    ${'a range wins over the execution time (range after a change)'} | ${noB} | ${range('2024-06-15T00:00:00.000Z', '2024-07-01T00:00:00.000Z')}   | ${'2024-05-15T00:00:00.000Z'} | ${NOW}                        | ${'I99'} | ${'dateRange'}
    ${'a range wins over the time of the check'}                     | ${noB} | ${range('2024-06-15T00:00:00.000Z', '2024-07-01T00:00:00.000Z')}   | ${undefined}                  | ${NOW}                        | ${'I0'}  | ${'dateRange'}
    ${'a range ending exactly at the change'}                        | ${noA} | ${range('2024-05-01T00:00:00.000Z', CHANGE)}                       | ${undefined}                  | ${NOW}                        | ${'E4'}  | ${'dateRange'}
    ${'a range ending a millisecond before the change'}              | ${noA} | ${range('2024-05-01T00:00:00.000Z', '2024-05-31T23:59:59.999Z')}   | ${undefined}                  | ${NOW}                        | ${'I0'}  | ${'dateRange'}
    ${'a range starting exactly at the change, for the new NO'}      | ${noB} | ${range(CHANGE, '2024-07-01T00:00:00.000Z')}                       | ${undefined}                  | ${NOW}                        | ${'I0'}  | ${'dateRange'}
    ${'a range starting exactly at the change, for the old NO'}      | ${noA} | ${range(CHANGE, '2024-07-01T00:00:00.000Z')}                       | ${undefined}                  | ${NOW}                        | ${'E4'}  | ${'dateRange'}
    ${'a range of one instant, at the change, for the new NO'}       | ${noB} | ${range(CHANGE, CHANGE)}                                           | ${undefined}                  | ${NOW}                        | ${'I0'}  | ${'dateRange'}
    ${'a range wholly before anyone was registered'}                 | ${noA} | ${range('2018-01-01T00:00:00.000Z', '2018-02-01T00:00:00.000Z')}   | ${undefined}                  | ${NOW}                        | ${'E4'}  | ${'dateRange'}
    ${'an execution time exactly at the change, new NO'}             | ${noB} | ${undefined}                                                       | ${CHANGE}                     | ${NOW}                        | ${'I99'} | ${'executionDateTime'}
    ${'an execution time exactly at the change, old NO'}             | ${noA} | ${undefined}                                                       | ${CHANGE}                     | ${NOW}                        | ${'E4'}  | ${'executionDateTime'}
    ${'an execution time in the past wins over the time of check'}   | ${noA} | ${undefined}                                                       | ${'2024-05-31T00:00:00.000Z'} | ${'2024-08-01T00:00:00.000Z'} | ${'I0'}  | ${'executionDateTime'}
    ${'the time of the check, exactly at the change, new NO'}        | ${noB} | ${undefined}                                                       | ${undefined}                  | ${CHANGE}                     | ${'I0'}  | ${'timeOfCheck'}
    ${'the time of the check, a millisecond before the change'}      | ${noB} | ${undefined}                                                       | ${undefined}                  | ${'2024-05-31T23:59:59.999Z'} | ${'E4'}  | ${'timeOfCheck'}
  `('$case: $code', ({ sender, dateRange, executionDateTime, now, code, basis }) => {
    const r = decided(changeOfNo(), { from: sender, to: esme, srv: '4.1.1', dateRange, executionDateTime }, 'baseline', now);
    expect(r.code).toBe(code);
    expect(r.ev.decision.data.checks[3].evidence.basis).toBe(basis);
  });

  it.each`
    case                                                        | extra                                                                                   | sender | code
    ${'the same party restated inside the range'}               | ${[registration(mpan, 'networkOperator', noA, '2024-05-10T00:00:00.000Z')]}              | ${noA} | ${'I0'}
    ${'another party inside the range, then the sender again'}  | ${[registration(mpan, 'networkOperator', noB, '2024-05-10T00:00:00.000Z'), registration(mpan, 'networkOperator', noA, '2024-05-20T00:00:00.000Z')]} | ${noA} | ${'E4'}
    ${'a supplier change inside the range (another timeline)'}  | ${[registration(mpan, 'supplier', supplierB, '2024-05-10T00:00:00.000Z')]}              | ${noA} | ${'I0'}
  `('a range 2024-05-01 to 2024-05-31 with $case: $code', ({ extra, sender, code }) => {
    const r = decided(changeOfNo(extra), { from: sender, to: esme, srv: '4.1.1', dateRange: range('2024-05-01T00:00:00.000Z', '2024-05-31T00:00:00.000Z') });
    expect(r.code).toBe(code);
  });

  it('a refused range says whether the sender was not registered at its start or the registration changed inside it', () => {
    const notAtStart = decided(changeOfNo(), { from: noB, to: esme, srv: '4.1.1', dateRange: range('2024-05-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z') });
    expect(notAtStart.ev.decision.data.checks[3]).toMatchObject({
      reason: `${noB} was not the registered network operator at 2024-05-01T00:00:00.000Z for ${mpan}`,
      evidence: { basis: 'dateRange', holderAtStart: { partyUserId: noA }, changesInRange: [] },
    });
    const changed = decided(changeOfNo(), { from: noA, to: esme, srv: '4.1.1', dateRange: range('2024-05-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z') });
    expect(changed.ev.decision.data.checks[3].evidence).toMatchObject({ holderAtStart: { partyUserId: noA }, changesInRange: [{ partyUserId: noB, effectiveFrom: CHANGE }] });
    expect(changed.ev.decision.data.checks[3].reason).toBe(`${noA} the registration changed inside the range (at ${CHANGE}) for ${mpan}`);
    const nobody = decided(changeOfNo(), { from: noA, to: esme, srv: '4.1.1', dateRange: range('2018-01-01T00:00:00.000Z', '2018-02-01T00:00:00.000Z') });
    expect(nobody.ev.decision.data.checks[3].evidence).toMatchObject({ holderAtStart: null, changesInRange: [] });
    const passed = decided(changeOfNo(), { from: noA, to: esme, srv: '4.1.1', dateRange: range('2024-05-01T00:00:00.000Z', '2024-05-02T00:00:00.000Z') });
    expect(passed.ev.decision.data.checks[3]).toMatchObject({ outcome: 'pass', reason: `${noA} was the registered network operator of ${mpan} throughout 2024-05-01T00:00:00.000Z to 2024-05-02T00:00:00.000Z` });
  });
});

describe('Registration Data timelines: RDP corrections and changes that arrive out of order', () => {
  const atTime = (w: World, sender: string, now: string) => decided(w, { from: sender, to: esme, srv: '4.1.1' }, 'baseline', now).code;
  const base = [userRole(noA, 'ED'), userRole(noB, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)];
  it.each`
    case                                                                   | changes                                                                                                                                     | at                            | registered
    ${'a later change arriving before an earlier one'}                     | ${[registration(mpan, 'networkOperator', noB, '2024-06-01T00:00:00.000Z'), registration(mpan, 'networkOperator', noA, T2019)]}            | ${'2024-03-01T00:00:00.000Z'} | ${noA}
    ${'a later change arriving before an earlier one, after it'}           | ${[registration(mpan, 'networkOperator', noB, '2024-06-01T00:00:00.000Z'), registration(mpan, 'networkOperator', noA, T2019)]}            | ${'2024-07-01T00:00:00.000Z'} | ${noB}
    ${'an RDP correction (same effective date) replacing the party'}       | ${[registration(mpan, 'networkOperator', noA, T2019), registration(mpan, 'networkOperator', noB, T2019)]}                                 | ${'2024-03-01T00:00:00.000Z'} | ${noB}
    ${'three changes in reverse order'}                                    | ${[registration(mpan, 'networkOperator', noA, '2023-01-01T00:00:00.000Z'), registration(mpan, 'networkOperator', noB, '2022-01-01T00:00:00.000Z'), registration(mpan, 'networkOperator', noA, '2021-01-01T00:00:00.000Z')]} | ${'2022-06-01T00:00:00.000Z'} | ${noB}
    ${'nothing effective yet'}                                             | ${[registration(mpan, 'networkOperator', noA, '2025-01-01T00:00:00.000Z')]}                                                               | ${'2024-03-01T00:00:00.000Z'} | ${null}
  `('$case: at $at the registered NO is $registered', ({ changes, at, registered }) => {
    const w = given([...base, ...changes]);
    expect(atTime(w, noA, at)).toBe(registered === noA ? 'I0' : 'E4');
    expect(atTime(w, noB, at)).toBe(registered === noB ? 'I0' : 'E4');
    expect(w.meterPoints.get(mpan)!.timelines.networkOperator.map((e) => e.effectiveFrom)).toEqual([...w.meterPoints.get(mpan)!.timelines.networkOperator.map((e) => e.effectiveFrom)].sort());
  });

  it('a record id already held is ignored, even if it now says something else (a re-sent file)', () => {
    const first = registration(mpan, 'networkOperator', noA, T2019);
    if (first.type !== 'RegistrationChanged') throw new Error('a registration');
    const resent = { type: first.type, data: { ...first.data, partyUserId: noB, effectiveFrom: '2020-01-01T00:00:00.000Z' } };
    const w = given([...base, first, resent]);
    expect(w.meterPoints.get(mpan)!.timelines.networkOperator).toEqual([{ partyUserId: noA, effectiveFrom: T2019, recordId: first.data.source.recordId }]);
  });
});

describe('step 5: the certificate owner of the relevant slot, for SMETS1 critical requests', () => {
  it.each`
    case                                                                            | extra                                                                                                            | spec                                                                                                             | code
    ${'a supplier replacing the NO credentials (slot from the RemotePartyRole)'}    | ${[]}                                                                                                            | ${{ from: supplierA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(supplierA, '02') }}  | ${'E_CERT_OWNER'}
    ${'a NO replacing the supplier credentials'}                                    | ${[]}                                                                                                            | ${{ from: noA, to: esme, srv: '6.15.1', rpr: 'Supplier', certificates: noCerts(noA) }}                           | ${'E_CERT_OWNER'}
    ${'the supplier replacing its own supplier credentials'}                        | ${[]}                                                                                                            | ${{ from: supplierA, to: esme, srv: '6.15.1', rpr: 'Supplier', certificates: noCerts(supplierA, '02') }}         | ${'I0'}
    ${'the registered NO, owner, replacing its own'}                                | ${[]}                                                                                                            | ${{ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }}                    | ${'I0'}
    ${'arming supply, the supplier owning the supplier slot'}                       | ${[]}                                                                                                            | ${{ from: supplierA, to: esme, srv: '7.3' }}                                                                     | ${'I0'}
    ${'arming supply, the supplier slot owned by another supplier'}                 | ${[placed(esme, 'supplier.critical', cert(supplierB, 'digitalSignature', '02', 'S9'))]}                          | ${{ from: supplierA, to: esme, srv: '7.3' }}                                                                     | ${'E_CERT_OWNER'}
    ${'a slot with no certificate held'}                                            | ${[inventory(esme2, 'ESME', 1, 'Commissioned', mpan)]}                                                        | ${{ from: supplierA, to: esme2, srv: '7.3' }}                                                                  | ${'E_CERT_OWNER'}
    ${'only the S1SP copy held, owned by the sender'}                               | ${[inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02'), ['S1SP'])]} | ${{ from: supplierA, to: esme2, srv: '7.3' }}           | ${'I0'}
    ${'only the DSP copy held, owned by another'}                                   | ${[inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'supplier.critical', cert(supplierB, 'digitalSignature', '02'), ['DSP'])]} | ${{ from: supplierA, to: esme2, srv: '7.3' }}            | ${'E_CERT_OWNER'}
    ${'the copies agreeing on serial and issuer'}                                   | ${[inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S5'), ['DSP']), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S5'), ['S1SP'])]} | ${{ from: supplierA, to: esme2, srv: '7.3' }} | ${'I0'}
    ${'the copies disagreeing, though the sender owns both'}                        | ${[inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S5'), ['DSP']), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S6'), ['S1SP'])]} | ${{ from: supplierA, to: esme2, srv: '7.3' }} | ${'E_CERT_OWNER'}
    ${'the slot of the key-agreement certificate is not the one checked'}           | ${[placed(esme, 'supplier.nonCritical', cert(supplierB, 'keyAgreement', '02', 'K9'))]}                          | ${{ from: supplierA, to: esme, srv: '7.3' }}                                                                     | ${'I0'}
    ${'a non-critical request by a non-owner (no step 5)'}                          | ${[placed(esme, 'supplier.critical', cert(supplierB, 'digitalSignature', '02', 'S9'))]}                          | ${{ from: supplierA, to: esme, srv: '6.24.1' }}                                                                  | ${'I0'}
  `('$case: $code', ({ extra, spec, code }) => {
    const r = decided(estate(extra), spec);
    expect(r.code).toBe(code);
    expect(r.failsAt).toBe(code === 'I0' ? null : 'certificate-ownership');
  });

  it('a SMETS2 critical request skips step 5 whoever owns the slot; a non-critical one skips it too', () => {
    const w = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', 2, 'Commissioned', mpan), placed(esme, 'supplier.critical', cert(supplierB, 'digitalSignature', '02'))]);
    const critical = decided(w, { from: supplierA, to: esme, srv: '7.3' });
    expect(critical.ev.decision.data.checks[4]).toMatchObject({ outcome: 'skipped', reason: expect.stringContaining('SMETS2') });
    const read = decided(w, { from: supplierA, to: esme, srv: '4.1.1' });
    expect(read.ev.decision.data.checks[4]).toMatchObject({ outcome: 'skipped', reason: 'not a critical request' });
  });

  it('the refusal names the slot, both copies, the owner and the sender', () => {
    // Under @4: from @5 a supplier sending 6.15.1 NetworkOperator is refused before ownership is looked at (evaluate.edition5.spec.ts).
    const r = decided(estate(), { from: supplierA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(supplierA, '02') }, 'baseline@4');
    expect(r.ev.decision.data.checks[4]).toMatchObject({
      reason: `${supplierA} does not own the networkOperator.critical certificate held by proxy: its owner is ${noA}`,
      evidence: { slot: 'networkOperator.critical', owner: noA, sender: supplierA, dsp: { certificate: { serial: 'A1' } }, s1sp: { certificate: { serial: 'A1' } } },
    });
    const empty = decided(estate([inventory(esme2, 'ESME', 1, 'Commissioned', mpan)]), { from: supplierA, to: esme2, srv: '7.3' });
    expect(empty.ev.decision.data.checks[4]).toMatchObject({ reason: `no supplier.critical certificate is held by proxy for device ${esme2}`, evidence: { dsp: null, s1sp: null } });
  });
});

describe('6.21: a handover may place credentials only in a slot that holds no User certificate', () => {
  const setup = (extra: Parameters<typeof given>[0]) => given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', 1, 'InstalledNotCommissioned', mpan), ...extra]);
  it.each`
    case                                             | extra                                                                                     | rpr                  | code
    ${'an empty NO slot'}                            | ${[]}                                                                                     | ${'NetworkOperator'} | ${'I0'}
    ${'a NO slot holding the S1SP copy only'}        | ${[placed(esme, 'networkOperator.critical', cert(noA), ['S1SP'])]}                       | ${'NetworkOperator'} | ${'E_CERT_OWNER'}
    ${'a NO slot holding the DSP copy only'}         | ${[placed(esme, 'networkOperator.critical', cert(noA), ['DSP'])]}                        | ${'NetworkOperator'} | ${'E_CERT_OWNER'}
    ${'only the NO key-agreement slot held'}         | ${[placed(esme, 'networkOperator.nonCritical', cert(noA, 'keyAgreement'))]}              | ${'NetworkOperator'} | ${'I0'}
    ${'a supplier slot held by the sender itself'}   | ${[placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02'))]}        | ${'Supplier'}        | ${'E_CERT_OWNER'}
  `('$case: $code', ({ extra, rpr, code }) => {
    const r = decided(setup(extra), { from: supplierA, to: esme, srv: '6.21', rpr, certificates: noCerts(noA) });
    expect(r.code).toBe(code);
    if (code !== 'I0') expect(r.ev.decision.data.checks[4].reason).toMatch(/slot already holds .* not DCC controlled for/);
  });
});

describe('rule sets change only a SMETS1 6.15.1 replacing NetworkOperator credentials', () => {
  // The stuck ESME: NO-B's certificates, NO-A registered.
  const stuck = (extra: Parameters<typeof given>[0] = []) =>
    given([
      userRole(noA, 'ED'),
      userRole(noB, 'ED'),
      userRole(supplierA, 'IS'),
      userRole(supplierB, 'IS'),
      registration(mpan, 'networkOperator', noA, T2019),
      registration(mpan, 'supplier', supplierA, T2019),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1')),
      placed(esme, 'supplier.critical', cert(supplierB, 'digitalSignature', '02', 'SB')),
      ...extra,
    ]);
  it.each`
    case                                                                                 | spec                                                                                                                                  | baseline          | ownershipOnly     | registeredOperator
    ${'NO-A, registered, with its own NO certificates'}                                  | ${{ from: noA, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }}                                                  | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'} | ${'I0'}
    ${'NO-A with its own certificates but a supplier role code'}                         | ${{ from: noA, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }}                                            | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'}
    ${'NO-A with one certificate of its own and one of NO-B'}                            | ${{ from: noA, srv: '6.15.1', rpr: 'NetworkOperator', certificates: [cert(noA, 'digitalSignature', '03', 'N1'), cert(noB, 'keyAgreement', '03', 'N2')] }} | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'}
    ${'NO-A with its own signing certificate only'}                                      | ${{ from: noA, srv: '6.15.1', rpr: 'NetworkOperator', certificates: [cert(noA, 'digitalSignature', '03', 'N1')] }}                    | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'} | ${'I0'}
    ${'NO-B, the owner, not registered'}                                                 | ${{ from: noB, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }}                                                  | ${'E4'}           | ${'I0'}           | ${'E4'}
    ${'NO-B, the owner, future-dated'}                                                   | ${{ from: noB, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA), executionDateTime: '2030-01-01T00:00:00.000Z' }}  | ${'E4'}           | ${'I99'}          | ${'E4'}
    ${'supplier B, owner of the supplier slot, not registered, on Supplier credentials'} | ${{ from: supplierB, srv: '6.15.1', rpr: 'Supplier', certificates: noCerts(supplierB, '02') }}                                       | ${'E4'}           | ${'E4'}           | ${'E4'}
    ${'supplier A, registered, not the owner, on Supplier credentials'}                  | ${{ from: supplierA, srv: '6.15.1', rpr: 'Supplier', certificates: noCerts(supplierA, '02') }}                                       | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'} | ${'E_CERT_OWNER'}
    ${'NO-B reading the registers (not a 6.15.1)'}                                       | ${{ from: noB, srv: '4.1.1' }}                                                                                                        | ${'E4'}           | ${'E4'}           | ${'E4'}
    ${'NO-B retrieving credentials (6.24.1)'}                                            | ${{ from: noB, srv: '6.24.1' }}                                                                                                       | ${'E4'}           | ${'E4'}           | ${'E4'}
  `('$case: baseline $baseline, ownership-only $ownershipOnly, registered-operator $registeredOperator', ({ spec, baseline, ownershipOnly, registeredOperator }) => {
    for (const [ruleSet, code] of [['baseline', baseline], ['ownership-only', ownershipOnly], ['registered-operator', registeredOperator]]) {
      expect({ ruleSet, code: decided(stuck(), { ...spec, to: esme }, ruleSet).code }).toEqual({ ruleSet, code });
    }
  });

  it('registered-operator: NO-A registered for the whole date range may replace, one not registered at its start may not', () => {
    const later = stuck([registration(mpan, 'networkOperator', noA, '2024-01-01T00:00:00.000Z'), registration(mpan, 'networkOperator', noB, '2023-01-01T00:00:00.000Z')]);
    const spec = { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator' as const, certificates: noCerts(noA) };
    expect(decided(later, { ...spec, dateRange: { from: '2024-01-01T00:00:00.000Z', to: '2024-02-01T00:00:00.000Z' } }, 'registered-operator').code).toBe('I0');
    expect(decided(later, { ...spec, dateRange: { from: '2023-06-01T00:00:00.000Z', to: '2024-02-01T00:00:00.000Z' } }, 'registered-operator').code).toBe('E4');
  });

  it('a SMETS2 device is judged alike under every rule set', () => {
    const w = given([userRole(noB, 'ED'), registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 2, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noA))]);
    for (const ruleSet of ['baseline', 'ownership-only', 'registered-operator']) {
      const r = decided(w, { from: noB, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noB) }, ruleSet);
      expect({ ruleSet, code: r.code, step4: r.ev.decision.data.checks[3].reason }).toEqual({ ruleSet, code: 'I0', step4: 'not applied to a critical request for a SMETS2 device' });
    }
  });

  it('the override and the skip say which rule set did it', () => {
    const skipped = decided(stuck(), { from: noB, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, 'ownership-only');
    expect(skipped.ev.decision.data.checks[3]).toMatchObject({ outcome: 'skipped', evidence: { ruleSet: 'ownership-only' } });
    const overridden = decided(stuck(), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, 'registered-operator');
    expect(overridden.ev.decision.data.checks[4]).toMatchObject({ outcome: 'pass', evidence: { override: 'registered-operator', owner: noB } });
    const foreign = decided(stuck(), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }, 'registered-operator@4');
    expect(foreign.ev.decision.data.checks[4]).toMatchObject({ code: 'E_CERT_OWNER', evidence: { foreign: [{ serial: 'N1' }, { serial: 'N2' }] } });
    // From @5 certificates of another role code are refused before the override is tried (its own finding).
    const wrongCode = decided(stuck(), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }, 'registered-operator@5');
    expect(wrongCode.ev.decision.data.checks[4]).toMatchObject({ code: 'E_CERT_OWNER', evidence: { finding: 'replacement-role-code', wrong: [{ serial: 'N1' }, { serial: 'N2' }] } });
    const foreignAt5 = decided(stuck(), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noB) }, 'registered-operator@5');
    expect(foreignAt5.ev.decision.data.checks[4]).toMatchObject({ code: 'E_CERT_OWNER', evidence: { foreign: [{ serial: 'N1' }, { serial: 'N2' }] } });
    expect(overridden.ev.decision.data.ruleSet).toEqual({ id: 'registered-operator', version: 5 });
    const overriddenAt1 = decided(stuck(), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, 'registered-operator@1');
    expect(overriddenAt1.ev.decision.data.checks[4]).toMatchObject({ outcome: 'pass', evidence: { override: 'registered-operator', owner: noB } });
    expect(overriddenAt1.ev.decision.data.ruleSet).toEqual({ id: 'registered-operator', version: 1 });
  });
});

describe('step 6: I0, or I99 for a future-dated request; accepted placements are stamped when they take effect', () => {
  const replace = (executionDateTime?: string) => ({ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator' as const, certificates: noCerts(noA), executionDateTime });
  it.each`
    case                                  | executionDateTime             | code     | placedAt
    ${'no execution time'}                | ${undefined}                  | ${'I0'}  | ${NOW}
    ${'an execution time in the future'}  | ${'2030-01-01T00:00:00.000Z'} | ${'I99'} | ${'2030-01-01T00:00:00.000Z'}
    ${'an execution time exactly now'}    | ${NOW}                        | ${'I0'}  | ${NOW}
    ${'an execution time in the past'}    | ${'2024-01-01T00:00:00.000Z'} | ${'I0'}  | ${NOW}
  `('$case: $code, placements stamped $placedAt', ({ executionDateTime, code, placedAt }) => {
    const r = decided(estate(), replace(executionDateTime));
    expect(r.code).toBe(code);
    expect(r.ev.decision.data).toMatchObject({ outcome: 'accepted', evaluatedAt: NOW });
    expect(r.ev.placed.map((p) => p.data.placedAt)).toEqual([placedAt, placedAt]);
  });

  it('a refused future-dated request is refused, not I99, and places nothing', () => {
    const r = decided(estate(), { ...replace('2030-01-01T00:00:00.000Z'), from: noB });
    expect(r).toMatchObject({ code: 'E4' });
    expect(r.ev.decision.data.outcome).toBe('rejected');
    expect(r.ev.placed).toEqual([]);
  });

  it.each`
    srv          | spec                                                                                                  | slots
    ${'6.23'}    | ${{ from: supplierA, certificates: [cert(supplierA, 'keyAgreement', '02', 'K1'), cert(supplierA, 'digitalSignature', '02', 'D1')] }} | ${['supplier.nonCritical', 'supplier.critical']}
    ${'6.15.1'}  | ${{ from: supplierA, rpr: 'Supplier', certificates: [cert(supplierA, 'keyAgreement', '02', 'K1')] }}  | ${['supplier.nonCritical']}
    ${'6.15.1'}  | ${{ from: noA, rpr: 'NetworkOperator', certificates: [cert(noA, 'keyAgreement', '03', 'K1')] }}       | ${['networkOperator.nonCritical']}
    ${'6.24.1'}  | ${{ from: noA }}                                                                                      | ${[]}
  `('an accepted $srv places $slots, in both copies, via the request', ({ srv, spec, slots }) => {
    const r = decided(estate(), { ...spec, to: esme, srv });
    expect(r.code).toBe('I0');
    expect(r.ev.placed.map((p) => p.data.slot)).toEqual(slots);
    for (const p of r.ev.placed) {
      expect(p.data).toMatchObject({ deviceId: esme, heldBy: ['DSP', 'S1SP'], via: { kind: 'request', requestId: `${spec.from}:${esme}:1`, srv }, schemaVersion: 1 });
    }
  });

  it('an accepted placement changes who owns the slot for the next request', () => {
    const w = estate();
    commit(w, decided(w, { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noB) }).ev);
    expect(w.devices.get(esme)!.slots['networkOperator.critical']).toMatchObject({ DSP: { certificate: { ownerUserId: noB } }, S1SP: { certificate: { ownerUserId: noB } } });
    expect(decided(w, { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA), counter: 2 }).code).toBe('E_CERT_OWNER');
  });
});

describe('the decision record', () => {
  it('an accepted decision records every step as passed or skipped with its step number, and the inputs', () => {
    const r = decided(estate(), { from: noA, to: esme, srv: '4.1.1' });
    expect(r.ev.decision.data.checks.map((c) => [c.step, c.check, c.outcome])).toEqual([
      [1, 'user-role', 'pass'],
      [2, 'srv-eligibility', 'pass'],
      [3, 'device', 'pass'],
      [4, 'registration-data', 'pass'],
      [5, 'certificate-ownership', 'skipped'],
    ]);
    expect(r.ev.decision.data.checks[0]).toMatchObject({ reason: `User ${noA} holds role ED (derived from the roles held, the signing certificate and the fuel)`, evidence: { userId: noA, role: 'ED', status: 'Active' } });
    expect(r.ev.decision.data.checks[3]).toMatchObject({ reason: `${noA} is the registered network operator of ${mpan} at ${NOW}`, evidence: { basis: 'timeOfCheck', at: NOW, registered: { partyUserId: noA } } });
    expect(r.ev.decision.type).toBe('ServiceRequestEvaluated');
    expect(r.ev.decision.data).toMatchObject({ schemaVersion: 1, senderRole: 'ED', outcome: 'accepted', responseCode: 'I0', evaluatedAt: NOW, ruleSet: { id: 'baseline', version: 5 } });
    const stated = decided(estate(), { from: noA, to: esme, srv: '4.1.1', role: 'ED' });
    expect(stated.ev.decision.data.checks[0].evidence.derivedBy).toBe('stated in the request');
  });

  it('the checks after a failure are skipped, saying why, and carry no code', () => {
    const r = decided(estate(), { from: noA, to: esme, srv: '7.3' });
    expect(r.ev.decision.data.checks.slice(2)).toEqual([
      { step: 3, check: 'device', outcome: 'skipped', reason: 'not reached: an earlier check failed', evidence: {} },
      { step: 4, check: 'registration-data', outcome: 'skipped', reason: 'not reached: an earlier check failed', evidence: {} },
      { step: 5, check: 'certificate-ownership', outcome: 'skipped', reason: 'not reached: an earlier check failed', evidence: {} },
    ]);
  });
});
