import { cert, given, ids, inventory, mpan, mprn, NOW, placed, registration, request, userRole, when, type RequestSpec } from './testing/scenario';

/**
 * A decision records, for each check, why it passed or failed and on what evidence: an auditor
 * reads them, and a replay must reproduce them word for word. One row per branch of evaluate().
 */

const { supplierA, noA, noB, gtA, esme, gsme, unknownDevice } = ids;
const T2019 = '2019-01-01T00:00:00.000Z';
const noCerts = (owner: string, roleCode = '03') => [cert(owner, 'digitalSignature', roleCode, 'N1'), cert(owner, 'keyAgreement', roleCode, 'N2')];

const world = () =>
  given([
    userRole(supplierA, 'IS'),
    userRole(noA, 'ED'),
    userRole(noB, 'ED'),
    userRole(gtA, 'GT'),
    registration(mpan, 'supplier', supplierA, T2019),
    registration(mpan, 'networkOperator', noA, T2019),
    registration(mprn, 'networkOperator', gtA, T2019),
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    inventory(gsme, 'GSME', 2, 'Commissioned', mprn),
    placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1')),
    placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1')),
  ]);
const step = (spec: RequestSpec, n: number, ruleSet = 'baseline') => when(world(), request(spec), ruleSet).decision.data.checks[n - 1];

