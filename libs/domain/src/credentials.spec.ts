import { parseServiceRequest, recordRequest, requestFromRecord } from './request';
import { pendingPlacements, slotsAt } from './state';
import { stuckStatus } from './stuck';
import { cert, commit, given, ids, inventory, mpan, placed, registration, request, userRole, when, NOW, type World } from './testing/scenario';
import { upcast, type LedgerEvent } from './events';
import { MATRIX_CATALOGUE } from './srv-table';

const { supplierA, supplierB, noA, noB, esme, esme2 } = ids;
const acb = '90-B3-D5-1F-30-00-00-02';
const failed = (ev: ReturnType<typeof when>) => ev.decision.data.checks.find((c) => c.outcome === 'fail') ?? null;
const supplierCerts = (owner: string, serial = 'S9') => [cert(owner, 'digitalSignature', '02', serial), cert(owner, 'keyAgreement', '02', `${serial}K`)];

describe('6.24.1 may name several RemotePartyRoles; nothing else may', () => {
  const input = (srv: string, remotePartyRole: unknown) => ({ requestId: `${supplierA}:${esme}:1`, srv, remotePartyRole, receivedAt: NOW, format: 'duis' as const });
  it('given 6.24.1 naming Supplier and LoadController (DCC example CS02f), then both are recorded and replay reads both back', () => {
    const req = parseServiceRequest(input('6.24.1', ['Supplier', 'LoadController']));
    expect(recordRequest(req)).toMatchObject({ remotePartyRole: 'Supplier', remotePartyRoles: ['Supplier', 'LoadController'] });
    expect(requestFromRecord(recordRequest(req)).remotePartyRoles).toEqual(['Supplier', 'LoadController']);
  });
  it('given 6.24.1 naming one, then no list is recorded (a decision looks as it did before lists existed)', () => {
    expect(recordRequest(parseServiceRequest(input('6.24.1', 'Supplier')))).not.toHaveProperty('remotePartyRoles');
  });
  it.each`
    srv         | roles                                      | reason
    ${'6.15.1'} | ${['Supplier', 'NetworkOperator']}         | ${/only SRV 6.24.1 may name several/}
    ${'6.24.1'} | ${['Supplier', 'Supplier']}                | ${/names Supplier more than once/}
    ${'6.24.1'} | ${[]}                                      | ${/empty list/}
  `('given $srv naming $roles, then it is refused naming remotePartyRole', ({ srv, roles, reason }) => {
    expect(() => parseServiceRequest(input(srv, roles))).toThrow(expect.objectContaining({ field: 'remotePartyRole', reason: expect.stringMatching(reason) }));
  });
  it('when a 6.24.1 naming two parties is judged by the registered supplier, then it is accepted', () => {
    const w = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 2, 'Commissioned', mpan)]);
    expect(when(w, parseServiceRequest(input('6.24.1', ['Supplier', 'LoadController']))).decision.data.responseCode).toBe('I0');
  });
  it('then a decision naming several parties reads as schema version 2, and one naming one party as version 1, as before', () => {
    const w = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 2, 'Commissioned', mpan)]);
    expect(when(w, parseServiceRequest(input('6.24.1', ['Supplier', 'LoadController']))).decision.data.schemaVersion).toBe(2);
    expect(when(w, parseServiceRequest(input('6.24.1', 'Supplier'))).decision.data.schemaVersion).toBe(1);
  });
  it('then both versions read back, and a version this code does not know is refused, not guessed at', () => {
    const data = (v: number) => ({ schemaVersion: v, request: {}, checks: [] });
    expect(upcast('ServiceRequestEvaluated', data(1)).type).toBe('ServiceRequestEvaluated');
    expect(upcast('ServiceRequestEvaluated', data(2)).type).toBe('ServiceRequestEvaluated');
    expect(() => upcast('ServiceRequestEvaluated', data(4))).toThrow(/version 4 is not known/);
    expect(() => upcast('CertificatePlaced', { schemaVersion: 2 })).toThrow(/version 2 is not known/);
  });
});

