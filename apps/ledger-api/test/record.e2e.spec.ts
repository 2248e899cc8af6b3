import Database from 'better-sqlite3';
import { ledgerEventOf } from '@ledger/domain';
import * as http from 'node:http';
import type { SqliteEventStore } from '@ledger/event-store';
import { makeCertificate } from '../../../libs/ledger/src/intake/testing/make-certificate';
import { makeDuisRequest } from '../../../libs/ledger/src/intake/testing/make-duis';
import { startTestApp } from './test-app';

/** A true record under concurrent traffic and hostile input, over HTTP on the real app. */

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';

type App = Awaited<ReturnType<typeof startTestApp>>;

const cert = (owner: string, keyUsage: 'digitalSignature' | 'keyAgreement', serial: string) => ({ serial, issuer: 'CN=SMKI Issuing CA', ownerUserId: owner, roleCode: owner === NO_A ? '03' : '02', keyUsage });

/** A supplier and a NO registered for an MPAN, and a commissioned SMETS1 ESME holding NO-A's certificates. */
async function estate(t: App, device = ESME) {
  for (const [userId, role] of [[SUPPLIER, 'IS'], [NO_A, 'ED']]) await t.as('intake').post('/users', { userId, role, effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
  await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
  await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-2' }).expect(200);
  await t.as('intake').post('/devices', { deviceId: device, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
  await t.as('intake').post(`/devices/${device}/certificates`, { slot: 'networkOperator.critical', certificate: cert(NO_A, 'digitalSignature', 'A1'), via: 'migration', reference: 'MIG-1', placedAt: '2020-06-01T00:00:00Z' }).expect(200);
}

const read = (counter: number, device = ESME) => ({ requestId: `${SUPPLIER}:${device}:${counter}`, srv: '4.1.1' });
const renew = (counter: number) => ({ requestId: `${NO_A}:${ESME}:${counter}`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [cert(NO_A, 'digitalSignature', `B${counter}`)] });

async function streamEvents(t: App, stream: string) {
  const out = [];
  for await (const e of t.store.readStream(stream)) out.push(e);
  return out;
}

describe('concurrent traffic keeps the record true', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await estate(t);
  });
  afterAll(() => t.close());

  it('twenty copies of one RequestID at once: one decision recorded, every reply is that decision, the chain verifies', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => t.as('intake').post('/service-requests', renew(1))));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(replies.filter((r) => r.body.written === true)).toHaveLength(1);
    const recorded = (await streamEvents(t, `device-${ESME}`)).filter((e) => e.type === 'ServiceRequestEvaluated');
    expect(recorded).toHaveLength(1);
    const decision = ledgerEventOf(recorded[0].stream, recorded[0].type, recorded[0].data)!.data as { evaluatedAt: string; responseCode: string };
    const written = replies.find((r) => r.body.written)!.body;
    for (const r of replies) {
      expect({ ...r.body, written: undefined, recorded: undefined, projected: undefined }).toEqual({ ...written, written: undefined, recorded: undefined, projected: undefined });
      expect(r.body.evaluatedAt).toBe(decision.evaluatedAt);
    }
    expect((await t.as('auditor').get('/audit/verify').expect(200)).body).toMatchObject({ ok: true, breaks: [], unreadable: [] });
  });

  it('200 requests in flight to one device: every one decided, each on the state its predecessor left', async () => {
    const bodies = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? renew(100 + i) : read(100 + i)));
    const replies = await Promise.all(bodies.map((b) => t.as('intake').post('/service-requests', b)));
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(replies.every((r) => r.body.written === true)).toBe(true);
    const decisions = (await streamEvents(t, `device-${ESME}`)).filter((e) => e.type === 'ServiceRequestEvaluated');
    const ids = new Set(decisions.map((e) => (ledgerEventOf(e.stream, e.type, e.data)!.data as { request: { requestId: string } }).request.requestId));
    for (const b of bodies) expect(ids.has(b.requestId)).toBe(true);
    // One consistent order: each decision read the device stream at the revision just before its own.
    for (const e of decisions) {
      const read = (ledgerEventOf(e.stream, e.type, e.data)!.data as { revisionsRead: Record<string, string | null> }).revisionsRead[`device-${ESME}`];
      expect(BigInt(read!)).toBe(e.revision - 1n);
    }
    expect((await t.as('auditor').get('/audit/verify').expect(200)).body.ok).toBe(true);
  });

  it('five concurrent imports of one file: what the replies say was written adds up to what the store holds', async () => {
    const lines = ['mpxn,responsibility,party_user_id,effective_from,record_id'];
    const mpans = ['1000000000012', '1100000000017', '1200000000011', '1300000000016', '1500000000015', '1600000000010', '1700000000014', '1800000000019'];
    for (const m of mpans) for (let k = 0; k < 3; k++) lines.push(`${m},${k === 1 ? 'network_operator' : 'supplier'},${k === 1 ? NO_A : SUPPLIER},202${k}-01-01,${m}-R${k}`);
    const csv = lines.join('\n');
    const before = await t.store.headPosition();
    const replies = await Promise.all(Array.from({ length: 5 }, () => t.as('intake').post('/registrations/import', csv, 'text/csv')));
    expect(replies.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(replies.map((r) => r.body.rejected)).toEqual(Array(5).fill(0));
    const written = replies.reduce((n, r) => n + r.body.written, 0);
    expect(written).toBe(24);
    expect(replies.reduce((n, r) => n + r.body.unchanged, 0)).toBe(4 * 24);
    expect(Number((await t.store.headPosition())! - before!)).toBe(24);
    expect((await t.as('auditor').get('/audit/verify').expect(200)).body.ok).toBe(true);
  });
});

