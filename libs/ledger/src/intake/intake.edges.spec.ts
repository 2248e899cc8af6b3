import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import * as vm from 'node:vm';
import { DomainError, formatRequestId, parseServiceRequest, quoted } from '@ledger/domain';
import { MAX_CERTIFICATE_BYTES, parseCertificate } from './certificates';
import { placeCertificateFromJson } from './commands';
import { parseDuis } from '@smartdcc/duis-parser';
import { parseDuisRequest, readDuis } from './duis';
import { IntakeError } from './errors';
import { checkFileName, fileNameFromHeader } from './file-name';
import { parseRegistrationCsv, REGISTRATION_CSV_HEADER } from './registrations-csv';
import { serviceRequestFromJson, serviceRequestFromXml } from './requests';
import { makeCertificate } from './testing/make-certificate';
import { makeDuisRequest, updateSecurityCredentialsKrpBody } from './testing/make-duis';

/** The intake parsers at their edges: a CSV line with a field too many, DUIS bodies, certificate subjects. */

const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const AT = '2024-03-01T12:00:00.000Z';
const HEADER = 'mpxn,responsibility,party_user_id,effective_from,record_id';

const intakeError = (fn: () => unknown): { field: string; reason: string } => {
  try {
    fn();
  } catch (e) {
    if (e instanceof IntakeError) return { field: e.field, reason: e.reason };
    throw e;
  }
  throw new Error('expected an IntakeError');
};

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate (DER) with exactly this subject, serial and key usage extensions, issued by a test CA. */
const certificateWith = async (subject: string, serialNumber = '1001', extensions: x509.Extension[] = [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)]) => {
  const keys = (await webcrypto.subtle.generateKey(SIGNING, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject,
    issuer: 'CN=Test SMKI Issuing CA',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2045-01-01T00:00:00Z'),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions,
  });
  return Buffer.from(cert.rawData);
};

const notIdentifier = (value: string) => `'${value}' is not an identifier (1-128 characters: a letter or digit, then letters, digits, '.', '_', '-', ':' or '/')`;

