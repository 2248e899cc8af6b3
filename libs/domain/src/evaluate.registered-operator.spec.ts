import { cert, given, ids, inventory, mpan, placed, registration, request, userRole, when, type World } from './testing/scenario';
import type { UserRole } from './identifiers';

/**
 * registered-operator (domain.md section 6): for a SMETS1 6.15.1 replacing NetworkOperator
 * credentials, the NO registered for the MPxN may replace them without owning the current
 * certificate, provided the replacement certificates belong to that registered NO.
 *
 * Editions 1 to 3 gave the override to a sender registered for its own role's responsibility: a
 * User holding IS and ED, the registered supplier, sending as IS (stated, or DUIS signing with role
 * code 02) with its own 03 certificates replaced another NO's credentials (I0). Edition 4
 * (registered-operator@4, 2026-11-27) gives it to the registered network operator only: the holder
 * of the networkOperator responsibility for the device's meter point at the check, the sender
 * being that party in its ED or GT role. Such a request is refused as under baseline, and so is
 * one from a NO that was registered throughout the date range the request carries (which step 4
 * then checks) but is not the registered NO at the check.
 */
const { noA, noB, esme } = ids;
const X = '90-B3-D5-1F-30-01-00-0C'; // a User holding IS and ED

/** Given: X holds IS and ED, NO-A and NO-B ED; the SMETS1 ESME holds NO-B's NO certificate; `supplier` and `operator` registered for its MPAN (and `operatorFrom2023` from 2023). */
const estate = (supplier: string, operator: string, operatorFrom2023?: string): World =>
  given([
    userRole(X, 'IS'),
    userRole(X, 'ED'),
    userRole(noA, 'ED'),
    userRole(noB, 'ED'),
    registration(mpan, 'supplier', supplier, '2019-01-01T00:00:00.000Z'),
    registration(mpan, 'networkOperator', operator, '2019-01-01T00:00:00.000Z'),
    ...(operatorFrom2023 ? [registration(mpan, 'networkOperator', operatorFrom2023, '2023-01-01T00:00:00.000Z')] : []),
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1')),
    placed(esme, 'networkOperator.nonCritical', cert(noB, 'keyAgreement', '03', 'B2')),
  ]);
const noCerts = (owner: string) => [cert(owner, 'digitalSignature', '03', 'N1'), cert(owner, 'keyAgreement', '03', 'N2')];
/** When: `from` sends 6.15.1 (NetworkOperator) with `carrying`'s certificates, as `as`: a stated role, `code 02` (JSON giving the signing certificate's role code, no role), or `ED, 2020` (ED with a date range in 2020). */
function replaceNo(from: string, as: string, carrying: string) {
  const signed = as.startsWith('code ');
  const dateRange = as === 'ED, 2020' ? { from: '2020-01-01T00:00:00.000Z', to: '2020-12-31T00:00:00.000Z' } : undefined;
  const role = signed ? undefined : (as.slice(0, 2) as UserRole);
  return request({ from, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(carrying), role, signingRoleCode: signed ? as.slice(5) : undefined, dateRange });
}