describe('what each check records', () => {
  it.each`
    case                                            | spec                                                                                                   | n    | ruleSet                  | record
    ${'E1: no role of the User fits'}               | ${{ from: supplierA, to: esme, srv: '4.1.1', signingRoleCode: '03' }}                                 | ${1} | ${'baseline'}            | ${{ outcome: 'fail', code: 'E1', reason: `none of User ${supplierA}'s roles (IS) fits this request`, evidence: { userId: supplierA, heldRoles: ['IS'], signingRoleCode: '03', fuel: 'electricity' } }}
    ${'E1: no fuel to narrow by'}                   | ${{ from: gtA, to: unknownDevice, srv: '4.1.1', signingRoleCode: '02' }}                              | ${1} | ${'baseline'}            | ${{ outcome: 'fail', code: 'E1', evidence: { userId: gtA, heldRoles: ['GT'], signingRoleCode: '02' } }}
    ${'E2: the role is not eligible'}               | ${{ from: noA, to: esme, srv: '7.3' }}                                                                 | ${2} | ${'baseline'}            | ${{ outcome: 'fail', code: 'E2', reason: 'role ED is not eligible for SRV 7.3', evidence: { srv: '7.3', role: 'ED', eligibleRoles: ['IS', 'GS'] } }}
    ${'step 2 passes'}                              | ${{ from: noA, to: esme, srv: '4.1.1' }}                                                               | ${2} | ${'baseline'}            | ${{ outcome: 'pass', reason: 'role ED is eligible for SRV 4.1.1 (Read Instantaneous Import Registers)', evidence: { srv: '4.1.1', role: 'ED', critical: false } }}
    ${'E19'}                                        | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}                                                      | ${3} | ${'baseline'}            | ${{ outcome: 'fail', code: 'E19', reason: `device ${unknownDevice} is not in the Smart Metering Inventory`, evidence: { deviceId: unknownDevice } }}
    ${'step 3 passes'}                              | ${{ from: noA, to: esme, srv: '4.1.1' }}                                                               | ${3} | ${'baseline'}            | ${{ outcome: 'pass', reason: 'ESME (SMETS1) is Commissioned', evidence: { deviceId: esme, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: mpan } }}
    ${'step 4 skipped for SMETS2 critical'}         | ${{ from: gtA, to: gsme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(gtA) }}          | ${4} | ${'baseline'}            | ${{ outcome: 'skipped', reason: 'not applied to a critical request for a SMETS2 device', evidence: { smetsGeneration: 2 } }}
    ${'step 4 skipped by the rule set'}             | ${{ from: noB, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }}          | ${4} | ${'ownership-only'}      | ${{ outcome: 'skipped', reason: 'rule set ownership-only skips it for a SMETS1 6.15.1 replacing NetworkOperator credentials', evidence: { ruleSet: 'ownership-only' } }}
    ${'step 5 skipped for SMETS2 critical'}         | ${{ from: gtA, to: gsme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(gtA) }}          | ${5} | ${'baseline'}            | ${{ outcome: 'skipped', reason: 'a SMETS2 meter checks the signature against the certificates it stores itself', evidence: {} }}
    ${'step 5 skipped for a non-critical request'}  | ${{ from: noA, to: esme, srv: '4.1.1' }}                                                               | ${5} | ${'baseline'}            | ${{ outcome: 'skipped', reason: 'not a critical request', evidence: {} }}
    ${'step 5: the owner'}                          | ${{ from: supplierA, to: esme, srv: '7.3' }}                                                           | ${5} | ${'baseline'}            | ${{ outcome: 'pass', reason: `${supplierA} owns the supplier.critical certificate held by proxy (serial S1)`, evidence: { slot: 'supplier.critical', owner: supplierA, sender: supplierA } }}
    ${'step 5: the registered NO overriding'}       | ${{ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }}          | ${5} | ${'registered-operator'} | ${{ outcome: 'pass', reason: `rule set registered-operator: ${noA}, the registered NO, replaces ${noB}'s certificate with its own`, evidence: { override: 'registered-operator', owner: noB, slot: 'networkOperator.critical' } }}
    ${'step 5: the override refused'}               | ${{ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }}    | ${5} | ${'registered-operator@4'} | ${{ outcome: 'fail', code: 'E_CERT_OWNER', reason: `rule set registered-operator: the registered NO ${noA} may replace ${noB}'s certificate only with its own network-operator certificates`, evidence: { owner: noB } }}
    ${'6.21 into an empty slot'}                    | ${{ from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }}      | ${5} | ${'baseline'}            | ${{ outcome: 'fail', code: 'E_CERT_OWNER', reason: `the networkOperator.critical slot already holds ${noB}'s certificate: the device is not DCC controlled for NetworkOperator`, evidence: { slot: 'networkOperator.critical', held: { certificate: { serial: 'B1' }, via: { kind: 'migration' } } } }}
  `('$case (step $n)', ({ spec, n, ruleSet, record }) => {
    expect(step(spec, n, ruleSet)).toMatchObject({ step: n, ...record });
  });

  it('E11 and E5 say which device type and status, and a 6.21 into an empty slot says it is DCC controlled', () => {
    const w = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'CHF', 1, 'Commissioned', mpan), inventory(unknownDevice, 'ESME', 1, 'Suspended', mpan)]);
    expect(when(w, request({ from: supplierA, to: esme, srv: '4.1.1' })).decision.data.checks[2]).toMatchObject({ code: 'E11', reason: 'SRV 4.1.1 does not apply to a CHF' });
    expect(when(w, request({ from: supplierA, to: unknownDevice, srv: '4.1.1' })).decision.data.checks[2]).toMatchObject({ code: 'E5', reason: 'device status Suspended does not allow SRV 4.1.1' });
    const empty = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
    expect(when(empty, request({ from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) })).decision.data.checks[4]).toEqual({
      step: 5,
      check: 'certificate-ownership',
      outcome: 'pass',
      reason: 'the networkOperator.critical slot is DCC controlled (no User certificate held): handover allowed',
      evidence: { slot: 'networkOperator.critical', inForceAt: NOW },
    });
  });

  it('copies that disagree are named in the reason', () => {
    const w = given([
      userRole(noA, 'ED'),
      registration(mpan, 'networkOperator', noA, T2019),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'D1'), ['DSP']),
      placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'E1'), ['S1SP']),
    ]);
    expect(when(w, request({ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) })).decision.data.checks[4]).toMatchObject({
      reason: 'the DSP and S1SP copies of the networkOperator.critical certificate disagree: ownership cannot be established',
      evidence: { finding: 'proxy-copies-disagree', sender: noA, dsp: { certificate: { serial: 'D1' } }, s1sp: { certificate: { serial: 'E1' } } },
    });
  });

  it('the decision is stamped with the time of the check it was given', () => {
    const at = '2031-05-05T05:05:05.000Z';
    expect(when(world(), request({ from: noA, to: esme, srv: '4.1.1' }), 'baseline', at).decision.data).toMatchObject({ evaluatedAt: at, responseCode: 'I0' });
    expect(NOW).not.toBe(at);
  });
});
