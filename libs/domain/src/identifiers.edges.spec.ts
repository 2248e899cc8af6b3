import { parseCertificateIdentity, parseSrv, sameCertificate, slotPartyOfRoleCode, fuelOf, responsibilityOf, criticalityOf, SRV_CATALOGUE, MATRIX_CATALOGUE } from './catalogue';
import { upcast, deviceStream, meterPointStream, userStream } from './events';
import {
  DomainError,
  distributorOf,
  mpanCheckDigit,
  parseEui64,
  parseInstant,
  readInstant,
  parseInventoryMpxn,
  parseMpan,
  parseMpxn,
  parseMprn,
  parseRequestId,
  type Mpan,
} from './identifiers';
import { parseServiceRequest, recordRequest, requestDifferences, requestFromRecord, type ServiceRequestInput } from './request';
import { getRuleSet } from './rule-sets';

/** The edges of the identifiers, the catalogue and the request parser: one row per way to be wrong. */

const refusal = (fn: () => unknown): { field: string; reason: string } | 'accepted' => {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { field: e.field, reason: e.reason };
  }
};

describe('EUI-64: exactly 16 hex digits, nothing kept from a longer or shorter value', () => {
  it.each`
    value                              | why
    ${'90B3D51F300200001'}             | ${'17 hex digits'}
    ${'90-B3-D5-1F-30-02-00-00-1'}     | ${'17 hex digits, hyphenated'}
    ${'90-B3-D5-1F-30-02-00-001'}      | ${'a last octet of three digits'}
    ${'190-B3-D5-1F-30-02-00-00'}      | ${'a first octet of three digits'}
    ${'90B3D51F30020000 1'}            | ${'a trailing digit after a space'}
    ${'90B3D51F3002000'}               | ${'15 hex digits'}
    ${'90B3D51F30020000AB'}            | ${'18 hex digits'}
    ${'90-B3-D5-1F-30-02-00-0G'}       | ${'a non-hex digit'}
  `('$value ($why) is refused', ({ value }) => {
    expect(refusal(() => parseEui64(value, 'deviceId'))).toEqual({ field: 'deviceId', reason: `'${value}' is not an EUI-64 (8 hex octets, e.g. 90-B3-D5-1F-30-02-00-00)` });
  });

  it.each([[12345], [null], [undefined], [{}]])('%p is refused as not a string', (value) => {
    expect(refusal(() => parseEui64(value, 'userId'))).toEqual({ field: 'userId', reason: 'must be an EUI-64 string' });
  });

  it('a RequestID whose originator has 17 hex digits is refused, naming the originator', () => {
    expect(refusal(() => parseRequestId('90B3D51F300300001:00-DB-12-34-56-78-90-01:1'))).toMatchObject({ field: 'requestId.originator' });
    expect(refusal(() => parseRequestId('90-B3-D5-1F-30-03-00-0A:00DB1234567890011:1'))).toMatchObject({ field: 'requestId.target' });
  });
});

describe('RequestID counter: 1 to 20 decimal digits, at most 2^64-1', () => {
  const o = '90-B3-D5-1F-30-02-00-00';
  const t = '00-DB-12-34-56-78-90-01';
  it.each`
    counter                    | result
    ${'00000000000000000001'}  | ${'1'}
    ${'18446744073709551615'}  | ${'18446744073709551615'}
    ${'018446744073709551615'} | ${'not a decimal counter'}
    ${'1.5'}                   | ${'not a decimal counter'}
    ${''}                      | ${'not a decimal counter'}
    ${'1 '}                    | ${'1'}
    ${'99999999999999999999'}  | ${'over 2^64-1'}
  `('counter $counter: $result', ({ counter, result }) => {
    const r = refusal(() => parseRequestId(`${o}:${t}:${counter}`));
    if (r === 'accepted') expect(parseRequestId(`${o}:${t}:${counter}`).counter.toString()).toBe(result);
    else expect(r.reason).toContain(result);
  });
  it('four parts, or a non-string, are refused', () => {
    expect(refusal(() => parseRequestId(`${o}:${t}:1:2`))).toEqual({ field: 'requestId', reason: `'${o}:${t}:1:2' is not originatorUserID:targetDeviceID:counter` });
    expect(refusal(() => parseRequestId(7, 'rid'))).toEqual({ field: 'rid', reason: 'must be a string originator:target:counter' });
  });
});

