import type { LedgerEvent } from './events';
import type { UserRole } from './identifiers';
import { cert, given, ids, inventory, mpan, placed, registration, request, userRole, when } from './testing/scenario';

/**
 * Rule sets @5 (edition 5, 2026-11-28) change step 5 for SMETS1 devices; @1 to @4 judge as they
 * did, so the decisions recorded under them replay as they are (a row under @4 for each case):
 * 1. a certificate is identified by serial number + issuer NAME (domain.md section 3): the DSP and
 *    S1SP copies agree when their issuers are the same X.500 name, however the text spells it;
 * 2. under GBCS a NetworkOperator's credentials are replaced NO by NO: a supplier cannot replace
 *    them with 6.15.1 (domain.md section 4), under every rule set @5; a User holding a supplier
 *    role and the NO role that sends it with no role and no signing role code (DUIS) is judged as NO;
 * 3. a 6.15.1 replaces a party's credentials with that party's certificates: role code 02 for
 *    Supplier, 03 for NetworkOperator;
 * 4. registered-operator: the registered NO may replace the credentials where no certificate is
 *    held (the override needs no ownership);
 * 5. registered-operator: and whatever the two copies hold; baseline and ownership-only still
 *    refuse disagreeing copies.
 */
const { supplierA, noA, noB, esme } = ids;
const X = '90-B3-D5-1F-30-01-00-0C'; // a User holding IS and ED
const T2019 = '2019-01-01T00:00:00.000Z';
const noCerts = (owner: string, roleCode = '03') => [cert(owner, 'digitalSignature', roleCode, 'N1'), cert(owner, 'keyAgreement', roleCode, 'N2')];
const withIssuer = (c: ReturnType<typeof cert>, issuer: string) => ({ ...c, issuer });
const onlyIn = (copy: 'DSP' | 'S1SP', c: ReturnType<typeof cert>): LedgerEvent => placed(esme, 'networkOperator.critical', c, [copy]);

/** Given: supplierA IS, NO-A and NO-B ED, X IS and ED; `supplier` and `operator` registered for the SMETS1 ESME's MPAN; the NO critical slot as `slot` gives it. */
const world = (slot: LedgerEvent[], supplier = supplierA, operator = noA) =>
  given([
    userRole(supplierA, 'IS'),
    userRole(noA, 'ED'),
    userRole(noB, 'ED'),
    userRole(X, 'IS'),
    userRole(X, 'ED'),
    registration(mpan, 'supplier', supplier, T2019),
    registration(mpan, 'networkOperator', operator, T2019),
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1')),
    ...slot,
  ]);

const judged = (w: ReturnType<typeof world>, spec: Parameters<typeof request>[0], ruleSet: string) => {
  const d = when(w, request(spec), ruleSet).decision.data;
  const failed = d.checks.find((c) => c.outcome === 'fail');
  return { outcome: d.outcome, code: d.responseCode, finding: (failed?.evidence.finding as string | undefined) ?? null, reason: failed?.reason ?? d.checks[4].reason };
};

