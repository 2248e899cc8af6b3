import { recordRequest, requestDifferences } from './request';
import { getRuleSet } from './rule-sets';
import { proxyDisagreements, repairOptions, stuckStatus } from './stuck';
import { cert, commit, given, ids, inventory, mpan, mprn, placed, registration, request, userRole, when, type World } from './testing/scenario';

const { supplierA, supplierB, noA, noB, gtA, esme, esme2, gsme, gpf, unknownDevice } = ids;

/** The estate every table starts from. */
function estate(): World {
  return given([
    userRole(supplierA, 'IS'),
    userRole(supplierA, 'GS'),
    userRole(supplierB, 'IS'),
    userRole(noA, 'ED'),
    userRole(noB, 'ED'),
    userRole(gtA, 'GT'),
    registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'),
    registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z'),
    registration(mprn, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'),
    registration(mprn, 'networkOperator', gtA, '2019-01-01T00:00:00.000Z'),
    // A SMETS1 ESME migrated with the WRONG network-operator certificate: NO-B's, while NO-A is registered.
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1')),
    placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1')),
    placed(esme, 'networkOperator.nonCritical', cert(noB, 'keyAgreement', '03', 'B2')),
    // A SMETS1 ESME migrated correctly, on the same meter point.
    inventory(esme2, 'ESME', 1, 'Commissioned', mpan),
    placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S2')),
    placed(esme2, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'A1')),
    placed(esme2, 'networkOperator.nonCritical', cert(noA, 'keyAgreement', '03', 'A2')),
    inventory(gsme, 'GSME', 1, 'Commissioned', mprn),
    placed(gsme, 'networkOperator.critical', cert(gtA, 'digitalSignature', '03', 'G1')),
    inventory(gpf, 'GPF', 1, 'Commissioned', mprn),
  ]);
}

const noCerts = (owner: string) => [cert(owner, 'digitalSignature', '03', 'N1'), cert(owner, 'keyAgreement', '03', 'N2')];
const replaceNo = (from: string, to: string, carrying: string) => request({ from, to, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(carrying) });
const failedCheck = (ev: ReturnType<typeof when>) => ev.decision.data.checks.find((c) => c.outcome === 'fail')?.check ?? null;

