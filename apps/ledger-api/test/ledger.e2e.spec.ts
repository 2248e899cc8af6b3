import { makeCertificate } from '../../../libs/ledger/src/intake/testing/make-certificate';
import { makeDuisRequest, updateSecurityCredentialsKrpBody } from '../../../libs/ledger/src/intake/testing/make-duis';
import { JobService } from '../src/http/jobs.controller';
import { startTestApp } from './test-app';

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const NO_A = '90-B3-D5-1F-30-03-00-0A';
const NO_B = '90-B3-D5-1F-30-03-00-0B';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';

type App = Awaited<ReturnType<typeof startTestApp>>;

/** Parties, an MPAN whose NO is NO-A, and a commissioned SMETS1 ESME migrated with NO-B's certificates. */
async function stuckEstate(t: App) {
  for (const [userId, role] of [[SUPPLIER, 'IS'], [NO_A, 'ED'], [NO_B, 'ED']]) {
    await t.as('intake').post('/users', { userId, role, effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
  }
  await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
  await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-2' }).expect(200);
  await t.as('intake').post('/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
  const signing = await makeCertificate({ ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' });
  const agreement = await makeCertificate({ ownerUserId: NO_B, roleCode: '03', keyUsage: 'keyAgreement' });
  await t.as('intake').post(`/devices/${ESME}/certificates`, { slot: 'networkOperator.critical', certificate: { der: signing.base64 }, via: 'migration', reference: 'MIG-1', placedAt: '2020-06-01T00:00:00Z' }).expect(200);
  await t.as('intake').post(`/devices/${ESME}/certificates`, { slot: 'networkOperator.nonCritical', certificate: { der: agreement.base64 }, via: 'migration', reference: 'MIG-1', placedAt: '2020-06-01T00:00:00Z' }).expect(200);
}

async function duis615(sender: string, counter: number, owner: string) {
  const signing = await makeCertificate({ ownerUserId: owner, roleCode: '03', keyUsage: 'digitalSignature' });
  const agreement = await makeCertificate({ ownerUserId: owner, roleCode: '03', keyUsage: 'keyAgreement' });
  return makeDuisRequest({ originator: sender, target: ESME, counter, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', { signing: signing.base64, keyAgreement: agreement.base64 }) });
}

async function headPosition(t: App) {
  return t.store.headPosition();
}

describe('the stuck-device story, over HTTP', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp('baseline');
    await stuckEstate(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('both 6.15.1 attempts are refused with their codes', async () => {
    const byRegistered = await t.as('intake').post('/service-requests', await duis615(NO_A, 1, NO_A), 'application/xml').expect(200);
    expect(byRegistered.body).toMatchObject({ requestId: `${NO_A}:${ESME}:1`, outcome: 'rejected', responseCode: 'E_CERT_OWNER', signatureVerified: false, ruleSet: { id: 'baseline', version: 5 } });
    const byOwner = await t.as('intake').post('/service-requests', await duis615(NO_B, 1, NO_A), 'application/xml').expect(200);
    expect(byOwner.body).toMatchObject({ outcome: 'rejected', responseCode: 'E4' });
    expect(byOwner.body.checks.map((c: { outcome: string }) => c.outcome)).toEqual(['pass', 'pass', 'pass', 'fail', 'skipped']);
  });

  it('the device is in the stuck-devices report, and under baseline nobody can repair it', async () => {
    const report = await t.as('auditor').get('/reports/stuck-devices?ruleSet=baseline').expect(200);
    expect(report.body).toMatchObject({ count: 1, repairable: 0, devices: [{ deviceId: ESME, registeredOperator: NO_A, certificateOwner: NO_B, since: '2020-06-01T00:00:00.000Z' }] });
    const remedy = await t.as('auditor').get('/reports/stuck-devices?ruleSet=registered-operator').expect(200);
    expect(remedy.body.devices[0].repairs.filter((r: { accepted: boolean }) => r.accepted).map((r: { who: string }) => r.who)).toEqual(['registered operator']);
  });

  it('its history shows the placements and the refusals; the decision is kept with its evidence', async () => {
    const history = await t.as('auditor').get(`/devices/${ESME}/history`).expect(200);
    expect(history.body.timeline.map((h: { kind: string }) => h.kind)).toEqual(['inventory', 'certificate', 'certificate', 'decision', 'decision']);
    const decision = await t.as('auditor').get(`/decisions/${NO_A}:${ESME}:1`).expect(200);
    expect(decision.body.decision.checks[4]).toMatchObject({ check: 'certificate-ownership', outcome: 'fail', evidence: { owner: NO_B } });
    const list = await t.as('auditor').get(`/decisions?device=${ESME}&code=E4`).expect(200);
    expect(list.body.items.map((d: { requestId: string }) => d.requestId)).toEqual([`${NO_B}:${ESME}:1`]);
    const device = await t.as('auditor').get(`/devices/${ESME}`).expect(200);
    expect(device.body.slots['networkOperator.critical'].DSP.certificate.ownerUserId).toBe(NO_B);
  });
});

describe('a DUIS 6.15.1 by the owner who is also the registered NO', () => {
  it('is accepted and the device certificates change (under registered-operator, NO-A repairs the stuck device)', async () => {
    const t = await startTestApp('registered-operator');
    try {
      await stuckEstate(t);
      const before = await t.as('auditor').get(`/devices/${ESME}?asOf=2021-01-01T00:00:00Z`).expect(200);
      const res = await t.as('intake').post('/service-requests', await duis615(NO_A, 5, NO_A), 'application/xml').expect(200);
      expect(res.body).toMatchObject({ outcome: 'accepted', responseCode: 'I0', projected: true });
      expect(res.body.placed.map((p: { slot: string }) => p.slot)).toEqual(['networkOperator.critical', 'networkOperator.nonCritical']);
      const after = await t.as('auditor').get(`/devices/${ESME}`).expect(200);
      expect(after.body.slots['networkOperator.critical'].DSP.certificate.ownerUserId).toBe(NO_A);
      expect(after.body.slots['networkOperator.nonCritical'].S1SP.certificate.ownerUserId).toBe(NO_A);
      expect(before.body.slots['networkOperator.critical'].DSP.certificate.ownerUserId).toBe(NO_B);
      expect((await t.as('auditor').get('/reports/stuck-devices').expect(200)).body.count).toBe(0);
      // and, as owner and registered NO, it may now replace its own certificates under baseline rules too
      const again = await t.as('intake').post('/service-requests', await duis615(NO_A, 6, NO_A), 'application/xml').expect(200);
      expect(again.body.outcome).toBe('accepted');
    } finally {
      await t.close();
    }
  });
});

describe('resubmission and concurrency', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await stuckEstate(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a resubmitted RequestID gives the same answer and writes no event', async () => {
    const body = { requestId: `${SUPPLIER}:${ESME}:77`, srv: '4.1.1' };
    const first = await t.as('intake').post('/service-requests', body).expect(200);
    const head = await headPosition(t);
    const again = await t.as('intake').post('/service-requests', body).expect(200);
    expect(await headPosition(t)).toBe(head);
    expect({ ...again.body, recorded: undefined, written: undefined }).toEqual({ ...first.body, recorded: undefined, written: undefined });
    expect([first.body.written, again.body.written]).toEqual([true, false]);
    expect(again.body.recorded).toMatch(/^before/);
  });

  it('a RequestID sent again with other content is a 409 naming what differs, and writes nothing', async () => {
    const requestId = `${SUPPLIER}:${ESME}:78`;
    await t.as('intake').post('/service-requests', { requestId, srv: '4.1.1' }).expect(200);
    const head = await headPosition(t);
    const reused = await t.as('intake').post('/service-requests', { requestId, srv: '4.1.1', executionDateTime: '2030-01-01T00:00:00Z' }).expect(409);
    expect(reused.body).toMatchObject({ field: 'requestId', differences: ['executionDateTime'] });
    expect(reused.body.message).toMatch(/already decided for a different request/);
    expect(await headPosition(t)).toBe(head);
  });

  it('a Registration Data record id sent again with another party is a 409 naming what differs, and writes nothing (was 200 "recorded before")', async () => {
    const record = { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2023-01-01T00:00:00Z', recordId: 'RDP-RESENT' };
    await t.as('intake').post('/registrations', record).expect(200);
    const head = await headPosition(t);
    expect((await t.as('intake').post('/registrations', record).expect(200)).body).toMatchObject({ written: false });
    const reused = await t.as('intake').post('/registrations', { ...record, partyUserId: NO_A }).expect(409);
    expect(reused.body).toMatchObject({ field: 'recordId', differences: ['partyUserId'] });
    expect(await headPosition(t)).toBe(head);
  });

  it('an inventory change back to an earlier state at the same instant is a 409 naming what is recorded then, and writes nothing (was 200 "recorded before")', async () => {
    const device = '00-DB-00-00-00-01-00-78';
    const change = (status: string) => ({ deviceId: device, deviceType: 'ESME', smetsGeneration: 1, status, mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' });
    await t.as('intake').post('/devices', change('Commissioned')).expect(200);
    await t.as('intake').post('/devices', change('Suspended')).expect(200);
    const head = await headPosition(t);
    const back = await t.as('intake').post('/devices', change('Commissioned')).expect(409);
    expect(back.body).toMatchObject({ field: 'changedAt', differences: ['status'] });
    expect(back.body.message).toMatch(/another with status "Suspended" was recorded at that instant.*its own, later changedAt$/);
    expect((await t.as('intake').post('/devices', change('Suspended')).expect(200)).body).toMatchObject({ written: false });
    expect(await headPosition(t)).toBe(head);
  });

  it('20 concurrent submissions on one device end with one decision per RequestID', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `${SUPPLIER}:${ESME}:${1000 + i}`);
    const replies = await Promise.all(ids.map((requestId) => t.as('intake').post('/service-requests', { requestId, srv: '4.1.1' })));
    expect(replies.map((r) => r.status)).toEqual(ids.map(() => 200));
    const list = await t.as('auditor').get(`/decisions?device=${ESME}&user=${SUPPLIER}&limit=1000`).expect(200);
    const recorded = list.body.items.map((d: { requestId: string }) => d.requestId).filter((id: string) => ids.includes(id));
    expect(recorded.sort()).toEqual([...ids].sort());
    let revisions = 0n;
    for await (const e of t.store.readStream(`device-${ESME}`)) expect(e.revision).toBe(revisions++);
  });
});

describe('bad input and access', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await stuckEstate(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each`
    case                          | url                           | body                                                                        | type                   | field
    ${'malformed JSON'}           | ${'/service-requests'}        | ${'{"requestId": '}                                                         | ${'application/json'}  | ${'body'}
    ${'malformed XML'}            | ${'/service-requests'}        | ${'<sr:Request><sr:Header>'}                                                | ${'application/xml'}   | ${'body'}
    ${'a DUIS body whose PI holds an unclosed quote (a 500 until 2026-11-28)'} | ${'/service-requests'} | ${makeDuisRequest({ originator: NO_A, target: ESME, counter: 9, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } }).replace('</sr:Body>', "<?pi '?></sr:Body>")} | ${'application/xml'} | ${'body'}
    ${'an unknown SRV'}           | ${'/service-requests'}        | ${{ requestId: `${NO_A}:${ESME}:9`, srv: '99.1' }}                          | ${'application/json'}  | ${'srv'}
    ${'an invalid RequestID'}     | ${'/service-requests'}        | ${{ requestId: `${NO_A}:not-a-device:9`, srv: '4.1.1' }}                    | ${'application/json'}  | ${'requestId.target'}
    ${'a missing field'}          | ${'/service-requests'}        | ${{ srv: '4.1.1' }}                                                         | ${'application/json'}  | ${'requestId'}
    ${'an unknown field'}         | ${'/service-requests'}        | ${{ requestId: `${NO_A}:${ESME}:9`, srv: '4.1.1', extra: 1 }}               | ${'application/json'}  | ${'extra'}
    ${'a 6.15.1 with no certificate'} | ${'/service-requests'}    | ${{ requestId: `${NO_A}:${ESME}:9`, srv: '6.15.1', remotePartyRole: 'NetworkOperator' }} | ${'application/json'} | ${'certificates'}
    ${'a bad certificate'}        | ${'/service-requests'}        | ${{ requestId: `${NO_A}:${ESME}:9`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [{ der: 'AAAA' }] }} | ${'application/json'} | ${'certificates[0].der'}
    ${'an invalid MPAN'}          | ${'/registrations'}           | ${{ mpxn: '1412345678902', responsibility: 'supplier', partyUserId: NO_A, effectiveFrom: '2024-01-01', recordId: 'X' }} | ${'application/json'} | ${'mpxn'}
    ${'an invalid EUI-64'}        | ${'/users'}                   | ${{ userId: '90-B3', role: 'ED', effectiveFrom: '2024-01-01' }}             | ${'application/json'}  | ${'userId'}
    ${'a CSV with a wrong header'} | ${'/registrations/import'}   | ${'mpan,who\n1,2'}                                                          | ${'text/csv'}          | ${'header'}
  `('$case: 400 naming $field, and nothing is written', async ({ url, body, type, field }) => {
    const head = await headPosition(t);
    const res = await t.as('intake').post(url, body, type);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, field });
    expect(typeof res.body.message).toBe('string');
    expect(await headPosition(t)).toBe(head);
  });

  it.each`
    url                                                                        | field
    ${'/reports/stuck-devices?limit=0'}                                        | ${'limit'}
    ${'/reports/stuck-devices?limit=5000'}                                     | ${'limit'}
    ${'/decisions?limit=0'}                                                    | ${'limit'}
    ${'/decisions?code=e4'}                                                    | ${'code'}
    ${'/decisions?srv=99.99'}                                                  | ${'srv'}
    ${'/jobs/recorded?kind=nonsense'}                                          | ${'kind'}
    ${'/decisions?from=2025-02-01&to=2025-01-01'}                              | ${'to'}
    ${'/reports/stuck-devices?sinceFrom=2025-02-01&sinceTo=2025-01-01'}        | ${'sinceTo'}
    ${'/reports/stuck-devices?after=zzz'}                                      | ${'after'}
    ${`/reports/stuck-devices?sort=since&after=${ESME}|${ESME}`}               | ${'after'}
    ${`/reports/stuck-devices?after=00-DB-00-00-00-00-00-01|${ESME}`}          | ${'after'}
  `('$url: a 400 naming $field, not a page read as if it were valid (a clamped limit, an empty or restarted page)', async ({ url, field }) => {
    expect((await t.as('auditor').get(url).expect(400)).body).toMatchObject({ field });
  });

  it.each`
    query                                                         | sort
    ${'after=zzz'}                                                | ${'deviceId'}
    ${`after=${ESME}`}                                            | ${'deviceId'}
    ${`after=00-DB-00-00-00-00-00-01|${ESME}`}                    | ${'deviceId'}
    ${`sort=since&after=${ESME}|${ESME}`}                         | ${'since'}
    ${`sort=mpxn&order=desc&limit=5&after=1412345678901|zzz`}     | ${'mpxn'}
    ${`sort=registeredOperator&after=|${ESME}|${ESME}`}           | ${'registeredOperator'}
  `('a stuck report cursor that is not one of its own ($query): a 400 saying so, now and as of an instant alike', async ({ query, sort }) => {
    const message = `after: is not a cursor of this report sorted by ${sort} (give the \`next\` of the previous page, with the same sort)`;
    for (const at of ['', '&at=2030-01-01T00:00:00Z']) {
      const r = await t.as('auditor').get(`/reports/stuck-devices?${query}${at}`).expect(400);
      expect(r.body).toMatchObject({ statusCode: 400, field: 'after', message });
    }
  });

  it.each(['/decisions?code=E4&code=I0', '/decisions?srv=4.1.1&srv=6.15.1', '/reports/stuck-devices?after=a&after=b'])('%s: a query parameter given twice is a 400 naming it (was a 500)', async (url) => {
    const r = await t.as('auditor').get(url).expect(400);
    expect(r.body).toMatchObject({ field: url.split('?')[1].split('=')[0], message: expect.stringContaining('is given more than once in the query string') });
  });

  it.each`
    case                      | encoding                | bytes                                                       | status | error
    ${'a truncated gzip body'} | ${'gzip'}              | ${Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00])}        | ${400} | ${'Bad Request'}
    ${'an encoding list'}     | ${'identity, gzip, br'} | ${Buffer.from('{}')}                                        | ${415} | ${'Unsupported Media Type'}
  `('$case: $status naming the body (was a 500), its error the reason phrase of the status, as in every other error (was the enum name: BAD_REQUEST), and nothing is written', async ({ encoding, bytes, status, error }) => {
    const head = await headPosition(t);
    const r = await t.as('intake').post('/service-requests').set('content-type', 'application/json').set('content-encoding', encoding).send(bytes);
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ statusCode: status, error, field: 'body', message: expect.stringMatching(/^body: /) });
    expect(await headPosition(t)).toBe(head);
  });

  it('a JSON body that starts with a UTF-8 BOM is read as without it (RFC 8259 lets a reader ignore one; was a 400 showing the invisible character)', async () => {
    const r = await t.as('intake').post('/service-requests').set('content-type', 'application/json').send(`\uFEFF${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:4242`, srv: '4.1.1' })}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ requestId: `${SUPPLIER}:${ESME}:4242`, written: true });
  });

  it('a CSV import keeps the good lines, reports the bad ones, and a re-import changes nothing', async () => {
    const csv = ['mpxn,responsibility,party_user_id,effective_from,record_id', `2200000123453,supplier,${SUPPLIER},2024-01-01,F-1`, `2200000123450,supplier,${SUPPLIER},2024-01-01,F-2`, `2200000123453,network_operator,${NO_B},2024-01-01,F-3`, `2200000123453,supplier`].join('\n');
    const first = await t.as('intake').post('/registrations/import', csv, 'text/csv').expect(200);
    // projected, as the other recording routes say (until 2026-11-27 the import's reply did not)
    expect(first.body).toMatchObject({ lines: 4, written: 2, unchanged: 0, rejected: 2, errors: [{ line: 3, field: 'mpxn' }, { line: 5, field: 'line' }], projected: true });
    const head = await headPosition(t);
    const again = await t.as('intake').post('/registrations/import', csv, 'text/csv').expect(200);
    expect(again.body).toMatchObject({ written: 0, unchanged: 2, rejected: 2 });
    expect(await headPosition(t)).toBe(head);
    const regs = await t.as('auditor').get('/meter-points/2200000123453/registrations?asOf=2024-02-01T00:00:00Z').expect(200);
    expect(regs.body.registered).toMatchObject({ supplier: { partyUserId: SUPPLIER }, networkOperator: { partyUserId: NO_B } });
  });

  it('an inventory record with a DCC test MPAN (failing its check digit) is kept; requests to its device get E4 saying why', async () => {
    const device = '00-DB-00-00-00-01-00-77';
    await t.as('intake').post('/devices', { deviceId: device, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: '1412345678902', changedAt: '2020-01-01T00:00:00Z' }).expect(200);
    const res = await t.as('intake').post('/service-requests', { requestId: `${NO_A}:${device}:1`, srv: '4.1.1' }).expect(200);
    expect(res.body).toMatchObject({ outcome: 'rejected', responseCode: 'E4' });
    expect(res.body.checks.find((c: { outcome: string }) => c.outcome === 'fail').reason).toMatch(/fails its check digit/);
    // and the meter point's devices are listed, as the inventory holds them (was a 400 "check digit")
    expect((await t.as('auditor').get('/meter-points/1412345678902/devices').expect(200)).body).toMatchObject({ mpxn: '1412345678902', devices: [expect.objectContaining({ deviceId: device })], next: null });
    // a page at a time: after a device id, at most limit (1 to 1000); anything else a 400 naming the parameter
    expect((await t.as('auditor').get(`/meter-points/1412345678902/devices?after=${device}`).expect(200)).body).toEqual({ mpxn: '1412345678902', devices: [], next: null });
    // limit reaches the query: a second device on it, one a page
    const other = '00-DB-00-00-00-01-00-78';
    await t.as('intake').post('/devices', { deviceId: other, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: '1412345678902', changedAt: '2020-01-01T00:00:00Z' }).expect(200);
    expect((await t.as('auditor').get('/meter-points/1412345678902/devices?limit=1').expect(200)).body).toMatchObject({ devices: [{ deviceId: device }], next: device });
    expect((await t.as('auditor').get(`/meter-points/1412345678902/devices?limit=1&after=${device}`).expect(200)).body).toMatchObject({ devices: [{ deviceId: other }], next: null });
    expect((await t.as('auditor').get('/meter-points/1412345678902/devices?limit=0').expect(400)).body).toMatchObject({ field: 'limit' });
    expect((await t.as('auditor').get('/meter-points/1412345678902/devices?after=not-a-device').expect(400)).body).toMatchObject({ field: 'after' });
  });

  it('a limit sent as a string is refused saying it must be a whole number, not that it is over the maximum', async () => {
    const r = await t.as('auditor').post('/replays', { ruleSet: 'baseline', limit: '5' }).expect(400);
    expect(r.body).toMatchObject({ field: 'limit', message: 'limit: limit must be an integer number' });
  });

  it('an operator correction to one proxy copy only shows in the proxy-disagreements report', async () => {
    const before = await t.as('auditor').get('/reports/proxy-disagreements').expect(200);
    expect(before.body).toMatchObject({ count: 0, records: [] });
    const other = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    await t.as('intake').post(`/devices/${ESME}/certificates`, { slot: 'networkOperator.critical', certificate: { der: other.base64 }, heldBy: ['S1SP'], via: 'operatorCorrection', reference: 'OPS-7', placedAt: '2021-03-01T00:00:00Z' }).expect(200);
    const after = await t.as('auditor').get('/reports/proxy-disagreements').expect(200);
    expect(after.body).toMatchObject({ count: 1, issuerSpeltTwoWays: 0, devices: 1, records: [{ deviceId: ESME, slot: 'networkOperator.critical', dsp: { certificate: { ownerUserId: NO_B } }, s1sp: { certificate: { ownerUserId: NO_A } }, since: '2021-03-01T00:00:00.000Z' }] });
  });

  it('the proxy-disagreements report reads the copies in force at its instant: a correction dated later is not a finding before its date', async () => {
    const other = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    await t.as('intake').post(`/devices/${ESME}/certificates`, { slot: 'networkOperator.critical', certificate: { der: other.base64 }, heldBy: ['S1SP'], via: 'operatorCorrection', reference: 'OPS-8', placedAt: '2099-01-01T00:00:00Z' }).expect(200);
    const now = await t.as('auditor').get('/reports/proxy-disagreements').expect(200);
    expect(now.body.records.filter((r: { since: string }) => r.since === '2099-01-01T00:00:00.000Z')).toEqual([]);
    const then = await t.as('auditor').get('/reports/proxy-disagreements?at=2099-01-01T00:00:00Z').expect(200);
    expect(then.body).toMatchObject({ at: '2099-01-01T00:00:00.000Z', records: expect.arrayContaining([expect.objectContaining({ deviceId: ESME, slot: 'networkOperator.critical', since: '2099-01-01T00:00:00.000Z' })]) });
    await t.as('auditor').get('/reports/proxy-disagreements?at=yesterday').expect(400);
  });

  it('no key: 401; a wrong key: 401; a key of the wrong role: 403', async () => {
    await t.http().get(`/devices/${ESME}`).expect(401);
    await t.http().get(`/devices/${ESME}`).set('x-api-key', 'not-a-key-at-all').expect(401);
    await t.as('intake').get(`/devices/${ESME}`).expect(403);
    await t.as('auditor').post('/service-requests', { requestId: `${NO_A}:${ESME}:9`, srv: '4.1.1' }).expect(403);
    await t.as('admin').get(`/devices/${ESME}`).expect(200);
  });

  it('OpenAPI is served at /docs', async () => {
    const res = await t.http().get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/service-requests', '/reports/stuck-devices', '/decisions/{requestId}']));
  });

  it('OpenAPI: each verification route says it lists the first 20 of each finding and counts them all (until 2026-11-27, fifteenth session, GET /audit/verify said "the first broken link of each stream")', async () => {
    const { paths } = (await t.http().get('/docs-json').expect(200)).body;
    for (const route of ['/audit/verify', '/audit/verify/incremental', '/audit/verify/last']) expect({ route, summary: paths[route].get.summary }).toEqual({ route, summary: expect.stringMatching(/the first 20 .* and the count of each/) });
  });
});

