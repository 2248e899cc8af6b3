import type { LedgerEvent } from './events';
import { getRuleSet, LATEST_EDITION, RULE_SETS } from './rule-sets';
import { fold, evolveUser, heldThroughout, holderAt, meterPointAt } from './state';
import { proxyDisagreements, repairOptions, stuckStatus } from './stuck';
import { cert, given, ids, inventory, mpan, mprn, placed, registration, userRole, type World } from './testing/scenario';

/** The edges of the stuck-device analysis, the proxy-copy findings and the folds they read. */

const { noA, noB, gtA, esme, gsme } = ids;
const T2019 = '2019-01-01T00:00:00.000Z';
const AT = '2024-03-01T00:00:00.000Z';

const status = (w: World, deviceId = esme, at = AT) => stuckStatus(w.devices.get(deviceId)!, w.devices.get(deviceId)!.mpxn ? w.meterPoints.get(w.devices.get(deviceId)!.mpxn!) : undefined, at);

describe('a SMETS1 device is stuck when the owner of its NO signing certificate is not the NO registered for its MPxN', () => {
  it.each`
    case                                                            | events                                                                                                                                                                       | stuck    | since
    ${'SMETS1, NO-B certificate, NO-A registered'}                  | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]}                | ${true}  | ${'2020-06-01T00:00:00.000Z'}
    ${'the same on a SMETS2 device'}                                | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 2, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]}                | ${false} | ${null}
    ${'the owner is the registered NO'}                             | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noA))]}                | ${false} | ${null}
    ${'nobody registered'}                                          | ${[inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]}                                                                  | ${false} | ${null}
    ${'no NO certificate held'}                                     | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'supplier.critical', cert(noB, 'digitalSignature', '02'))]} | ${false} | ${null}
    ${'only the NO key-agreement certificate is foreign'}           | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noA)), placed(esme, 'networkOperator.nonCritical', cert(noB, 'keyAgreement'))]} | ${false} | ${null}
    ${'the S1SP copy only, foreign'}                                | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB), ['S1SP'])]}      | ${true}  | ${'2020-06-01T00:00:00.000Z'}
    ${'a change of NO after the placement: since the change'}       | ${[registration(mpan, 'networkOperator', noB, T2019), registration(mpan, 'networkOperator', noA, '2022-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]} | ${true} | ${'2022-01-01T00:00:00.000Z'}
    ${'a device serving no meter point'}                            | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', null), placed(esme, 'networkOperator.critical', cert(noB))]}                | ${false} | ${null}
  `('$case: stuck $stuck since $since', ({ events, stuck, since }) => {
    expect(status(given(events))).toMatchObject({ stuck, since, deviceId: esme });
  });

  it('as of an instant before the NO changed, the same device was not stuck', () => {
    const w = given([registration(mpan, 'networkOperator', noB, T2019), registration(mpan, 'networkOperator', noA, '2022-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]);
    expect(status(w, esme, '2021-12-31T23:59:59.999Z')).toEqual({ stuck: false, since: null, deviceId: esme, mpxn: mpan, registeredOperator: noB, certificateOwner: noB });
    expect(status(w, esme, '2022-01-01T00:00:00.000Z')).toEqual({ stuck: true, since: '2022-01-01T00:00:00.000Z', deviceId: esme, mpxn: mpan, registeredOperator: noA, certificateOwner: noB });
  });
});

describe('a SMETS1 device is stuck, too, when its two proxy copies of the NO signing certificate are not one certificate, whatever their owners', () => {
  const reg = registration(mpan, 'networkOperator', noA, T2019);
  const s1 = inventory(esme, 'ESME', 1, 'Commissioned', mpan);
  const dspOnly = (c: ReturnType<typeof cert>) => placed(esme, 'networkOperator.critical', c, ['DSP']);
  const s1spOnly = (c: ReturnType<typeof cert>) => placed(esme, 'networkOperator.critical', c, ['S1SP']);
  const spelt = { ...cert(noA), issuer: 'CN = Test SMKI CA' };
  it.each`
    case                                                                    | events                                                                                         | expected
    ${'DSP the registered NO\'s, S1SP another\'s: stuck, both owners named'} | ${[reg, s1, dspOnly(cert(noA)), s1spOnly(cert(noB, 'digitalSignature', '03', 'B1'))]}         | ${{ stuck: true, certificateOwner: noA, copiesDisagree: true, copyOwners: { DSP: noA, S1SP: noB } }}
    ${'both the registered NO\'s, two certificates: stuck'}                 | ${[reg, s1, dspOnly(cert(noA)), s1spOnly(cert(noA, 'digitalSignature', '03', 'A2'))]}         | ${{ stuck: true, certificateOwner: noA, copiesDisagree: true }}
    ${'DSP another\'s, S1SP the registered NO\'s: stuck, both reasons'}      | ${[reg, s1, dspOnly(cert(noB)), s1spOnly(cert(noA, 'digitalSignature', '03', 'A2'))]}         | ${{ stuck: true, certificateOwner: noB, copiesDisagree: true, copyOwners: { DSP: noB, S1SP: noA } }}
    ${'one certificate, its issuer spelt two ways: as before (not stuck)'}  | ${[reg, s1, dspOnly(cert(noA)), s1spOnly(spelt)]}                                              | ${{ stuck: false }}
    ${'copies one certificate: as before (not stuck)'}                      | ${[reg, s1, placed(esme, 'networkOperator.critical', cert(noA))]}                              | ${{ stuck: false }}
    ${'one copy held, the registered NO\'s: as before (not stuck)'}         | ${[reg, s1, dspOnly(cert(noA))]}                                                               | ${{ stuck: false }}
    ${'the same disagreeing copies on a SMETS2 device: never'}              | ${[reg, inventory(esme, 'ESME', 2, 'Commissioned', mpan), dspOnly(cert(noA)), s1spOnly(cert(noB, 'digitalSignature', '03', 'B1'))]} | ${{ stuck: false }}
  `('$case', ({ events, expected }) => {
    const st = status(given(events));
    expect(st).toMatchObject(expected);
    if (!expected.copiesDisagree) expect(st).not.toHaveProperty('copiesDisagree');
    if (!expected.copyOwners) expect(st).not.toHaveProperty('copyOwners');
  });

  const at = (e: LedgerEvent, placedAt: string): LedgerEvent => ({ ...e, data: { ...e.data, placedAt } }) as LedgerEvent;
  it.each`
    case                                                                                        | events                                                                                                                         | since
    ${'stuck by the DSP copy since 2020, the S1SP copy the registered NO\'s from 2023: since 2020'} | ${[reg, s1, dspOnly(cert(noB)), at(s1spOnly(cert(noA, 'digitalSignature', '03', 'A2')), '2023-01-01T00:00:00.000Z')]}        | ${'2020-06-01T00:00:00.000Z'}
    ${'the DSP copy the registered NO\'s, the S1SP copy another\'s from 2023: since 2023'}          | ${[reg, s1, dspOnly(cert(noA)), at(s1spOnly(cert(noB, 'digitalSignature', '03', 'B1')), '2023-01-01T00:00:00.000Z')]}        | ${'2023-01-01T00:00:00.000Z'}
  `('since: $case', ({ events, since }) => {
    expect(status(given(events))).toMatchObject({ stuck: true, copiesDisagree: true, since });
  });

  it.each`
    ruleSet                    | options
    ${'baseline'}              | ${[]}
    ${'ownership-only'}        | ${[]}
    ${'registered-operator@4'} | ${[]}
    ${'registered-operator'}   | ${[['registered operator', noA]]}
  `('DSP the registered NO\'s, S1SP another\'s: under $ruleSet, accepted $options', ({ ruleSet, options }) => {
    const w = given([reg, s1, dspOnly(cert(noA)), s1spOnly(cert(noB, 'digitalSignature', '03', 'B1'))]);
    const all = repairOptions(w.devices.get(esme)!, w.meterPoints.get(mpan), {}, getRuleSet(ruleSet), AT);
    expect(all.map((o) => [o.who, o.userId])).toEqual([
      ['registered operator', noA],
      ['certificate owner', noB],
    ]);
    expect(all.filter((o) => o.accepted).map((o) => [o.who, o.userId])).toEqual(options);
    expect(all.find((o) => o.userId === noA)!.reason).toBe(options.length ? 'accepted' : 'the DSP and S1SP copies of the networkOperator.critical certificate disagree: ownership cannot be established');
  });
});

describe('copies that are one certificate, its issuer spelt two ways: stuck as the rule set\'s edition compares them (before 5 by issuer text, from 5 by name)', () => {
  const reg = registration(mpan, 'networkOperator', noA, T2019);
  const s1 = inventory(esme, 'ESME', 1, 'Commissioned', mpan);
  const T2023 = '2023-01-01T00:00:00.000Z';
  const copy = (c: ReturnType<typeof cert>, copies: Array<'DSP' | 'S1SP'>, placedAt?: string): LedgerEvent => {
    const e = placed(esme, 'networkOperator.critical', c, copies);
    return (placedAt ? { ...e, data: { ...e.data, placedAt } } : e) as LedgerEvent;
  };
  const spelt = (c: ReturnType<typeof cert>) => ({ ...c, issuer: 'CN = Test SMKI CA' });
  const judgedBy = (w: World, edition: 4 | 5) => stuckStatus(w.devices.get(esme)!, w.meterPoints.get(mpan), AT, edition);
  it.each`
    given                                                                    | events                                                                      | edition | then
    ${"both copies the registered NO's, the S1SP copy placed in 2023"}       | ${[reg, s1, copy(cert(noA), ['DSP']), copy(spelt(cert(noA)), ['S1SP'], T2023)]} | ${4}    | ${{ stuck: true, since: T2023, copiesDisagree: true, issuerSpeltTwoWays: true }}
    ${"both copies the registered NO's, the S1SP copy placed in 2023"}       | ${[reg, s1, copy(cert(noA), ['DSP']), copy(spelt(cert(noA)), ['S1SP'], T2023)]} | ${5}    | ${{ stuck: false, since: null, issuerSpeltTwoWays: true }}
    ${"both copies another NO's (stuck by ownership), S1SP placed in 2023"}  | ${[reg, s1, copy(cert(noB), ['DSP']), copy(spelt(cert(noB)), ['S1SP'], T2023)]} | ${4}    | ${{ stuck: true, since: '2020-06-01T00:00:00.000Z', copiesDisagree: true, issuerSpeltTwoWays: true }}
    ${"both copies another NO's (stuck by ownership), S1SP placed in 2023"}  | ${[reg, s1, copy(cert(noB), ['DSP']), copy(spelt(cert(noB)), ['S1SP'], T2023)]} | ${5}    | ${{ stuck: true, since: '2020-06-01T00:00:00.000Z', issuerSpeltTwoWays: true }}
    ${'one certificate spelt one way in both copies'}                         | ${[reg, s1, copy(cert(noA), ['DSP', 'S1SP'])]}                                | ${4}    | ${{ stuck: false, since: null }}
    ${'the same spelt copies on a SMETS2 device'}                             | ${[reg, inventory(esme, 'ESME', 2, 'Commissioned', mpan), copy(cert(noA), ['DSP']), copy(spelt(cert(noA)), ['S1SP'])]} | ${4} | ${{ stuck: false, since: null }}
  `('given $given, when judged by edition $edition, then $then', ({ events, edition, then }) => {
    const st = judgedBy(given(events), edition);
    expect(st).toMatchObject(then);
    for (const flag of ['copiesDisagree', 'issuerSpeltTwoWays']) if (!then[flag]) expect(st).not.toHaveProperty(flag);
  });

  it('a bare stuckStatus judges by the latest edition (5)', () => {
    const w = given([reg, s1, copy(cert(noA), ['DSP']), copy(spelt(cert(noA)), ['S1SP'])]);
    expect(stuckStatus(w.devices.get(esme)!, w.meterPoints.get(mpan), AT)).toEqual(judgedBy(w, 5));
    expect(LATEST_EDITION).toBe(Math.max(...RULE_SETS.map((r) => r.edition)));
  });

  // Checked against evaluate() under every rule set: this device (its copies one certificate, its
  // issuer spelt two ways; nothing dated after AT) is stuck exactly where the registered NO's own
  // 6.15.1 (the repair) is refused, and then refused because the copies disagree: step 5 compares
  // them as stuckStatus does by edition. Not a claim for every device: under @1 evaluate reads the
  // certificates as last recorded, under @1 and @2 the inventory, where stuckStatus reads those in
  // force at AT, so a placement or inventory change dated after AT can make the two differ.
  it.each(RULE_SETS.map((r) => [`${r.id}@${r.version}`, r] as const))('under %s, this device (nothing future-dated) is stuck exactly where evaluate() refuses the registered NO its repair', (_name, ruleSet) => {
    const w = given([reg, s1, copy(cert(noA), ['DSP']), copy(spelt(cert(noA)), ['S1SP'])]);
    const [device, meterPoint] = [w.devices.get(esme)!, w.meterPoints.get(mpan)];
    const st = stuckStatus(device, meterPoint, AT, ruleSet.edition);
    const [registered] = repairOptions(device, meterPoint, {}, ruleSet, AT, { ...st, stuck: true }); // judged whatever the status says
    expect(registered.userId).toBe(noA);
    expect(st.stuck).toBe(!registered.accepted);
    expect(st.stuck).toBe(ruleSet.edition < 5);
    if (st.stuck) expect(registered.reason).toBe('the DSP and S1SP copies of the networkOperator.critical certificate disagree: ownership cannot be established');
    expect(repairOptions(device, meterPoint, {}, ruleSet, AT).length).toBe(st.stuck ? 1 : 0); // its own status, judged by the rule set's edition
  });
});

describe('"since" counts from when the device has served that meter point as SMETS1 (its inventory record in force)', () => {
  const other = '2200000123453';
  const T2023 = '2023-01-01T00:00:00.000Z';
  const atNow = (w: World) => {
    const device = w.devices.get(esme)!;
    const mpxn = meterPointAt(device, AT);
    return stuckStatus(device, mpxn ? w.meterPoints.get(mpxn) : undefined, AT);
  };
  it.each`
    case                                                                                     | events                                                                                                                                                                                                                                                                                     | since
    ${'moved in 2023 from a meter point of NO-B to one of NO-A (registered since 2019)'}     | ${[registration(mpan, 'networkOperator', noB, T2019), registration(other, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2019), placed(esme, 'networkOperator.critical', cert(noB)), inventory(esme, 'ESME', 1, 'Commissioned', other, T2023)]} | ${T2023}
    ${'SMETS2 until 2023, then SMETS1 on the same meter point'}                              | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 2, 'Commissioned', mpan, T2019), placed(esme, 'networkOperator.critical', cert(noB)), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2023)]}                                                            | ${T2023}
    ${'a change of status only in 2023: still since the placement'}                          | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'InstalledNotCommissioned', mpan, T2019), placed(esme, 'networkOperator.critical', cert(noB)), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2023)]}                                              | ${'2020-06-01T00:00:00.000Z'}
    ${'moved away in 2021 and back in 2023: since the move back'}                            | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2019), placed(esme, 'networkOperator.critical', cert(noB)), inventory(esme, 'ESME', 1, 'Commissioned', other, '2021-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2023)]} | ${T2023}
    ${'a move in 2023 corrected at the same instant back to the meter point it served'}       | ${[registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2019), placed(esme, 'networkOperator.critical', cert(noB)), inventory(esme, 'ESME', 1, 'Commissioned', other, T2023), inventory(esme, 'ESME', 1, 'Commissioned', mpan, T2023)]} | ${'2020-06-01T00:00:00.000Z'}
  `('$case: stuck since $since', ({ events, since }) => {
    expect(atNow(given(events))).toMatchObject({ stuck: true, since, deviceId: esme });
  });
});

describe('who could repair a stuck device, judged by evaluate() itself', () => {
  const stuckGas = () => given([registration(mprn, 'networkOperator', gtA, T2019), inventory(gsme, 'GSME', 1, 'Commissioned', mprn), placed(gsme, 'networkOperator.critical', cert(noB))]);
  it('a device that is not stuck has no repair options', () => {
    const w = given([registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noA))]);
    expect(repairOptions(w.devices.get(esme)!, w.meterPoints.get(mpan), {}, getRuleSet('ownership-only'), AT)).toEqual([]);
  });

  it.each`
    ruleSet                  | accepted
    ${'baseline'}            | ${[false, false]}
    ${'ownership-only'}      | ${[false, true]}
    ${'registered-operator'} | ${[true, false]}
  `('on a gas meter, parties not in the users are taken as Active GTs: under $ruleSet, accepted $accepted', ({ ruleSet, accepted }) => {
    const w = stuckGas();
    const options = repairOptions(w.devices.get(gsme)!, w.meterPoints.get(mprn), {}, getRuleSet(ruleSet), AT);
    expect(options.map((o) => [o.who, o.userId, o.role, o.srv])).toEqual([
      ['registered operator', gtA, 'GT', '6.15.1'],
      ['certificate owner', noB, 'GT', '6.15.1'],
    ]);
    expect(options.map((o) => o.accepted)).toEqual(accepted);
    expect(options.map((o) => (o.accepted ? o.reason : 'refused'))).toEqual(accepted.map((a: boolean) => (a ? 'accepted' : 'refused')));
    expect(options[0].carrying).toBe(`its own (${gtA}) NetworkOperator certificates`);
    expect(options[1].carrying).toBe(`the registered NO's (${gtA}) NetworkOperator certificates`);
  });

  it.each`
    supplier            | ruleSet                    | accepted          | codes
    ${'X'}              | ${'registered-operator@4'} | ${[true, false]}  | ${['I0', 'E4']}
    ${'X'}              | ${'registered-operator@3'} | ${[true, false]}  | ${['I0', 'E4']}
    ${'another'}        | ${'registered-operator@4'} | ${[true, false]}  | ${['I0', 'E4']}
    ${'another'}        | ${'registered-operator@1'} | ${[true, false]}  | ${['I0', 'E4']}
    ${'another'}        | ${'ownership-only@4'}      | ${[false, true]}  | ${['E_CERT_OWNER', 'I0']}
    ${'another'}        | ${'baseline@4'}            | ${[false, false]} | ${['E_CERT_OWNER', 'E4']}
    ${'X'}              | ${'registered-operator@5'} | ${[true, false]}  | ${['I0', 'E4']}
    ${'another'}        | ${'ownership-only@5'}      | ${[false, true]}  | ${['E_CERT_OWNER', 'I0']}
    ${'another'}        | ${'baseline@5'}            | ${[false, false]} | ${['E_CERT_OWNER', 'E4']}
  `('the registered NO X holding IS too (the registered supplier: $supplier) is judged as the NO it is (ED): under $ruleSet, $codes', ({ supplier, ruleSet, accepted, codes }) => {
    const X = '90-B3-D5-1F-30-01-00-0C';
    const w = given([
      userRole(X, 'IS'),
      userRole(X, 'ED'),
      userRole(noB, 'IS'),
      userRole(noB, 'ED'),
      registration(mpan, 'supplier', supplier === 'X' ? X : ids.supplierA, T2019),
      registration(mpan, 'networkOperator', X, T2019),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noB)),
    ]);
    const options = repairOptions(w.devices.get(esme)!, w.meterPoints.get(mpan), Object.fromEntries(w.users), getRuleSet(ruleSet), AT);
    expect(options.map((o) => [o.who, o.userId, o.role])).toEqual([
      ['registered operator', X, 'ED'],
      ['certificate owner', noB, 'ED'],
    ]);
    expect(options.map((o) => o.accepted)).toEqual(accepted);
    expect(options.map((o) => o.responseCode)).toEqual(codes);
  });

  // Rule sets @5: registered-operator's override applies whatever the two copies hold, so a stuck
  // device whose copies disagree (NO-B's certificate in the DSP copy, NO-C's in the S1SP) can be
  // repaired by the registered NO; under @4, and under baseline and ownership-only, nobody can. The
  // candidates state the NO role and carry 03 certificates: @5's other changes (a supplier role,
  // another role code) take none of them off, and a device with no certificate held is not stuck.
  it.each`
    ruleSet                    | accepted          | codes
    ${'registered-operator@4'} | ${[false, false]} | ${['E_CERT_OWNER', 'E4']}
    ${'registered-operator@5'} | ${[true, false]}  | ${['I0', 'E4']}
    ${'registered-operator'}   | ${[true, false]}  | ${['I0', 'E4']}
    ${'ownership-only@5'}      | ${[false, false]} | ${['E_CERT_OWNER', 'E_CERT_OWNER']}
    ${'baseline@5'}            | ${[false, false]} | ${['E_CERT_OWNER', 'E4']}
  `('copies that disagree: under $ruleSet, $codes', ({ ruleSet, accepted, codes }) => {
    const noC = '90-B3-D5-1F-30-03-00-0C';
    const w = given([
      registration(mpan, 'networkOperator', noA, T2019),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1'), ['DSP']),
      placed(esme, 'networkOperator.critical', cert(noC, 'digitalSignature', '03', 'C1'), ['S1SP']),
    ]);
    const device = w.devices.get(esme)!;
    expect(stuckStatus(device, w.meterPoints.get(mpan), AT)).toMatchObject({ stuck: true, certificateOwner: noB, registeredOperator: noA });
    const options = repairOptions(device, w.meterPoints.get(mpan), {}, getRuleSet(ruleSet), AT);
    expect(options.map((o) => o.accepted)).toEqual(accepted);
    expect(options.map((o) => o.responseCode)).toEqual(codes);
  });

  it('a party that is known is judged with its own roles: a Withdrawn owner cannot repair under ownership-only', () => {
    const w = stuckGas();
    const users = { [noB]: given([userRole(noB, 'GT', 'Withdrawn')]).users.get(noB) };
    const [, owner] = repairOptions(w.devices.get(gsme)!, w.meterPoints.get(mprn), users, getRuleSet('ownership-only'), AT);
    expect(owner).toMatchObject({ accepted: false, responseCode: 'E3', reason: expect.stringContaining('Withdrawn') });
  });
});