describe.each([1, 2, 3, 4, 5])('the stuck device under rule sets @%i: SMETS1 ESME carrying NO-B certificate while Registration Data says NO-A', (version) => {
  it.each`
    ruleSet                  | sender | carrying | outcome       | code              | failsAt
    ${'baseline'}            | ${noA} | ${noA}   | ${'rejected'} | ${'E_CERT_OWNER'} | ${'certificate-ownership'}
    ${'baseline'}            | ${noB} | ${noA}   | ${'rejected'} | ${'E4'}           | ${'registration-data'}
    ${'ownership-only'}      | ${noA} | ${noA}   | ${'rejected'} | ${'E_CERT_OWNER'} | ${'certificate-ownership'}
    ${'ownership-only'}      | ${noB} | ${noA}   | ${'accepted'} | ${'I0'}           | ${null}
    ${'registered-operator'} | ${noA} | ${noA}   | ${'accepted'} | ${'I0'}           | ${null}
    ${'registered-operator'} | ${noB} | ${noA}   | ${'rejected'} | ${'E4'}           | ${'registration-data'}
    ${'registered-operator'} | ${noA} | ${noB}   | ${'rejected'} | ${'E_CERT_OWNER'} | ${'certificate-ownership'}
  `('under $ruleSet, $sender sending 6.15.1 with $carrying certificates: $outcome ($code)', ({ ruleSet, sender, carrying, outcome, code, failsAt }) => {
    const ev = when(estate(), replaceNo(sender, esme, carrying), `${ruleSet}@${version}`);
    expect(ev.decision.data).toMatchObject({ outcome, responseCode: code, ruleSet: { id: ruleSet, version } });
    expect(failedCheck(ev)).toBe(failsAt);
    expect(ev.placed.length).toBe(outcome === 'accepted' ? 2 : 0);
  });

  it('under baseline, each refusal says why: NO-A does not own the certificate, NO-B is not the registered NO', () => {
    const byA = when(estate(), replaceNo(noA, esme, noA));
    expect(byA.decision.data.checks.find((c) => c.outcome === 'fail')).toMatchObject({
      code: 'E_CERT_OWNER',
      reason: expect.stringContaining(`its owner is ${noB}`),
      evidence: { owner: noB, slot: 'networkOperator.critical' },
    });
    const byB = when(estate(), replaceNo(noB, esme, noA));
    expect(byB.decision.data.checks.find((c) => c.outcome === 'fail')).toMatchObject({
      code: 'E4',
      reason: expect.stringContaining(`the registered network operator is ${noA}`),
      evidence: { basis: 'timeOfCheck', registered: { partyUserId: noA } },
    });
  });

  it.each`
    ruleSet                  | sender | placedOwner
    ${'ownership-only'}      | ${noB} | ${noA}
    ${'registered-operator'} | ${noA} | ${noA}
  `('under $ruleSet the repair by $sender places NO-A certificates in both NO slots, and the device is no longer stuck', ({ ruleSet, sender, placedOwner }) => {
    const w = estate();
    const ev = when(w, replaceNo(sender, esme, noA), ruleSet);
    expect(ev.placed.map((p) => [p.data.slot, p.data.certificate.ownerUserId, p.data.heldBy, p.data.via])).toEqual([
      ['networkOperator.critical', placedOwner, ['DSP', 'S1SP'], { kind: 'request', requestId: `${sender}:${esme}:1`, srv: '6.15.1' }],
      ['networkOperator.nonCritical', placedOwner, ['DSP', 'S1SP'], { kind: 'request', requestId: `${sender}:${esme}:1`, srv: '6.15.1' }],
    ]);
    commit(w, ev);
    expect(stuckStatus(w.devices.get(esme)!, w.meterPoints.get(mpan), '2024-03-02T00:00:00.000Z').stuck).toBe(false);
  });

  it.each`
    ruleSet                  | repairedBy
    ${'baseline'}            | ${[]}
    ${'ownership-only'}      | ${['certificate owner']}
    ${'registered-operator'} | ${['registered operator']}
  `('the stuck-device report under $ruleSet names who could repair it: $repairedBy', ({ ruleSet, repairedBy }) => {
    const w = estate();
    const device = w.devices.get(esme)!;
    expect(stuckStatus(device, w.meterPoints.get(mpan), '2024-03-01T00:00:00.000Z')).toMatchObject({ stuck: true, registeredOperator: noA, certificateOwner: noB, since: '2020-06-01T00:00:00.000Z' });
    const options = repairOptions(device, w.meterPoints.get(mpan), Object.fromEntries(w.users), getRuleSet(ruleSet), '2024-03-01T00:00:00.000Z');
    expect(options.filter((o) => o.accepted).map((o) => o.who)).toEqual(repairedBy);
  });
});

describe('the trap: the registered NO, owning the certificate, hands its slot to another NO', () => {
  it('is accepted under baseline, after which neither NO can undo it', () => {
    const w = estate();
    const handOver = when(w, replaceNo(noA, esme2, noB));
    expect(handOver.decision.data).toMatchObject({ outcome: 'accepted', responseCode: 'I0' });
    commit(w, handOver);
    expect(stuckStatus(w.devices.get(esme2)!, w.meterPoints.get(mpan), '2024-03-02T00:00:00.000Z')).toMatchObject({ stuck: true, certificateOwner: noB, registeredOperator: noA });
    expect(when(w, replaceNo(noA, esme2, noA)).decision.data.responseCode).toBe('E_CERT_OWNER');
    expect(when(w, replaceNo(noB, esme2, noA)).decision.data.responseCode).toBe('E4');
  });

  it('under registered-operator the registered NO can undo the trap with its own certificates', () => {
    const w = estate();
    commit(w, when(w, replaceNo(noA, esme2, noB)));
    const undo = when(w, replaceNo(noA, esme2, noA), 'registered-operator');
    expect(undo.decision.data.outcome).toBe('accepted');
  });
});

describe('SMETS1 and SMETS2: step 4 applies to SMETS1 critical requests only', () => {
  it.each`
    generation | sender | registeredNo | outcome       | code              | step4
    ${1}       | ${noB} | ${noA}       | ${'rejected'} | ${'E4'}           | ${'fail'}
    ${2}       | ${noB} | ${noA}       | ${'accepted'} | ${'I0'}           | ${'skipped'}
    ${1}       | ${noB} | ${noB}       | ${'accepted'} | ${'I0'}           | ${'pass'}
  `('SMETS$generation ESME owned by NO-B, registered NO $registeredNo: 6.15.1 by $sender is $outcome', ({ generation, sender, registeredNo, outcome, code, step4 }) => {
    const w = given([
      userRole(noB, 'ED'),
      registration(mpan, 'networkOperator', registeredNo, '2019-01-01T00:00:00.000Z'),
      inventory(esme, 'ESME', generation, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noB)),
    ]);
    const ev = when(w, replaceNo(sender, esme, noB));
    expect(ev.decision.data).toMatchObject({ outcome, responseCode: code });
    expect(ev.decision.data.checks.find((c) => c.check === 'registration-data')?.outcome).toBe(step4);
  });

  it('a SMETS2 critical request leaves certificate ownership to the meter', () => {
    const w = given([userRole(noB, 'ED'), inventory(esme, 'ESME', 2, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noA))]);
    const ev = when(w, replaceNo(noB, esme, noB));
    expect(ev.decision.data.checks.find((c) => c.check === 'certificate-ownership')).toMatchObject({ outcome: 'skipped', reason: expect.stringContaining('SMETS2') });
  });
});

