import { makeCertificate } from '../../../libs/ledger/src/intake/testing/make-certificate';
import { makeDuisRequest } from '../../../libs/ledger/src/intake/testing/make-duis';
import { startTestApp } from './test-app';

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const ACB = '90-B3-D5-1F-30-00-00-02';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';

/** Real DUIS SRVs the catalogue@1 did not know, over HTTP, on the app's default rule set (baseline@4). */
describe('every DUIS SRV is judged over HTTP', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    t = await startTestApp();
    await t.as('intake').post('/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await t.as('intake').post('/users', { userId: ACB, role: 'ACB', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
    await t.as('intake').post('/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 2, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
  });
  afterAll(() => t.close());

  const duis = (originator: string, counter: number, srv: string, body: Record<string, unknown>) =>
    t.as('intake').post('/service-requests', makeDuisRequest({ originator, target: ESME, counter, srv, commandVariant: srv === '8.2' ? 8 : 1, body: body as never }), 'application/xml');

  it.each`
    counter | srv         | body                                                                                               | code
    ${11}   | ${'7.4'}    | ${{ ReadSupplyStatus: {} }}                                                                        | ${'I0'}
    ${12}   | ${'8.2'}    | ${{ ReadInventory: {} }}                                                                           | ${'I0'}
    ${13}   | ${'6.24.1'} | ${{ RetrieveDeviceSecurityCredentialsKRP: { RemotePartyRole: ['Supplier', 'LoadController'] } }} | ${'I0'}
    ${14}   | ${'7.4'}    | ${{ ReadSupplyStatus: { ExecutionDateTime: '2099-01-01T00:00:00Z' } }}                            | ${'E_NOT_FUTURE_DATABLE'}
  `('$srv is judged: $code', async ({ counter, srv, body, code }) => {
    const r = await duis(SUPPLIER, counter, srv, body).expect(200);
    expect(r.body).toMatchObject({ responseCode: code, ruleSet: { id: 'baseline', version: 5 } });
  });

  it('JSON: 6.24.1 may give remotePartyRoles (a list); giving both forms is a 400 naming remotePartyRoles', async () => {
    const ok = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:21`, srv: '6.24.1', remotePartyRoles: ['Supplier', 'NetworkOperator'] }).expect(200);
    expect(ok.body).toMatchObject({ responseCode: 'I0' });
    const recorded = await t.as('auditor').get(`/decisions/${SUPPLIER}:${ESME}:21`).expect(200);
    expect(recorded.body.decision.request).toMatchObject({ remotePartyRole: 'Supplier', remotePartyRoles: ['Supplier', 'NetworkOperator'] });
    const both = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:22`, srv: '6.24.1', remotePartyRole: 'Supplier', remotePartyRoles: ['Supplier'] }).expect(400);
    expect(both.body).toMatchObject({ field: 'remotePartyRoles' });
  });

  it('a request from an org id of the DCC is E1, saying so', async () => {
    const r = await duis(ACB, 1, '7.4', { ReadSupplyStatus: {} }).expect(200);
    expect(r.body).toMatchObject({ responseCode: 'E1' });
    expect(r.body.checks[0].reason).toMatch(/org id of the DCC \(ACB\)/);
  });

  describe("8.5 Service Opt Out carrying the ACB's replacement certificate (the shape of DCC's example CS02b ACB by ACB) is judged and recorded with it, not refused", () => {
    let acbCertificate: Awaited<ReturnType<typeof makeCertificate>>;
    let pathCertificate: Awaited<ReturnType<typeof makeCertificate>>;
    beforeAll(async () => {
      // As in DCC's example: a digital-signing certificate under an element named KeyAgreementCertificate (read from the certificate, not the name).
      acbCertificate = await makeCertificate({ ownerUserId: ACB, roleCode: '04', keyUsage: 'digitalSignature' });
      pathCertificate = await makeCertificate({ ownerUserId: ACB, roleCode: '07', keyUsage: 'none' });
    });
    const optOut = (originator: string, counter: number) =>
      makeDuisRequest({
        originator,
        target: ESME,
        counter,
        srv: '8.5',
        body: {
          ServiceOptOut: {
            ExecutionDateTime: '2015-01-15T00:00:00.00Z',
            ACBFloorSeqNumber: '0',
            ReplacementCertificates: { KeyAgreementCertificate: acbCertificate.base64 },
            CertificationPathCertificates: { Certificate: pathCertificate.base64 },
            ApplyTimeBasedCPVChecks: 'true',
          },
        } as never,
      });
    const json = (originator: string, counter: number) => ({ requestId: `${originator}:${ESME}:${counter}`, srv: '8.5', executionDateTime: '2015-01-15T00:00:00.00Z', certificates: [{ der: acbCertificate.base64 }] });
    it.each`
      form      | from        | sender        | counter | code    | reason
      ${'DUIS'} | ${ACB}      | ${'the ACB'}  | ${31}   | ${'E1'} | ${/org id of the DCC \(ACB\)/}
      ${'DUIS'} | ${SUPPLIER} | ${'a User'}   | ${32}   | ${'E2'} | ${/the DUIS matrix names no User Role for it/}
      ${'JSON'} | ${ACB}      | ${'the ACB'}  | ${33}   | ${'E1'} | ${/org id of the DCC \(ACB\)/}
      ${'JSON'} | ${SUPPLIER} | ${'a User'}   | ${34}   | ${'E2'} | ${/the DUIS matrix names no User Role for it/}
    `('$form from $sender: $code, the certificate in the record, nothing placed', async ({ form, from, counter, code, reason }) => {
      const body = form === 'DUIS' ? optOut(from, counter) : json(from, counter);
      const r = await t.as('intake').post('/service-requests', body, form === 'DUIS' ? 'application/xml' : 'application/json').expect(200);
      expect(r.body).toMatchObject({ responseCode: code });
      expect(r.body.checks.find((c: { outcome: string }) => c.outcome === 'fail').reason).toMatch(reason);
      const recorded = await t.as('auditor').get(`/decisions/${from}:${ESME}:${counter}`).expect(200);
      expect(recorded.body.decision.request).toMatchObject({ srv: '8.5', certificates: [{ serial: acbCertificate.serial, ownerUserId: ACB, roleCode: '04', keyUsage: 'digitalSignature' }] });
      expect(recorded.body.decision.request.certificates).toHaveLength(1); // the certification path's Certificate is not read
      const device = await t.as('auditor').get(`/devices/${ESME}`).expect(200);
      expect(device.body.slots).toEqual({});
    });
  });

  it('RemotePartyRole repeated outside 6.24.1 is a 400 naming it; an SRV outside the matrix is a 400 naming the header field', async () => {
    const repeated = await duis(SUPPLIER, 77, '6.15.1', { UpdateSecurityCredentialsKRP: { RemotePartyRole: ['Supplier', 'NetworkOperator'] } }).expect(400);
    expect(repeated.body).toMatchObject({ field: 'remotePartyRole', message: expect.stringMatching(/only SRV 6.24.1/) });
    const unknown = makeDuisRequest({ originator: SUPPLIER, target: ESME, counter: 78, srv: '7.4', body: { ReadSupplyStatus: {} } }).replace(/>7\.4</g, '>7.99<');
    const r = await t.as('intake').post('/service-requests', unknown, 'application/xml').expect(400);
    expect(r.body.message).toMatch(/7\.99/);
  });
});

describe('with a rule set @1 in force, only catalogue@1 is judged', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    t = await startTestApp('baseline@1');
  });
  afterAll(() => t.close());

  it('an SRV outside catalogue@1 is a 400 naming srv and the rule set; one inside it is judged under @1', async () => {
    const outside = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:1`, srv: '7.4' }).expect(400);
    expect(outside.body).toMatchObject({ field: 'srv', message: expect.stringMatching(/not judged under rule set baseline@1/) });
    const inside = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:2`, srv: '4.1.1' }).expect(200);
    expect(inside.body).toMatchObject({ responseCode: 'E1', ruleSet: { id: 'baseline', version: 1 } });
  });
});
