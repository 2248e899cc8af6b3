import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCertificateIdentity, parseSrv } from './catalogue';
import {
  DomainError,
  formatRequestId,
  parseDistributorId,
  parseEui64,
  parseInstant,
  parseMpan,
  parseMprn,
  parseInventoryMpxn,
  parseMpxn,
  parseRemotePartyRole,
  parseRequestId,
  parseUserRole,
} from './identifiers';
import { getRuleSet, RULE_SETS } from './rule-sets';

const rejects = (fn: () => unknown, field: string, reason: RegExp) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DomainError);
  expect(err).toMatchObject({ field });
  expect((err as DomainError).reason).toMatch(reason);
};

describe('MPAN core: 13 digits, check digit = (sum of digits x 3,5,7,13,17,19,23,29,31,37,41,43) mod 11 mod 10', () => {
  it.each([['1412345678901'], ['2200000123453'], ['1000000000003']])('%s is valid', (mpan) => {
    expect(parseMpan(mpan)).toBe(mpan);
  });
  it.each`
    value              | reason
    ${'1412345678902'} | ${/check digit \(last digit should be 1\)/}
    ${'2200000123450'} | ${/check digit/}
    ${'141234567890'}  | ${/13 digits/}
    ${'14123456789O1'} | ${/13 digits/}
    ${''}              | ${/13 digits/}
  `('$value is refused: $reason', ({ value, reason }) => rejects(() => parseMpan(value), 'mpan', reason));
});

describe("the inventory's MPxN: DCC test MPANs that fail the check digit are kept, since requests are judged on what the inventory links", () => {
  it.each`
    value              | registrationData                 | inventory
    ${'1412345678901'} | ${'1412345678901'}               | ${'1412345678901'}
    ${'1412345678902'} | ${'refused: check digit'}        | ${'1412345678902'}
    ${'1234567'}       | ${'1234567'}                     | ${'1234567'}
    ${'14123456789'}   | ${'refused: neither'}            | ${'refused: neither'}
  `('$value: Registration Data $registrationData, inventory $inventory', ({ value, registrationData, inventory }) => {
    const outcome = (f: () => string) => {
      try {
        return f();
      } catch (err) {
        return `refused: ${/check digit/.test((err as Error).message) ? 'check digit' : 'neither'}`;
      }
    };
    expect(outcome(() => parseMpxn(value))).toBe(registrationData);
    expect(outcome(() => parseInventoryMpxn(value))).toBe(inventory);
  });
});

describe('MPRN: 6 to 10 digits, no check applied', () => {
  it.each(['123456', '1234567890'])('%s is valid', (v) => expect(parseMprn(v)).toBe(v));
  it.each(['12345', '12345678901', '12a456'])('%s is refused', (v) => rejects(() => parseMprn(v), 'mprn', /6 to 10 digits/));
  it('an MPxN of 13 digits is an MPAN, of 6-10 an MPRN', () => {
    expect(parseMpxn('1412345678901')).toBe('1412345678901');
    expect(parseMpxn('7654321')).toBe('7654321');
    rejects(() => parseMpxn('12345678901'), 'mpxn', /neither/);
  });
});

describe('EUI-64: upper or lower case, with or without hyphens, normalised to upper-case hyphenated', () => {
  it.each`
    given                        | normalised
    ${'90-B3-D5-1F-30-02-00-00'} | ${'90-B3-D5-1F-30-02-00-00'}
    ${'90-b3-d5-1f-30-02-00-00'} | ${'90-B3-D5-1F-30-02-00-00'}
    ${'90B3D51F30020000'}        | ${'90-B3-D5-1F-30-02-00-00'}
    ${'90b3d51f30020000'}        | ${'90-B3-D5-1F-30-02-00-00'}
    ${' 90:B3:D5:1F:30:02:00:00'} | ${'90-B3-D5-1F-30-02-00-00'}
    ${'90-B3-D5-1F-30-02-00-00 '} | ${'90-B3-D5-1F-30-02-00-00'}
    ${'90-B3:D5-1F-30-02-00-0a'} | ${'90-B3-D5-1F-30-02-00-0A'}
  `('$given is $normalised (the value itself when already so: every identifier the ledger recorded)', ({ given, normalised }) => expect(parseEui64(given, 'deviceId')).toBe(normalised));
  it.each(['90-B3-D5-1F-30-02-00', '90B3D51F3002000G', '90-B3D5-1F-30-02-00-00', 'x', ''])('%s is refused, naming the field', (v) =>
    rejects(() => parseEui64(v, 'deviceId'), 'deviceId', /is not an EUI-64/),
  );
});