/** A POST of exactly these bytes (supertest would re-encode a Buffer sent as JSON). */
function post(base: string, path: string, headers: Record<string, string | string[]>, body: Buffer): Promise<{ status: number; body: Record<string, unknown> & { message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base.replace('[::1]', '127.0.0.1')), { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepXml = (n: number) => `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">${'<a>'.repeat(n)}${'</a>'.repeat(n)}</sr:Request>`;
const withBadByte = (text: string, at: number) => Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc3, 0x28]), Buffer.from(text.slice(at))]);
const CSV_HEADER = 'mpxn,responsibility,party_user_id,effective_from,record_id';
const DUIS = makeDuisRequest({ originator: SUPPLIER, target: ESME, counter: 77, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } });

describe('hostile input is refused before it reaches anything, and nothing stored changes', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await estate(t);
  });
  afterAll(() => t.close());

  const json = 'application/json';
  const xml = 'application/xml';
  const csv = 'text/csv';
  it.each`
    case                                          | url                         | body                                                                                              | type    | headers                             | status | field                    | message
    ${'JSON nested 10,000 deep'}                  | ${'/service-requests'}      | ${deep(10_000)}                                                                                   | ${json} | ${{}}                               | ${400} | ${'body'}                | ${/deeper than the 32-level limit/}
    ${'JSON nested 100,000 deep'}                 | ${'/service-requests'}      | ${deep(100_000)}                                                                                  | ${json} | ${{}}                               | ${413} | ${'body'}                | ${/200000 bytes, over the 65536-byte limit/}
    ${'JSON nested 33 deep in a field'}           | ${'/service-requests'}      | ${`{"requestId":${deep(33)}}`}                                                                    | ${json} | ${{}}                               | ${400} | ${'body'}                | ${/32-level limit/}
    ${'invalid UTF-8 in JSON'}                    | ${'/service-requests'}      | ${withBadByte(JSON.stringify(read(1)), 10)}                                                       | ${json} | ${{}}                               | ${400} | ${'body'}                | ${/not valid UTF-8 \(byte offset 10: 0xc3\)/}
    ${'invalid UTF-8 in XML'}                     | ${'/service-requests'}      | ${withBadByte('<sr:Request></sr:Request>', 4)}                                                    | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/byte offset 4/}
    ${'invalid UTF-8 in CSV'}                     | ${'/registrations/import'}  | ${withBadByte(`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`, 60)}                   | ${csv}  | ${{}}                               | ${400} | ${'body'}                | ${/byte offset 60/}
    ${'a lone continuation byte'}                 | ${'/users'}                 | ${Buffer.from([0x7b, 0x80, 0x7d])}                                                                | ${json} | ${{}}                               | ${400} | ${'body'}                | ${/byte offset 1: 0x80/}
    ${'an overlong encoding'}                     | ${'/users'}                 | ${Buffer.from([0x7b, 0xc0, 0xaf, 0x7d])}                                                          | ${json} | ${{}}                               | ${400} | ${'body'}                | ${/byte offset 1/}
    ${'a __proto__ key'}                          | ${'/service-requests'}      | ${`{"requestId":"${SUPPLIER}:${ESME}:7","srv":"4.1.1","__proto__":{"x":1}}`}                      | ${json} | ${{}}                               | ${400} | ${'__proto__'}           | ${/not a known field/}
    ${'a constructor key'}                        | ${'/users'}                 | ${`{"userId":"${SUPPLIER}","role":"IS","effectiveFrom":"2020-01-01","constructor":{"a":1}}`}      | ${json} | ${{}}                               | ${400} | ${'constructor'}         | ${/not a known field/}
    ${'a nested prototype key'}                   | ${'/service-requests'}      | ${`{"requestId":"${NO_A}:${ESME}:7","srv":"6.15.1","certificates":[{"prototype":1}]}`}            | ${json} | ${{}}                               | ${400} | ${'certificates[0].prototype'} | ${/not a known field/}
    ${'a JSON key twice'}                         | ${'/service-requests'}      | ${`{"requestId":"${NO_A}:${ESME}:7","srv":"6.15.1","srv":"4.1.1"}`}                               | ${json} | ${{}}                               | ${400} | ${'srv'}                 | ${/srv: is given twice in one object/}
    ${'a JSON key twice, once as an escape'}      | ${'/users'}                 | ${`{"userId":"${SUPPLIER}","role":"IS","r\\u006fle":"ED","effectiveFrom":"2020-01-01"}`}          | ${json} | ${{}}                               | ${400} | ${'role'}                | ${/given twice/}
    ${'a nested JSON key twice'}                  | ${'/service-requests'}      | ${`{"requestId":"${NO_A}:${ESME}:7","srv":"6.15.1","certificates":[{"der":"A"},{"der":"A","der":"B"}]}`} | ${json} | ${{}}                 | ${400} | ${'certificates[1].der'} | ${/given twice/}
    ${'a lone surrogate as a JSON escape'}        | ${`/devices/${ESME}/certificates`} | ${`{"slot":"supplier.critical","via":"migration","placedAt":"2020-06-01T00:00:00Z","certificate":{"serial":"C2","issuer":"CN=\\ud800","ownerUserId":"${NO_A}","roleCode":"02","keyUsage":"digitalSignature"}}`} | ${json} | ${{}} | ${400} | ${'certificate.issuer'} | ${/lone UTF-16 surrogate/}
    ${'a list of 16,000 certificates'}            | ${'/service-requests'}      | ${`{"requestId":"${NO_A}:${ESME}:7","srv":"6.15.1","certificates":[${Array(16_000).fill('{}').join(',')}]}`} | ${json} | ${{}} | ${400} | ${'certificates'} | ${/holds more than 64 elements/}
    ${'a body declared latin1'}                   | ${'/users'}                 | ${`{"userId":"${SUPPLIER}","role":"IS","effectiveFrom":"2020-01-01"}`}                             | ${'application/json; charset=latin1'} | ${{}} | ${400} | ${'content-type'} | ${/charset 'latin1' is not accepted: send UTF-8 \(or ASCII\)/}
    ${'XML declared ISO-8859-1, not ASCII'}       | ${'/service-requests'}      | ${Buffer.from(DUIS.replace('UTF-8', 'ISO-8859-1').replace('?>', '?><!-- \u00e9 -->'), 'latin1')}  | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/its XML declaration names encoding 'ISO-8859-1', but the body is not ASCII \(byte offset \d+: 0xe9\)/}
    ${'XML in UTF-16 with no byte order mark'}    | ${'/service-requests'}      | ${Buffer.from(DUIS.replace('UTF-8', 'UTF-16'), 'utf16le')}                                      | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/is UTF-16 or UTF-32 without a byte order mark/}
    ${'XML charset us-ascii over a byte not ASCII'} | ${'/service-requests'}    | ${DUIS.replace('?>', '?><!-- \u00e9 -->')}                                                       | ${'application/xml; charset=us-ascii'} | ${{}} | ${400} | ${'content-type'} | ${/the Content-Type charset names encoding 'us-ascii', but the body is not ASCII \(byte offset \d+: 0xc3\)/}
    ${'XML charset utf-8 over UTF-16 by its mark'} | ${'/service-requests'}     | ${Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(DUIS.replace('UTF-8', 'UTF-16'), 'utf16le')])} | ${'application/xml; charset=utf-8'} | ${{}} | ${400} | ${'content-type'} | ${/the Content-Type charset names encoding 'utf-8', but the body is UTF-16LE \(by its byte order mark\)/}
    ${'XML with a charset not read'}              | ${'/service-requests'}      | ${DUIS.replace(' encoding="UTF-8"', '')}                                                        | ${'text/xml; charset=shift_jis'} | ${{}} | ${400} | ${'content-type'} | ${/names encoding 'shift_jis', which the ledger does not read/}
    ${'a DOCTYPE before the root'}                | ${'/service-requests'}      | ${'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><sr:Request>&x;</sr:Request>'}              | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/<!DOCTYPE> declaration/}
    ${'a DOCTYPE inside the root'}                | ${'/service-requests'}      | ${'<sr:Request><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><sr:Header/></sr:Request>'}  | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/DTDs and entities are refused/}
    ${'an entity declaration alone'}              | ${'/service-requests'}      | ${'<sr:Request><!ENTITY x "y"></sr:Request>'}                                                     | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/<!ENTITY> declaration/}
    ${'XML nested 40 deep'}                       | ${'/service-requests'}      | ${deepXml(40)}                                                                                    | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/nests elements deeper than the 32-level limit/}
    ${'XML nested 40 deep, each tag holding />'}  | ${'/service-requests'}      | ${deepXml(40).replace(/<a>/g, '<a b="/>">')}                                                      | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/nests elements deeper than the 32-level limit/}
    ${'a JSON body over 64 KiB'}                  | ${'/service-requests'}      | ${JSON.stringify({ ...read(8), srv: 'x'.repeat(70_000) })}                                       | ${json} | ${{}}                               | ${413} | ${'body'}                | ${/over the 65536-byte limit/}
    ${'an XML body over 64 KiB'}                  | ${'/service-requests'}      | ${`<sr:Request>${' '.repeat(70_000)}</sr:Request>`}                                               | ${xml}  | ${{}}                               | ${413} | ${'body'}                | ${/over the 65536-byte limit/}
    ${'a CSV with a wrong header'}                | ${'/registrations/import'}  | ${'mpan,who\n1,2'}                                                                                | ${csv}  | ${{}}                               | ${400} | ${'header'}              | ${/must be exactly/}
    ${'an empty CSV'}                             | ${'/registrations/import'}  | ${'\n\n'}                                                                                         | ${csv}  | ${{}}                               | ${400} | ${'file'}                | ${/is empty/}
    ${'a CSV body of no bytes'}                   | ${'/registrations/import'}  | ${''}                                                                                             | ${csv}  | ${{}}                               | ${400} | ${'file'}                | ${/is empty/}
    ${'an XML body of no bytes'}                  | ${'/service-requests'}      | ${''}                                                                                             | ${xml}  | ${{}}                               | ${400} | ${'body'}                | ${/is empty/}
    ${'an x-file-name that is a formula'}         | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': '=cmd|calc!A0' }} | ${400} | ${'x-file-name'}         | ${/is not a file name: it begins as a spreadsheet formula/}
    ${'an x-file-name that is a path'}            | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': '..%2F..%2Fetc%2Fpasswd' }} | ${400} | ${'x-file-name'}         | ${/'..\/..\/etc\/passwd' is not a file name: it holds a path separator/}
    ${"an x-file-name that is '..'"}              | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': '..' }} | ${400} | ${'x-file-name'}         | ${/is not a file name: it names a directory/}
    ${'an x-file-name hiding a header'}           | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': 'rdp.csv%0D%0Ax-api-key:%20admin' }} | ${400} | ${'x-file-name'}         | ${/is not a file name: it holds U\+000D, which does not show as itself/}
    ${'an x-file-name reversing itself'}          | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': 'rdp%E2%80%AEvsc.exe' }} | ${400} | ${'x-file-name'}         | ${/is not a file name: it holds U\+202E, which does not show as itself/}
    ${'an x-file-name of 256 bytes'}              | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': '%C3%A9'.repeat(128) }} | ${400} | ${'x-file-name'}         | ${/is not a file name: it is 256 bytes of UTF-8/}
    ${'an x-file-name not percent-encoded'}       | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': 'r\u00e9sum\u00e9.csv' }} | ${400} | ${'x-file-name'}         | ${/holds U\+00E9, which is not printable ASCII: percent-encode the name's UTF-8/}
    ${'two x-file-name headers'}                  | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': ['a.csv', 'b.csv'] }} | ${400} | ${'x-file-name'}         | ${/sent 2 times: send the file's name once/}
    ${'an x-file-name with a bare %'}             | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': '100%.csv' }} | ${400} | ${'x-file-name'}         | ${/is not percent-encoded UTF-8/}
    ${'an x-file-name whose escapes are not UTF-8'}  | ${'/registrations/import'}  | ${`${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,R9`}                                    | ${csv}  | ${{ 'x-file-name': '%C3%28.csv' }} | ${400} | ${'x-file-name'}         | ${/is not percent-encoded UTF-8/}
    ${'a record id that is a formula'}            | ${'/registrations'}         | ${{ mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2024-01-01', recordId: "=cmd|' /C calc'!A0" }} | ${json} | ${{}} | ${400} | ${'recordId'} | ${/must be an identifier/}
    ${'a record id with a control character'}     | ${'/registrations'}         | ${{ mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2024-01-01', recordId: 'R\u00079' }} | ${json} | ${{}} | ${400} | ${'recordId'} | ${/must be an identifier/}
    ${'a migration reference with markup'}        | ${`/devices/${ESME}/certificates`} | ${{ slot: 'networkOperator.critical', certificate: cert(NO_A, 'digitalSignature', 'C1'), via: 'migration', reference: '<script>', placedAt: '2020-06-01T00:00:00Z' }} | ${json} | ${{}} | ${400} | ${'reference'} | ${/must be an identifier/}
    ${'a registration on 30 February'}            | ${'/registrations'}         | ${{ mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2024-02-30', recordId: 'R-FEB' }} | ${json} | ${{}} | ${400} | ${'effectiveFrom'} | ${/day 30 is not a day of February 2024/}
    ${'a role from 29 February 2023'}             | ${'/users'}                 | ${{ userId: SUPPLIER, role: 'IS', effectiveFrom: '2023-02-29T00:00:00Z' }}                     | ${json} | ${{}} | ${400} | ${'effectiveFrom'} | ${/day 29 is not a day of February 2023/}
    ${'an inventory change at 24:00'}             | ${'/devices'}               | ${{ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2024-05-01T24:00:00Z' }} | ${json} | ${{}} | ${400} | ${'changedAt'} | ${/hour 24 is not an hour/}
    ${'a placement at 23:60'}                     | ${`/devices/${ESME}/certificates`} | ${{ slot: 'networkOperator.critical', certificate: cert(NO_A, 'digitalSignature', 'C1'), via: 'migration', reference: 'MIG-2', placedAt: '2020-06-01T23:60:00+01:00' }} | ${json} | ${{}} | ${400} | ${'placedAt'} | ${/minute 60 is not a minute/}
    ${'a request on 31 April'}                    | ${'/service-requests'}      | ${{ ...read(9), srv: '7.4', executionDateTime: '2030-04-31T00:00:00Z' }}                      | ${json} | ${{}} | ${400} | ${'executionDateTime'} | ${/day 31 is not a day of April 2030/}
    ${'a query parameter a write does not take'}  | ${'/service-requests?dryRun=true'} | ${read(12)}                                                                              | ${json} | ${{}} | ${400} | ${'dryRun'} | ${/^dryRun: is not a query parameter of POST \/service-requests, which takes none$/}
  `('$case: $status naming $field, and the store position is unchanged', async ({ url, body, type, headers, status, field, message }) => {
    const before = await t.store.headPosition();
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const res = await post(await t.app.getUrl(), url, { 'x-api-key': 'dev-intake-key', 'content-type': type, ...headers }, bytes);
    expect({ status: res.status, field: res.body.field }).toEqual({ status, field });
    expect(res.body.message).toMatch(message);
    expect(await t.store.headPosition()).toBe(before);
  });

  it('a certificate with bytes after it, or given as der and identity fields at once: 400 naming it, and the store position is unchanged', async () => {
    const { base64 } = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    const trailing = Buffer.concat([Buffer.from(base64, 'base64'), Buffer.from([0])]).toString('base64');
    const placement = (certificate: object) => ({ slot: 'networkOperator.critical', certificate, via: 'migration', reference: 'MIG-9', placedAt: '2020-06-01T00:00:00Z' });
    const rows = [
      { body: placement({ der: trailing }), field: 'certificate.der', message: /holds 1 byte\(s\) after the certificate's/ },
      { body: { ...renew(13), certificates: [{ der: trailing }] }, field: 'certificates[0].der', message: /holds 1 byte\(s\) after the certificate's/ },
      { body: placement({ der: base64, serial: 'C9' }), field: 'certificate', message: /gives der and serial/ },
      { body: { ...renew(14), certificates: [{ der: base64, ownerUserId: NO_A }] }, field: 'certificates[0]', message: /gives der and ownerUserId/ },
    ];
    for (const { body, field, message } of rows) {
      const before = await t.store.headPosition();
      const url = 'slot' in body ? `/devices/${ESME}/certificates` : '/service-requests';
      const res = await post(await t.app.getUrl(), url, { 'x-api-key': 'dev-intake-key', 'content-type': json }, Buffer.from(JSON.stringify(body)));
      expect({ status: res.status, field: res.body.field }).toEqual({ status: 400, field });
      expect(res.body.message).toMatch(message);
      expect(await t.store.headPosition()).toBe(before);
    }
  });

  it.each`
    case                                                | declared          | type                                   | counter
    ${'UTF-8 bytes declared utf-16 (.NET StringWriter)'} | ${'utf-16'}       | ${'application/xml'}                   | ${81}
    ${'charset us-ascii over a declared UTF-8'}          | ${'UTF-8'}        | ${'text/xml; charset=us-ascii'}        | ${82}
    ${'charset ascii over a declared UTF-8'}             | ${'UTF-8'}        | ${'text/xml; charset=ascii'}           | ${83}
    ${'charset utf-8 over a declared US-ASCII'}          | ${'US-ASCII'}     | ${'application/xml; charset=utf-8'}    | ${84}
    ${'ASCII bytes declared ISO-8859-1'}                 | ${'ISO-8859-1'}   | ${'application/xml'}                   | ${85}
    ${'ASCII bytes declared windows-1252'}               | ${'windows-1252'} | ${'application/xml'}                   | ${86}
  `('a DUIS request of $case reads as the same text in each label: written (200), not refused', async ({ declared, type, counter }) => {
    const body = DUIS.replace('UTF-8', declared).replace(':77<', `:${counter}<`);
    const res = await post(await t.app.getUrl(), '/service-requests', { 'x-api-key': 'dev-intake-key', 'content-type': type }, Buffer.from(body));
    expect({ status: res.status, message: res.body.message }).toEqual({ status: 200, message: undefined });
    expect(res.body).toMatchObject({ requestId: `${SUPPLIER}:${ESME}:${counter}`, written: true });
  });

  it('a DUIS request in UTF-16 with its byte order mark is read as sent (XML 1.0 4.3.3), and judged as its UTF-8 form is', async () => {
    const body = DUIS.replace('UTF-8', 'UTF-16').replace(':77<', ':78<');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]);
    const res = await post(await t.app.getUrl(), '/service-requests', { 'x-api-key': 'dev-intake-key', 'content-type': 'application/xml; charset=utf-16' }, utf16);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ requestId: `${SUPPLIER}:${ESME}:78`, written: true });
    const utf8 = await post(await t.app.getUrl(), '/service-requests', { 'x-api-key': 'dev-intake-key', 'content-type': 'application/xml' }, Buffer.from(body.replace('UTF-16', 'UTF-8').replace(':78<', ':79<')));
    const judged = (b: Record<string, unknown>) => ({ outcome: b.outcome, responseCode: b.responseCode, checks: (b.checks as Array<{ check: string; outcome: string }>).map((c) => `${c.check}: ${c.outcome}`) });
    expect(judged(res.body)).toEqual(judged(utf8.body));
  });

  it('a CSV line whose record id is a formula is reported and skipped; the rest of the file is kept', async () => {
    const res = await t.as('intake').post('/registrations/import', `${CSV_HEADER}\n${MPAN},supplier,${SUPPLIER},2024-01-01,=HYPERLINK("x")\n${MPAN},supplier,${SUPPLIER},2024-02-01,R-OK`, 'text/csv').expect(200);
    expect(res.body).toMatchObject({ written: 1, rejected: 1, errors: [{ line: 2, field: 'record_id' }] });
  });
});