describe('Registration Data CSV: one row per way a line is wrong', () => {
  const one = (line: string, header = HEADER) => parseRegistrationCsv(`${header}\n${line}`);
  it.each`
    case                                      | line                                                                  | field               | reason
    ${'a field too many'}                     | ${`1412345678901,supplier,${NO_A},2024-01-01,R1,extra`}              | ${'line'}           | ${'has 6 fields, expected 5'}
    ${'an empty trailing field'}              | ${`1412345678901,supplier,${NO_A},2024-01-01,R1,`}                   | ${'line'}           | ${'has 6 fields, expected 5'}
    ${'a field too few'}                      | ${`1412345678901,supplier,${NO_A},2024-01-01`}                       | ${'line'}           | ${'has 4 fields, expected 5 (truncated?)'}
    ${'an unterminated quoted field'}         | ${`1412345678901,supplier,${NO_A},2024-01-01,"R1`}                   | ${'line'}           | ${expect.stringMatching(/^is not valid CSV \(Quote Not Closed/)}
    ${'a record id with a space'}             | ${`1412345678901,supplier,${NO_A},2024-01-01,R 1`}                   | ${'record_id'}      | ${notIdentifier('R 1')}
    ${'a record id starting with a formula'}  | ${`1412345678901,supplier,${NO_A},2024-01-01,=R1`}                   | ${'record_id'}      | ${notIdentifier('=R1')}
    ${'an empty record id'}                   | ${`1412345678901,supplier,${NO_A},2024-01-01, `}                     | ${'record_id'}      | ${'is empty'}
    ${'a responsibility in another case'}     | ${`1412345678901,Supplier,${NO_A},2024-01-01,R1`}                    | ${'responsibility'} | ${"'Supplier' is not 'supplier' or 'network_operator'"}
    ${'a party of 17 hex digits'}             | ${'1412345678901,supplier,90B3D51F300300001,2024-01-01,R1'}           | ${'party_user_id'}  | ${"'90B3D51F300300001' is not an EUI-64 (8 hex octets, e.g. 90-B3-D5-1F-30-02-00-00)"}
    ${'an instant without a zone'}            | ${`1412345678901,supplier,${NO_A},2024-01-01T00:00:00,R1`}           | ${'effective_from'} | ${expect.stringContaining('with a time zone')}
    ${'an MPAN of 12 digits'}                 | ${`141234567890,supplier,${NO_A},2024-01-01,R1`}                     | ${'mpxn'}           | ${expect.stringContaining('neither')}
  `('$case: refused at $field', async ({ line, field, reason }) => {
    expect(await one(line)).toEqual({ rows: [], errors: [{ line: 2, field, reason }] });
  });

  it.each`
    case                                               | line                                                                  | row
    ${'quoted fields'}                                 | ${`"1412345678901","network_operator","${NO_A}","2024-01-01","R-1"`} | ${['1412345678901', 'networkOperator', NO_A, '2024-01-01T00:00:00.000Z', 'R-1']}
    ${'a record id with . _ - : /'}                    | ${`1412345678901,supplier,${NO_A},2024-01-01,"RDP/2024:01_a-b.c"`}   | ${['1412345678901', 'supplier', NO_A, '2024-01-01T00:00:00.000Z', 'RDP/2024:01_a-b.c']}
    ${'spaces around fields'}                          | ${` 1412345678901 , supplier ,${NO_A}, 2024-01-01 , R1 `}            | ${['1412345678901', 'supplier', NO_A, '2024-01-01T00:00:00.000Z', 'R1']}
    ${'an MPRN'}                                       | ${`123456,supplier,${NO_A},2024-01-01T10:00:00+01:00,R1`}            | ${['123456', 'supplier', NO_A, '2024-01-01T09:00:00.000Z', 'R1']}
  `('$case: kept', async ({ line, row }) => {
    const { rows, errors } = await one(line);
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.mpxn, r.responsibility, r.partyUserId, r.effectiveFrom, r.recordId])).toEqual([row]);
    expect(rows[0].line).toBe(2);
  });

  it.each`
    case                                               | line                                                                  | value
    ${'a doubled quote inside a quoted field'}         | ${`"1412345678901","network_operator","${NO_A}","2024-01-01","R""1"`} | ${'R\\"1'}
    ${'a comma inside quotes'}                         | ${`1412345678901,supplier,${NO_A},2024-01-01,"R,1"`}                 | ${'R,1'}
    ${'a quote inside an unquoted field'}              | ${`1412345678901,supplier,${NO_A},2024-01-01,R"1`}                   | ${'R\\"1'}
  `('$case: read as one field, then judged by its rule (a record id is an identifier; the reason shows a quote escaped)', async ({ line, value }) => {
    expect(await one(line)).toEqual({ rows: [], errors: [{ line: 2, field: 'record_id', reason: notIdentifier(value) }] });
  });

  it('the header may carry a BOM, other case and spaces; empty lines (CRLF too) are skipped, line numbers kept', async () => {
    const text = `\uFEFF MPXN , Responsibility,party_user_id,effective_from,RECORD_ID\r\n\r\n\r\n1412345678901,supplier,${NO_A},2024-01-01,R1\r\n`;
    const { rows, errors } = await parseRegistrationCsv(text);
    expect(errors).toEqual([]);
    expect(rows.map((r) => r.line)).toEqual([4]);
  });

  it.each`
    case                                     | text
    ${'an empty file'}                       | ${''}
    ${'a file of a BOM and blank lines'}     | ${'\uFEFF\r\n  \n'}
  `('$case refuses the whole file', async ({ text }) => {
    await expect(parseRegistrationCsv(text)).rejects.toMatchObject({ field: 'file', reason: `is empty: expected the header '${REGISTRATION_CSV_HEADER.join(',')}' and one change per line` });
  });

  it.each`
    case                                     | text
    ${'a header with a column too many'}     | ${`${HEADER},note\n1412345678901,supplier,${NO_A},2024-01-01,R1,x`}
    ${'the columns in another order'}        | ${`record_id,mpxn,responsibility,party_user_id,effective_from\nR1,1412345678901,supplier,${NO_A},2024-01-01`}
    ${'a header with an unterminated quote'} | ${`"mpxn,responsibility,party_user_id,effective_from,record_id\n1412345678901,supplier,${NO_A},2024-01-01,R1`}
    ${'no header, a change on line 1'}       | ${`1412345678901,supplier,${NO_A},2024-01-01,R1`}
  `('$case refuses the whole file', async ({ text }) => {
    await expect(parseRegistrationCsv(text)).rejects.toMatchObject({ field: 'header', reason: `must be exactly '${REGISTRATION_CSV_HEADER.join(',')}' (line 1)` });
  });

  it('a header-only file has nothing to import and nothing wrong', async () => {
    expect(await parseRegistrationCsv(`${HEADER}\n`)).toEqual({ rows: [], errors: [] });
  });
});

describe('DUIS requests at their edges', () => {
  const read41 = (extra: Record<string, unknown> = {}) => makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '', ...extra } });

  it('a request carries no signature unless it has a Signature element; the domain input is as read', () => {
    const xml = read41();
    expect(parseDuisRequest(xml, AT)).toEqual({
      input: { requestId: `${NO_A}:${ESME}:7`, srv: '4.1.1', commandVariant: 1, remotePartyRole: undefined, executionDateTime: undefined, dateRange: undefined, certificates: [], receivedAt: AT, format: 'duis' },
      certificates: [],
      signaturePresent: false,
    });
    const signed = xml.replace('</sr:Request>', '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></sr:Request>');
    expect(parseDuisRequest(signed, AT).signaturePresent).toBe(true);
  });

  // Until 2026-11-28 (nineteenth session) the header was read by @smartdcc/duis-parser's parseDuis,
  // whose BigInt took `0x7`, `0b111`, `0o7`, `+7` and ` 7` for 7 and an empty counter for 0: a
  // RequestID that is not a DUIS one was judged, or answered as a retry, under another's.
  const withRequestId = (rid: string) => read41().replace(/<sr:RequestID>[^<]*</, `<sr:RequestID>${rid}<`);
  it.each`
    counter      | shown
    ${'0x7'}     | ${"'0x7'"}
    ${'0b111'}   | ${"'0b111'"}
    ${'0o7'}     | ${"'0o7'"}
    ${'+7'}      | ${"'+7'"}
    ${''}        | ${"''"}
    ${' 7'}      | ${"' 7'"}
    ${'\u00a07'} | ${"'\u00a07'"}
    ${'７'}      | ${"'７'"}
  `('a RequestID counter $shown is refused as not decimal, as in a JSON request, not read as another counter', async ({ counter }) => {
    const requestId = `${NO_A}:${ESME}:${counter}`;
    const reason = `${quoted(counter)} is not a decimal counter`;
    expect(() => serviceRequestFromXml(withRequestId(requestId), AT)).toThrow(expect.objectContaining({ field: 'requestId.counter', reason }));
    await expect(serviceRequestFromJson({ requestId, srv: '4.1.1' }, AT)).rejects.toMatchObject({ field: 'requestId.counter', reason });
  });

  // Until 2026-11-28 (nineteenth session) the XML door refused a RequestID of other than three parts
  // itself, under Header.RequestID, where the JSON door's domain reading names requestId.
  it.each([['two parts', `${NO_A}:${ESME}`], ['four parts', `${NO_A}:${ESME}:7:8`], ['no colon', NO_A]])('a RequestID of %s is refused as in a JSON request', async (_, requestId) => {
    const reason = `${quoted(requestId)} is not originatorUserID:targetDeviceID:counter`;
    expect(() => serviceRequestFromXml(withRequestId(requestId), AT)).toThrow(expect.objectContaining({ field: 'requestId', reason }));
    await expect(serviceRequestFromJson({ requestId, srv: '4.1.1' }, AT)).rejects.toMatchObject({ field: 'requestId', reason });
  });

  it.each`
    case                      | counter      | read
    ${'a decimal counter'}    | ${'7'}       | ${'7'}
    ${'leading zeros'}        | ${'007'}     | ${'7'}
    ${'its 20 digits'}        | ${'18446744073709551615'} | ${'18446744073709551615'}
  `('a RequestID with $case is read as a JSON request reads it', async ({ counter, read }) => {
    const requestId = `${NO_A.toLowerCase()}:${ESME}:${counter}`;
    expect(formatRequestId(serviceRequestFromXml(withRequestId(requestId), AT).requestId)).toBe(`${NO_A}:${ESME}:${read}`);
    expect(formatRequestId((await serviceRequestFromJson({ requestId, srv: '4.1.1' }, AT)).requestId)).toBe(`${NO_A}:${ESME}:${read}`);
  });

  it.each`
    element
    ${'RequestID'}
    ${'ServiceReferenceVariant'}
    ${'CommandVariant'}
  `('a header with two $element elements is refused naming it: neither is taken', ({ element }) => {
    const xml = read41().replace(new RegExp(`(<sr:${element}>[^<]*</sr:${element}>)`), '$1$1');
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: `Header.${element}`, reason: 'appears more than once' });
  });

  it.each`
    element
    ${'RequestID'}
    ${'ServiceReferenceVariant'}
    ${'CommandVariant'}
  `('a header $element with an attribute is refused naming it as not plain text (an SRV so written was named \'<elements>\', an unknown SRV, until 2026-11-28)', ({ element }) => {
    const xml = read41().replace(`<sr:${element}>`, `<sr:${element} id="a">`);
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: `Header.${element}`, reason: 'is not plain text: it carries attributes, a processing instruction or elements, which no DUIS element the ledger reads has' });
  });

  it('a request with two Bodies is refused naming Body: neither is read (the second carrying an ExecutionDateTime, say)', () => {
    const xml = read41().replace('</sr:Request>', '<sr:Body><sr:ExecutionDateTime>2030-01-01T00:00:00Z</sr:ExecutionDateTime></sr:Body></sr:Request>');
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'Body', reason: 'appears more than once' });
  });

  it.each`
    variant
    ${'0x1'}
    ${'1e0'}
    ${' 1.0 '}
    ${'9'}
    ${'0'}
    ${'+1'}
    ${'１'}
  `('a CommandVariant $variant is refused: decimal digits naming one of DUIS\'s eight', ({ variant }) => {
    const xml = read41().replace(/<sr:CommandVariant>[^<]*</, `<sr:CommandVariant>${variant}<`);
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'Header.CommandVariant', reason: 'is missing or not a DUIS command variant' });
  });

  // Until 2026-11-28 (nineteenth session) the CommandVariant had to be one or two bare digits, so
  // these, which main read as the XML Schema integer they are, were refused.
  it.each`
    variant            | read
    ${'004'}           | ${4}
    ${'1&#13;'}        | ${1}
    ${' 8\n'}          | ${8}
    ${'00000000000002'} | ${2}
  `('a CommandVariant $variant is read as $read (an XML Schema integer: leading zeros, whitespace around it)', ({ variant, read }) => {
    const xml = read41().replace(/<sr:CommandVariant>[^<]*</, `<sr:CommandVariant>${variant}<`);
    expect(parseDuisRequest(xml, AT).input.commandVariant).toBe(read);
  });

  it('a date range comes from StartDateTime and EndDateTime under one parent, wherever it stands', () => {
    const xml = read41({ ReadLogPeriod: { StartDateTime: ' 2024-01-01T00:00:00Z ', EndDateTime: '2024-01-31T00:00:00Z' } });
    expect(parseDuisRequest(xml, AT).input.dateRange).toEqual({ from: '2024-01-01T00:00:00Z', to: '2024-01-31T00:00:00Z' });
    const half = read41({ ReadLogPeriod: { StartDateTime: '2024-01-01T00:00:00Z' } });
    expect(parseDuisRequest(half, AT).input.dateRange).toBeUndefined();
  });

  it.each`
    case                                   | body                                                                                                           | field                          | reason
    ${'two ExecutionDateTimes'}            | ${{ A: { ExecutionDateTime: '2030-01-01T00:00:00Z' }, B: { ExecutionDateTime: '2030-01-02T00:00:00Z' } }}      | ${'Body.ExecutionDateTime'}    | ${'appears more than once'}
    ${'two ExecutionDateTimes and a certificate that is not base64'} | ${{ A: { ExecutionDateTime: '2030-01-01T00:00:00Z', RemotePartyDigitalSigningCertificate: 'not base64!' }, B: { ExecutionDateTime: '2030-01-02T00:00:00Z' } }} | ${'Body.ExecutionDateTime'} | ${'appears more than once'}
  `('a body with $case is refused', ({ body, field, reason }) => {
    const xml = makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '4.1.1', body });
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field, reason });
  });

  // Until 2026-11-28 (nineteenth session) such an element was passed over as if it held elements:
  // a future-dated request was judged as one to run now (I0, not I99), a role, certificate or date
  // range so written left out.
  const x411 = (body: string) => read41().replace(/<sr:Body>[\s\S]*<\/sr:Body>/, `<sr:Body><sr:ReadInstantaneousImportRegisters/>${body}</sr:Body>`);
  it.each`
    case                                          | body                                                                                                                               | field
    ${'an ExecutionDateTime with xsi:type'}       | ${'<sr:ExecutionDateTime xsi:type="xs:dateTime">2030-01-01T00:00:00Z</sr:ExecutionDateTime>'}                                        | ${'Body.ExecutionDateTime'}
    ${'an ExecutionDateTime with an attribute'}   | ${'<sr:ExecutionDateTime id="a">2030-01-01T00:00:00Z</sr:ExecutionDateTime>'}                                                         | ${'Body.ExecutionDateTime'}
    ${'an ExecutionDateTime with a PI inside'}    | ${'<sr:ExecutionDateTime>2030-01-01<?x y?>T00:00:00Z</sr:ExecutionDateTime>'}                                                         | ${'Body.ExecutionDateTime'}
    ${'an ExecutionDateTime holding an element'}  | ${'<sr:ExecutionDateTime><sr:When>2030-01-01T00:00:00Z</sr:When></sr:ExecutionDateTime>'}                                              | ${'Body.ExecutionDateTime'}
    ${'a RemotePartyRole with an attribute'}      | ${'<sr:X><sr:RemotePartyRole id="a">Supplier</sr:RemotePartyRole></sr:X>'}                                                             | ${'Body.X.RemotePartyRole'}
    ${'a StartDateTime with an attribute'}        | ${'<sr:P><sr:StartDateTime id="a">2024-01-01T00:00:00Z</sr:StartDateTime><sr:EndDateTime>2024-01-31T00:00:00Z</sr:EndDateTime></sr:P>'} | ${'Body.P.StartDateTime'}
    ${'a certificate with an attribute'}          | ${'<sr:R><sr:RemotePartyDigitalSigningCertificate id="a">AAAA</sr:RemotePartyDigitalSigningCertificate></sr:R>'}                      | ${'Body.R.RemotePartyDigitalSigningCertificate'}
    ${'a certificate holding an element'}         | ${'<sr:R><sr:RemotePartyKeyAgreementCertificate><sr:C>AAAA</sr:C></sr:RemotePartyKeyAgreementCertificate></sr:R>'}                    | ${'Body.R.RemotePartyKeyAgreementCertificate'}
  `('$case is refused naming it, not passed over', ({ body, field }) => {
    expect(intakeError(() => parseDuisRequest(x411(body), AT))).toEqual({ field, reason: 'is not plain text: it carries attributes, a processing instruction or elements, which no DUIS element the ledger reads has' });
  });

  it('an element the ledger reads may declare a namespace, hold a comment or CDATA: read as its text', () => {
    const ns = 'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"';
    for (const exec of [`<sr:ExecutionDateTime ${ns}>2030-01-01T00:00:00Z</sr:ExecutionDateTime>`, '<sr:ExecutionDateTime>2030-01-01<!-- x -->T00:00:00Z</sr:ExecutionDateTime>', '<sr:ExecutionDateTime><![CDATA[2030-01-01T00:00:00Z]]></sr:ExecutionDateTime>']) {
      expect(parseDuisRequest(x411(exec), AT).input.executionDateTime).toBe('2030-01-01T00:00:00Z');
    }
  });

  it('two date ranges, or a StartDateTime or EndDateTime given twice, are refused: until 2026-11-28 the last was taken', () => {
    const range = (from: string) => `<sr:StartDateTime>${from}</sr:StartDateTime><sr:EndDateTime>2024-01-31T00:00:00Z</sr:EndDateTime>`;
    expect(intakeError(() => parseDuisRequest(x411(`<sr:A>${range('2024-01-01T00:00:00Z')}</sr:A><sr:B>${range('2024-01-02T00:00:00Z')}</sr:B>`), AT))).toEqual({
      field: 'Body.B.StartDateTime',
      reason: 'is a second date range (StartDateTime and EndDateTime): a request has one',
    });
    expect(intakeError(() => parseDuisRequest(x411(`<sr:A><sr:StartDateTime>2024-01-02T00:00:00Z</sr:StartDateTime>${range('2024-01-01T00:00:00Z')}</sr:A>`), AT))).toEqual({
      field: 'Body.A.StartDateTime',
      reason: 'appears more than once',
    });
    expect(intakeError(() => parseDuisRequest(x411(`<sr:A>${range('2024-01-01T00:00:00Z')}<sr:EndDateTime>2024-02-01T00:00:00Z</sr:EndDateTime></sr:A>`), AT))).toEqual({
      field: 'Body.A.EndDateTime',
      reason: 'appears more than once',
    });
  });

  describe('an attribute named as an element the ledger reads is not read, where the element is (a certificate in one was read as a replacement certificate until 2026-11-28)', () => {
    // Each on its own request, so that one read does not hide another: until 2026-11-28 (twentieth
    // session) one request carried a certificate and an ExecutionDateTime as attributes, and the
    // certificate's expectation failed first whenever attributes were read.
    const withR = (r: string) => parseDuisRequest(read41().replace(/<sr:Body>[\s\S]*<\/sr:Body>/, `<sr:Body><sr:U>${r}</sr:U></sr:Body>`), AT);
    const element = (name: string, value: string) => `<sr:${name}>${value}</sr:${name}>`;

    it('a certificate', async () => {
      const signing = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
      expect(withR(`<sr:R>${element('RemotePartyDigitalSigningCertificate', signing.base64)}</sr:R>`).certificates.map((c) => c.serial)).toEqual([signing.serial]);
      expect(withR(`<sr:R RemotePartyDigitalSigningCertificate="${signing.base64}"/>`).certificates).toEqual([]);
    });

    it.each`
      name                   | value                     | field
      ${'ExecutionDateTime'} | ${'2030-01-01T00:00:00Z'} | ${'executionDateTime'}
      ${'RemotePartyRole'}   | ${'NetworkOperator'}      | ${'remotePartyRole'}
    `('$name', ({ name, value, field }: { name: string; value: string; field: 'executionDateTime' | 'remotePartyRole' }) => {
      expect(withR(`<sr:R>${element(name, value)}</sr:R>`).input[field]).toBe(value);
      expect(withR(`<sr:R ${name}="${value}"/>`).input[field]).toBeUndefined();
    });

    it('a date range', () => {
      expect(withR(`<sr:R>${element('StartDateTime', '2024-01-01T00:00:00Z')}${element('EndDateTime', '2024-01-31T00:00:00Z')}</sr:R>`).input.dateRange).toEqual({ from: '2024-01-01T00:00:00Z', to: '2024-01-31T00:00:00Z' });
      expect(withR('<sr:R StartDateTime="2024-01-01T00:00:00Z" EndDateTime="2024-01-31T00:00:00Z"/>').input.dateRange).toBeUndefined();
    });
  });

  it('three certificates are refused by their count before any is parsed (a 64 KiB body holds some 110, each a parse of a few ms)', () => {
    // Until 2026-11-28 (nineteenth session) each was parsed first: the first here named as not base64.
    const certificates = ['not base64', 'AAAA', 'AAAA'].map((b) => `<sr:RemotePartyDigitalSigningCertificate>${b}</sr:RemotePartyDigitalSigningCertificate>`).join('');
    const xml = makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', {}) }).replace('<sr:ReplacementCertificates></sr:ReplacementCertificates>', `<sr:ReplacementCertificates>${certificates}</sr:ReplacementCertificates>`);
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'certificates', reason: 'at most one digital-signing and one key-agreement certificate may be carried' });
  });

  it('three certificates get the same refusal in JSON as in DUIS XML (above), the domain\'s for two of one key usage (until 2026-11-28 JSON said "certificates must contain no more than 2 elements")', async () => {
    const json = { requestId: `${NO_A}:${ESME}:7`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [{ der: 'AAAA' }, { der: 'AAAA' }, { der: 'AAAA' }] };
    await expect(serviceRequestFromJson(json, AT)).rejects.toThrow(new IntakeError('certificates', 'at most one digital-signing and one key-agreement certificate may be carried'));
  });

  it('two RemotePartyRoles are read as a list, and the domain refuses a list except on 6.24.1', () => {
    const body = { A: { RemotePartyRole: 'Supplier' }, B: { RemotePartyRole: ' NetworkOperator ' } };
    const read = parseDuisRequest(makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '4.1.1', body }), AT).input;
    expect(read.remotePartyRole).toEqual(['Supplier', 'NetworkOperator']);
    expect(() => parseServiceRequest(read)).toThrow(
      expect.objectContaining({ field: 'remotePartyRole', reason: 'appears more than once: only SRV 6.24.1 may name several RemotePartyRoles' }),
    );
    const retrieve = parseDuisRequest(makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '6.24.1', body }), AT).input;
    expect(parseServiceRequest(retrieve).remotePartyRoles).toEqual(['Supplier', 'NetworkOperator']);
    const single = parseDuisRequest(makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '4.1.1', body: { A: { RemotePartyRole: 'Supplier' } } }), AT).input;
    expect(single.remotePartyRole).toBe('Supplier');
  });

  it.each`
    case                                | xml                                                                                  | reason
    ${'only spaces'}                    | ${'   '}                                                                             | ${'is empty: expected a DUIS XML request'}
    ${'a Response, not a Request'}      | ${'<sr:Response xmlns:sr="x"><sr:Header/></sr:Response>'}                            | ${'is not a DUIS Request (the root element must be sr:Request)'}
    ${'a RequestSomething root'}        | ${'<sr:RequestX xmlns:sr="x"/>'}                                                     | ${'is not a DUIS Request (the root element must be sr:Request)'}
  `('$case is refused at the body', ({ xml, reason }) => {
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'body', reason });
  });

  // Until 2026-11-28 (nineteenth session) the root's namespace was not looked at: the reader drops
  // prefixes, so any <Request> was read as DUIS's.
  const DUIS_NS = 'http://www.dccinterface.co.uk/ServiceUserGateway';
  it.each`
    case                                  | root                                                  | where
    ${'another namespace, as default'}    | ${'<Request xmlns="urn:other" xmlns:sr="' + DUIS_NS + '">'} | ${"in namespace 'urn:other'"}
    ${'another namespace, prefixed'}      | ${"<sr:Request xmlns:sr='urn:other'>"}                 | ${"in namespace 'urn:other'"}
    ${'no namespace'}                     | ${'<Request xmlns:sr="' + DUIS_NS + '">'}              | ${'in no namespace'}
    ${'an undeclared prefix'}             | ${'<sr:Request>'}                                     | ${"in no namespace (its prefix 'sr' is declared nowhere)"}
    ${"DUIS's with spaces around it"}     | ${'<sr:Request xmlns:sr=" ' + DUIS_NS + ' ">'}        | ${"in namespace ' " + DUIS_NS + " '"}
  `('a root in $case is refused at the body, naming its namespace', ({ root, where }) => {
    const xml = read41().replace(/<sr:Request[^>]*>/, root).replace('</sr:Request>', root.startsWith('<Request') ? '</Request>' : '</sr:Request>');
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'body', reason: `is not a DUIS Request: its root element is ${where}, not DUIS's ${DUIS_NS}` });
  });

  // Until 2026-11-28 (nineteenth session) only the root's namespace was looked at: the reader drops
  // prefixes, so a Header, a header field or a Body in another namespace was read as DUIS's.
  it.each`
    case                                   | from                                     | to                                                         | field
    ${'a Header in another namespace'}     | ${/<sr:Header>([\s\S]*)<\/sr:Header>/}    | ${'<x:Header xmlns:x="urn:evil">$1</x:Header>'}            | ${'Header'}
    ${'a Body in another default one'}     | ${/<sr:Body>([\s\S]*)<\/sr:Body>/}        | ${'<Body xmlns="urn:evil">$1</Body>'}                      | ${'Body'}
    ${'a RequestID in another namespace'}  | ${/<sr:RequestID>([^<]*)<\/sr:RequestID>/} | ${'<x:RequestID xmlns:x="urn:evil">$1</x:RequestID>'}      | ${'Header.RequestID'}
    ${'an SRV redeclaring sr'}             | ${/<sr:ServiceReferenceVariant>/}        | ${'<sr:ServiceReferenceVariant xmlns:sr="urn:evil">'}      | ${'Header.ServiceReferenceVariant'}
    ${'a CommandVariant under xmlns=""'}   | ${/<sr:CommandVariant>([^<]*)<\/sr:CommandVariant>/} | ${'<CommandVariant xmlns="">$1</CommandVariant>'} | ${'Header.CommandVariant'}
  `('$case under a DUIS root is refused naming it and its namespace', ({ from, to, field }) => {
    const xml = read41().replace(from, to);
    expect(xml).not.toBe(read41());
    const namespace = to.includes('urn:evil') ? "in namespace 'urn:evil'" : 'in no namespace';
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field, reason: `is ${namespace}, not DUIS's ${DUIS_NS}` });
  });

  it('a header field undeclaring the default namespace (xmlns="") under a root whose default is DUIS\'s is refused', () => {
    const xml = read41()
      .replace(/<sr:Request[^>]*>/, `<Request xmlns="${DUIS_NS}" xmlns:sr="${DUIS_NS}">`)
      .replace('</sr:Request>', '</Request>')
      .replace(/<sr:CommandVariant>([^<]*)<\/sr:CommandVariant>/, '<CommandVariant xmlns="">$1</CommandVariant>');
    expect(xml).toContain('<CommandVariant xmlns="">');
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'Header.CommandVariant', reason: `is in no namespace, not DUIS's ${DUIS_NS}` });
  });

  it('a Header, its fields and the Body in DUIS\'s namespace are read however it is declared: by another prefix, as the default, on the element itself', () => {
    const xml = read41()
      .replace(/<sr:Header>([\s\S]*)<\/sr:Header>/, `<d:Header xmlns:d="${DUIS_NS}">$1</d:Header>`)
      .replace(/<sr:RequestID>([^<]*)<\/sr:RequestID>/, `<RequestID xmlns="${DUIS_NS}">$1</RequestID>`)
      .replace(/<sr:Body>([\s\S]*)<\/sr:Body>/, `<Body xmlns="${DUIS_NS}" xmlns:x="urn:other">$1</Body>`);
    expect(['<d:Header ', '<RequestID xmlns=', '<Body xmlns='].filter((tag) => xml.includes(tag))).toHaveLength(3);
    expect(parseDuisRequest(xml, AT).input).toMatchObject({ requestId: `${NO_A}:${ESME}:7`, srv: '4.1.1' });
  });

  it('a root in DUIS\'s namespace is read however it is declared: as the default, in single quotes, among other attributes', () => {
    for (const root of [`<Request xmlns="${DUIS_NS}" xmlns:sr="${DUIS_NS}">`, `<sr:Request  xmlns:xsi = 'http://www.w3.org/2001/XMLSchema-instance'\n xmlns:sr = '${DUIS_NS}' >`]) {
      const xml = read41().replace(/<sr:Request[^>]*>/, root).replace('</sr:Request>', root.startsWith('<Request') ? '</Request>' : '</sr:Request>');
      expect(parseDuisRequest(xml, AT).input.srv).toBe('4.1.1');
    }
  });

  // The namespace check reads the whole document, the Body too. Keeping the Body as raw text (a
  // fast-xml-parser stop node) was tried on 2026-11-28 (twenty-first session) and not kept: in 4.5.7
  // a stop node's end is found by other rules than the full read's (a start tag named without its
  // prefix and an end tag with it; a comment's end looked for one character early; a processing
  // instruction ended at its first `?>`, where the full read skips over quotes), so what the check
  // saw and what DUIS_READER read could differ (docs/performance-log.md). These cases pin the answers
  // the whole read gives; a Header moved after the Body (`evil`) is the check that a misread would lose.
  describe('a Body the namespace check could misread', () => {
    const EMPTY = '<sr:ReadInstantaneousImportRegisters></sr:ReadInstantaneousImportRegisters>';
    const HEADER_EVIL = "is in namespace 'urn:evil', not DUIS's " + DUIS_NS;
    /** read41 with its Body replaced; `evil`: its Header moved after the Body and put in urn:evil. */
    const withBody = (body: string, evil = false) => {
      const xml = read41();
      const header = /<sr:Header>[\s\S]*<\/sr:Header>/.exec(xml)![0];
      const moved = evil ? header.replace('<sr:Header>', '<x:Header xmlns:x="urn:evil">').replace('</sr:Header>', '</x:Header>') : '';
      const out = xml.replace(/<sr:Body>[\s\S]*<\/sr:Body>/, () => body + moved);
      return evil ? out.replace(header, '') : out;
    };
    it.each`
      case                                                           | body                                                                                   | evil     | answer
      ${'an end tag </sr:Body> in a comment'}                        | ${`<sr:Body><!-- </sr:Body> -->${EMPTY}</sr:Body>`}                                   | ${false} | ${'4.1.1'}
      ${'an end tag </sr:Body> in a comment, Header after'}          | ${`<sr:Body><!-- </sr:Body> -->${EMPTY}</sr:Body>`}                                   | ${true}  | ${'Header'}
      ${'an end tag </sr:Body> in CDATA'}                            | ${`<sr:Body><sr:X><![CDATA[</sr:Body>]]></sr:X>${EMPTY}</sr:Body>`}                  | ${false} | ${'4.1.1'}
      ${'an end tag </sr:Body> in CDATA, Header after'}              | ${`<sr:Body><sr:X><![CDATA[</sr:Body>]]></sr:X>${EMPTY}</sr:Body>`}                  | ${true}  | ${'Header'}
      ${'an end tag </sr:Body> in a processing instruction, Header after'} | ${`<sr:Body><?pi </sr:Body>?>${EMPTY}</sr:Body>`}                               | ${true}  | ${'Header'}
      ${'an end tag </sr:Body> in an attribute value, Header after'} | ${`<sr:Body><sr:X a="</sr:Body>"/>${EMPTY}</sr:Body>`}                                | ${true}  | ${'Header'}
      ${"a '>' in attribute values inside, Header after"}           | ${`<sr:Body><sr:X a="x>y" b='</z>'/>${EMPTY}</sr:Body>`}                              | ${true}  | ${'Header'}
      ${'an element sr:Body inside'}                                 | ${`<sr:Body>${EMPTY}<sr:X><sr:Body></sr:Body></sr:X></sr:Body>`}                      | ${false} | ${'4.1.1'}
      ${'an element sr:Body inside, Header after'}                   | ${`<sr:Body>${EMPTY}<sr:X><sr:Body></sr:Body></sr:X></sr:Body>`}                      | ${true}  | ${'Header'}
      ${'an element sr:Body directly inside, Header after'}          | ${`<sr:Body>${EMPTY}<sr:Body>x</sr:Body></sr:Body>`}                                  | ${true}  | ${'Header'}
      ${'a default-namespace Body holding an x:Body'}                | ${`<Body xmlns="${DUIS_NS}">${EMPTY}<x:Body xmlns:x="urn:other"></x:Body></Body>`}   | ${false} | ${'4.1.1'}
      ${'a default-namespace Body holding an x:Body, Header after'}  | ${`<Body xmlns="${DUIS_NS}">${EMPTY}<x:Body xmlns:x="urn:other"></x:Body></Body>`}   | ${true}  | ${'Header'}
      ${'a Body of another prefix bound to DUIS'}                    | ${`<x:Body xmlns:x="${DUIS_NS}">${EMPTY}</x:Body>`}                                   | ${false} | ${'4.1.1'}
      ${'a Body of another prefix bound to urn:evil'}                | ${`<x:Body xmlns:x="urn:evil">${EMPTY}</x:Body>`}                                     | ${false} | ${'Body'}
      ${'a Body redeclaring sr, after a tab'}                        | ${`<sr:Body\txmlns:sr="urn:evil">${EMPTY}</sr:Body>`}                                | ${false} | ${'Body'}
      ${"attributes on the Body, one holding '>'"}                   | ${`<sr:Body a="1" b="x>y">${EMPTY}</sr:Body>`}                                        | ${false} | ${'4.1.1'}
      ${'an empty Body'}                                             | ${'<sr:Body/>'}                                                                        | ${false} | ${'4.1.1'}
      ${'an empty Body redeclaring sr'}                              | ${'<sr:Body xmlns:sr="urn:evil"/>'}                                                    | ${false} | ${'Body'}
      ${'a Body before the Header'}                                  | ${`<sr:Body>${EMPTY}</sr:Body>`}                                                       | ${true}  | ${'Header'}
      ${'&lt;sr:Body> as text'}                                      | ${`<sr:Body>&lt;sr:Body>${EMPTY}</sr:Body>`}                                          | ${false} | ${'4.1.1'}
    `('$case: $answer', ({ body, evil, answer }) => {
      const xml = withBody(body, evil);
      expect(xml).toContain(body);
      if (answer === '4.1.1') expect(parseDuisRequest(xml, AT).input).toMatchObject({ srv: '4.1.1', requestId: `${NO_A}:${ESME}:7` });
      else expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: answer, reason: answer === 'Header' ? HEADER_EVIL : `is in namespace 'urn:evil', not DUIS's ${DUIS_NS}` });
    });

    it('two Bodies are refused naming the Body, as before', () => {
      expect(intakeError(() => parseDuisRequest(withBody(`<sr:Body>${EMPTY}</sr:Body><sr:Body/>`), AT))).toEqual({ field: 'Body', reason: 'appears more than once' });
    });

    // Until 2026-11-28 (twenty-first session) an error of the namespace check's reader came out as it
    // was, a plain Error, not an IntakeError (fast-xml-parser refuses elements nested too deep: 100 by default, 32 here since the same day).
    // Now it is the body's, as readDuis's errors are, in the Header or the Body alike. These call
    // parseDuisRequest directly; the plain Error reached a request body too (serviceRequestFromXml,
    // so the HTTP API's 500): by the processing instruction below, and by nesting whose tags hold `/>`
    // in an attribute value, which checkXmlBody's 32-level scan takes for empty elements.
    it.each`
      where       | xml
      ${'Header'} | ${() => read41().replace('</sr:Header>', `${'<a>'.repeat(101)}${'</a>'.repeat(101)}</sr:Header>`)}
      ${'Body'}   | ${() => withBody(`<sr:Body>${'<a>'.repeat(101)}${'</a>'.repeat(101)}</sr:Body>`)}
    `('elements nested over 100 deep in the $where are refused at the body, naming the reader\'s error', ({ xml }) => {
      expect(intakeError(() => parseDuisRequest(xml(), AT))).toEqual({ field: 'body', reason: 'is not a DUIS request: Maximum nested tags exceeded' });
    });

    // Through a request body, as a door reads it. Each passes the validator (which ends a processing
    // instruction at its first `?>` and a comment at the first `-->` after its `<!--`) and gets the
    // whole read's answer; the stop node gave another (see above): the first six were accepted, the
    // third and fourth as counter 8, and the seventh refused. A processing instruction holding a quote
    // never closed after it was a plain Error (a 500) until 2026-11-28: the full read finds no end to it.
    // Since that day's review a processing instruction whose quote is open at its first `?>` is refused
    // before any parser (checkXmlBody: the parser reads on to a `?>` outside quotes, the validator not).
    describe('through a request body', () => {
      const headerOf = (counter: number) => /<sr:Header>[\s\S]*<\/sr:Header>/.exec(makeDuisRequest({ originator: NO_A, target: ESME, counter, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } }))![0];
      const evil = (counter: number) => headerOf(counter).replace('<sr:Header>', '<x:Header xmlns:x="urn:evil">').replace('</sr:Header>', '</x:Header>');
      /** read41 with all under the root replaced by `inner`. */
      const request = (inner: string) => read41().replace(/<sr:Header>[\s\S]*<\/sr:Request>/, () => `${inner}</sr:Request>`);
      it.each`
        case                                                                                               | inner                                                                                | answer
        ${"a PI holding ' (the stop node ended it at its first ?>), a Header in urn:evil in a comment after"} | ${`<sr:Body>${EMPTY}<?pi '?></sr:Body><!-- ' ?></z>${evil(7)} -->`}                  | ${'PI'}
        ${'a PI holding " (the stop node ended it at its first ?>), a Header in urn:evil in a comment after'} | ${`<sr:Body>${EMPTY}<?pi "?></sr:Body><!-- " ?></z>${evil(7)} -->`}                  | ${'PI'}
        ${"the same with ', a DUIS Header (7) before the comment, the urn:evil one (8) in it"}              | ${`<sr:Body>${EMPTY}<?pi '?></sr:Body>${headerOf(7)}<!-- ' ?></z>${evil(8)} -->`}    | ${'PI'}
        ${'the same with ", a DUIS Header (7) before the comment, the urn:evil one (8) in it'}              | ${`<sr:Body>${EMPTY}<?pi "?></sr:Body>${headerOf(7)}<!-- " ?></z>${evil(8)} -->`}    | ${'PI'}
        ${'a default-namespace Body holding <!---> and </ Body>, a Header in urn:evil after'}             | ${`<Body xmlns="${DUIS_NS}">${EMPTY}<!---> </ Body> --></Body>${evil(7)}`}           | ${'Header'}
        ${'a default-namespace Body holding <!---> and </(newline)Body>, a Header in urn:evil after'}     | ${`<Body xmlns="${DUIS_NS}">${EMPTY}<!---> </\nBody> --></Body>${evil(7)}`}          | ${'Header'}
        ${'a Body holding <!---> <a b=" -->, a comment holding " after it'}                                | ${`${headerOf(7)}<sr:Body>${EMPTY}<!---> <a b=" --></sr:Body><!-- " -->`}            | ${'4.1.1'}
        ${"a PI holding ' and no quote after it"}                                                          | ${`${headerOf(7)}<sr:Body>${EMPTY}<?pi '?></sr:Body>`}                               | ${'PI'}
        ${'a PI holding " and no quote after it'}                                                          | ${`${headerOf(7)}<sr:Body>${EMPTY}<?pi "?></sr:Body>`}                               | ${'PI'}
      `('$case: $answer', ({ inner, answer }) => {
        const xml = request(inner);
        expect(xml).toContain(inner);
        if (answer === '4.1.1') expect(formatRequestId(serviceRequestFromXml(xml, AT).requestId)).toBe(`${NO_A}:${ESME}:7`);
        else if (answer === 'Header') expect(intakeError(() => serviceRequestFromXml(xml, AT))).toEqual({ field: 'Header', reason: HEADER_EVIL });
        else expect(intakeError(() => serviceRequestFromXml(xml, AT))).toEqual({ field: 'body', reason: expect.stringMatching(/^holds a processing instruction at character \d+ with a quote still open at its first '\?>'/) });
      });
    });
  });

  it('a declaration and comments may come before the root', () => {
    const xml = read41().replace(/^(<\?xml[^>]*\?>)?/, '<?xml version="1.0" encoding="UTF-8"?>\n<!-- sent by a test -->\n');
    expect(parseDuisRequest(xml, AT).input.srv).toBe('4.1.1');
  });

  it('a RequestID whose originator has 17 hex digits is refused by the domain, naming the originator', () => {
    const xml = makeDuisRequest({ originator: '90B3D51F300300001', target: ESME, counter: 7, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } });
    const input = parseDuisRequest(xml, AT).input;
    expect(() => parseServiceRequest(input)).toThrow(/^requestId\.originator: /);
  });

  // duis.ts copies parseDuis's parser settings (parseDuis reads the counter with BigInt, so the
  // header is read by hand): an upgrade of the library that reads a body otherwise fails here.
  // It differs in one place: `&#xD;` and `&#xd;` (Canonical XML's CR) are read as CR, which
  // parseDuis leaves as they stand (pinned by the spec after this one).
  it('the body is read as @smartdcc/duis-parser\'s parseDuis reads it (simplified), for a signed 6.15.1 and a 4.1.1', async () => {
    const signing = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    const signature = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/></ds:SignedInfo><ds:SignatureValue>AAAA&#13;\nAAAA</ds:SignatureValue></ds:Signature>';
    const signed = makeDuisRequest({ originator: NO_A, target: ESME, counter: 8, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', { signing: signing.base64 }, '2030-01-01T00:00:00Z') })
      .replace(signing.base64, signing.base64.replace(/.{64}/g, '$&&#13;\n')) // as a Java xmldsig writer breaks base64
      .replace('<sr:Body>', '<sr:Body xml:lang="en">')
      .replace('</sr:Request>', `${signature}</sr:Request>`);
    const x411 = read41({ ReadInstantaneousImportRegisters: { '@_x': '1', Note: ' a &amp; b ' } });
    for (const xml of [signed, x411]) {
      const body = readDuis(xml).Body;
      expect(body).toBeDefined();
      expect(body).toEqual((parseDuis('simplified', xml) as { body: unknown }).body);
    }
    expect(parseDuisRequest(signed, AT).certificates.map((c) => c.serial)).toEqual([signing.serial]);
  });

  it.each`
    cr
    ${'&#13;'}
    ${'&#xD;'}
    ${'&#xd;'}
  `('a CR written $cr is read as CR: in a certificate\'s broken base64 and at the end of a field', async ({ cr }) => {
    const signing = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    const xml = makeDuisRequest({ originator: NO_A, target: ESME, counter: 8, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', { signing: signing.base64 }, '2030-01-01T00:00:00Z') })
      .replace(signing.base64, signing.base64.replace(/.{64}/g, `$&${cr}\n`))
      .replace('<sr:RemotePartyRole>NetworkOperator<', `<sr:RemotePartyRole>NetworkOperator${cr}<`)
      .replace(/(<sr:CommandVariant>\d+)</, `$1${cr}<`);
    expect(xml.match(/&#(13|x[dD]);<\/sr:(RemotePartyRole|CommandVariant)>/g)).toHaveLength(2);
    const parsed = parseDuisRequest(xml, AT);
    expect(parsed.certificates.map((c) => c.serial)).toEqual([signing.serial]);
    expect(parsed.input).toMatchObject({ remotePartyRole: 'NetworkOperator', commandVariant: 1 });
  });

  it('a 6.15.1 with an execution time and both certificates reads each one, in document order, named by its element', async () => {
    const signing = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    const agreement = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'keyAgreement' });
    const xml = makeDuisRequest({ originator: NO_A, target: ESME, counter: 8, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', { signing: signing.base64, keyAgreement: agreement.base64 }, '2030-01-01T00:00:00Z') });
    const parsed = parseDuisRequest(xml, AT);
    expect(parsed.input).toMatchObject({ remotePartyRole: 'NetworkOperator', executionDateTime: '2030-01-01T00:00:00Z' });
    expect(parsed.certificates.map((c) => [c.keyUsage, c.serial])).toEqual([
      ['digitalSignature', signing.serial],
      ['keyAgreement', agreement.serial],
    ]);
    const bad = makeDuisRequest({ originator: NO_A, target: ESME, counter: 8, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', { signing: signing.base64, keyAgreement: 'not base64!' }) });
    expect(intakeError(() => parseDuisRequest(bad, AT))).toEqual({ field: 'Body.UpdateSecurityCredentialsKRP.ReplacementCertificates.RemotePartyKeyAgreementCertificate', reason: 'is not base64' });
  });
});

describe('an XML body read before any parser: each check ends, and sees what the parser will', () => {
  /**
   * `fn()` stopped after 30 s, so that a check that does not end fails rather than holding the run:
   * not a measure of speed (tests never time). These bodies now take milliseconds; until 2026-11-28
   * the comments took hours (twice as long for each one) and fail on that code; the 64 KiB ones took
   * 0.4-12 s each and pass on it: they pin the answer, and the scan's figures are in its commit.
   */
  const bounded = <T>(fn: () => T): T => vm.runInNewContext('fn()', { fn }, { timeout: 30_000 }) as T;

  // Until 2026-11-28 (twenty-first session) the root check read a comment as `<!--[\s\S]*?-->`, which
  // could run on to a later `-->`: so this body passed it (and the validator refused it), and a body of
  // comments with no root was tried every way (`<!---->` 32 times then `x`, 225 bytes, ~30 s).
  it('a comment before the root ends at its first -->: text after it is not a comment', () => {
    const xml = `<!-- a --> b --><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>`;
    expect(intakeError(() => serviceRequestFromXml(xml, AT))).toEqual({ field: 'body', reason: 'is not a DUIS Request (the root element must be sr:Request)' });
  });

  it.each`
    case                                  | xml
    ${'64 comments and no root'}          | ${'<!---->'.repeat(64) + 'x'}
    ${'comments holding --> and no root'} | ${'<!-- --> -->'.repeat(2000) + 'x'}
    ${'64 KiB of <'}                      | ${'<'.repeat(65_536)}
    ${'64 KiB of <a'}                     | ${'<a'.repeat(32_768)}
    ${'64 KiB of <?'}                     | ${'<?'.repeat(32_768)}
    ${'64 KiB of <!--'}                   | ${'<!--'.repeat(16_384)}
    ${'64 KiB of <![CDATA['}              | ${'<![CDATA['.repeat(7_000)}
  `('$case is refused as no DUIS Request', ({ xml }) => {
    expect(bounded(() => intakeError(() => serviceRequestFromXml(xml, AT)))).toEqual({ field: 'body', reason: 'is not a DUIS Request (the root element must be sr:Request)' });
  });

  // Until 2026-11-28 (twenty-first session) the depth scan read a tag to its first `>`, quoted or not,
  // so each of these tags was an empty element and 40 levels of them passed the 32-level limit.
  it.each`
    quote
    ${'"'}
    ${"'"}
  `('elements whose attribute value holds /> ($quote) count as open', ({ quote }) => {
    const tags = `<a b=${quote}/>${quote}>`.repeat(40) + '</a>'.repeat(40);
    const xml = `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">${tags}</sr:Request>`;
    expect(intakeError(() => serviceRequestFromXml(xml, AT))).toEqual({ field: 'body', reason: 'nests elements deeper than the 32-level limit' });
    const empty = `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">${`<a b=${quote}/>${quote}/>`.repeat(40)}</sr:Request>`;
    expect(intakeError(() => serviceRequestFromXml(empty, AT)).reason).not.toMatch(/deeper/);
  });

  // Since the review of 2026-11-28 (twenty-first session): each was read by the parser deeper than by
  // the scan and the validator, so 40 of them in a Body passed the 32-level limit and the request was
  // accepted (`<!a>` opens an element named `!a`; `<![` reads as CDATA to the next `]]>`; a processing
  // instruction ends at its first `?>` outside quotes).
  it.each`
    case                                  | level                      | reason
    ${'<!a>, not a comment nor CDATA'}    | ${'<a><!a>'}               | ${/^holds markup at character \d+ that opens '<!' and is neither a comment nor CDATA$/}
    ${'<![ not followed by CDATA['}       | ${'<a><![></a>]]>'}        | ${/^holds markup at character \d+ that opens '<!' and is neither a comment nor CDATA$/}
    ${'a PI whose quote runs past ?>'}    | ${'<a><?p "?></a>"?>'}     | ${/^holds a processing instruction at character \d+ with a quote still open at its first '\?>'/}
  `('$case is refused before any parser', ({ level, reason }) => {
    const xml = `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">${level.repeat(40)}</sr:Request>`;
    expect(intakeError(() => serviceRequestFromXml(xml, AT))).toEqual({ field: 'body', reason: expect.stringMatching(reason) });
  });

  it('processing instructions between comments before the root are read, as before', () => {
    const request = makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } });
    const xml = request.replace(/^(<\?xml[^>]*\?>)?/, '<?xml version="1.0"?>\n<!-- a -->\n<?xml-stylesheet href="x.xsl"?>\n<!-- b -->\n');
    expect(parseDuisRequest(xml, AT).input.srv).toBe('4.1.1');
  });

  // Until 2026-11-28 (twenty-first session) the validator read this for 13-15 s (quadratic in a run of
  // white space inside a tag that no attribute name follows), then answered.
  it('a run of more than 256 white-space characters is refused before any parser, anywhere in the body', () => {
    expect(bounded(() => intakeError(() => serviceRequestFromXml(`<Request${' '.repeat(65_500)}></Request>`, AT)))).toEqual({
      field: 'body',
      reason: 'holds 65500 white-space characters in a row at character 8: at most 256 are read',
    });
    const request = makeDuisRequest({ originator: NO_A, target: ESME, counter: 7, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } });
    const spaced = (n: number) => request.replace('<sr:Header>', `<sr:Header>${'\n'.padEnd(n, ' ')}`);
    expect(formatRequestId(serviceRequestFromXml(spaced(256), AT).requestId)).toBe(`${NO_A}:${ESME}:7`);
    expect(intakeError(() => serviceRequestFromXml(spaced(257), AT))).toEqual({ field: 'body', reason: expect.stringMatching(/^holds 257 white-space characters in a row at character \d+: at most 256 are read$/) });
  });

  // The readers' own bound, met only where checkXmlBody's scan is not run first (parseDuisRequest alone).
  it('the readers stop at 32 levels too, counting the root', () => {
    const nested = (n: number) => `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">${'<a>'.repeat(n - 1)}${'</a>'.repeat(n - 1)}</sr:Request>`;
    expect(intakeError(() => parseDuisRequest(nested(32), AT))).toEqual({ field: 'Header', reason: 'is missing' });
    expect(intakeError(() => parseDuisRequest(nested(33), AT))).toEqual({ field: 'body', reason: 'is not a DUIS request: Maximum nested tags exceeded' });
    expect(intakeError(() => serviceRequestFromXml(nested(33), AT))).toEqual({ field: 'body', reason: 'nests elements deeper than the 32-level limit' });
  });

  it('comments, CDATA and processing instructions are skipped, as before, and an unended one is read to its first >', () => {
    const inner = '<!-- <a><a> --><![CDATA[<a><a>]]><?pi <a><a>?>';
    const deep = (n: number) => `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">${inner}${'<a>'.repeat(n)}${'</a>'.repeat(n)}</sr:Request>`;
    expect(intakeError(() => serviceRequestFromXml(deep(33), AT)).reason).toBe('nests elements deeper than the 32-level limit');
    expect(intakeError(() => serviceRequestFromXml(deep(31), AT)).reason).not.toMatch(/deeper/);
    expect(intakeError(() => serviceRequestFromXml(`<sr:Request>${'<a>'.repeat(31)}<!-- >${'<a>'.repeat(5)}`, AT)).reason).toBe('nests elements deeper than the 32-level limit');
  });
});

describe('certificate subjects: the owner read from the uniqueIdentifier, whatever its encoding', () => {
  /** A certificate whose subject's 2.5.4.45 is exactly `uniqueIdentifier` (a DN value: `#hex` of DER, or text). */
  const withSubject = async (uniqueIdentifier: string, ou = '03') => (await certificateWith(`CN=Test, OU=${ou}, 2.5.4.45=${uniqueIdentifier}`, '00ff01')).toString('base64');
  it.each`
    case                                              | uniqueIdentifier                    | owner
    ${'a BIT STRING of 8 octets'}                     | ${'#03090090B3D51F3003000A'}        | ${NO_A}
    ${'an OCTET STRING of 8 octets'}                  | ${'#040890B3D51F3003000A'}          | ${NO_A}
    ${'text'}                                         | ${'90-B3-D5-1F-30-03-00-0A'}        | ${NO_A}
    ${'a BIT STRING of 9 octets (17-18 hex digits)'}  | ${'#030A0090B3D51F3003000A01'}      | ${'refused'}
    ${'an OCTET STRING of 9 octets'}                  | ${'#040990B3D51F3003000A01'}        | ${'refused'}
    ${'a BIT STRING with unused bits'}                | ${'#03090190B3D51F3003000A'}        | ${'refused'}
  `('$case: $owner', async ({ uniqueIdentifier, owner }) => {
    const b64 = await withSubject(uniqueIdentifier);
    if (owner === 'refused') {
      expect(intakeError(() => parseCertificate(b64, 'c'))).toMatchObject({ field: 'c.subject.uniqueIdentifier', reason: expect.stringContaining('is not an EUI-64') });
    } else {
      expect(parseCertificate(b64, 'c')).toMatchObject({ ownerUserId: owner, roleCode: '03', keyUsage: 'digitalSignature', serial: 'FF01', issuer: 'CN=Test SMKI Issuing CA', subject: expect.stringContaining('CN=Test'), notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2045-01-01T00:00:00.000Z' });
    }
  });

  it.each`
    case                            | ou
    ${'a one-digit OU'}             | ${'3'}
    ${'a three-digit OU'}           | ${'003'}
  `('$case is refused', async ({ ou }) => {
    expect(intakeError(() => parseCertificate(Buffer.from('x'), 'c'))).toEqual({ field: 'c', reason: 'is not a DER X.509 certificate' });
    const b64 = await withSubject('#03090090B3D51F3003000A', ou);
    expect(intakeError(() => parseCertificate(b64, 'c'))).toEqual({ field: 'c', reason: `subject OU must hold the two-digit remote-party role code, got '${ou}'` });
  });

  it('a certificate with no key usage at all is refused; base64 may be wrapped over lines', async () => {
    const none = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'none' });
    expect(intakeError(() => parseCertificate(none.base64, 'c'))).toEqual({ field: 'c', reason: 'key usage must be exactly one of digitalSignature or keyAgreement' });
    const ok = await makeCertificate({ ownerUserId: NO_A, roleCode: '02', keyUsage: 'keyAgreement' });
    const wrapped = ok.base64.replace(/(.{64})/g, '$1\n');
    expect(parseCertificate(wrapped, 'c')).toMatchObject({ ownerUserId: NO_A, roleCode: '02', keyUsage: 'keyAgreement' });
    expect(intakeError(() => parseCertificate('', 'c'))).toEqual({ field: 'c', reason: 'is not base64' });
    expect(intakeError(() => parseCertificate('QUJD===', 'c'))).toEqual({ field: 'c', reason: 'is not base64' });
  });
});

describe('a certificate read one way only: what says two things, or more than a certificate, is refused', () => {
  const UID = '#03090090B3D51F3003000A';

  it.each`
    case                                             | subject                                                   | reason
    ${'two OUs (the first was taken)'}               | ${`CN=Test, OU=03, OU=02, 2.5.4.45=${UID}`}               | ${'subject has 2 OUs (03, 02): one remote-party role code only'}
    ${'two OUs in one RDN'}                          | ${`CN=Test, OU=03+OU=02, 2.5.4.45=${UID}`}                | ${'subject has 2 OUs (03, 02): one remote-party role code only'}
    ${'two uniqueIdentifiers (the first was taken)'} | ${`CN=Test, OU=03, 2.5.4.45=${UID}, 2.5.4.45=#03090090B3D51F30030001`} | ${'subject has 2 uniqueIdentifiers (2.5.4.45): one owner User ID only'}
  `('a subject with $case is refused', async ({ subject, reason }) => {
    const der = await certificateWith(subject);
    expect(intakeError(() => parseCertificate(der, 'c'))).toEqual({ field: 'c', reason });
  });

  it.each`
    case                                              | extensions                                                                                                                            | oid
    ${'two key usage extensions (the first was taken)'} | ${[new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true)]} | ${'2.5.29.15'}
    ${'two basic constraints extensions'}             | ${[new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.BasicConstraintsExtension(false), new x509.BasicConstraintsExtension(true)]} | ${'2.5.29.19'}
  `('$case: refused (RFC 5280 4.2: each extension once)', async ({ extensions, oid }) => {
    const der = await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`, '1001', extensions);
    expect(intakeError(() => parseCertificate(der, 'c'))).toEqual({ field: 'c', reason: `has the extension ${oid} more than once: RFC 5280 allows each once` });
  });

  it('a certificate over MAX_CERTIFICATE_BYTES is refused by its size before it is parsed (one padded with extensions held the event loop ~0.3 s)', async () => {
    const padding = Array.from({ length: 400 }, (_, i) => new x509.Extension(`1.3.6.1.4.1.99999.${i}`, false, new Uint8Array(16)));
    const der = await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`, '1001', [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), ...padding]);
    expect(der.byteLength).toBeGreaterThan(MAX_CERTIFICATE_BYTES);
    expect(intakeError(() => parseCertificate(der, 'c'))).toEqual({ field: 'c', reason: `is ${der.byteLength} bytes of DER: a certificate over ${MAX_CERTIFICATE_BYTES} is refused (an SMKI Organisation Certificate is well under 1 KB)` });
    expect(intakeError(() => parseCertificate(der.toString('base64'), 'c'))).toMatchObject({ field: 'c' });
  });

  it.each`
    extension                       | oid
    ${'key usage'}                  | ${'2.5.29.15'}
    ${'subjectAltName'}             | ${'2.5.29.17'}
    ${'certificate policies'}       | ${'2.5.29.32'}
    ${'extended key usage'}         | ${'2.5.29.37'}
  `('a malformed $extension value ($oid, which the library reads lazily) is refused as not a certificate, not thrown as a TypeError', async ({ oid }) => {
    const malformed = new x509.Extension(oid, false, new Uint8Array([0x05, 0x00])); // NULL where the extension's structure belongs
    const keyUsage = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
    const der = await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`, '1001', oid === '2.5.29.15' ? [malformed] : [keyUsage, malformed]);
    const { field, reason } = intakeError(() => parseCertificate(der, 'c'));
    expect(field).toBe('c');
    expect(reason).toMatch(/^is not a DER X\.509 certificate: ./);
  });

  it('bytes after the certificate, or a second certificate after it (the library read the first only), are refused, in DER and in base64', async () => {
    const one = await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`);
    expect(parseCertificate(one, 'c')).toMatchObject({ serial: '1001', ownerUserId: NO_A });
    const two = Buffer.concat([one, await certificateWith(`CN=Other, OU=02, 2.5.4.45=#03090090B3D51F30010001`)]);
    expect(intakeError(() => parseCertificate(two.toString('base64'), 'c'))).toEqual({ field: 'c', reason: `holds ${two.length - one.length} byte(s) after the certificate's ${one.length}: one DER certificate only` });
    expect(intakeError(() => parseCertificate(Buffer.concat([one, Buffer.from([0])]), 'c'))).toEqual({ field: 'c', reason: `holds 1 byte(s) after the certificate's ${one.length}: one DER certificate only` });
  });

  it('a certificate of indefinite length (BER 0x80, not DER: its end is not in its header) is refused', async () => {
    const der = await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`);
    const header = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7f);
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(header), Buffer.from([0, 0])]);
    expect(intakeError(() => parseCertificate(indefinite, 'c'))).toEqual({ field: 'c', reason: 'is not a DER X.509 certificate' });
  });

  it('a negative serial is refused: it read as the positive serial of the same hex digits (FF01 and 00FF01 alike)', async () => {
    expect(parseCertificate(await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`, '00FF01'), 'c')).toMatchObject({ serial: 'FF01' });
    const der = await certificateWith(`CN=Test, OU=03, 2.5.4.45=${UID}`, '7F01');
    const at = der.indexOf(Buffer.from([0x02, 0x02, 0x7f, 0x01]));
    expect(at).toBeGreaterThan(0);
    der[at + 2] = 0xff; // INTEGER FF01: -255 (the signature no longer matches; the ledger does not check it)
    expect(intakeError(() => parseCertificate(der, 'c'))).toEqual({ field: 'c.serial', reason: 'is negative (FF01): RFC 5280 requires a positive serial' });
  });
});