describe('MPAN check digit, MPRN, and which is which', () => {
  it.each`
    first12           | digit
    ${'141234567890'} | ${1}
    ${'220000012345'} | ${3}
    ${'000000000000'} | ${0}
    ${'100000000000'} | ${3}
    ${'000000000001'} | ${0}
    ${'000000000010'} | ${8}
    ${'010000000000'} | ${5}
    ${'200000000000'} | ${6}
    ${'900000000000'} | ${5}
  `('the check digit of $first12 is $digit', ({ first12, digit }) => {
    expect(mpanCheckDigit(first12)).toBe(digit);
  });

  it('a weighted sum that is 10 mod 11 gives check digit 0 (mod 10)', () => {
    // 7 x 3 = 21 = 10 mod 11
    expect(mpanCheckDigit('700000000000')).toBe(0);
    expect(parseMpan('7000000000000')).toBe('7000000000000');
  });

  it.each`
    value               | mpxn                                 | inventory
    ${'123456'}         | ${'123456'}                          | ${'123456'}
    ${'12345'}          | ${'neither'}                         | ${'neither'}
    ${'1234567890'}     | ${'1234567890'}                      | ${'1234567890'}
    ${'12345678901'}    | ${'neither'}                         | ${'neither'}
    ${'123456789012'}   | ${'neither'}                         | ${'neither'}
    ${' 1412345678901 '} | ${'1412345678901'}                  | ${'1412345678901'}
    ${'1412345678909'}  | ${'check digit'}                     | ${'1412345678909'}
    ${'14123456789012'} | ${'neither'}                         | ${'neither'}
  `('$value: as Registration Data $mpxn, in the inventory $inventory', ({ value, mpxn, inventory }) => {
    const outcome = (f: () => string) => {
      const r = refusal(f);
      return r === 'accepted' ? f() : /check digit/.test(r.reason) ? 'check digit' : /neither/.test(r.reason) ? 'neither' : r.reason;
    };
    expect(outcome(() => parseMpxn(value))).toBe(mpxn);
    expect(outcome(() => parseInventoryMpxn(value))).toBe(inventory);
  });

  it('each parser names its own field and says what it wanted', () => {
    expect(refusal(() => parseMpan(1412345678901))).toEqual({ field: 'mpan', reason: "'1412345678901' is not an MPAN core (13 digits)" });
    expect(refusal(() => parseMprn('12a456', 'gas'))).toEqual({ field: 'gas', reason: "'12a456' is not an MPRN (6 to 10 digits)" });
    expect(refusal(() => parseMpxn(undefined))).toEqual({ field: 'mpxn', reason: "'undefined' is neither an MPAN core (13 digits) nor an MPRN (6 to 10 digits)" });
    expect(refusal(() => parseInventoryMpxn('12'))).toMatchObject({ field: 'mpxn' });
    expect(distributorOf('2200000123453' as Mpan)).toEqual({ id: '22', area: 'South Western' });
  });
});

