import { DomainError } from './identifiers';

/**
 * Named, versioned rule sets (domain.md section 6). Each changes only how a SMETS1 6.15.1 that
 * replaces NetworkOperator credentials is judged; everything else is the baseline.
 * - `replaceNoStep4`: what happens to step 4 (Registration Data) for that request:
 *   'apply' (baseline), 'skip' (ownership-only: the certificate owner may always replace its own).
 * - `registeredOperatorOverride`: at step 5, the NO registered for the MPxN may replace the
 *   credentials without owning the current certificate, provided every replacement certificate
 *   belongs to it (registered-operator, the DSP check SECMP0063 proposed).
 */
export interface RuleSet {
  id: 'baseline' | 'ownership-only' | 'registered-operator';
  version: number;
  description: string;
  replaceNoStep4: 'apply' | 'skip';
  registeredOperatorOverride: boolean;
}

export const RULE_SETS: readonly RuleSet[] = [
  {
    id: 'baseline',
    version: 1,
    description: 'The rules as they stand: SMETS1 critical requests get both the Registration Data check (step 4) and the certificate-ownership check (step 5).',
    replaceNoStep4: 'apply',
    registeredOperatorOverride: false,
  },
  {
    id: 'ownership-only',
    version: 1,
    description: 'For SMETS1 6.15.1 replacing NetworkOperator credentials, step 4 is skipped (as for SMETS2): the certificate owner may always replace its own credentials.',
    replaceNoStep4: 'skip',
    registeredOperatorOverride: false,
  },
  {
    id: 'registered-operator',
    version: 1,
    description:
      'For SMETS1 6.15.1 replacing NetworkOperator credentials, the NO registered for the MPxN may replace them without owning the current certificate, provided the replacement certificates belong to that registered NO.',
    replaceNoStep4: 'apply',
    registeredOperatorOverride: true,
  },
];

export function getRuleSet(name: string, version?: number): RuleSet {
  const rs = RULE_SETS.find((r) => r.id === name && (version === undefined || r.version === version));
  if (!rs) {
    const known = RULE_SETS.map((r) => `${r.id}@${r.version}`).join(', ');
    throw new DomainError('ruleSet', `'${name}${version === undefined ? '' : `@${version}`}' is not a known rule set (known: ${known})`);
  }
  return rs;
}
