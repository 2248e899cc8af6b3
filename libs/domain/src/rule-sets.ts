import { DomainError, quoted } from './identifiers';

/**
 * Named, versioned rule sets (domain.md section 6). Each changes only how a SMETS1 6.15.1 that
 * replaces NetworkOperator credentials is judged; everything else is the baseline.
 * - `replaceNoStep4`: what happens to step 4 (Registration Data) for that request:
 *   'apply' (baseline), 'skip' (ownership-only: the certificate owner may always replace its own).
 * - `registeredOperatorOverride`: at step 5, the NO registered for the MPxN may replace the
 *   credentials without owning the current certificate, provided every replacement certificate
 *   belongs to it (registered-operator, the DSP check SECMP0063 proposed). Editions 1 to 3 took
 *   for the registered NO any sender registered for its own role's responsibility, the registered
 *   supplier too; edition 4 the registered NO only (see `edition`).
 */
export interface RuleSet {
  id: 'baseline' | 'ownership-only' | 'registered-operator';
  version: number;
  /**
   * What the rest of the judging is, shared by every rule set of the same version:
   * 1: catalogue@1 (the 10 hand-written SRVs), every placement in force when appended.
   * 2: every SRV of the DUIS matrix (srv-table.ts); non-device requests; a future-dated request to
   *    an SRV that cannot be future dated refused (E_NOT_FUTURE_DATABLE); the Load Controller's
   *    slot; 6.23 only with the sender's own supplier certificates; DCC parties judged E1 as such;
   *    a placement in force from its placedAt (a future-dated change is pending until then).
   * 3: edition 2, with the sender's User Roles and the device's inventory record as in force at the
   *    time of the check (rolesAt, inventoryAt): a registration or an inventory change takes effect
   *    at its effectiveFrom or changedAt; editions 1 and 2 take the last one recorded, whatever its date.
   * 4: edition 3, with registered-operator's override for the registered network operator only: the
   *    holder of the networkOperator responsibility for the device's meter point at the check, the
   *    sender being that party in its ED or GT role. Editions 1 to 3 let any sender registered for
   *    its own role's responsibility use it (the registered supplier too, sending as IS or GS).
   * 5: edition 4, with at step 5 (SMETS1): the proxy copies compared by serial and issuer NAME
   *    (RFC 5280 7.1, issuer-name.ts), not issuer text; a 6.15.1 replacing NetworkOperator
   *    credentials refused from a supplier role (IS, GS: NO-by-NO); a 6.15.1's replacement
   *    certificates refused unless of the RemotePartyRole's party (role code 02 for Supplier, 03
   *    for NetworkOperator); and registered-operator's override applied when no certificate is
   *    held, and whatever the two copies hold (it needs no ownership). And at step 1, on any
   *    device: a 6.15.1 replacing NetworkOperator credentials with no stated role and no signing
   *    role code (every DUIS one) is taken as from the sender's network-operator role (ED, GT) where
   *    it holds one, before its supplier role (editions 1 to 4: IS, GS, ED, GT in that order).
   */
  edition: 1 | 2 | 3 | 4 | 5;
  description: string;
  replaceNoStep4: 'apply' | 'skip';
  registeredOperatorOverride: boolean;
}

const EDITION_1: readonly RuleSet[] = [
  {
    id: 'baseline',
    version: 1,
    edition: 1,
    description: 'The rules as they stand: SMETS1 critical requests get both the Registration Data check (step 4) and the certificate-ownership check (step 5).',
    replaceNoStep4: 'apply',
    registeredOperatorOverride: false,
  },
  {
    id: 'ownership-only',
    version: 1,
    edition: 1,
    description: 'For SMETS1 6.15.1 replacing NetworkOperator credentials, step 4 is skipped (as for SMETS2): the certificate owner may always replace its own credentials.',
    replaceNoStep4: 'skip',
    registeredOperatorOverride: false,
  },
  {
    id: 'registered-operator',
    version: 1,
    edition: 1,
    description:
      'For SMETS1 6.15.1 replacing NetworkOperator credentials, the NO registered for the MPxN may replace them without owning the current certificate, provided the replacement certificates belong to that registered NO.',
    replaceNoStep4: 'apply',
    registeredOperatorOverride: true,
  },
];