describe('1. the proxy copies: serial and issuer name, not issuer text', () => {
  // The same NO-A certificate: as JSON in the DSP copy, as read from DER (the X.509 library's rendering) in the S1SP copy.
  const same = [onlyIn('DSP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'CN=Test CA,O=X')), onlyIn('S1SP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'CN=Test CA, O=X'))];
  const otherIssuer = [onlyIn('DSP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'CN=Test CA,O=X')), onlyIn('S1SP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'CN=Other CA, O=X'))];
  const otherSerial = [onlyIn('DSP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'CN=Test CA,O=X')), onlyIn('S1SP', withIssuer(cert(noA, 'digitalSignature', '03', 'A2'), 'CN=Test CA, O=X'))];
  const notNames = [onlyIn('DSP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'Test CA')), onlyIn('S1SP', withIssuer(cert(noA, 'digitalSignature', '03', 'A1'), 'test ca'))];
  const slots: Record<string, LedgerEvent[]> = { 'one certificate, its issuer spelt two ways': same, 'another issuer': otherIssuer, 'another serial': otherSerial, 'issuers that are not names, in two cases': notNames };

  it.each`
    copies                                            | ruleSet                    | outcome       | code              | finding
    ${'one certificate, its issuer spelt two ways'}   | ${'baseline@4'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${'one certificate, its issuer spelt two ways'}   | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${'one certificate, its issuer spelt two ways'}   | ${'baseline@5'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${'one certificate, its issuer spelt two ways'}   | ${'ownership-only@5'}      | ${'accepted'} | ${'I0'}           | ${null}
    ${'one certificate, its issuer spelt two ways'}   | ${'baseline'}              | ${'accepted'} | ${'I0'}           | ${null}
    ${'another issuer'}                               | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${'another serial'}                               | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${'issuers that are not names, in two cases'}     | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
  `('given $copies in the DSP and S1SP copies, when the owner NO-A replaces its credentials under $ruleSet, then $outcome ($code)', ({ copies, ruleSet, outcome, code, finding }) => {
    const r = judged(world(slots[copies]), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, ruleSet);
    expect({ outcome: r.outcome, code: r.code, finding: r.finding }).toEqual({ outcome, code, finding });
  });
});

describe('2. a supplier cannot replace NetworkOperator credentials with 6.15.1 (X, the registered supplier holding IS and ED, owns the NO certificate)', () => {
  const xOwns = [placed(esme, 'networkOperator.critical', cert(X, 'digitalSignature', '03', 'X1'))];
  /** As a stated role (JSON), `code 02` (JSON giving the signing certificate's role code, no role) or `DUIS` (neither: the DUIS intake gives no role and no role code). */
  const send = (as: string) => {
    const signed = as.startsWith('code ');
    const stated = !signed && as !== 'DUIS';
    const req = request({ from: X, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(X), role: stated ? (as as UserRole) : undefined, signingRoleCode: signed ? as.slice(5) : undefined });
    return as === 'DUIS' ? { ...req, format: 'duis' as const } : req;
  };
  it.each`
    registeredNo | as           | ruleSet                    | outcome       | code              | finding
    ${noA}       | ${'IS'}      | ${'baseline@4'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'IS'}      | ${'ownership-only@4'}      | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'IS'}      | ${'registered-operator@4'} | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'IS'}      | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'supplier-replaces-network-operator'}
    ${noA}       | ${'code 02'} | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'supplier-replaces-network-operator'}
    ${noA}       | ${'IS'}      | ${'ownership-only@5'}      | ${'rejected'} | ${'E_CERT_OWNER'} | ${'supplier-replaces-network-operator'}
    ${noA}       | ${'IS'}      | ${'registered-operator@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'supplier-replaces-network-operator'}
    ${noA}       | ${'IS'}      | ${'baseline'}              | ${'rejected'} | ${'E_CERT_OWNER'} | ${'supplier-replaces-network-operator'}
    ${X}         | ${'IS'}      | ${'registered-operator@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'supplier-replaces-network-operator'}
    ${X}         | ${'ED'}      | ${'baseline@5'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${X}         | ${'code 03'} | ${'baseline@5'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${X}         | ${'DUIS'}    | ${'baseline@4'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${X}         | ${'DUIS'}    | ${'baseline@5'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${X}         | ${'DUIS'}    | ${'registered-operator@5'} | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'DUIS'}    | ${'baseline@4'}            | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'DUIS'}    | ${'baseline@5'}            | ${'rejected'} | ${'E4'}           | ${null}
    ${noA}       | ${'ED'}      | ${'ownership-only@5'}      | ${'accepted'} | ${'I0'}           | ${null}
  `('given $registeredNo the registered NO, when X sends 6.15.1 NetworkOperator as $as under $ruleSet, then $outcome ($code)', ({ registeredNo, as, ruleSet, outcome, code, finding }) => {
    const d = when(world(xOwns, X, registeredNo), send(as), ruleSet).decision.data;
    const failed = d.checks.find((c) => c.outcome === 'fail');
    expect({ outcome: d.outcome, code: d.responseCode, finding: failed?.evidence.finding ?? null }).toEqual({ outcome, code, finding });
    if (finding) expect(failed).toMatchObject({ check: 'certificate-ownership', reason: expect.stringContaining('a supplier cannot replace NetworkOperator credentials with 6.15.1') });
  });

  it('sent with no role and no role code (DUIS), X is judged as IS under @4 and as ED, the network operator, from @5', () => {
    expect(when(world(xOwns, X, X), send('DUIS'), 'baseline@4').decision.data.senderRole).toBe('IS');
    expect(when(world(xOwns, X, X), send('DUIS'), 'baseline@5').decision.data.senderRole).toBe('ED');
    expect(when(world(xOwns, X, X), send('code 02'), 'baseline@5').decision.data.senderRole).toBe('IS');
  });

  it('a supplier replacing Supplier credentials, and handing NO credentials over with 6.21, is judged as before', () => {
    const w = world([]);
    expect(judged(w, { from: supplierA, to: esme, srv: '6.15.1', rpr: 'Supplier', certificates: [cert(supplierA, 'digitalSignature', '02', 'S9')] }, 'baseline@5')).toMatchObject({ outcome: 'accepted', code: 'I0' });
    expect(judged(w, { from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }, 'baseline@5')).toMatchObject({ outcome: 'accepted', code: 'I0' });
  });
});

describe("3. a 6.15.1's replacement certificates are of its RemotePartyRole's party", () => {
  const noAOwns = [placed(esme, 'networkOperator.critical', cert(noA, 'digitalSignature', '03', 'A1'))];
  it.each`
    sender       | rpr                  | carrying                                                                          | ruleSet         | outcome       | code              | finding
    ${supplierA} | ${'Supplier'}        | ${[cert(supplierA, 'digitalSignature', '03', 'S9')]}                              | ${'baseline@4'} | ${'accepted'} | ${'I0'}           | ${null}
    ${supplierA} | ${'Supplier'}        | ${[cert(supplierA, 'digitalSignature', '03', 'S9')]}                              | ${'baseline@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'replacement-role-code'}
    ${supplierA} | ${'Supplier'}        | ${[cert(supplierA, 'digitalSignature', '02', 'S9'), cert(supplierA, 'keyAgreement', '03', 'S8')]} | ${'baseline@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'replacement-role-code'}
    ${supplierA} | ${'Supplier'}        | ${[cert(supplierA, 'digitalSignature', '02', 'S9')]}                              | ${'baseline@5'} | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'NetworkOperator'} | ${noCerts(noA, '02')}                                                             | ${'baseline@4'} | ${'accepted'} | ${'I0'}           | ${null}
    ${noA}       | ${'NetworkOperator'} | ${noCerts(noA, '02')}                                                             | ${'baseline@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'replacement-role-code'}
    ${noA}       | ${'NetworkOperator'} | ${noCerts(noA, '02')}                                                             | ${'ownership-only@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'replacement-role-code'}
    ${noA}       | ${'NetworkOperator'} | ${noCerts(noA, '03')}                                                             | ${'baseline@5'} | ${'accepted'} | ${'I0'}           | ${null}
  `('given NO-A owns the NO certificate, when $sender replaces $rpr credentials under $ruleSet, then $outcome ($code)', ({ sender, rpr, carrying, ruleSet, outcome, code, finding }) => {
    const r = judged(world(noAOwns), { from: sender, to: esme, srv: '6.15.1', rpr, certificates: carrying }, ruleSet);
    expect({ outcome: r.outcome, code: r.code, finding: r.finding }).toEqual({ outcome, code, finding });
  });

  it('the refusal names each certificate of another role code', () => {
    const r = judged(world(noAOwns), { from: supplierA, to: esme, srv: '6.15.1', rpr: 'Supplier', certificates: [cert(supplierA, 'digitalSignature', '02', 'S9'), cert(noA, 'keyAgreement', '03', 'S8')] }, 'baseline@5');
    expect(r.reason).toBe(`rule set baseline: Supplier credentials are replaced with Supplier certificates only (role code 02): serial S8 (${noA}'s) has role code 03`);
  });

  it('placements recorded as given (a migration, a proxy copy) are not refused: a supplier certificate in the NO slot is judged as held', () => {
    const wrongRole = [placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '02', 'W1'))];
    expect(judged(world(wrongRole), { from: noB, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, 'ownership-only@5')).toMatchObject({ outcome: 'accepted', code: 'I0' });
    expect(judged(world(wrongRole), { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, 'baseline@5')).toMatchObject({ code: 'E_CERT_OWNER', finding: null });
  });
});

describe("4 and 5. registered-operator: the registered NO's override applies with no certificate held, and whatever the copies hold", () => {
  const disagreeing = [onlyIn('DSP', cert(noB, 'digitalSignature', '03', 'B1')), onlyIn('S1SP', cert(noB, 'digitalSignature', '03', 'B2'))];
  const disagreeingOwnedByNoA = [onlyIn('DSP', cert(noA, 'digitalSignature', '03', 'A1')), onlyIn('S1SP', cert(noB, 'digitalSignature', '03', 'B2'))];
  const slots: Record<string, LedgerEvent[]> = { 'an empty NO slot': [], "copies of two NO-B certificates": disagreeing, "NO-A's in the DSP copy, NO-B's in the S1SP": disagreeingOwnedByNoA };
  it.each`
    slot                                       | sender | carrying | ruleSet                    | outcome       | code              | finding
    ${'an empty NO slot'}                      | ${noA} | ${noA}   | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${null}
    ${'an empty NO slot'}                      | ${noA} | ${noA}   | ${'registered-operator@5'} | ${'accepted'} | ${'I0'}           | ${null}
    ${'an empty NO slot'}                      | ${noA} | ${noA}   | ${'registered-operator'}   | ${'accepted'} | ${'I0'}           | ${null}
    ${'an empty NO slot'}                      | ${noA} | ${noB}   | ${'registered-operator@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${null}
    ${'an empty NO slot'}                      | ${noB} | ${noB}   | ${'registered-operator@5'} | ${'rejected'} | ${'E4'}           | ${null}
    ${'an empty NO slot'}                      | ${noA} | ${noA}   | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${null}
    ${'an empty NO slot'}                      | ${noA} | ${noA}   | ${'ownership-only@5'}      | ${'rejected'} | ${'E_CERT_OWNER'} | ${null}
    ${'copies of two NO-B certificates'}       | ${noA} | ${noA}   | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${'copies of two NO-B certificates'}       | ${noA} | ${noA}   | ${'registered-operator@5'} | ${'accepted'} | ${'I0'}           | ${null}
    ${'copies of two NO-B certificates'}       | ${noA} | ${noB}   | ${'registered-operator@5'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${null}
    ${'copies of two NO-B certificates'}       | ${noA} | ${noA}   | ${'baseline@5'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${'copies of two NO-B certificates'}       | ${noB} | ${noB}   | ${'ownership-only@5'}      | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${"NO-A's in the DSP copy, NO-B's in the S1SP"} | ${noA} | ${noA} | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'proxy-copies-disagree'}
    ${"NO-A's in the DSP copy, NO-B's in the S1SP"} | ${noA} | ${noA} | ${'registered-operator@5'} | ${'accepted'} | ${'I0'}           | ${null}
  `('given $slot, when $sender sends 6.15.1 NetworkOperator with $carrying\'s certificates under $ruleSet, then $outcome ($code)', ({ slot, sender, carrying, ruleSet, outcome, code, finding }) => {
    const r = judged(world(slots[slot]), { from: sender, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(carrying) }, ruleSet);
    expect({ outcome: r.outcome, code: r.code, finding: r.finding }).toEqual({ outcome, code, finding });
  });

  it('the override says what the slot held', () => {
    const empty = when(world([]), request({ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }), 'registered-operator@5').decision.data.checks[4];
    expect(empty).toMatchObject({ outcome: 'pass', reason: `rule set registered-operator: ${noA}, the registered NO, replaces an empty networkOperator.critical slot's certificate with its own`, evidence: { held: 'none', override: 'registered-operator', dsp: null, s1sp: null } });
    const apart = when(world(disagreeing), request({ from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }), 'registered-operator@5').decision.data.checks[4];
    expect(apart).toMatchObject({ outcome: 'pass', evidence: { held: 'disagreeing copies', override: 'registered-operator', dsp: { certificate: { serial: 'B1' } }, s1sp: { certificate: { serial: 'B2' } } } });
    expect(apart.reason).toBe(`rule set registered-operator: ${noA}, the registered NO, replaces the networkOperator.critical certificate, whose DSP and S1SP copies disagree, with its own`);
  });
});