describe('Registration Data timing (SRPD 6.1): date range, else execution time, else the time of the check', () => {
  const changeOfNo = () =>
    given([
      userRole(noA, 'ED'),
      userRole(noB, 'ED'),
      registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z'),
      registration(mpan, 'networkOperator', noB, '2024-06-01T00:00:00.000Z'),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    ]);
  it.each`
    case                                    | sender | executionDateTime             | dateRange                                                                   | code    | basis
    ${'a range spanning the change of NO'}  | ${noA} | ${undefined}                  | ${{ from: '2024-05-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z' }}     | ${'E4'} | ${'dateRange'}
    ${'a range wholly before the change'}   | ${noA} | ${undefined}                  | ${{ from: '2024-01-01T00:00:00.000Z', to: '2024-05-31T23:59:59.000Z' }}     | ${'I0'} | ${'dateRange'}
    ${'a range wholly after, by the new NO'} | ${noB} | ${undefined}                 | ${{ from: '2024-06-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z' }}     | ${'I0'} | ${'dateRange'}
    ${'future execution, by the new NO'}    | ${noB} | ${'2024-07-01T00:00:00.000Z'} | ${undefined}                                                                | ${'I99'} | ${'executionDateTime'}
    ${'future execution, by the old NO'}    | ${noA} | ${'2024-07-01T00:00:00.000Z'} | ${undefined}                                                                | ${'E4'} | ${'executionDateTime'}
    ${'no date: judged now, old NO'}        | ${noA} | ${undefined}                  | ${undefined}                                                                | ${'I0'} | ${'timeOfCheck'}
    ${'no date: judged now, new NO'}        | ${noB} | ${undefined}                  | ${undefined}                                                                | ${'E4'} | ${'timeOfCheck'}
  `('$case gives $code', ({ sender, executionDateTime, dateRange, code, basis }) => {
    const ev = when(changeOfNo(), request({ from: sender, to: esme, srv: '4.1.1', executionDateTime, dateRange }));
    expect(ev.decision.data.responseCode).toBe(code);
    expect(ev.decision.data.checks.find((c) => c.check === 'registration-data')?.evidence.basis).toBe(basis);
  });
});

describe('one example of each refusal', () => {
  it.each`
    code     | case                                                    | given_                                                                                                                       | req
    ${'E1'}  | ${'the User holds no role'}                             | ${[inventory(esme, 'ESME', 1, 'Commissioned', mpan)]}                                                                        | ${{ from: noA, to: esme, srv: '4.1.1' }}
    ${'E1'}  | ${'the stated role is not one the User holds'}          | ${[userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]}                                                   | ${{ from: noA, to: esme, srv: '4.1.1', role: 'IS' }}
    ${'E3'}  | ${'the User Role is suspended'}                         | ${[userRole(noA, 'ED', 'Suspended'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]}                                      | ${{ from: noA, to: esme, srv: '4.1.1' }}
    ${'E2'}  | ${'an ED may not arm supply'}                           | ${[userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]}                                                   | ${{ from: noA, to: esme, srv: '7.3' }}
    ${'E19'} | ${'the device is not in the inventory'}                 | ${[userRole(noA, 'ED')]}                                                                                                     | ${{ from: noA, to: unknownDevice, srv: '4.1.1' }}
    ${'E11'} | ${'a voltage configuration does not apply to a CHF'}    | ${[userRole(noA, 'ED'), inventory(ids.chf, 'CHF', 2, 'Commissioned', null)]}                                                 | ${{ from: noA, to: ids.chf, srv: '6.5' }}
    ${'E5'}  | ${'the device is decommissioned'}                       | ${[userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Decommissioned', mpan)]}                                                 | ${{ from: noA, to: esme, srv: '4.1.1' }}
  `('$code: $case', ({ code, given_, req }) => {
    const ev = when(given(given_), request(req));
    expect(ev.decision.data).toMatchObject({ outcome: 'rejected', responseCode: code });
    expect(ev.placed).toEqual([]);
  });
});