describe('instants: ISO-8601 with a zone, normalised to UTC milliseconds', () => {
  it.each`
    value                              | instant
    ${'2024-05-01'}                    | ${'2024-05-01T00:00:00.000Z'}
    ${' 2024-05-01T12:30Z '}           | ${'2024-05-01T12:30:00.000Z'}
    ${'2024-05-01T12:30:15.5Z'}        | ${'2024-05-01T12:30:15.500Z'}
    ${'2024-05-01T12:30:15.123456Z'}   | ${'2024-05-01T12:30:15.123Z'}
    ${'2024-05-01T00:30:00-01:00'}     | ${'2024-05-01T01:30:00.000Z'}
    ${'2024-05-01T00:30:00+01:00'}     | ${'2024-04-30T23:30:00.000Z'}
    ${'2024-05-01T12:30:00'}           | ${'time zone'}
    ${'2024-05-01 12:30:00Z'}          | ${'time zone'}
    ${'01/05/2024'}                    | ${'time zone'}
    ${'2024-05-01T25:00:00Z'}          | ${'not a valid date-time'}
    ${'2024-13-01'}                    | ${'not a valid date-time'}
    ${'2024-02-29'}                    | ${'2024-02-29T00:00:00.000Z'}
    ${'2000-02-29T12:00:00Z'}          | ${'2000-02-29T12:00:00.000Z'}
    ${'2024-03-01T00:30:00+01:00'}     | ${'2024-02-29T23:30:00.000Z'}
    ${'2023-02-28T23:30:00-01:00'}     | ${'2023-03-01T00:30:00.000Z'}
    ${'2024-12-31T23:59:59.999-23:59'} | ${'2025-01-01T23:58:59.999Z'}
    ${'2024-02-30'}                    | ${"'2024-02-30' is not a valid date-time: day 30 is not a day of February 2024 (01-29)"}
    ${'2023-02-29T10:00:00Z'}          | ${'day 29 is not a day of February 2023 (01-28)'}
    ${'1900-02-29'}                    | ${'day 29 is not a day of February 1900 (01-28)'}
    ${'2024-04-31T10:00:00+01:00'}     | ${'day 31 is not a day of April 2024 (01-30)'}
    ${'2024-05-00'}                    | ${'day 00 is not a day of May 2024 (01-31)'}
    ${'2024-13-01T00:00:00.000Z'}      | ${'month 13 is not a month (01-12)'}
    ${'2024-05-01T24:00:00Z'}          | ${'hour 24 is not an hour of the day (00-23)'}
    ${'2024-05-01T24:00Z'}             | ${'hour 24 is not an hour of the day (00-23)'}
    ${'2024-05-01T23:60Z'}             | ${'minute 60 is not a minute (00-59)'}
    ${'2024-05-01T23:59:60Z'}          | ${'second 60 is not a second (00-59)'}
    ${'2024-05-01T00:00:00+24:00'}     | ${'offset +24:00 is not an offset from UTC'}
    ${'2024-05-01T00:00:00-01:60'}     | ${'offset -01:60 is not an offset from UTC'}
    ${'9999-12-31T23:30:00-01:00'}     | ${'outside the years 0000-9999 in UTC'}
    ${'0000-01-01T00:30:00+01:00'}     | ${'outside the years 0000-9999 in UTC'}
  `('$value: $instant', ({ value, instant }) => {
    const r = refusal(() => parseInstant(value, 'at'));
    expect(r === 'accepted' ? parseInstant(value, 'at') : r.reason).toContain(instant);
  });
  it('a non-string is refused', () => expect(refusal(() => parseInstant(20240501, 'at'))).toEqual({ field: 'at', reason: 'must be an ISO-8601 date-time' }));
  it.each`
    value                          | read
    ${'2024-02-30T00:00:00.000Z'}  | ${'2024-03-01T00:00:00.000Z'}
    ${'2023-02-29T10:00:00.000Z'}  | ${'2023-03-01T10:00:00.000Z'}
    ${'2024-05-01T24:00:00.000Z'}  | ${'2024-05-02T00:00:00.000Z'}
    ${'2024-02-29T23:59:59.999Z'}  | ${'2024-02-29T23:59:59.999Z'}
    ${'2024-02-30'}                | ${'2024-03-01T00:00:00.000Z'}
    ${'+010000-01-01T00:30:00.000Z'} | ${'+010000-01-01T00:30:00.000Z'}
    ${'-000001-12-31T23:00:00.000Z'} | ${'-000001-12-31T23:00:00.000Z'}
  `('an instant of a recorded request is read back as it always was (readInstant): $value as $read', ({ value, read }) => {
    expect(readInstant(value, 'at')).toBe(read);
  });
  it('readInstant refuses what no Date reads, as parseInstant', () => {
    expect(refusal(() => readInstant('2024-05-01T23:60:00.000Z', 'at'))).toEqual({ field: 'at', reason: "'2024-05-01T23:60:00.000Z' is not a valid date-time" });
    expect(refusal(() => readInstant('2024-05-01T12:00:00', 'at'))).toMatchObject({ field: 'at', reason: expect.stringContaining('with a time zone') });
  });
  it('every instant a Date writes in the years 0000-9999 (the form every instant the ledger recorded has) is taken as it is: strictness refuses nothing recorded', () => {
    const edges = [Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2000, 1, 29), Date.UTC(2100, 1, 28, 23, 59, 59, 999), Date.parse('0000-01-01T00:00:00.000Z'), Date.parse('9999-12-31T23:59:59.999Z')];
    const span = Date.parse('9999-12-31T23:59:59.999Z') - Date.parse('0000-01-01T00:00:00.000Z');
    let seed = 13;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const sampled = Array.from({ length: 20_000 }, () => Date.parse('0000-01-01T00:00:00.000Z') + Math.floor(random() * span));
    for (const ms of [...edges, ...sampled]) {
      const recorded = new Date(ms).toISOString();
      expect([recorded, parseInstant(recorded, 'at')]).toEqual([recorded, recorded]);
    }
  });
});