/** Version 2 of each rule set: the same SMETS1 6.15.1 rule, on edition 2's judging (see RuleSet.edition). */
const EDITION_2: readonly RuleSet[] = EDITION_1.map((r) => ({
  ...r,
  version: 2,
  edition: 2 as const,
  description: `${r.description} Every SRV of the DUIS request matrix is judged; a future-dated credential change takes effect at its execution time.`,
}));

/** Version 3 of each rule set: the same SMETS1 6.15.1 rule, on edition 3's judging (see RuleSet.edition). */
const EDITION_3: readonly RuleSet[] = EDITION_1.map((r) => ({
  ...r,
  version: 3,
  edition: 3 as const,
  description: `${EDITION_2.find((e) => e.id === r.id)!.description} A User Role and a device's inventory record are judged as in force at the time of the check.`,
}));

/** Version 4 of each rule set: edition 4's judging (see RuleSet.edition), which differs from edition 3 in registered-operator's override only. */
const EDITION_4: readonly RuleSet[] = EDITION_3.map((r) => ({
  ...r,
  version: 4,
  edition: 4 as const,
  description: r.registeredOperatorOverride ? `${r.description} Only the registered NO, sending in its network-operator role (ED or GT), may use the override.` : r.description,
}));

/** Version 5 of each rule set: edition 5's judging (see RuleSet.edition). */
const EDITION_5: readonly RuleSet[] = EDITION_4.map((r) => ({
  ...r,
  version: 5,
  edition: 5 as const,
  description:
    `${r.description} On a SMETS1 device: the DSP and S1SP copies are compared by serial and issuer name (not issuer text); a supplier role cannot replace NetworkOperator credentials with 6.15.1;` +
    ` a 6.15.1's certificates must be of its RemotePartyRole's party (02 Supplier, 03 NetworkOperator).` +
    (r.registeredOperatorOverride ? ' The override also applies when no certificate is held or the two copies disagree.' : '') +
    ' A 6.15.1 replacing NetworkOperator credentials that states no role is taken as from the sender\'s network-operator role where it holds one.',
}));

/** The edition of every rule set's latest version (a bare id's). */
export const LATEST_EDITION: RuleSet['edition'] = 5;

/** Every rule set, each version kept and selectable for replay. */
export const RULE_SETS: readonly RuleSet[] = [...EDITION_1, ...EDITION_2, ...EDITION_3, ...EDITION_4, ...EDITION_5];

/** The rule sets' ids, each once (a bare id names its latest version). */
export const RULE_SET_NAMES: ReadonlyArray<RuleSet['id']> = [...new Set(RULE_SETS.map((r) => r.id))];

/** What may name a rule set: a bare id (its latest version) or id@version. */
export const RULE_SET_CHOICES: readonly string[] = [...RULE_SET_NAMES, ...RULE_SETS.map((r) => `${r.id}@${r.version}`)];

/** A rule set by name: `id` (its latest version), `id@version`, or `id` with `version`. */
export function getRuleSet(name: string, version?: number): RuleSet {
  const at = /^(.*)@(\d+)$/.exec(name);
  if (at && version === undefined) return getRuleSet(at[1], Number(at[2]));
  const matching = RULE_SETS.filter((r) => r.id === name && (version === undefined || r.version === version));
  const rs = matching.sort((a, b) => b.version - a.version)[0];
  if (!rs) {
    const known = RULE_SETS.map((r) => `${r.id}@${r.version}`).join(', ');
    throw new DomainError('ruleSet', `${quoted(`${name}${version === undefined ? '' : `@${version}`}`)} is not a known rule set (known: ${known})`);
  }
  return rs;
}