describe('an inventory MPAN that fails its check digit (DCC test data) holds no Registration Data', () => {
  it('given an ESME linked to such an MPAN, when its ED reads it, then E4 says why nobody is registered', () => {
    const ev = when(given([userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', '1412345678902')]), request({ from: noA, to: esme, srv: '4.1.1' }));
    expect(ev.decision.data).toMatchObject({ outcome: 'rejected', responseCode: 'E4' });
    const failed = ev.decision.data.checks.find((c) => c.outcome === 'fail')!;
    expect(failed.reason).toMatch(/MPAN that fails its check digit/);
    expect(failed.evidence).toMatchObject({ mpxn: '1412345678902', mpanCheckDigitValid: false });
  });

  it('given a valid MPAN with nobody registered, then the E4 evidence carries no check-digit note', () => {
    const ev = when(given([userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]), request({ from: noA, to: esme, srv: '4.1.1' }));
    const failed = ev.decision.data.checks.find((c) => c.outcome === 'fail')!;
    expect(failed.code).toBe('E4');
    expect(failed.evidence).not.toHaveProperty('mpanCheckDigitValid');
  });
});

describe('gas: a GSME or GPF is judged on its MPRN and its Gas Transporter', () => {
  it.each`
    sender       | device  | srv         | code
    ${gtA}       | ${gsme} | ${'4.1.1'}  | ${'I0'}
    ${noA}       | ${gsme} | ${'4.1.1'}  | ${'E1'}
    ${gtA}       | ${gpf}  | ${'6.24.1'} | ${'I0'}
    ${supplierA} | ${gsme} | ${'4.1.1'}  | ${'I0'}
  `('$srv from $sender to $device gives $code', ({ sender, device, srv, code }) => {
    const ev = when(estate(), request({ from: sender, to: device, srv }));
    expect(ev.decision.data.responseCode).toBe(code);
    if (code === 'I0') {
      const rd = ev.decision.data.checks.find((c) => c.check === 'registration-data')!;
      expect(rd.evidence).toMatchObject({ mpxn: mprn });
    }
  });

  it('a supplier holding IS and GS is judged as GS on a gas meter (the fuel decides)', () => {
    const ev = when(estate(), request({ from: supplierA, to: gsme, srv: '4.1.1' }));
    expect(ev.decision.data.senderRole).toBe('GS');
  });

  it('the GT registered for the MPRN and owning the GSME certificate may replace it; an ED may not', () => {
    expect(when(estate(), replaceNo(gtA, gsme, gtA)).decision.data.responseCode).toBe('I0');
    expect(when(estate(), request({ from: noA, to: gsme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA), role: 'ED' })).decision.data.responseCode).toBe('E4');
  });
});

describe('other credential requests', () => {
  it('6.23 by the registered supplier places supplier certificates', () => {
    const ev = when(estate(), request({ from: supplierA, to: esme, srv: '6.23', certificates: [cert(supplierA, 'digitalSignature', '02', 'C1')] }));
    expect(ev.decision.data.responseCode).toBe('I0');
    expect(ev.placed.map((p) => p.data.slot)).toEqual(['supplier.critical']);
  });

  it('6.21 cannot hand over a NO slot that already holds a NO certificate, so a supplier cannot unstick a device', () => {
    const ev = when(estate(), request({ from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }));
    expect(ev.decision.data).toMatchObject({ outcome: 'rejected', responseCode: 'E_CERT_OWNER' });
  });

  it('6.21 hands over a DCC controlled NO slot (nothing held yet)', () => {
    const w = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'InstalledNotCommissioned', mpan)]);
    const ev = when(w, request({ from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }));
    expect(ev.decision.data.responseCode).toBe('I0');
    expect(ev.placed.map((p) => p.data.slot)).toEqual(['networkOperator.critical', 'networkOperator.nonCritical']);
  });

  it('when the DSP and S1SP copies disagree, ownership cannot be established', () => {
    const w = given([
      userRole(noA, 'ED'),
      registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z'),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'D1'), ['DSP']),
      placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'E1'), ['S1SP']),
    ]);
    const ev = when(w, replaceNo(noA, esme, noA));
    expect(ev.decision.data.checks.find((c) => c.outcome === 'fail')).toMatchObject({ code: 'E_CERT_OWNER', evidence: { finding: 'proxy-copies-disagree' } });
  });
});