describe('a JSON certificate given as der and as identity fields at once', () => {
  it('is refused naming the fields given with der, in a placement and in a request (the identity fields were set aside, silently)', async () => {
    const cert = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    const certificate = { der: cert.base64, serial: 'B1', ownerUserId: '90-B3-D5-1F-30-03-00-0B' };
    const reason = 'gives der and serial, ownerUserId: the identity is read from der; give der alone, or the identity fields without it';
    await expect(placeCertificateFromJson(ESME, { slot: 'networkOperator.critical', via: 'migration', placedAt: '2020-06-01T00:00:00Z', certificate })).rejects.toThrow(new IntakeError('certificate', reason));
    const request = { requestId: `${NO_A}:${ESME}:9`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [{ der: cert.base64 }, certificate] };
    await expect(serviceRequestFromJson(request, AT)).rejects.toThrow(new IntakeError('certificates[1]', reason));
    await expect(placeCertificateFromJson(ESME, { slot: 'networkOperator.critical', via: 'migration', placedAt: '2020-06-01T00:00:00Z', certificate: { der: cert.base64 } })).resolves.toMatchObject({ certificate: { serial: cert.serial, ownerUserId: NO_A } });
  });

  it.each`
    case                                        | certificate
    ${'der null, identity fields given'}        | ${{ der: null, serial: 'B1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }}
    ${"der '', identity fields given"}          | ${{ der: '', serial: 'B1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }}
  `('$case: the identity fields are recorded, as before (no der is given)', async ({ certificate }) => {
    await expect(placeCertificateFromJson(ESME, { slot: 'networkOperator.critical', via: 'migration', placedAt: '2020-06-01T00:00:00Z', certificate })).resolves.toMatchObject({ certificate: { serial: 'B1', issuer: 'CN=CA', ownerUserId: NO_A } });
  });

  it('der with identity fields given as null: der is read, as before (null gives no field)', async () => {
    const cert = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' });
    const certificate = { der: cert.base64, serial: null, issuer: null };
    await expect(placeCertificateFromJson(ESME, { slot: 'networkOperator.critical', via: 'migration', placedAt: '2020-06-01T00:00:00Z', certificate })).resolves.toMatchObject({ certificate: { serial: cert.serial, ownerUserId: NO_A } });
  });
});

