import { issuerNameKey, sameIssuerName } from './issuer-name';

/**
 * A certificate is identified by serial number + issuer name (domain.md section 3): from rule sets
 * @5 the issuer is compared as an X.500 name (RFC 5280 section 7.1, RFC 4518's preparation), not as
 * text. Where either text does not read as a name, as text.
 */
describe('issuer names compared as names', () => {
  it.each`
    a                                          | b                                              | same     | why
    ${'CN=Test CA,O=X'}                        | ${'CN=Test CA, O=X'}                           | ${true}  | ${'a space after the comma (the X.509 library renders one)'}
    ${'CN=Test CA,O=X'}                        | ${'cn=Test CA,o=X'}                            | ${true}  | ${'short names in any case'}
    ${'CN=Test CA,O=X'}                        | ${'2.5.4.3=Test CA,2.5.4.10=X'}                | ${true}  | ${'a short name stands for its OID'}
    ${'CN=Test CA,O=X'}                        | ${'CN=test ca,O=x'}                            | ${true}  | ${'values compared without case'}
    ${'CN=Test CA,O=X'}                        | ${'CN =  Test   CA , O= X '}                   | ${true}  | ${'insignificant spaces'}
    ${'CN=Test CA,O=X'}                        | ${'CN=Test\u00A0CA,O=X'}                       | ${true}  | ${'a no-break space is a space'}
    ${'CN=Test CA,O=X'}                        | ${'CN=Test\u00ADCA,O=X'}                       | ${false} | ${'a soft hyphen maps to nothing: TestCA is another value'}
    ${'CN=TestCA,O=X'}                         | ${'CN=Test\u00ADCA,O=X'}                       | ${true}  | ${'a soft hyphen maps to nothing'}
    ${'CN=Test CA,O=X'}                        | ${'CN=Ｔｅｓｔ CA,O=X'}                          | ${false} | ${'full-width letters: outside U+0000-U+024F, compared exactly'}
    ${'CN=ǆ,O=X'}                              | ${'CN=DŽ,O=X'}                                 | ${true}  | ${'NFKC and case folding (U+01C6, U+01C4)'}
    ${'CN=\u{10D50},O=X'}                     | ${'CN=\u{10D70},O=X'}                         | ${false} | ${'code points Unicode 17 assigns as a case pair: compared exactly'}
    ${'CN=\u13A0,O=X'}                        | ${'CN=\uAB70,O=X'}                            | ${false} | ${'Cherokee capital and small letter: compared exactly'}
    ${'CN=\u1E9E,O=X'}                        | ${'CN=ss,O=X'}                                 | ${false} | ${'capital sharp s (U+1E9E): compared exactly'}
    ${'CN=A\u061CB,O=X'}                      | ${'CN=AB,O=X'}                                 | ${false} | ${'Arabic letter mark (U+061C): compared exactly'}
    ${'CN=\u0131,O=X'}                        | ${'CN=i,O=X'}                                  | ${false} | ${'dotless i: RFC 3454 B.2 does not fold it'}
    ${'CN=I,O=X'}                              | ${'CN=i,O=X'}                                  | ${true}  | ${'... as it folds I'}
    ${'CN=A \u00B4,O=X'}                      | ${'CN=A\u00B4,O=X'}                           | ${false} | ${'a space before a combining mark is not insignificant (´ is SPACE + U+0301 in NFKC)'}
    ${'CN=A   \u0301,O=X'}                    | ${'CN=A  \u0301,O=X'}                         | ${true}  | ${'... a run of spaces before it is one space'}
    ${'CN=\\EF\\BB\\BFA,O=X'}            | ${'CN=A,O=X'}                                  | ${false} | ${'a U+FEFF in hex escapes is kept'}
    ${'CN=\\EF\\BB\\BFA,O=X'}            | ${'CN=\uFEFFA, O=X'}                          | ${true}  | ${'... as the same value written as text'}
    ${'CN=\\\\ ,O=X'}                      | ${'CN=\\\\,O=X'}                           | ${false} | ${'an unescaped space after an escape: not a name'}
    ${'CN=A\\ ,O=X'}                         | ${'cn=a\\ ,O=X'}                             | ${true}  | ${'an escaped space at the end'}
    ${`CN=${'a'.repeat(4090)}`}                | ${`cn=${'A'.repeat(4090)}`}                    | ${true}  | ${'4,093 characters: read as a name'}
    ${`CN=${'a'.repeat(4093)}`}                | ${`cn=${'A'.repeat(4093)}`}                    | ${true}  | ${'4,096 characters: read as a name'}
    ${`CN=${'a'.repeat(4094)}`}                | ${`cn=${'A'.repeat(4094)}`}                    | ${false} | ${'4,097 characters: compared as text'}
    ${`CN=a${' '.repeat(4088)}b`}              | ${'cn=A b'}                                    | ${true}  | ${'a run of 4,088 spaces is one space'}
    ${`CN=a${' '.repeat(4088)}\u0301`}        | ${'cn=A  \u0301'}                             | ${true}  | ${'... one space, and the one before a combining mark kept'}
    ${'CN=Straße,O=X'}                         | ${'CN=STRASSE,O=X'}                            | ${true}  | ${'full case folding: ß is ss'}
    ${'CN=Caf\u00E9,O=X'}                      | ${'CN=Cafe\u0301,O=X'}                         | ${true}  | ${'composed and decomposed é'}
    ${'CN=Test CA,O=X'}                        | ${'CN=Test\\20CA,O=X'}                         | ${true}  | ${'a hex escape'}
    ${'CN=Caf\u00E9,O=X'}                      | ${'CN=Caf\\C3\\A9,O=X'}                        | ${true}  | ${'hex escapes of UTF-8'}
    ${'CN=A\\,B,O=X'}                          | ${'CN=A\\2CB,O=X'}                             | ${true}  | ${'an escaped comma, either way'}
    ${'CN=A\\,B,O=X'}                          | ${'CN=A,CN=B,O=X'}                             | ${false} | ${'an escaped comma is not a separator'}
    ${'CN=A+O=X,C=GB'}                         | ${'O=X+CN=A, C=GB'}                            | ${true}  | ${'a multi-valued RDN in any order'}
    ${'CN=A+O=X,C=GB'}                         | ${'CN=A,O=X,C=GB'}                             | ${false} | ${'one RDN of two values is not two RDNs'}
    ${'CN=Test CA,O=X'}                        | ${'O=X,CN=Test CA'}                            | ${false} | ${'the RDNs in order'}
    ${'CN=Test CA,O=X'}                        | ${'CN=Test CA'}                                | ${false} | ${'an RDN fewer'}
    ${'CN=Test CA,O=X'}                        | ${'CN=Test CB,O=X'}                            | ${false} | ${'another value'}
    ${'CN=Test CA,O=X'}                        | ${'OU=Test CA,O=X'}                            | ${false} | ${'another attribute type'}
    ${'1.2.3.4=Abc,O=X'}                       | ${'1.2.3.4=abc,O=X'}                           | ${false} | ${'an unknown type: its value compared exactly'}
    ${'1.2.3.4=Abc,O=X'}                       | ${'1.2.3.4=Abc, O=x'}                          | ${true}  | ${'... and the known ones without case'}
    ${'2.5.4.45=#030900AB,O=X'}                | ${'2.5.4.45=#030900ab, O=X'}                   | ${true}  | ${'a hex value: the same bytes'}
    ${'CN=#0C0141,O=X'}                        | ${'CN=A,O=X'}                                  | ${false} | ${'a hex value is never equal to a string value'}
    ${'Test CA'}                               | ${'test ca'}                                   | ${false} | ${'not a name: compared as text'}
    ${'Test CA'}                               | ${'Test CA'}                                   | ${true}  | ${'not a name, the same text'}
    ${'XX=Test CA'}                            | ${'xx=Test CA'}                                | ${false} | ${'an unknown short name: not a name'}
    ${'CN=Test CA;O=X'}                        | ${'cn=Test CA;O=X'}                            | ${false} | ${'an unescaped ; (RFC 4514 writes it escaped): not a name'}
    ${'CN=A\\'}                                | ${'cn=A\\'}                                    | ${false} | ${'a lone backslash: not a name'}
    ${'CN=\\FF,O=X'}                           | ${'cn=\\FF,O=X'}                               | ${false} | ${'an escape that is not UTF-8: not a name'}
    ${'01.2.3=A'}                              | ${'1.2.3=A'}                                   | ${false} | ${'an OID arc with a leading zero: not a name'}
    ${'CN=\uE000,O=X'}                         | ${'cn=\uE000,O=X'}                             | ${true}  | ${'a private-use code point: compared exactly, the same text'}
    ${'CN=\uE000,O=X'}                         | ${'cn=\uE000,O=x'}                             | ${true}  | ${'... the other values prepared'}
    ${'CN=\uE000a,O=X'}                        | ${'cn=\uE000A,O=X'}                            | ${false} | ${'... not folded'}
  `('$a and $b: $same ($why)', ({ a, b, same }) => {
    expect(sameIssuerName(a, b)).toBe(same);
    expect(sameIssuerName(b, a)).toBe(same);
    expect(issuerNameKey(a) === issuerNameKey(b)).toBe(same);
  });

  it('a key names whether it is of a name or of a text', () => {
    expect(issuerNameKey('CN=Test CA, O=X')).toBe(issuerNameKey('cn=test ca,o=x'));
    expect(issuerNameKey('CN=Test CA, O=X').startsWith('name:')).toBe(true);
    expect(issuerNameKey('Test CA')).toBe('text:Test CA');
  });
});