describe('the store running out of space', () => {
  it('answers 507 "store out of space", stays up, and takes writes again once space returns', async () => {
    const t = await startTestApp();
    const quota = new Database(t.storeFile); // another connection, as an operator's tool would be
    try {
      await estate(t);
      // No more pages than the file has: the next append cannot grow it (SQLITE_FULL, as on a full disk).
      const pages = quota.pragma('page_count', { simple: true }) as number;
      const store = t.store as SqliteEventStore;
      await store.setMaxPageCount(pages); // on the connection that writes (the writer thread's)
      const before = await t.store.headPosition();
      let full;
      for (let i = 0; i < 50 && !full; i++) {
        const res = await t.as('intake').post('/service-requests', { ...read(500 + i), srv: '4.1.1' });
        if (res.status !== 200) full = res;
      }
      expect(full?.status).toBe(507);
      expect(full?.body).toMatchObject({ code: 'STORE_OUT_OF_SPACE', message: expect.stringMatching(/^store out of space/) });
      const afterFull = await t.store.headPosition();
      expect((await t.http().get('/health')).status).toBe(200);
      await store.setMaxPageCount();
      const again = await t.as('intake').post('/service-requests', read(600)).expect(200);
      expect(again.body.written).toBe(true);
      expect((await t.store.headPosition())! > afterFull!).toBe(true);
      expect(afterFull! >= before!).toBe(true);
      expect((await t.as('auditor').get('/audit/verify').expect(200)).body.ok).toBe(true);
    } finally {
      quota.close();
      await t.close();
    }
  });
});