describe('a lone UTF-16 surrogate in a certificate name, whichever door brings it', () => {
  it("a DER certificate whose issuer is a BMPString holding one (decoded a unit at a time) is refused naming the issuer, as the JSON escape is", async () => {
    const odd = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature', issuerName: new x509.Name([{ CN: [{ bmpString: 'CA \ud800' }] }]) });
    const placement = { slot: 'networkOperator.critical', via: 'migration', placedAt: '2020-06-01T00:00:00Z', certificate: { der: odd.base64 } };
    await expect(placeCertificateFromJson(ESME, placement)).rejects.toThrow(new IntakeError('certificate.der.issuer', 'holds a lone UTF-16 surrogate: not text'));
    const xml = makeDuisRequest({ originator: NO_A, target: ESME, counter: 9, srv: '6.15.1', body: updateSecurityCredentialsKrpBody('NetworkOperator', { signing: odd.base64 }) });
    expect(intakeError(() => parseDuisRequest(xml, AT))).toEqual({ field: 'Body.UpdateSecurityCredentialsKRP.ReplacementCertificates.RemotePartyDigitalSigningCertificate.issuer', reason: 'holds a lone UTF-16 surrogate: not text' });
  });

  it('a decision recorded with one before it was refused still reads back as recorded (the check is the intake\'s, not the reading\'s)', () => {
    const recorded = parseServiceRequest({ requestId: `${NO_A}:${ESME}:9`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [{ serial: 'A1', issuer: 'CN=CA \ud800', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }], receivedAt: AT, format: 'json' });
    expect(recorded.certificates[0].issuer).toBe('CN=CA \ud800');
  });
});