describe('proxy copies that disagree: since the later of the two placements', () => {
  it('names the slot and dates the finding from the later copy', () => {
    const w = given([
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'supplier.nonCritical', cert(noA, 'keyAgreement', '02', 'K1'), ['S1SP']),
      { type: 'CertificatePlaced', data: { schemaVersion: 1, deviceId: esme, slot: 'supplier.nonCritical', certificate: cert(noA, 'keyAgreement', '02', 'K2'), heldBy: ['DSP'], via: { kind: 'operatorCorrection', reference: 'OPS-1' }, placedAt: '2023-01-01T00:00:00.000Z' } },
    ]);
    expect(proxyDisagreements(w.devices.get(esme)!, AT)).toEqual([
      expect.objectContaining({ deviceId: esme, slot: 'supplier.nonCritical', since: '2023-01-01T00:00:00.000Z', dsp: expect.objectContaining({ certificate: expect.objectContaining({ serial: 'K2' }) }), s1sp: expect.objectContaining({ certificate: expect.objectContaining({ serial: 'K1' }) }) }),
    ]);
  });
  // A copy placed with a later placedAt (a future-dated credential change) is not in force until then; a
  // correction appended later but dated earlier is overtaken by what was placed after its date.
  const dspAt = (serial: string, placedAt: string, kind = 'migration'): LedgerEvent => ({
    type: 'CertificatePlaced',
    data: { schemaVersion: 1, deviceId: esme, slot: 'supplier.nonCritical', certificate: cert(noA, 'keyAgreement', '02', serial), heldBy: ['DSP'], via: kind === 'migration' ? { kind: 'migration' } : { kind: 'operatorCorrection', reference: 'OPS-2' }, placedAt },
  });
  it.each`
    case                                                                   | dsp                                                                                  | at                            | found
    ${'a DSP copy that takes effect in 2025: none as of 2024'}              | ${[dspAt('K2', '2025-01-01T00:00:00.000Z')]}                                         | ${AT}                         | ${[]}
    ${'the same, as of 2025: the finding, since then'}                      | ${[dspAt('K2', '2025-01-01T00:00:00.000Z')]}                                         | ${'2025-01-01T00:00:00.000Z'} | ${[['K2', 'K1', '2025-01-01T00:00:00.000Z']]}
    ${'a correction dated 2021 appended after a 2023 change: 2023 in force'} | ${[dspAt('K2', '2023-01-01T00:00:00.000Z'), dspAt('K1', '2021-01-01T00:00:00.000Z', 'correction')]} | ${AT}       | ${[['K2', 'K1', '2023-01-01T00:00:00.000Z']]}
  `('$case', ({ dsp, at, found }) => {
    const w = given([inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'supplier.nonCritical', cert(noA, 'keyAgreement', '02', 'K1')), ...dsp]);
    expect(proxyDisagreements(w.devices.get(esme)!, at).map((f) => [f.dsp?.certificate.serial, f.s1sp?.certificate.serial, f.since])).toEqual(found);
  });
  it('copies of one certificate whose issuer is spelt two ways (JSON as sent, DER as the X.509 library renders it) are listed as such (a disagreement under @1-@4 only); another issuer name is a finding', () => {
    const copies = (dspIssuer: string, s1spIssuer: string) =>
      given([
        inventory(esme, 'ESME', 1, 'Commissioned', mpan),
        placed(esme, 'supplier.nonCritical', { ...cert(noA, 'keyAgreement', '02', 'K1'), issuer: dspIssuer }, ['DSP']),
        placed(esme, 'supplier.nonCritical', { ...cert(noA, 'keyAgreement', '02', 'K1'), issuer: s1spIssuer }, ['S1SP']),
      ]).devices.get(esme)!;
    const found = (a: string, b: string) => proxyDisagreements(copies(a, b), AT).map((f) => [f.slot, f.issuerSpeltTwoWays ?? false]);
    expect(found('CN=Test CA,O=X', 'CN=Test CA,O=X')).toEqual([]);
    expect(found('CN=Test CA,O=X', 'CN=Test CA, O=X')).toEqual([['supplier.nonCritical', true]]);
    expect(found('CN=Test CA,O=X', 'cn=test ca, o=x')).toEqual([['supplier.nonCritical', true]]);
    expect(found('CN=Test CA,O=X', 'CN=Other CA, O=X')).toEqual([['supplier.nonCritical', false]]);
    expect(found('Test CA', 'test ca')).toEqual([['supplier.nonCritical', false]]);
  });
  it('a slot with only the S1SP copy is a finding too; no slot at all is none', () => {
    const w = given([inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.nonCritical', cert(noA, 'keyAgreement'), ['S1SP'])]);
    expect(proxyDisagreements(w.devices.get(esme)!, AT).map((f) => [f.slot, f.dsp, f.s1sp?.certificate.serial])).toEqual([['networkOperator.nonCritical', null, 'A1']]);
    expect(proxyDisagreements(given([inventory(esme, 'ESME', 1, 'Commissioned', mpan)]).devices.get(esme)!, AT)).toEqual([]);
  });
});