describe('registered-operator: the override is the registered network operator\'s (X holds IS and ED; NO-B\'s certificate on the SMETS1 ESME)', () => {
  it.each`
    registered              | sender | as           | carrying | ruleSet                    | outcome       | code              | role    | failsAt
    ${'X supplier, NO-A NO'} | ${X}   | ${'IS'}      | ${X}     | ${'registered-operator@3'} | ${'accepted'} | ${'I0'}           | ${'IS'} | ${null}
    ${'X supplier, NO-A NO'} | ${X}   | ${'code 02'} | ${X}     | ${'registered-operator@3'} | ${'accepted'} | ${'I0'}           | ${'IS'} | ${null}
    ${'X supplier, NO-A NO'} | ${X}   | ${'IS'}      | ${X}     | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${X}   | ${'code 02'} | ${X}     | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${X}   | ${'IS'}      | ${X}     | ${'registered-operator'}   | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${X}   | ${'IS'}      | ${X}     | ${'baseline@4'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${X}   | ${'IS'}      | ${X}     | ${'ownership-only@4'}      | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${X}   | ${'IS'}      | ${X}     | ${'baseline@3'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${X}   | ${'ED'}      | ${X}     | ${'registered-operator@4'} | ${'rejected'} | ${'E4'}           | ${'ED'} | ${'registration-data'}
    ${'X supplier, NO-A NO'} | ${noA} | ${'ED'}      | ${noA}   | ${'registered-operator@4'} | ${'accepted'} | ${'I0'}           | ${'ED'} | ${null}
    ${'X supplier, NO-A NO'} | ${noA} | ${'code 03'} | ${noA}   | ${'registered-operator@4'} | ${'accepted'} | ${'I0'}           | ${'ED'} | ${null}
    ${'X supplier, NO-A NO'} | ${noA} | ${'ED'}      | ${X}     | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'ED'} | ${'certificate-ownership'}
    ${'X supplier, NO-A NO'} | ${noA} | ${'ED'}      | ${noA}   | ${'baseline@4'}            | ${'rejected'} | ${'E_CERT_OWNER'} | ${'ED'} | ${'certificate-ownership'}
    ${'X supplier and NO'}   | ${X}   | ${'ED'}      | ${X}     | ${'registered-operator@4'} | ${'accepted'} | ${'I0'}           | ${'ED'} | ${null}
    ${'X supplier and NO'}   | ${X}   | ${'IS'}      | ${X}     | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'IS'} | ${'certificate-ownership'}
    ${'X supplier and NO'}   | ${X}   | ${'IS'}      | ${X}     | ${'registered-operator@3'} | ${'accepted'} | ${'I0'}           | ${'IS'} | ${null}
    ${'X NO until 2023, then NO-A'} | ${X} | ${'ED, 2020'} | ${X}  | ${'registered-operator@3'} | ${'accepted'} | ${'I0'}           | ${'ED'} | ${null}
    ${'X NO until 2023, then NO-A'} | ${X} | ${'ED, 2020'} | ${X}  | ${'registered-operator@4'} | ${'rejected'} | ${'E_CERT_OWNER'} | ${'ED'} | ${'certificate-ownership'}
    ${'X NO until 2023, then NO-A'} | ${noA} | ${'ED'}    | ${noA}   | ${'registered-operator@4'} | ${'accepted'} | ${'I0'}           | ${'ED'} | ${null}
  `(
    'given $registered registered, when $sender sends 6.15.1 NetworkOperator as $as carrying $carrying\'s 03 certificates under $ruleSet, then $outcome ($code)',
    ({ registered, sender, as, carrying, ruleSet, outcome, code, role, failsAt }) => {
      const w = registered === 'X supplier and NO' ? estate(X, X) : registered === 'X NO until 2023, then NO-A' ? estate(X, X, noA) : estate(X, noA);
      const ev = when(w, replaceNo(sender, as, carrying), ruleSet);
      expect(ev.decision.data).toMatchObject({ outcome, responseCode: code, senderRole: role });
      expect(ev.decision.data.checks.find((c) => c.outcome === 'fail')?.check ?? null).toBe(failsAt);
      expect(ev.placed).toHaveLength(outcome === 'accepted' ? 2 : 0);
    },
  );

  it('under @4 the registered supplier is refused as under baseline: the same check, reason and evidence', () => {
    const w = estate(X, noA);
    const atFour = when(w, replaceNo(X, 'IS', X), 'registered-operator@4').decision.data.checks;
    const asBaseline = when(w, replaceNo(X, 'IS', X), 'baseline@4').decision.data.checks;
    expect(atFour).toEqual(asBaseline);
    expect(atFour[4]).toMatchObject({ code: 'E_CERT_OWNER', reason: `${X} does not own the networkOperator.critical certificate held by proxy: its owner is ${noB}`, evidence: { owner: noB } });
    // Under @3 the override recorded X as "the registered NO", which it is not (NO-A is).
    expect(when(w, replaceNo(X, 'IS', X), 'registered-operator@3').decision.data.checks[4]).toMatchObject({
      outcome: 'pass',
      reason: `rule set registered-operator: ${X}, the registered NO, replaces ${noB}'s certificate with its own`,
      evidence: { override: 'registered-operator' },
    });
  });
});