describe('a file name the ledger records a Registration Data change as coming from', () => {
  it.each`
    given                                  | name
    ${'spaces and brackets'}               | ${'rdp export (1).csv'}
    ${'a leading dot'}                     | ${'.rdp.csv'}
    ${'letters of other scripts'}          | ${'Änderungen 東京 données.csv'}
    ${'an emoji joined by ZWJ'}            | ${'rdp \u{1F469}\u200D\u{1F4BB}.csv'}
    ${'a Persian word with a ZWNJ'}        | ${'\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645.csv'}
    ${'quotes, commas, % and #'}           | ${`it's "final", 100% #2.csv`}
    ${'an identifier as taken before'}     | ${'RDP-2024_01.v2:batch'}
    ${'255 bytes of UTF-8'}                | ${'é'.repeat(127) + 'x'}
    ${'an emoji with its presentation'}    | ${'rdp \u2764\uFE0F.csv'}
  `('given $given, it is taken as it is', ({ name }) => {
    expect(checkFileName(name, 'file')).toBe(name);
  });

  it.each`
    given                                  | name                           | then
    ${'nothing'}                           | ${''}                          | ${'it is empty'}
    ${'a path'}                            | ${'in/rdp.csv'}                | ${'it holds a path separator'}
    ${'a Windows path'}                    | ${'C:\\rdp.csv'}               | ${'it holds a path separator'}
    ${'the directory itself'}              | ${'.'}                         | ${'it names a directory'}
    ${'its parent'}                        | ${'..'}                        | ${'it names a directory'}
    ${'markup'}                            | ${'<img src=x>.csv'}           | ${"it holds '<' or '>'"}
    ${'a carriage return'}                 | ${'rdp\r.csv'}                 | ${'it holds U+000D, which does not show as itself'}
    ${'an escape sequence'}                | ${'rdp\u001b[2J.csv'}          | ${'it holds U+001B, which does not show as itself'}
    ${'DEL'}                               | ${'rdp\u007f.csv'}             | ${'it holds U+007F, which does not show as itself'}
    ${'a C1 control'}                      | ${'rdp\u009b.csv'}             | ${'it holds U+009B, which does not show as itself'}
    ${'a right-to-left override'}          | ${'rdp\u202Evsc.exe'}          | ${'it holds U+202E, which does not show as itself'}
    ${'a line separator'}                  | ${'rdp\u2028.csv'}             | ${'it holds U+2028, which does not show as itself'}
    ${'a byte order mark'}                 | ${'\uFEFFrdp.csv'}             | ${'it holds U+FEFF, which does not show as itself'}
    ${'a lone surrogate'}                  | ${'rdp\uD800.csv'}             | ${'it is not text (a lone UTF-16 surrogate)'}
    ${'spaces alone'}                      | ${'  '}                        | ${'it shows nothing (only spaces)'}
    ${'a no-break space alone'}            | ${'\u00A0'}                    | ${'it shows nothing (only spaces)'}
    ${'a Hangul filler alone'}             | ${'\u3164'}                    | ${'it holds U+3164, which does not show as itself'}
    ${'a variation selector first'}        | ${'\uFE0Frdp.csv'}             | ${'it holds U+FE0F, which does not show as itself'}
    ${'a zero-width joiner alone'}         | ${'\u200D'}                    | ${'it holds U+200D, which does not show as itself'}
    ${'a joiner before the extension'}     | ${'\u200D.csv'}                | ${'it holds U+200D, which does not show as itself'}
    ${'a selector after a space'}          | ${' \uFE0F.csv'}               | ${'it holds U+FE0F, which does not show as itself'}
    ${'a combining grapheme joiner'}       | ${'\u034F.csv'}                | ${'it holds U+034F, which does not show as itself'}
    ${'a noncharacter'}                    | ${'\uFFFE.csv'}                | ${'it holds U+FFFE, which does not show as itself'}
    ${'a private-use character'}           | ${'\uE000.csv'}                | ${'it holds U+E000, which does not show as itself'}
    ${'an unassigned code point'}          | ${'\u0378.csv'}                | ${'it holds U+0378, which does not show as itself'}
    ${'256 bytes of UTF-8'}                | ${'é'.repeat(128)}             | ${'it is 256 bytes of UTF-8'}
    ${'a formula'}                         | ${'=HYPERLINK("x").csv'}       | ${'it begins as a spreadsheet formula'}
    ${'a leading +'}                       | ${'+1.csv'}                    | ${'it begins as a spreadsheet formula'}
    ${'a leading -'}                       | ${'-rf.csv'}                   | ${'it begins as a spreadsheet formula'}
    ${'a leading @'}                       | ${'@sum.csv'}                  | ${'it begins as a spreadsheet formula'}
  `('given $given, it is refused: $then', ({ name, then }) => {
    const r = intakeError(() => checkFileName(name, 'file'));
    expect(r.field).toBe('file');
    expect(r.reason).toContain(`is not a file name: ${then} (`);
  });

  it('a refusal quotes a long name by its start and length, not whole', () => {
    expect(intakeError(() => checkFileName('a/'.repeat(10_000), 'file')).reason).toMatch(/^'(a\/){50}\.\.\.' \(20000 UTF-16 code units\) is not a file name/);
  });
});

describe('a file name as an HTTP header carries it (x-file-name)', () => {
  it.each`
    given                                           | header                                          | name
    ${'an identifier, as sent before'}              | ${'RDP-2024_01.v2:batch'}                       | ${'RDP-2024_01.v2:batch'}
    ${'encodeURIComponent of an operator\'s name'}  | ${encodeURIComponent('.rdp export (1) Ä 東京.csv')} | ${'.rdp export (1) Ä 東京.csv'}
    ${'every byte escaped, in either case'}         | ${'%72%64%70%2e%63%73%76'}                      | ${'rdp.csv'}
    ${'a space and brackets as they are'}           | ${'rdp export (1).csv'}                         | ${'rdp export (1).csv'}
    ${'a % as %25'}                                 | ${'100%25.csv'}                                 | ${'100%.csv'}
    ${'a + as itself, not a space'}                 | ${'a+b.csv'}                                    | ${'a+b.csv'}
  `('given $given, it reads as the name', ({ header, name }) => {
    expect(fileNameFromHeader(header, 'x-file-name')).toBe(name);
  });

  it.each`
    given                                  | header                           | then
    ${'a byte past ASCII, as is'}          | ${'r\u00e9sum\u00e9.csv'}        | ${"holds U+00E9, which is not printable ASCII: percent-encode the name's UTF-8"}
    ${'a tab, as is'}                      | ${'rdp\t.csv'}                   | ${'holds U+0009, which is not printable ASCII'}
    ${'a bare %'}                          | ${'100%.csv'}                    | ${'is not percent-encoded UTF-8'}
    ${'an escape cut short'}               | ${'rdp%2'}                       | ${'is not percent-encoded UTF-8'}
    ${'escapes that are not UTF-8'}        | ${'%C3%28.csv'}                  | ${'is not percent-encoded UTF-8'}
    ${'an escaped surrogate'}              | ${'%ED%A0%80.csv'}               | ${'is not percent-encoded UTF-8'}
    ${'an escaped CR LF'}                  | ${'rdp.csv%0D%0Ax-api-key:%20a'} | ${'is not a file name: it holds U+000D'}
    ${'an escaped slash'}                  | ${'..%2Fetc%2Fpasswd'}           | ${'is not a file name: it holds a path separator'}
    ${'an escaped NUL'}                    | ${'rdp%00.csv'}                  | ${'is not a file name: it holds U+0000'}
  `('given $given, it is refused: $then', ({ header, then }) => {
    const r = intakeError(() => fileNameFromHeader(header, 'x-file-name'));
    expect(r.field).toBe('x-file-name');
    expect(r.reason).toContain(then);
  });
});