describe('the folds', () => {
  it('a User Role registered again replaces its status; other roles are kept', () => {
    const u = fold(evolveUser, [userRole(noA, 'ED'), userRole(noA, 'IS'), userRole(noA, 'ED', 'Suspended'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
    expect(u).toEqual({
      userId: noA,
      roles: {
        ED: { status: 'Suspended', marketIds: [], effectiveFrom: '2020-01-01T00:00:00.000Z' },
        IS: { status: 'Active', marketIds: [], effectiveFrom: '2020-01-01T00:00:00.000Z' },
      },
      registrations: [
        { role: 'ED', status: 'Active', marketIds: [], effectiveFrom: '2020-01-01T00:00:00.000Z' },
        { role: 'IS', status: 'Active', marketIds: [], effectiveFrom: '2020-01-01T00:00:00.000Z' },
        { role: 'ED', status: 'Suspended', marketIds: [], effectiveFrom: '2020-01-01T00:00:00.000Z' },
      ],
    });
    expect(fold(evolveUser, [])).toBeUndefined();
  });

  it('an inventory change keeps the certificates held; a placement in one copy keeps the other', () => {
    const w = given([
      placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'A1')),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1'), ['DSP']),
      inventory(esme, 'ESME', 1, 'Suspended', null),
    ]);
    expect(w.devices.get(esme)).toMatchObject({
      inInventory: true,
      status: 'Suspended',
      mpxn: null,
      slots: { 'networkOperator.critical': { DSP: { certificate: { serial: 'B1' } }, S1SP: { certificate: { serial: 'A1' } } } },
    });
  });

  it('holderAt and heldThroughout on an unknown meter point find nobody', () => {
    expect(holderAt(undefined, 'supplier', AT)).toBeUndefined();
    expect(heldThroughout(undefined, 'supplier', noA, AT, AT)).toEqual({ held: false, holderAtStart: undefined, changes: [] });
  });
});