describe('the Load Controller: a User party with its own slot on a SMETS2 ESME; none on SMETS1 (the S1SP holds supplier and NO records only)', () => {
  const w = () =>
    given([
      userRole(supplierA, 'IS'),
      userRole(noA, 'ED'),
      registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'),
      registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z'),
      inventory(esme, 'ESME', 2, 'Commissioned', mpan),
      inventory(esme2, 'ESME', 1, 'Commissioned', mpan),
      inventory(ids.gsme, 'GSME', 2, 'Commissioned', '1234567890'),
    ]);
  const lc = (from: string, to: string) => request({ from, to, srv: '6.15.1', rpr: 'LoadController', certificates: supplierCerts(supplierA) });
  it.each`
    case                                               | from         | to          | ruleSet          | code      | reason
    ${'the supplier, SMETS2 ESME (DCC example CS02g)'} | ${supplierA} | ${esme}     | ${'baseline@2'}  | ${'I0'}   | ${null}
    ${'the supplier, SMETS1 ESME'}                     | ${supplierA} | ${esme2}    | ${'baseline@2'}  | ${'E11'}  | ${/SMETS1 device has no Load Controller/}
    ${'the supplier, SMETS2 GSME'}                     | ${supplierA} | ${ids.gsme} | ${'baseline@2'}  | ${'E1'}   | ${/fits this request/}
    ${'the network operator'}                          | ${noA}       | ${esme}     | ${'baseline@2'}  | ${'E2'}   | ${/only the supplier may replace the Load Controller/}
    ${'the supplier, under @1 (as recorded then)'}     | ${supplierA} | ${esme}     | ${'baseline@1'}  | ${'E2'}   | ${/they are the DCC's/}
  `('given $case, when it replaces LoadController credentials under $ruleSet, then $code', ({ from, to, ruleSet, code, reason }) => {
    const ev = when(w(), lc(from, to), ruleSet);
    expect(ev.decision.data.responseCode).toBe(code);
    if (reason) expect(failed(ev)?.reason).toMatch(reason);
  });
  it('an accepted replacement places the certificates in the Load Controller slot', () => {
    const ev = when(w(), lc(supplierA, esme));
    expect(ev.placed.map((p) => p.data.slot)).toEqual(['loadController.critical', 'loadController.nonCritical']);
  });
  it.each(['ACB', 'Root', 'Recovery', 'TransCoS'])('a User may not replace %s credentials (the DCC\'s): E2', (rpr) => {
    const ev = when(w(), request({ from: supplierA, to: esme, srv: '6.15.1', rpr: rpr as never, certificates: supplierCerts(supplierA) }));
    expect(ev.decision.data.responseCode).toBe('E2');
    expect(failed(ev)?.reason).toMatch(/they are the DCC's/);
  });
});

describe("6.23 (change of supplier) places the sender's own supplier credentials only", () => {
  const w = () => given([userRole(supplierB, 'IS'), registration(mpan, 'supplier', supplierB, '2019-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
  it.each`
    case                                          | certificates                                            | ruleSet         | code
    ${"the sender's own supplier certificates"}   | ${supplierCerts(supplierB)}                             | ${'baseline@2'} | ${'I0'}
    ${"another supplier's certificates"}          | ${supplierCerts(supplierA)}                             | ${'baseline@2'} | ${'E_CERT_OWNER'}
    ${"the sender's network-operator certificate"} | ${[cert(supplierB, 'digitalSignature', '03', 'X1')]}  | ${'baseline@2'} | ${'E_CERT_OWNER'}
    ${"another's, under @1 (not checked then)"}   | ${supplierCerts(supplierA)}                             | ${'baseline@1'} | ${'I0'}
  `('given $case, then $code under $ruleSet', ({ certificates, ruleSet, code }) => {
    const ev = when(w(), request({ from: supplierB, to: esme, srv: '6.23', certificates }), ruleSet);
    expect(ev.decision.data.responseCode).toBe(code);
    if (code === 'E_CERT_OWNER') expect(failed(ev)).toMatchObject({ check: 'certificate-ownership', evidence: { sender: supplierB } });
  });
});

describe('a request from an org id of the DCC is not a User\'s request: E1, saying so', () => {
  const w = () => given([userRole(acb, 'ACB' as never), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
  it('under @2 the reason names the DCC party', () => {
    const ev = when(w(), request({ from: acb, to: esme, srv: '6.23', certificates: supplierCerts(acb) }));
    expect(ev.decision.data.responseCode).toBe('E1');
    expect(failed(ev)).toMatchObject({ reason: expect.stringMatching(/is an org id of the DCC \(ACB\), not a DUIS User/), evidence: { dccParty: ['ACB'] } });
  });
  it('under @1 it is the E1 it always was: no User Role held', () => {
    expect(failed(when(w(), request({ from: acb, to: esme, srv: '6.23', certificates: supplierCerts(acb) }), 'baseline@1'))?.reason).toMatch(/holds no User Role/);
  });
});

describe("8.5 Service Opt Out carries the ACB's replacement certificate (DCC example CS02b ACB by ACB): read, judged and recorded, placed nowhere", () => {
  const w = () => given([userRole(acb, 'ACB' as never), userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, '2010-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
  // The example's certificate: the ACB's (OU 04), carried under ServiceOptOut/ReplacementCertificates.
  const acbCertificate = { serial: '4AA34F1512C9935690BA9A3E564FE6FE', issuer: 'OU=07, CN=Z1', ownerUserId: acb, roleCode: '04', keyUsage: 'digitalSignature' };
  const optOut = (from: string) =>
    parseServiceRequest({ requestId: `${from}:${esme}:1005`, srv: '8.5', commandVariant: 1, executionDateTime: '2015-01-15T00:00:00.00Z', certificates: [acbCertificate], receivedAt: NOW, format: 'duis' });
  it('given an 8.5 carrying it, then it is read, and its certificate is recorded and replays', () => {
    const recorded = recordRequest(optOut(acb));
    expect(recorded.certificates).toEqual([acbCertificate]);
    expect(requestFromRecord(recorded).certificates).toEqual([acbCertificate]);
  });
  it.each`
    case                     | from         | code    | reason
    ${'from the ACB'}        | ${acb}       | ${'E1'} | ${/is an org id of the DCC \(ACB\), not a DUIS User/}
    ${'from a User (IS)'}    | ${supplierA} | ${'E2'} | ${/role IS is not eligible for SRV 8.5: the DUIS matrix names no User Role for it/}
  `('when it is judged $case, then $code, its certificate in the record', ({ from, code, reason }) => {
    const ev = when(w(), optOut(from));
    expect(ev.decision.data).toMatchObject({ responseCode: code, request: { srv: '8.5', certificates: [acbCertificate] } });
    expect(failed(ev)?.reason).toMatch(reason);
    expect(ev.placed).toEqual([]);
  });
  it('if the matrix named a User Role for 8.5 and the request were accepted, it would still place nothing', () => {
    const eligible = jest.replaceProperty(MATRIX_CATALOGUE['8.5'], 'eligibleRoles', ['IS']);
    try {
      const ev = when(w(), optOut(supplierA));
      expect(ev.decision.data).toMatchObject({ outcome: 'accepted', responseCode: 'I0', request: { certificates: [acbCertificate] } });
      expect(ev.placed).toEqual([]);
    } finally {
      eligible.restore();
    }
  });
  it('an SRV that neither places nor carries certificates still refuses them', () => {
    expect(() => parseServiceRequest({ requestId: `${acb}:${esme}:1`, srv: '8.6', certificates: [acbCertificate], receivedAt: NOW, format: 'duis' })).toThrow(
      expect.objectContaining({ field: 'certificates', reason: 'SRV 8.6 does not carry replacement certificates' }),
    );
  });
});

describe('non-device requests and future dating (rule sets @2)', () => {
  const w = () => given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
  it.each`
    case                                                   | srv        | executionDateTime             | code
    ${'8.2 Read Inventory, a non-device request'}          | ${'8.2'}   | ${undefined}                  | ${'I0'}
    ${'7.1, pattern No, future dated'}                     | ${'7.1'}   | ${'2024-06-01T00:00:00.000Z'} | ${'E_NOT_FUTURE_DATABLE'}
    ${'7.1, pattern No, execution time already passed'}    | ${'7.1'}   | ${'2024-01-01T00:00:00.000Z'} | ${'E_CERT_OWNER'}
    ${'11.3, pattern Device, future dated'}                | ${'11.3'}  | ${'2024-06-01T00:00:00.000Z'} | ${'E_CERT_OWNER'}
    ${'4.1.1, pattern DSP, future dated'}                  | ${'4.1.1'} | ${'2024-06-01T00:00:00.000Z'} | ${'I99'}
  `('given $case, then $code', ({ srv, executionDateTime, code }) => {
    expect(when(w(), request({ from: supplierA, to: esme, srv, executionDateTime })).decision.data.responseCode).toBe(code);
  });
  it('a non-device request skips the device, Registration Data and certificate checks, saying why', () => {
    const ev = when(w(), request({ from: supplierA, to: ids.unknownDevice, srv: '12.1' }));
    expect(ev.decision.data.checks.map((c) => [c.check, c.outcome])).toEqual([
      ['user-role', 'pass'],
      ['srv-eligibility', 'pass'],
      ['device', 'skipped'],
      ['registration-data', 'skipped'],
      ['certificate-ownership', 'skipped'],
    ]);
    expect(ev.decision.data.checks[2].reason).toMatch(/non-device request/);
  });
  it('4.1.1 to a GPF: I0 under @2 (DCC example), E11 under @1 (catalogue@1 as recorded)', () => {
    const g = given([userRole(ids.gtA, 'GT'), registration('1234567890', 'networkOperator', ids.gtA, '2019-01-01T00:00:00.000Z'), inventory(ids.gpf, 'GPF', 1, 'Commissioned', '1234567890')]);
    expect(when(g, request({ from: ids.gtA, to: ids.gpf, srv: '4.1.1' }), 'baseline@2').decision.data.responseCode).toBe('I0');
    expect(when(g, request({ from: ids.gtA, to: ids.gpf, srv: '4.1.1' }), 'baseline@1').decision.data.responseCode).toBe('E11');
  });
  it('an SRV outside catalogue@1 is not judged under @1: a DomainError naming srv', () => {
    expect(() => when(w(), request({ from: supplierA, to: esme, srv: '7.4' }), 'baseline@1')).toThrow(expect.objectContaining({ field: 'srv' }));
  });
});

describe('a future-dated credential change takes effect at its execution time', () => {
  // Supplier A is registered until 2030; supplier B from then. B sends 6.23 (change of supplier) to execute in 2030.
  const cos = '2030-01-01T00:00:00.000Z';
  const base = (): LedgerEvent[] => [
    userRole(supplierA, 'IS'),
    userRole(supplierB, 'IS'),
    registration(mpan, 'supplier', supplierA, '2019-01-01T00:00:00.000Z'),
    registration(mpan, 'supplier', supplierB, cos),
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'A1')),
  ];
  function afterCoS(ruleSet: string): World {
    const w = given(base());
    const ev = when(w, request({ from: supplierB, to: esme, srv: '6.23', certificates: supplierCerts(supplierB, 'B1'), executionDateTime: cos }), ruleSet);
    expect(ev.decision.data).toMatchObject({ outcome: 'accepted', responseCode: 'I99' });
    expect(ev.placed.map((p) => p.data.placedAt)).toEqual([cos, cos]);
    commit(w, ev);
    return w;
  }

  it.each`
    case                                                   | ruleSet         | from         | srv       | executionDateTime             | now                           | code              | owner
    ${'before it, the current supplier enables supply'}    | ${'baseline@2'} | ${supplierA} | ${'7.1'}  | ${undefined}                  | ${NOW}                        | ${'I0'}           | ${supplierA}
    ${'before it, under @1 (as decided then)'}             | ${'baseline@1'} | ${supplierA} | ${'7.1'}  | ${undefined}                  | ${NOW}                        | ${'E_CERT_OWNER'} | ${supplierB}
    ${'the new supplier, executing after it'}              | ${'baseline@2'} | ${supplierB} | ${'11.3'} | ${'2030-06-01T00:00:00.000Z'} | ${NOW}                        | ${'I99'}          | ${supplierB}
    ${'the old supplier, executing after it'}              | ${'baseline@2'} | ${supplierA} | ${'11.3'} | ${'2030-06-01T00:00:00.000Z'} | ${NOW}                        | ${'E4'}           | ${null}
    ${'after it, the new supplier'}                        | ${'baseline@2'} | ${supplierB} | ${'7.1'}  | ${undefined}                  | ${'2030-02-01T00:00:00.000Z'} | ${'I0'}           | ${supplierB}
  `('$case: $code', ({ ruleSet, from, srv, executionDateTime, now, code, owner }) => {
    const w = afterCoS(ruleSet);
    const ev = when(w, request({ from, to: esme, srv, executionDateTime, counter: 2 }), ruleSet, now);
    expect(ev.decision.data.responseCode).toBe(code);
    if (owner) expect(ev.decision.data.checks.find((c) => c.check === 'certificate-ownership')?.evidence).toMatchObject({ owner });
  });

  it('the ownership evidence says which instant it judged at and what is pending after it', () => {
    const ev = when(afterCoS('baseline@2'), request({ from: supplierA, to: esme, srv: '7.1', counter: 2 }));
    expect(ev.decision.data.checks.find((c) => c.check === 'certificate-ownership')?.evidence).toMatchObject({
      inForceAt: NOW,
      owner: supplierA,
      pendingAfter: [{ serial: 'B1', owner: supplierB, placedAt: cos }],
    });
  });

  it('the device state shows the change as pending before its time and in force after it', () => {
    const device = afterCoS('baseline@2').devices.get(esme)!;
    expect(slotsAt(device, NOW)['supplier.critical']?.DSP?.certificate.ownerUserId).toBe(supplierA);
    expect(pendingPlacements(device, NOW).map((p) => [p.slot, p.certificate.ownerUserId, p.placedAt])).toEqual([
      ['supplier.critical', supplierB, cos],
      ['supplier.nonCritical', supplierB, cos],
    ]);
    expect(slotsAt(device, cos)['supplier.critical']?.DSP?.certificate.ownerUserId).toBe(supplierB);
    expect(pendingPlacements(device, cos)).toEqual([]);
  });

  it('a future-dated NO handover: the device is not stuck before it, the stuck report shows it pending, and it is stuck after it', () => {
    const w = given([
      userRole(noA, 'ED'),
      registration(mpan, 'networkOperator', noA, '2019-01-01T00:00:00.000Z'),
      inventory(esme, 'ESME', 1, 'Commissioned', mpan),
      placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'A1')),
    ]);
    const handOver = when(w, request({ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: [cert(noB, 'digitalSignature', '03', 'B1')], executionDateTime: cos }));
    expect(handOver.decision.data.responseCode).toBe('I99');
    commit(w, handOver);
    const device = w.devices.get(esme)!;
    expect(stuckStatus(device, w.meterPoints.get(mpan), NOW)).toMatchObject({ stuck: false, certificateOwner: noA, pending: [{ owner: noB, placedAt: cos }] });
    expect(stuckStatus(device, w.meterPoints.get(mpan), '2030-02-01T00:00:00.000Z')).toMatchObject({ stuck: true, certificateOwner: noB, since: cos });
    // Before it executes, the registered NO still owns the certificate in force: it may replace it again.
    expect(when(w, request({ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: [cert(noA, 'digitalSignature', '03', 'A2')], counter: 2 })).decision.data.responseCode).toBe('I0');
  });
});