describe('the catalogue', () => {
  it.each`
    srv         | critical | eligibleRoles                  | deviceTypes                 | allowedStatuses                                   | placesCertificates
    ${'6.15.1'} | ${true}  | ${['IS', 'GS', 'ED', 'GT']}    | ${['ESME', 'GSME', 'GPF']}  | ${['Commissioned', 'InstalledNotCommissioned']}   | ${'remotePartyRole'}
    ${'6.15.2'} | ${true}  | ${['IS', 'GS']}                | ${['ESME', 'GSME', 'GPF']}  | ${['Commissioned', 'InstalledNotCommissioned']}   | ${false}
    ${'6.21'}   | ${false} | ${['IS', 'GS']}                | ${['ESME', 'GSME', 'GPF']}  | ${['Commissioned', 'InstalledNotCommissioned']}   | ${'remotePartyRole'}
    ${'6.23'}   | ${false} | ${['IS', 'GS']}                | ${['ESME', 'GSME', 'GPF']}  | ${['Commissioned', 'InstalledNotCommissioned']}   | ${'supplier'}
    ${'6.24.1'} | ${false} | ${['IS', 'GS', 'ED', 'GT']}    | ${['ESME', 'GSME', 'GPF']}  | ${['Commissioned', 'InstalledNotCommissioned']}   | ${false}
    ${'7.1'}    | ${true}  | ${['IS']}                      | ${['ESME']}                 | ${['Commissioned']}                               | ${false}
    ${'7.2'}    | ${true}  | ${['IS', 'GS']}                | ${['ESME', 'GSME']}         | ${['Commissioned']}                               | ${false}
    ${'7.3'}    | ${true}  | ${['IS', 'GS']}                | ${['ESME', 'GSME']}         | ${['Commissioned']}                               | ${false}
    ${'11.3'}   | ${true}  | ${['IS', 'GS']}                | ${['ESME', 'GSME']}         | ${['Commissioned']}                               | ${false}
    ${'4.1.1'}  | ${false} | ${['IS', 'GS', 'ED', 'GT']}    | ${['ESME', 'GSME']}         | ${['Commissioned']}                               | ${false}
  `('catalogue@1: SRV $srv: critical $critical, roles $eligibleRoles, devices $deviceTypes, statuses $allowedStatuses, places $placesCertificates', ({ srv, ...rest }) => {
    expect(SRV_CATALOGUE[srv]).toEqual({ srv, name: expect.any(String), ...rest });
    expect(SRV_CATALOGUE[srv].name.length).toBeGreaterThan(3);
    // parseSrv trims and finds the SRV in the DUIS matrix (catalogue@2), under the same name (the matrix capitalises some words)
    const parsed = parseSrv(` ${srv} `);
    expect(parsed).toBe(MATRIX_CATALOGUE[srv]);
    expect(parsed.name.toLowerCase()).toBe(SRV_CATALOGUE[srv].name.toLowerCase());
  });

  it('the names are those of DUIS', () => {
    expect(Object.values(SRV_CATALOGUE).map((d) => [d.srv, d.name])).toEqual([
      ['6.15.1', 'Update Security Credentials (KRP)'],
      ['6.15.2', 'Update Security Credentials (Device)'],
      ['6.21', 'Request Handover of DCC Controlled Device'],
      ['6.23', 'Update Security Credentials (CoS)'],
      ['6.24.1', 'Retrieve Device Security Credentials (KRP)'],
      ['7.1', 'Enable Supply'],
      ['7.2', 'Disable Supply'],
      ['7.3', 'Arm Supply'],
      ['11.3', 'Activate Firmware'],
      ['4.1.1', 'Read Instantaneous Import Registers'],
    ]);
    expect(Object.keys(SRV_CATALOGUE)).toHaveLength(10);
    expect(refusal(() => parseSrv(6.15))).toEqual({ field: 'srv', reason: `'6.15' is not a Service Reference Variant of the DUIS request matrix (${Object.keys(MATRIX_CATALOGUE).length} SRVs, e.g. 4.1.1, 6.15.1)` });
    expect(Object.keys(MATRIX_CATALOGUE).length).toBeGreaterThan(10);
  });

  it.each`
    f                                  | cases
    ${'fuelOf'}                        | ${[[fuelOf('ESME'), 'electricity'], [fuelOf('GSME'), 'gas'], [fuelOf('GPF'), 'gas'], [fuelOf('CHF'), undefined], [fuelOf('IHD'), undefined]]}
    ${'responsibilityOf'}              | ${[[responsibilityOf('IS'), 'supplier'], [responsibilityOf('GS'), 'supplier'], [responsibilityOf('ED'), 'networkOperator'], [responsibilityOf('GT'), 'networkOperator'], [responsibilityOf('ES'), undefined], [responsibilityOf('OU'), undefined], [responsibilityOf('RSA'), undefined]]}
    ${'criticalityOf'}                 | ${[[criticalityOf('digitalSignature'), 'critical'], [criticalityOf('keyAgreement'), 'nonCritical']]}
    ${'slotPartyOfRoleCode'}           | ${[[slotPartyOfRoleCode('02'), 'supplier'], [slotPartyOfRoleCode('03'), 'networkOperator'], [slotPartyOfRoleCode('04'), undefined]]}
  `('$f', ({ cases }) => {
    for (const [got, want] of cases) expect(got).toBe(want);
  });

  it.each`
    case                          | value                                                                                                          | field                       | reason
    ${'not an object'}            | ${'A1'}                                                                                                        | ${'c'}                      | ${'must be an object'}
    ${'null'}                     | ${null}                                                                                                        | ${'c'}                      | ${'must be an object'}
    ${'a serial that is not hex'} | ${{ serial: 'G1', issuer: 'CN=CA', ownerUserId: '90b3d51f30020000', roleCode: '03', keyUsage: 'keyAgreement' }} | ${'c.serial'}               | ${'must be a hex serial number'}
    ${'an empty serial'}          | ${{ serial: '', issuer: 'CN=CA', ownerUserId: '90b3d51f30020000', roleCode: '03', keyUsage: 'keyAgreement' }}   | ${'c.serial'}               | ${'must be a hex serial number'}
    ${'a blank issuer'}           | ${{ serial: 'A1', issuer: '  ', ownerUserId: '90b3d51f30020000', roleCode: '03', keyUsage: 'keyAgreement' }}    | ${'c.issuer'}               | ${'must be the issuer name'}
    ${'a three-digit role code'}  | ${{ serial: 'A1', issuer: 'CN=CA', ownerUserId: '90b3d51f30020000', roleCode: '003', keyUsage: 'keyAgreement' }} | ${'c.roleCode'}            | ${'must be a two-digit remote-party role code'}
    ${'another key usage'}        | ${{ serial: 'A1', issuer: 'CN=CA', ownerUserId: '90b3d51f30020000', roleCode: '03', keyUsage: 'both' }}         | ${'c.keyUsage'}             | ${"must be 'digitalSignature' or 'keyAgreement'"}
    ${'a 17-digit owner'}         | ${{ serial: 'A1', issuer: 'CN=CA', ownerUserId: '90b3d51f300200001', roleCode: '03', keyUsage: 'keyAgreement' }} | ${'c.ownerUserId'}         | ${expect.stringContaining('is not an EUI-64')}
  `('a certificate identity with $case is refused at $field', ({ value, field, reason }) => {
    expect(refusal(() => parseCertificateIdentity(value, 'c'))).toEqual({ field, reason });
  });

  it('a certificate identity is normalised: serial upper case without leading zeros (one zero kept), issuer trimmed', () => {
    const base = { issuer: ' CN=CA ', ownerUserId: '90b3d51f30020000', roleCode: '02', keyUsage: 'digitalSignature' };
    expect(parseCertificateIdentity({ ...base, serial: '000ab' })).toMatchObject({ serial: 'AB', issuer: 'CN=CA', roleCode: '02', keyUsage: 'digitalSignature' });
    expect(parseCertificateIdentity({ ...base, serial: '000' }).serial).toBe('0');
  });

  it('two certificates are the same when serial and issuer agree, whoever they name', () => {
    const a = parseCertificateIdentity({ serial: 'A1', issuer: 'CN=CA', ownerUserId: '90-B3-D5-1F-30-02-00-00', roleCode: '03', keyUsage: 'digitalSignature' });
    expect(sameCertificate(a, { ...a, ownerUserId: parseEui64('90-B3-D5-1F-30-02-00-01', 'o') })).toBe(true);
    expect(sameCertificate(a, { ...a, serial: 'A2' })).toBe(false);
    expect(sameCertificate(a, { ...a, issuer: 'CN=Other' })).toBe(false);
    expect(sameCertificate(a, undefined)).toBe(false);
    expect(sameCertificate(undefined, a)).toBe(false);
  });

  it('a rule set is found by id and version; an unknown version is named', () => {
    expect(getRuleSet('registered-operator', 1)).toMatchObject({ id: 'registered-operator', version: 1, edition: 1, replaceNoStep4: 'apply', registeredOperatorOverride: true });
    expect(getRuleSet('registered-operator@1')).toBe(getRuleSet('registered-operator', 1));
    expect(getRuleSet('ownership-only')).toMatchObject({ id: 'ownership-only', version: 5, edition: 5, replaceNoStep4: 'skip', registeredOperatorOverride: false });
    expect(getRuleSet('baseline')).toMatchObject({ id: 'baseline', version: 5, edition: 5, replaceNoStep4: 'apply', registeredOperatorOverride: false });
    expect(getRuleSet('baseline', 5)).toBe(getRuleSet('baseline'));
    expect(getRuleSet('baseline', 4)).toMatchObject({ id: 'baseline', version: 4, edition: 4 });
    expect(getRuleSet('baseline', 3)).toMatchObject({ id: 'baseline', version: 3, edition: 3 });
    expect(getRuleSet('baseline', 2)).toMatchObject({ id: 'baseline', version: 2, edition: 2 });
    expect(getRuleSet('baseline', 1)).toMatchObject({ id: 'baseline', version: 1, edition: 1 });
    const known = 'known: baseline@1, ownership-only@1, registered-operator@1, baseline@2, ownership-only@2, registered-operator@2, baseline@3, ownership-only@3, registered-operator@3, baseline@4, ownership-only@4, registered-operator@4, baseline@5, ownership-only@5, registered-operator@5';
    expect(refusal(() => getRuleSet('baseline', 6))).toEqual({ field: 'ruleSet', reason: `'baseline@6' is not a known rule set (${known})` });
    expect(refusal(() => getRuleSet('baseline@6'))).toEqual({ field: 'ruleSet', reason: `'baseline@6' is not a known rule set (${known})` });
    expect(refusal(() => getRuleSet('strict'))).toEqual({ field: 'ruleSet', reason: `'strict' is not a known rule set (${known})` });
  });
});

