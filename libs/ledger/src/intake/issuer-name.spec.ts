import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { issuerNameKey, sameIssuerName } from '@ledger/domain';
import { parseCertificate } from './certificates';
import { makeCertificate } from './testing/make-certificate';

const NO_A = '90-B3-D5-1F-30-03-00-0A';

/**
 * From rule sets @5 an issuer is compared as a name (libs/domain/src/issuer-name.ts): the issuer a
 * DER certificate gives (the X.509 library's rendering) and the same issuer written as JSON
 * identity fields are the same name, however the JSON spells it.
 */
describe('the issuer read from DER and the same name given as JSON', () => {
  it.each`
    encoded                                                         | json                               | rendered
    ${'CN=Test CA,O=X'}                                             | ${'CN=Test CA,O=X'}                | ${'CN=Test CA, O=X'}
    ${'CN=Test SMKI Issuing CA,O=DCC,C=GB'}                         | ${'cn=test smki issuing ca,o=dcc,c=gb'} | ${'CN=Test SMKI Issuing CA, O=DCC, C=GB'}
    ${new x509.Name([{ CN: [{ bmpString: 'Test CA' }] }, { O: [{ utf8String: 'A, Ltd' }] }])} | ${'CN=Test CA,O=A\\, Ltd'} | ${'CN=Test CA, O=A\\, Ltd'}
    ${new x509.Name([{ CN: [{ printableString: 'Test CA' }], O: [{ utf8String: 'X' }] }])}  | ${'O=X+CN=Test CA'}      | ${'CN=Test CA+O=X'}
  `('$json is the issuer rendered $rendered', async ({ encoded, json, rendered }) => {
    const c = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature', issuerName: encoded });
    const issuer = parseCertificate(c.base64, 'cert').issuer;
    expect(issuer).toBe(rendered);
    expect(sameIssuerName(issuer, json)).toBe(true);
    expect(issuerNameKey(issuer)).toBe(issuerNameKey(json));
    expect(sameIssuerName(issuer, json.replace('=', '=Other '))).toBe(false);
  });
});

describe('issuers the X.509 library renders with unescaped spaces after an escape', () => {
  it('a CN of one space and a CN of one backslash are two names, compared as text', async () => {
    const issuers = [];
    for (const cn of [' ', '\\']) {
      const c = await makeCertificate({ ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature', issuerName: new x509.Name([{ CN: [{ utf8String: cn }] }, { O: [{ utf8String: 'X' }] }]) });
      issuers.push(parseCertificate(c.base64, 'cert').issuer);
    }
    expect(issuers).toEqual(['CN=\\\\ , O=X', 'CN=\\\\, O=X']);
    expect(sameIssuerName(issuers[0], issuers[1])).toBe(false);
    expect(issuerNameKey(issuers[0])).toBe(`text:${issuers[0]}`);
  });
});