describe('replay and audit over HTTP', () => {
  it('replays a decision identically, runs a what-if, verifies the chain and rebuilds (admin only)', async () => {
    const t = await startTestApp();
    try {
      await stuckEstate(t);
      await t.as('intake').post('/service-requests', await duis615(NO_B, 3, NO_A), 'application/xml').expect(200);
      const replay = await t.as('auditor').post(`/decisions/${NO_B}:${ESME}:3/replay`).expect(200);
      expect(replay.body).toMatchObject({ identical: true, differences: [], recorded: { responseCode: 'E4' } });
      const whatIf = await t.as('auditor').post(`/decisions/${NO_B}:${ESME}:3/replay?ruleSet=ownership-only`).expect(200);
      expect(whatIf.body).toMatchObject({ identical: false, replayed: { outcome: 'accepted', responseCode: 'I0' } });
      const replays = await t.as('auditor').post('/replays', { ruleSet: 'ownership-only' }).expect(200);
      expect(replays.body).toMatchObject({ judged: 1, changed: { rejectedToAccepted: 1 }, byCode: { 'E4 -> I0': 1 } });
      expect((await t.as('auditor').get('/audit/verify').expect(200)).body).toMatchObject({ ok: true });
      expect((await t.as('auditor').get('/audit/digest').expect(200)).body.digest).toMatch(/^[0-9a-f]{64}$/);
      await t.as('auditor').post('/admin/rebuild').expect(403);
      let events = 0;
      for await (const _ of t.store.readAll()) events++;
      const rebuilt = await t.as('admin').post('/admin/rebuild').expect(200);
      expect(rebuilt.body.events).toBe(events + 1); // every event before the rebuild, and its own start (its record comes after it)
      expect((await t.as('auditor').get('/reports/stuck-devices').expect(200)).body.count).toBe(1);
      expect(rebuilt.body).not.toHaveProperty('checkThread'); // one thread here: nothing to say
      // A rebuild whose check thread stopped early says so in the answer too, not only in the job's record.
      const stopped = 'the check thread stopped (it exited (code 3) after position 0): the rebuilding thread checked the rest';
      jest.spyOn(t.app.get(JobService), 'run').mockResolvedValueOnce({ events, seconds: 1, checkThread: stopped });
      expect((await t.as('admin').post('/admin/rebuild').expect(200)).body).toEqual({ events, seconds: 1, checkThread: stopped });
    } finally {
      await t.close();
    }
  });
});