describe('events: stream names and upcasting', () => {
  it('streams are named by kind and id', () => {
    expect([deviceStream('D'), meterPointStream('M'), userStream('U')]).toEqual(['device-D', 'meterpoint-M', 'user-U']);
  });
  it.each`
    type                         | data                   | result
    ${'ServiceRequestEvaluated'} | ${{ schemaVersion: 1 }} | ${'ok'}
    ${'UserRoleRegistered'}      | ${{ schemaVersion: 1 }} | ${'ok'}
    ${'CertificatePlaced'}       | ${{ schemaVersion: 2 }} | ${'CertificatePlaced.schemaVersion: version 2 is not known (current: 1)'}
    ${'RegistrationChanged'}     | ${null}                 | ${'RegistrationChanged.schemaVersion: version undefined is not known (current: 1)'}
    ${'SomethingElse'}           | ${{ schemaVersion: 1 }} | ${"event.type: 'SomethingElse' is not a ledger event"}
  `('$type $data: $result', ({ type, data, result }) => {
    const r = refusal(() => upcast(type, data));
    expect(r === 'accepted' ? 'ok' : `${r.field}: ${r.reason}`).toBe(result);
    if (result === 'ok') expect(upcast(type, data)).toEqual({ type, data });
  });
});

describe('a service request: what it must carry, and what it may not', () => {
  const O = '90-B3-D5-1F-30-03-00-0A';
  const D = '00-DB-12-34-56-78-90-01';
  const c = (keyUsage: string, serial = 'A1') => ({ serial, issuer: 'CN=CA', ownerUserId: O, roleCode: '03', keyUsage });
  const input = (extra: Partial<ServiceRequestInput>): ServiceRequestInput => ({ requestId: `${O}:${D}:1`, srv: '4.1.1', receivedAt: '2024-03-01T00:00:00Z', format: 'json', ...extra });
  it.each`
    case                                              | extra                                                                                                   | field                       | reason
    ${'command variant 0'}                            | ${{ commandVariant: 0 }}                                                                                | ${'commandVariant'}         | ${"'0' is not a command variant (1-8)"}
    ${'command variant 9'}                            | ${{ commandVariant: 9 }}                                                                                | ${'commandVariant'}         | ${"'9' is not a command variant (1-8)"}
    ${'command variant 1.5'}                          | ${{ commandVariant: 1.5 }}                                                                              | ${'commandVariant'}         | ${"'1.5' is not a command variant (1-8)"}
    ${'an unknown role'}                              | ${{ role: 'XX' }}                                                                                       | ${'role'}                   | ${expect.stringContaining("'XX' is not a User Role")}
    ${'a signing role code of one digit'}             | ${{ signingRoleCode: '3' }}                                                                             | ${'signingRoleCode'}        | ${'must be a two-digit role code'}
    ${'a numeric signing role code'}                  | ${{ signingRoleCode: 3 }}                                                                               | ${'signingRoleCode'}        | ${'must be a two-digit role code'}
    ${'a range ending before it starts'}              | ${{ dateRange: { from: '2024-02-01', to: '2024-01-31T23:59:59Z' } }}                                     | ${'dateRange'}              | ${'ends (2024-01-31T23:59:59.000Z) before it starts (2024-02-01T00:00:00.000Z)'}
    ${'a range without its end'}                      | ${{ dateRange: { from: '2024-02-01' } }}                                                                | ${'dateRange.to'}           | ${'must be an ISO-8601 date-time'}
    ${'a bad execution time'}                         | ${{ executionDateTime: 'tomorrow' }}                                                                    | ${'executionDateTime'}      | ${expect.stringContaining('not an ISO-8601')}
    ${'an unknown RemotePartyRole'}                   | ${{ srv: '6.15.1', remotePartyRole: 'Operator', certificates: [c('digitalSignature')] }}                | ${'remotePartyRole'}        | ${expect.stringContaining("'Operator' is not a RemotePartyRole")}
    ${'a 6.15.1 without a RemotePartyRole'}           | ${{ srv: '6.15.1', certificates: [c('digitalSignature')] }}                                             | ${'remotePartyRole'}        | ${'SRV 6.15.1 must name the RemotePartyRole whose credentials it replaces'}
    ${'a 6.21 without a RemotePartyRole'}             | ${{ srv: '6.21', certificates: [c('digitalSignature')] }}                                               | ${'remotePartyRole'}        | ${'SRV 6.21 must name the RemotePartyRole whose credentials it replaces'}
    ${'a 6.23 without a certificate'}                 | ${{ srv: '6.23' }}                                                                                      | ${'certificates'}           | ${'SRV 6.23 must carry at least one replacement certificate'}
    ${'a 4.1.1 carrying a certificate'}               | ${{ certificates: [c('digitalSignature')] }}                                                            | ${'certificates'}           | ${'SRV 4.1.1 does not carry replacement certificates'}
    ${'two signing certificates'}                     | ${{ srv: '6.23', certificates: [c('digitalSignature'), c('digitalSignature', 'A2')] }}                  | ${'certificates'}           | ${'at most one digital-signing and one key-agreement certificate may be carried'}
    ${'a bad second certificate'}                     | ${{ srv: '6.23', certificates: [c('digitalSignature'), { ...c('keyAgreement'), serial: 'zz' }] }}       | ${'certificates[1].serial'} | ${'must be a hex serial number'}
    ${'no receivedAt'}                                | ${{ receivedAt: undefined }}                                                                            | ${'receivedAt'}             | ${'must be an ISO-8601 date-time'}
  `('$case is refused at $field', ({ extra, field, reason }) => {
    expect(refusal(() => parseServiceRequest(input(extra)))).toEqual({ field, reason });
  });

  it.each`
    case                                   | extra                                                                                      | check
    ${'command variant 1 and 8'}           | ${{ commandVariant: '8' }}                                                                 | ${(r: ReturnType<typeof parseServiceRequest>) => r.commandVariant === 8}
    ${'a null command variant'}            | ${{ commandVariant: null, role: null, signingRoleCode: null, executionDateTime: null, remotePartyRole: null }} | ${(r: ReturnType<typeof parseServiceRequest>) => !('commandVariant' in r) && !('statedRole' in r) && !('signingRoleCode' in r) && !('executionDateTime' in r) && !('remotePartyRole' in r)}
    ${'a range of one instant'}            | ${{ dateRange: { from: '2024-02-01', to: '2024-02-01T00:00:00Z' } }}                       | ${(r: ReturnType<typeof parseServiceRequest>) => r.dateRange?.to === '2024-02-01T00:00:00.000Z'}
    ${'a signing and a key-agreement certificate'} | ${{ srv: '6.23', certificates: [c('digitalSignature'), c('keyAgreement', 'A2')] }} | ${(r: ReturnType<typeof parseServiceRequest>) => r.certificates.length === 2}
  `('$case is accepted', ({ extra, check }) => {
    expect(check(parseServiceRequest(input(extra)))).toBe(true);
  });

  it('a recorded request keeps exactly what was given, and is read back to the same request', () => {
    const full = parseServiceRequest(
      input({ srv: '6.15.1', commandVariant: 2, role: 'ED', signingRoleCode: '03', executionDateTime: '2030-01-01', dateRange: { from: '2024-01-01', to: '2024-02-01' }, remotePartyRole: 'NetworkOperator', certificates: [c('digitalSignature')], format: 'duis' }),
    );
    const recorded = recordRequest(full);
    expect(recorded).toEqual({
      requestId: `${O}:${D}:1`,
      originator: O,
      target: D,
      counter: '1',
      srv: '6.15.1',
      commandVariant: 2,
      statedRole: 'ED',
      signingRoleCode: '03',
      executionDateTime: '2030-01-01T00:00:00.000Z',
      dateRange: { from: '2024-01-01T00:00:00.000Z', to: '2024-02-01T00:00:00.000Z' },
      remotePartyRole: 'NetworkOperator',
      certificates: [{ serial: 'A1', issuer: 'CN=CA', ownerUserId: O, roleCode: '03', keyUsage: 'digitalSignature' }],
      receivedAt: '2024-03-01T00:00:00.000Z',
      format: 'duis',
      signatureVerified: false,
    });
    expect(requestFromRecord(recorded)).toEqual(full);
    const bare = recordRequest(parseServiceRequest(input({})));
    expect(Object.keys(bare).sort()).toEqual(['certificates', 'counter', 'format', 'originator', 'receivedAt', 'requestId', 'signatureVerified', 'srv', 'target']);
    expect(recordRequest(parseServiceRequest(input({ commandVariant: 1 }))).commandVariant).toBe(1);
  });

  it('requestDifferences ignores the arrival (time, format, signature flag) and names every other field that differs, sorted', () => {
    const a = recordRequest(parseServiceRequest(input({ dateRange: { from: '2024-01-01', to: '2024-02-01' } })));
    expect(requestDifferences(a, { ...a, receivedAt: '2030-01-01T00:00:00.000Z', format: 'duis', signatureVerified: true as never })).toEqual([]);
    expect(requestDifferences(a, { ...a, dateRange: { from: '2024-01-01T00:00:00.000Z', to: '2024-02-02T00:00:00.000Z' }, commandVariant: 3 })).toEqual(['commandVariant', 'dateRange']);
    const { dateRange: _gone, ...withoutRange } = a;
    expect(requestDifferences(a, withoutRange)).toEqual(['dateRange']);
    expect(requestDifferences(withoutRange, a)).toEqual(['dateRange']);
  });
});