describe('RequestID: originator:target:counter, counter 0..2^64-1', () => {
  const o = '90-B3-D5-1F-30-02-00-00';
  const t = '00-DB-12-34-56-78-90-01';
  it.each(['0', '1', '18446744073709551615'])('counter %s is valid and round-trips', (c) => {
    const id = parseRequestId(`${o}:${t}:${c}`);
    expect(id.counter).toBe(BigInt(c));
    expect(formatRequestId(id)).toBe(`${o}:${t}:${c}`);
  });
  it.each`
    value                                | field                  | reason
    ${`${o}:${t}:18446744073709551616`} | ${'requestId.counter'} | ${/over 2\^64-1/}
    ${`${o}:${t}:-1`}                   | ${'requestId.counter'} | ${/not a decimal counter/}
    ${`${o}:${t}`}                      | ${'requestId'}         | ${/originatorUserID:targetDeviceID:counter/}
    ${`${o}:nope:1`}                    | ${'requestId.target'}  | ${/EUI-64/}
  `('$value is refused ($field)', ({ value, field, reason }) => rejects(() => parseRequestId(value), field, reason));
});

describe('distributor IDs: 10-23 are the named GB licence areas, other two-digit IDs valid but unnamed', () => {
  it.each`
    id      | area
    ${'10'} | ${'Eastern'}
    ${'14'} | ${'Midlands'}
    ${'23'} | ${'Yorkshire'}
    ${'24'} | ${undefined}
  `('$id is $area', ({ id, area }) => expect(parseDistributorId(id)).toEqual({ id, area }));
  it('three digits is refused', () => rejects(() => parseDistributorId('100'), 'distributorId', /two digits/));
});

describe('catalogues', () => {
  it('SRVs come from the catalogue with criticality and eligible roles; an unknown SRV is named', () => {
    expect(parseSrv('6.15.1')).toMatchObject({ critical: true, eligibleRoles: ['IS', 'GS', 'ED', 'GT'] });
    expect(parseSrv('4.1.1')).toMatchObject({ critical: false });
    rejects(() => parseSrv('9.99'), 'srv', /'9.99' is not a Service Reference Variant of the DUIS request matrix/);
  });
  it('User Roles, RemotePartyRoles and rule sets are closed lists', () => {
    expect(parseUserRole('ED')).toBe('ED');
    rejects(() => parseUserRole('XX'), 'role', /not a User Role/);
    expect(parseRemotePartyRole('NetworkOperator')).toBe('NetworkOperator');
    rejects(() => parseRemotePartyRole('Operator'), 'remotePartyRole', /not a RemotePartyRole/);
    expect(RULE_SETS.map((r) => `${r.id}@${r.version}`)).toEqual(['baseline@1', 'ownership-only@1', 'registered-operator@1', 'baseline@2', 'ownership-only@2', 'registered-operator@2', 'baseline@3', 'ownership-only@3', 'registered-operator@3', 'baseline@4', 'ownership-only@4', 'registered-operator@4', 'baseline@5', 'ownership-only@5', 'registered-operator@5']);
    expect(getRuleSet('ownership-only').version).toBe(5);
    expect(getRuleSet('ownership-only', 1).version).toBe(1);
    expect(getRuleSet('ownership-only@1').version).toBe(1);
    rejects(() => getRuleSet('lenient'), 'ruleSet', /not a known rule set/);
  });
  it('a certificate identity: serial + issuer, owner User ID, role code and key usage', () => {
    expect(parseCertificateIdentity({ serial: '00a1', issuer: 'CN=CA', ownerUserId: '90b3d51f30020000', roleCode: '03', keyUsage: 'keyAgreement' })).toEqual({
      serial: 'A1',
      issuer: 'CN=CA',
      ownerUserId: '90-B3-D5-1F-30-02-00-00',
      roleCode: '03',
      keyUsage: 'keyAgreement',
    });
    rejects(() => parseCertificateIdentity({ serial: 'A1', issuer: 'CN=CA', ownerUserId: 'x', roleCode: '03', keyUsage: 'keyAgreement' }, 'cert'), 'cert.ownerUserId', /EUI-64/);
  });
  it('instants are normalised to UTC ISO-8601; a bare date is midnight UTC', () => {
    expect(parseInstant('2024-05-01', 'at')).toBe('2024-05-01T00:00:00.000Z');
    expect(parseInstant('2024-05-01T01:00:00+01:00', 'at')).toBe('2024-05-01T00:00:00.000Z');
    rejects(() => parseInstant('2024-05-01T00:00:00', 'at'), 'at', /time zone/);
  });
});

describe('the domain library is pure', () => {
  it('imports nothing but its own modules: no Nest, no Node I/O', () => {
    const files = fs.readdirSync(__dirname, { recursive: true }).map(String).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const src = fs.readFileSync(path.join(__dirname, f), 'utf8');
      const imports = [...src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
      // The one import from outside: the DUIS request matrix, a JSON data module (srv-table.ts).
      expect({ file: f, outside: imports.filter((i) => !i.startsWith('.') && i !== '@smartdcc/duis-parser/dist/duis-request-matrix.json') }).toEqual({ file: f, outside: [] });
      expect({ file: f, clock: /Date\.now\(|new Date\(\)|Math\.random/.test(src) }).toEqual({ file: f, clock: false });
    }
  });
});