describe('the DSP and S1SP copies of a notified certificate must agree: a disagreement is an audit finding', () => {
  const d1 = cert(noA, 'digitalSignature', '03', 'D1');
  const e1 = cert(noB, 'digitalSignature', '03', 'E1');
  const base = [inventory(esme, 'ESME', 1, 'Commissioned', mpan)];
  it.each`
    case                                      | placements                                                                                                    | findings
    ${'both copies placed together'}          | ${[placed(esme, 'networkOperator.critical', d1)]}                                                               | ${[]}
    ${'each copy holding another certificate'} | ${[placed(esme, 'networkOperator.critical', d1, ['DSP']), placed(esme, 'networkOperator.critical', e1, ['S1SP'])]} | ${[['networkOperator.critical', 'D1', 'E1']]}
    ${'the DSP copy only'}                    | ${[placed(esme, 'supplier.critical', d1, ['DSP'])]}                                                             | ${[['supplier.critical', 'D1', null]]}
    ${'a disagreement later put right'}       | ${[placed(esme, 'networkOperator.critical', d1, ['DSP']), placed(esme, 'networkOperator.critical', d1, ['S1SP'])]} | ${[]}
  `('given $case, then the findings are $findings', ({ placements, findings }) => {
    const device = given([...base, ...placements]).devices.get(esme)!;
    expect(proxyDisagreements(device, '2024-03-01T00:00:00.000Z').map((f) => [f.slot, f.dsp?.certificate.serial ?? null, f.s1sp?.certificate.serial ?? null])).toEqual(findings);
  });

  it('a SMETS2 device has no proxy copies to compare', () => {
    const device = given([inventory(esme2, 'ESME', 2, 'Commissioned', mpan), placed(esme2, 'supplier.critical', d1, ['DSP'])]).devices.get(esme2)!;
    expect(proxyDisagreements(device, '2024-03-01T00:00:00.000Z')).toEqual([]);
  });
});

describe('decisions are complete and deterministic', () => {
  it('records every step in order, with the request, the rule set and the revisions read', () => {
    const ev = when(estate(), replaceNo(noA, esme, noA));
    expect(ev.decision.data.checks.map((c) => [c.step, c.check, c.outcome])).toEqual([
      [1, 'user-role', 'pass'],
      [2, 'srv-eligibility', 'pass'],
      [3, 'device', 'pass'],
      [4, 'registration-data', 'pass'],
      [5, 'certificate-ownership', 'fail'],
    ]);
    expect(ev.decision.data.request).toMatchObject({ requestId: `${noA}:${esme}:1`, counter: '1', srv: '6.15.1', signatureVerified: false });
    expect(Object.keys(ev.decision.data.revisionsRead).sort()).toEqual([`device-${esme}`, `meterpoint-${mpan}`, `user-${noA}`]);
    expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
  });

  it('the same inputs give a deep-equal decision', () => {
    const w = estate();
    for (const [sender, ruleSet] of [[noA, 'baseline'], [noB, 'ownership-only'], [noA, 'registered-operator']]) {
      expect(when(w, replaceNo(sender, esme, noA), ruleSet)).toEqual(when(w, replaceNo(sender, esme, noA), ruleSet));
    }
  });
});

describe('a RequestID is used once: a resubmission is the same request, or another one under a reused counter', () => {
  const recorded = recordRequest(replaceNo(noA, esme, noA));
  it.each`
    resubmission                                  | again                                                                                   | differences
    ${'identical'}                                | ${recorded}                                                                             | ${[]}
    ${'received later, as DUIS rather than JSON'} | ${{ ...recorded, receivedAt: '2031-01-01T00:00:00.000Z', format: 'duis' }}              | ${[]}
    ${'for another SRV'}                          | ${recordRequest(request({ from: noA, to: esme, srv: '6.24.1' }))}                      | ${['certificates', 'remotePartyRole', 'srv']}
    ${'carrying another certificate'}             | ${recordRequest(replaceNo(noA, esme, noB))}                                            | ${['certificates']}
    ${'with an execution time added'}             | ${{ ...recorded, executionDateTime: '2030-01-01T00:00:00.000Z' }}                       | ${['executionDateTime']}
    ${'stating a role the original did not'}      | ${recordRequest({ ...replaceNo(noA, esme, noA), statedRole: 'ED' })}                   | ${['statedRole']}
  `('given a recorded decision, when it is sent again $resubmission, then it differs in $differences', ({ again, differences }) => {
    expect(requestDifferences(recorded, again)).toEqual(differences);
  });
});