describe('an unreachable store', () => {
  it('answers 503, not a crash', async () => {
    const t = await startTestApp();
    try {
      await t.store.dispose();
      const res = await t.as('intake').post('/service-requests', { requestId: `${NO_A}:${ESME}:1`, srv: '4.1.1' });
      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/^store unreachable/);
      expect((await t.http().get('/health').expect(503)).body).toMatchObject({ status: 'store-unreachable', store: { reachable: false } });
    } finally {
      await t.close();
    }
  });
});

describe('the stuck report paged by its own cursors', () => {
  it('by each sort, reads every row once (the cursors the API checks are those it gives)', async () => {
    const t = await startTestApp();
    try {
      await stuckEstate(t);
      for (const [i, placedAt] of ['2020-03-01', '2020-09-01', '2021-01-01'].entries()) {
        const device = `00-DB-12-34-56-78-91-0${i}`;
        await t.as('intake').post('/devices', { deviceId: device, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
        const certificate = { serial: `9${i}`, issuer: 'CN=SMKI Issuing CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' };
        await t.as('intake').post(`/devices/${device}/certificates`, { slot: 'networkOperator.critical', certificate, via: 'migration', placedAt: `${placedAt}T00:00:00Z` }).expect(200);
      }
      const all = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body.devices.map((d: { deviceId: string }) => d.deviceId).sort();
      expect(all).toHaveLength(4);
      for (const sort of ['deviceId', 'since', 'mpxn', 'registeredOperator', 'certificateOwner']) {
        for (const order of ['asc', 'desc']) {
          const seen: string[] = [];
          let next: string | null | undefined;
          do {
            const page = (await t.as('auditor').get(`/reports/stuck-devices?sort=${sort}&order=${order}&limit=1${next ? `&after=${encodeURIComponent(next)}` : ''}`).expect(200)).body;
            seen.push(...page.devices.map((d: { deviceId: string }) => d.deviceId));
            next = page.next;
          } while (next);
          expect(seen.sort()).toEqual(all);
        }
      }
    } finally {
      await t.close();
    }
  });
});