describe('an unreadable stored event', () => {
  it.each`
    what                         | data                                        | reason
    ${'an unknown schemaVersion'} | ${'{"schemaVersion":99,"deviceId":"x"}'}   | ${/version 99 is not known/}
    ${'broken JSON'}              | ${'{"schemaVersion":1,'}                   | ${/stored JSON does not parse/}
  `('($what) halts the projector at its position: /health 503 names it, commands on its stream answer 500 with a typed code, verify names it', async ({ data, reason }) => {
    const t = await startTestApp();
    const raw = new Database(t.storeFile);
    try {
      await estate(t);
      const stream = `device-${ESME}`;
      const revision = (await t.store.streamRevision(stream))! + 1n;
      const info = raw
        .prepare('INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(stream, revision, '00000000-0000-4000-8000-000000000099', 'DeviceInventoryChanged', data, '{}', new Date().toISOString());
      const position = String(info.lastInsertRowid);
      // Another device's write after it: the projector must not apply it either.
      await t.as('intake').post('/devices', { deviceId: '00-DB-12-34-56-78-90-02', deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
      let health = await t.http().get('/health');
      for (let i = 0; i < 100 && health.status === 200; i++) health = await t.http().get('/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'projector-halted', readModels: { position: String(Number(position) - 1), halted: { position, stream, revision: revision.toString(), reason: expect.stringMatching(reason) } } });
      const res = await t.as('intake').post('/service-requests', read(1));
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'UNREADABLE_STORED_EVENT', stream, position });
      const verify = await t.as('auditor').get('/audit/verify').expect(200);
      expect(verify.body.ok).toBe(false);
      expect(verify.body.unreadable).toEqual([{ stream, revision: revision.toString(), position, reason: expect.stringMatching(reason) }]);
      await t.as('auditor').get('/devices/00-DB-12-34-56-78-90-02').expect(404);
    } finally {
      raw.close();
      await t.close();
    }
  });
});

describe('a damaged read-model row', () => {
  it('a decision row that does not decode answers 500 with a typed code naming the row and saying to rebuild, not a 400 as if the request were at fault', async () => {
    const t = await startTestApp();
    try {
      await estate(t);
      await t.as('intake').post('/service-requests', read(1)).expect(200);
      const requestId = read(1).requestId;
      await t.as('auditor').get(`/decisions/${encodeURIComponent(requestId)}`).expect(200);
      const rm = new Database(`${t.dir}/readmodels.sqlite`);
      try {
        expect(rm.prepare("UPDATE decisions SET data = json_set(data, '$.checks[3]', json('[\"pass\", \"garbage\", \"garbage\"]')) WHERE request_id = ?").run(requestId).changes).toBe(1);
      } finally {
        rm.close();
      }
      for (const url of [`/decisions/${encodeURIComponent(requestId)}`, `/decisions?device=${ESME}`]) {
        const res = await t.as('auditor').get(url);
        expect({ url, status: res.status }).toEqual({ url, status: 500 });
        expect(res.body).toMatchObject({ code: 'UNREADABLE_READ_MODEL_ROW', table: 'decisions', key: requestId, message: expect.stringMatching(/does not give back its decision .*rebuild/) });
      }
    } finally {
      await t.close();
    }
  });
});

describe('a replay of a decision whose read-model row was edited and still decodes', () => {
  it("is not reported as a decision that no longer reproduces: 500 naming the row, what differs from the store's event, and saying to rebuild", async () => {
    const t = await startTestApp();
    try {
      await estate(t);
      await t.as('intake').post('/service-requests', read(1)).expect(200);
      const requestId = read(1).requestId;
      const replay = `/decisions/${encodeURIComponent(requestId)}/replay`;
      const { position, outcome } = (await t.as('auditor').get(`/decisions/${encodeURIComponent(requestId)}`).expect(200)).body;
      expect(outcome).toBe('accepted');
      const rm = new Database(`${t.dir}/readmodels.sqlite`);
      try {
        expect(rm.prepare("UPDATE decisions SET outcome = 'rejected', response_code = 'E4' WHERE request_id = ?").run(requestId).changes).toBe(1);
      } finally {
        rm.close();
      }
      for (const ruleSet of ['', '?ruleSet=ownership-only']) {
        const res = await t.as('auditor').post(replay + ruleSet);
        expect({ ruleSet, status: res.status }).toEqual({ ruleSet, status: 500 });
        expect(res.body).toMatchObject({ code: 'UNREADABLE_READ_MODEL_ROW', table: 'decisions', key: requestId, position, message: expect.stringMatching(/differs from the store's decision at position \d+ \(outcome, responseCode\).*rebuild/) });
      }
    } finally {
      await t.close();
    }
  });
});

describe('a replay of a decision whose recorded request does not validate', () => {
  it("the read-model row edited: 500 naming the row and saying to rebuild; the store's event edited too: 500 at its position; a 400 only for the auditor's own input", async () => {
    const t = await startTestApp();
    const sql = (file: string, text: string, ...args: unknown[]) => {
      const db = new Database(file);
      try {
        expect(db.prepare(text).run(...args).changes).toBe(1);
      } finally {
        db.close();
      }
    };
    try {
      await estate(t);
      await t.as('intake').post('/service-requests', read(1)).expect(200);
      const requestId = read(1).requestId;
      const replay = `/decisions/${encodeURIComponent(requestId)}/replay`;
      expect((await t.as('auditor').post(replay).expect(200)).body.identical).toBe(true);
      const { position } = (await t.as('auditor').get(`/decisions/${encodeURIComponent(requestId)}`).expect(200)).body;
      expect(position).toMatch(/^\d+$/);
      // A rule set that does not judge the decision's SRV is the auditor's choice, not damage: still a 400 naming srv.
      await t.as('intake').post('/service-requests', { ...read(2), srv: '7.4' }).expect(200);
      const unjudged = await t.as('auditor').post(`/decisions/${encodeURIComponent(read(2).requestId)}/replay?ruleSet=baseline@1`);
      expect({ status: unjudged.status, field: unjudged.body.field }).toEqual({ status: 400, field: 'srv' });
      sql(`${t.dir}/readmodels.sqlite`, "UPDATE decisions SET data = json_set(data, '$.commandVariant', 9) WHERE request_id = ?", requestId);
      const row = await t.as('auditor').post(replay);
      expect(row.status).toBe(500);
      expect(row.body).toMatchObject({ code: 'UNREADABLE_READ_MODEL_ROW', table: 'decisions', key: requestId, position, message: expect.stringMatching(/commandVariant.*rebuild/) });
      sql(t.storeFile, "UPDATE events SET data = json_set(data, '$.commandVariant', 9) WHERE position = ?", Number(position));
      const stored = await t.as('auditor').post(replay);
      expect(stored.status).toBe(500);
      expect(stored.body).toMatchObject({ code: 'UNREADABLE_STORED_EVENT', stream: `device-${ESME}`, position, message: expect.stringMatching(/commandVariant/) });
    } finally {
      await t.close();
    }
  });
});

describe('a log rewritten under the running API', () => {
  it('a write at a position up to the read models\' checkpoint is answered written, not projected; the projector then halts', async () => {
    const t = await startTestApp();
    const raw = new Database(t.storeFile);
    try {
      for (const [userId, role] of [[SUPPLIER, 'IS'], [NO_A, 'ED'], [SUPPLIER, 'ED'], [NO_A, 'GT']]) await t.as('intake').post('/users', { userId, role, effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
      const head = (await t.store.headPosition())!;
      // Rows removed under the running API (a restore in place, a hand edit): the read models hold events the store no longer does.
      expect(raw.prepare('DELETE FROM events WHERE position > ?').run(head - 2n).changes).toBe(2);
      raw.prepare('UPDATE log_head SET last = ?').run(head - 2n); // the store's head put back with its rows, as a restore in place does
      const res = await t.as('intake').post('/service-requests', read(1, '00-DB-12-34-56-78-90-07')).expect(200);
      expect(res.body).toMatchObject({ written: true, projected: false });
      let health = await t.http().get('/health');
      for (let i = 0; i < 100 && health.status === 200; i++) health = await t.http().get('/health');
      expect(health.status).toBe(503);
    } finally {
      raw.close();
      await t.close();
    }
  });

  it("the log's last events deleted (a plain DELETE, the writers' head left as it was): the incremental verification names them missing; the next write goes past the deleted positions, is answered written, not projected, and the projector halts, /health 503 naming the checkpoint", async () => {
    const t = await startTestApp();
    const raw = new Database(t.storeFile);
    raw.defaultSafeIntegers(true);
    try {
      for (const [userId, role] of [[SUPPLIER, 'IS'], [NO_A, 'ED'], [SUPPLIER, 'ED'], [NO_A, 'GT']]) await t.as('intake').post('/users', { userId, role, effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
      const head = (await t.store.headPosition())!;
      expect(raw.prepare('DELETE FROM events WHERE position > ?').run(head - 2n).changes).toBe(2);
      expect(raw.prepare('SELECT last FROM log_head').pluck().get()).toBe(head);
      // Before any write: the incremental verification names them missing, as the full one does (until the seventeenth session's final
      // read it said ok: the read models had checked them before they went).
      const incremental = await t.as('auditor').get('/audit/verify/incremental').expect(200);
      expect(incremental.body).toMatchObject({ ok: false, missing: [{ from: (head - 1n).toString(), to: head.toString() }], missingCount: 1 });
      const res = await t.as('intake').post('/service-requests', read(1, '00-DB-12-34-56-78-90-07')).expect(200);
      expect(res.body).toMatchObject({ written: true, projected: false });
      expect(BigInt(res.body.position)).toBe(head + 1n); // not head - 1, a position the read models applied another event at
      let health = await t.http().get('/health');
      for (let i = 0; i < 100 && health.status === 200; i++) health = await t.http().get('/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'projector-halted', readModels: { halted: { position: head.toString(), reason: expect.stringMatching(/rebuild the read models/) } } });
    } finally {
      raw.close();
      await t.close();
    }
  });
});