describe('a refusal quotes the value refused', () => {
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return (err as DomainError).reason;
    }
    throw new Error('not refused');
  };
  const long = '9'.repeat(1_000_000);
  it.each`
    given                                         | when                                  | then
    ${'an MPxN of 1,000,000 digits'}              | ${() => parseMpxn(long)}              | ${`'${'9'.repeat(100)}...' (1000000 UTF-16 code units) is neither an MPAN core (13 digits) nor an MPRN (6 to 10 digits)`}
    ${'an EUI-64 of 1,000,000 characters'}        | ${() => parseEui64(long, 'deviceId')} | ${`'${'9'.repeat(100)}...' (1000000 UTF-16 code units) is not an EUI-64 (8 hex octets, e.g. 90-B3-D5-1F-30-02-00-00)`}
    ${'a value of 100 characters'}                | ${() => parseMpxn('x'.repeat(100))}   | ${`'${'x'.repeat(100)}' is neither an MPAN core (13 digits) nor an MPRN (6 to 10 digits)`}
    ${'a pair of surrogates at the cut'}          | ${() => parseMpxn(`${'a'.repeat(99)}\u{1F600}x`)} | ${`'${'a'.repeat(99)}...' (102 UTF-16 code units) is neither an MPAN core (13 digits) nor an MPRN (6 to 10 digits)`}
  `('given $given, the reason quotes at most 100 characters of it and says how long it was', ({ when, then }) => {
    expect(refusal(when)).toBe(then);
  });
});
