import { roleCodeOfRemoteParty, type CertificateIdentity } from './catalogue';
import { DomainError, type RemotePartyRole } from './identifiers';
import type { CheckName } from './events';
import { CHECKS, DERIVED_ROLE, STATED_ROLE, TEST_MPAN, def, deviceFacts, e1, foreignTo, fromEdition2, inForce, nonDevice, notReached, ownerOf, proxyRecords, registrationBase, responsibilityName, rprEvidence, slotOf, type E, type Template } from './decision-context';
import { From, INSTANT, Nested, OPTIONAL, STORED } from './decision-shapes';

/**
 * The templates of a decision's checks in its stored form (decision-record.ts): one per branch of
 * evaluate(), each with its outcome and code, how its reason is rendered and the shape of its evidence.
 */

/**
 * Template set 1: every check evaluate() records, one template per branch (evaluate.reasons.spec.ts
 * and decision-record.spec.ts hold them to it). Every decision stored so far was written with it
 * (a record without `templates`), so it is FROZEN, and so is all it reads when a record is decoded
 * (decision-context.ts, the rule set's edition and catalogue): a change to a reason or a shape is a
 * new template set (TEMPLATE_SETS). decision-record.frozen.spec.ts holds stored decisions to it.
 */
// A shape that adds keys to a helper's (registrationBase, deviceFacts, proxyRecords) is made with
// Object.assign onto the helper's new object, not a spread ({ ...base(c), key }): the same keys in
// the same order, and ~0.1 us where the spread costs ~4 us on Node 20 once optimised (see state.ts,
// withKey); an encode and its checking decode make two shapes a check.
/** Edition 5's override: what the slot held, derived (both copies are null exactly when no certificate is held; otherwise they disagree). */
const heldOf = new From((b) => (b.dsp === null ? 'none' : 'disagreeing copies'));

export const TEMPLATES: readonly Template[] = [
  // Step 1
  { id: 'pass', check: 'user-role', outcome: 'pass', reason: (e) => `User ${e.userId} holds role ${e.role} (${e.derivedBy})`, shape: (c) => ({ userId: c.sender, role: c.role, status: 'Active', derivedBy: c.request.statedRole ? STATED_ROLE : DERIVED_ROLE }) },
  { id: 'E3', check: 'user-role', outcome: 'fail', code: 'E3', reason: (e) => `User ${e.userId} in role ${e.role} is ${e.status}, not Active`, shape: (c) => ({ userId: c.sender, role: c.role, status: STORED }) },
  { id: 'E1.fits', check: 'user-role', outcome: 'fail', code: 'E1', reason: (e) => `none of User ${e.userId}'s roles (${(e.heldRoles as string[]).join(', ')}) fits this request`, shape: (c) => e1(c) },
  { id: 'E1.none', check: 'user-role', outcome: 'fail', code: 'E1', reason: (e) => `User ${e.userId} holds no User Role`, shape: (c) => e1(c) },
  { id: 'E1.stated', check: 'user-role', outcome: 'fail', code: 'E1', reason: (e) => `User ${e.userId} does not hold role ${e.statedRole}`, shape: (c) => e1(c) },
  {
    id: 'E1.dcc',
    check: 'user-role',
    outcome: 'fail',
    code: 'E1',
    reason: (e, c) => `${c.sender} is an org id of the DCC (${(e.dccParty as string[]).join(', ')}), not a DUIS User: a request it originates is not a User's Service Request`,
    shape: (c) => e1(c, { dccParty: STORED }),
  },
  // Step 2
  {
    id: 'pass',
    check: 'srv-eligibility',
    outcome: 'pass',
    reason: (e, c) => `role ${e.role} is eligible for SRV ${e.srv} (${def(c).name})`,
    shape: (c) => Object.assign({ srv: c.request.srv, role: c.role, critical: def(c).critical }, fromEdition2(c) ? { nonDevice: def(c).nonDevice ?? false, futureDating: def(c).futureDating ?? null } : {}),
  },
  {
    id: 'E2',
    check: 'srv-eligibility',
    outcome: 'fail',
    code: 'E2',
    reason: (e, c) => `role ${e.role} is not eligible for SRV ${e.srv}${fromEdition2(c) && (e.eligibleRoles as string[]).length === 0 ? ': the DUIS matrix names no User Role for it' : ''}`,
    shape: (c) => ({ srv: c.request.srv, role: c.role, eligibleRoles: def(c).eligibleRoles }),
  },
  { id: 'E2.dcc', check: 'srv-eligibility', outcome: 'fail', code: 'E2', reason: (e) => `a User cannot replace ${e.remotePartyRole} credentials with SRV ${e.srv}: they are the DCC's`, shape: rprEvidence },
  { id: 'E2.lc', check: 'srv-eligibility', outcome: 'fail', code: 'E2', reason: (e) => `SRV ${e.srv} hands over Supplier or NetworkOperator credentials only; the Load Controller's are replaced with 6.15.1`, shape: rprEvidence },
  { id: 'E2.lcrole', check: 'srv-eligibility', outcome: 'fail', code: 'E2', reason: (e) => `only the supplier may replace the Load Controller's credentials (a party it appoints), not role ${e.role}`, shape: rprEvidence },
  {
    id: 'E_NFD',
    check: 'srv-eligibility',
    outcome: 'fail',
    code: 'E_NOT_FUTURE_DATABLE',
    reason: (e) => `SRV ${e.srv} cannot be future dated (its future-dated response pattern in the DUIS matrix is 'No'), but executes at ${e.executionDateTime}`,
    shape: (c) => ({ srv: c.request.srv, futureDating: def(c).futureDating, executionDateTime: c.request.executionDateTime, timeOfCheck: c.now }),
  },
  // Step 3
  { id: 'pass', check: 'device', outcome: 'pass', reason: (e) => `${e.deviceType} (SMETS${e.smetsGeneration}) is ${e.status}`, shape: deviceFacts },
  { id: 'E19', check: 'device', outcome: 'fail', code: 'E19', reason: (e) => `device ${e.deviceId} is not in the Smart Metering Inventory`, shape: (c) => ({ deviceId: c.request.target }) },
  { id: 'E11', check: 'device', outcome: 'fail', code: 'E11', reason: (e, c) => `SRV ${c.request.srv} does not apply to a ${e.deviceType}`, shape: (c) => Object.assign(deviceFacts(c), { appliesTo: def(c).deviceTypes }) },
  {
    id: 'E11.lc',
    check: 'device',
    outcome: 'fail',
    code: 'E11',
    reason: (e, c) =>
      `SRV ${c.request.srv} cannot replace LoadController credentials here: ${
        e.smetsGeneration === 1
          ? 'a SMETS1 device has no Load Controller: the DSP and the S1SP hold its supplier and network-operator certificate records only'
          : `only a SMETS2 ESME trusts a Load Controller, not a ${e.deviceType}`
      }`,
    shape: (c) => Object.assign(deviceFacts(c), { remotePartyRole: c.request.remotePartyRole }),
  },
  { id: 'E5', check: 'device', outcome: 'fail', code: 'E5', reason: (e, c) => `device status ${e.status} does not allow SRV ${c.request.srv}`, shape: (c) => Object.assign(deviceFacts(c), { allowedStatuses: def(c).allowedStatuses }) },
  // Step 4
  {
    id: 'pass',
    check: 'registration-data',
    outcome: 'pass',
    reason: (e, c) => `${c.sender} is the registered ${responsibilityName(e.responsibility)} of ${e.mpxn} at ${e.at}`,
    shape: (c) =>
      Object.assign(registrationBase(c), {
        basis: c.request.executionDateTime ? 'executionDateTime' : 'timeOfCheck',
        at: c.request.executionDateTime ?? c.now,
        registered: new Nested({ partyUserId: c.sender, effectiveFrom: INSTANT, recordId: STORED }),
      }),
  },
  { id: 'smets2', check: 'registration-data', outcome: 'skipped', reason: () => 'not applied to a critical request for a SMETS2 device', shape: (c) => ({ smetsGeneration: c.device?.smetsGeneration }) },
  {
    id: 'rules',
    check: 'registration-data',
    outcome: 'skipped',
    reason: (e) => `rule set ${e.ruleSet} skips it for a SMETS1 6.15.1 replacing NetworkOperator credentials`,
    shape: (c) => ({ ruleSet: c.ruleSet.id }),
  },
  { id: 'norole', check: 'registration-data', outcome: 'skipped', reason: (e) => `role ${e.role} has no Registration Data responsibility`, shape: (c) => ({ role: c.role }) },
  { id: 'E4.nompxn', check: 'registration-data', outcome: 'fail', code: 'E4', reason: (_e, c) => `device ${c.device?.deviceId} serves no meter point in the inventory`, shape: registrationBase },
  {
    id: 'E4',
    check: 'registration-data',
    outcome: 'fail',
    code: 'E4',
    reason: (e, c) => {
      const r = e.registered as E | null;
      const who = r ? `the registered ${responsibilityName(e.responsibility)} is ${r.partyUserId}` : `no ${responsibilityName(e.responsibility)} is registered`;
      return `at ${e.at} ${who} for ${e.mpxn}, not ${c.sender}${e.mpanCheckDigitValid === false ? TEST_MPAN : ''}`;
    },
    shape: (c) =>
      Object.assign(registrationBase(c), {
        basis: c.request.executionDateTime ? 'executionDateTime' : 'timeOfCheck',
        at: c.request.executionDateTime ?? c.now,
        registered: STORED,
        mpanCheckDigitValid: OPTIONAL,
      }),
  },
  ...(['pass', 'E4.start', 'E4.range'] as const).map(
    (id): Template => ({
      id: id === 'pass' ? 'pass.range' : id,
      check: 'registration-data',
      outcome: id === 'pass' ? 'pass' : 'fail',
      ...(id === 'pass' ? {} : { code: 'E4' as const }),
      reason: (e, c) =>
        id === 'pass'
          ? `${c.sender} was the registered ${responsibilityName(e.responsibility)} of ${e.mpxn} throughout ${e.from} to ${e.to}`
          : id === 'E4.start'
            ? `${c.sender} was not the registered ${responsibilityName(e.responsibility)} at ${e.from} for ${e.mpxn}${e.mpanCheckDigitValid === false ? TEST_MPAN : ''}`
            : `${c.sender} the registration changed inside the range (at ${(e.changesInRange as E[])[0]?.effectiveFrom}) for ${e.mpxn}${e.mpanCheckDigitValid === false ? TEST_MPAN : ''}`,
      shape: (c) =>
        Object.assign(registrationBase(c), {
          basis: 'dateRange',
          from: c.request.dateRange?.from,
          to: c.request.dateRange?.to,
          holderAtStart: STORED,
          changesInRange: STORED,
          mpanCheckDigitValid: OPTIONAL,
        }),
    }),
  ),
  // Step 5
  { id: 'nc', check: 'certificate-ownership', outcome: 'skipped', reason: () => 'not a critical request', shape: () => ({}) },
  { id: 'smets2', check: 'certificate-ownership', outcome: 'skipped', reason: () => 'a SMETS2 meter checks the signature against the certificates it stores itself', shape: () => ({}) },
  {
    id: 'pass',
    check: 'certificate-ownership',
    outcome: 'pass',
    reason: (e) => `${e.sender} owns the ${e.slot} certificate held by proxy (serial ${((e.dsp ?? e.s1sp) as E).certificate.serial})`,
    shape: (c) => Object.assign(proxyRecords(c, c.sender), { owner: ownerOf }),
  },
  {
    id: 'E.owner',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e) => `${e.sender} does not own the ${e.slot} certificate held by proxy: its owner is ${e.owner}`,
    shape: (c) => Object.assign(proxyRecords(c, STORED), { owner: ownerOf }),
  },
  {
    id: 'E.none',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) => `no ${e.slot} certificate is held by proxy for device ${c.device?.deviceId}`,
    shape: (c) => ({ slot: slotOf(c), dsp: null, s1sp: null, sender: c.sender, ...inForce(c) }),
  },
  {
    id: 'E.disagree',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e) => `the DSP and S1SP copies of the ${e.slot} certificate disagree: ownership cannot be established`,
    shape: (c) => Object.assign({ slot: slotOf(c), dsp: STORED, s1sp: STORED, sender: c.sender }, inForce(c), { finding: 'proxy-copies-disagree' }),
  },
  {
    id: 'pass.override',
    check: 'certificate-ownership',
    outcome: 'pass',
    reason: (e, c) => `rule set ${c.ruleSet.id}: ${e.sender}, the registered NO, replaces ${e.owner}'s certificate with its own`,
    shape: (c) => Object.assign(proxyRecords(c, STORED), { owner: ownerOf, override: 'registered-operator' }),
  },
  {
    id: 'E.override',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) => `rule set ${c.ruleSet.id}: the registered NO ${e.sender} may replace ${e.owner}'s certificate only with its own network-operator certificates`,
    shape: (c) => Object.assign(proxyRecords(c, STORED), { owner: ownerOf, foreign: foreignTo(c, '03') }),
  },
  {
    id: 'pass.6.21',
    check: 'certificate-ownership',
    outcome: 'pass',
    reason: (e) => `the ${e.slot} slot is DCC controlled (no User certificate held): handover allowed`,
    shape: (c) => ({ slot: slotOf(c), ...inForce(c) }),
  },
  {
    id: 'E.6.21',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) => `the ${e.slot} slot already holds ${(e.held as E).certificate.ownerUserId}'s certificate: the device is not DCC controlled for ${c.request.remotePartyRole}`,
    shape: (c) => ({ slot: slotOf(c), held: STORED, ...inForce(c) }),
  },
  {
    id: 'pass.6.23',
    check: 'certificate-ownership',
    outcome: 'pass',
    reason: (e) => `6.23: every replacement certificate is ${e.sender}'s own supplier certificate`,
    shape: (c) => ({ sender: c.sender, certificates: c.request.certificates.map((x) => x.serial) }),
  },
  {
    id: 'E.6.23',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e) =>
      `6.23 places the sender's own supplier credentials only: ${(e.foreign as CertificateIdentity[]).map((x) => `serial ${x.serial} is ${x.ownerUserId}'s (role code ${x.roleCode})`).join('; ')}, not ${e.sender}'s supplier certificate`,
    shape: (c) => ({ sender: c.sender, foreign: foreignTo(c, '02') }),
  },
  // Step 5 from edition 5 (added to set 1: no template above changed, so every decision stored before reads as it did).
  {
    id: 'E.supplierNo',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) => `rule set ${c.ruleSet.id}: a supplier cannot replace NetworkOperator credentials with 6.15.1 (they are replaced NO by NO): ${e.sender} sends as ${e.role}`,
    shape: (c) => ({ sender: c.sender, role: c.role, remotePartyRole: c.request.remotePartyRole, finding: 'supplier-replaces-network-operator' }),
  },
  {
    id: 'E.roleCode',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) =>
      `rule set ${c.ruleSet.id}: ${e.remotePartyRole} credentials are replaced with ${e.remotePartyRole} certificates only (role code ${e.roleCode}): ${(e.wrong as CertificateIdentity[]).map((x) => `serial ${x.serial} (${x.ownerUserId}'s) has role code ${x.roleCode}`).join('; ')}`,
    shape: (c) => {
      const roleCode = roleCodeOfRemoteParty(c.request.remotePartyRole as RemotePartyRole);
      return { remotePartyRole: c.request.remotePartyRole, roleCode, wrong: c.request.certificates.filter((x) => x.roleCode !== roleCode), finding: 'replacement-role-code' };
    },
  },
  {
    id: 'pass.override.any',
    check: 'certificate-ownership',
    outcome: 'pass',
    reason: (e, c) =>
      `rule set ${c.ruleSet.id}: ${e.sender}, the registered NO, replaces ${e.held === 'none' ? `an empty ${e.slot} slot's certificate` : `the ${e.slot} certificate, whose DSP and S1SP copies disagree,`} with its own`,
    shape: (c) => Object.assign({ slot: slotOf(c), dsp: STORED, s1sp: STORED, sender: c.sender }, inForce(c), { held: heldOf, override: 'registered-operator' }),
  },
  {
    id: 'E.override.any',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) => `rule set ${c.ruleSet.id}: the registered NO ${e.sender} may replace the ${e.slot} certificate (held: ${e.held}) only with its own network-operator certificates`,
    shape: (c) => Object.assign({ slot: slotOf(c), dsp: STORED, s1sp: STORED, sender: c.sender }, inForce(c), { held: heldOf, foreign: foreignTo(c, '03') }),
  },
  // Steps 3 to 5 skipped: not reached, or a non-device request.
  ...(['srv-eligibility', 'device', 'registration-data', 'certificate-ownership'] as const).map((check): Template => ({ ...notReached, check })),
  ...(['device', 'registration-data', 'certificate-ownership'] as const).map((check): Template => ({ ...nonDevice, check })),
];

/** The templates a stored decision is written with (its `templates`; absent: 1), by check. */
export interface TemplateSet {
  version: number;
  templates: readonly Template[];
  of: ReadonlyMap<CheckName, readonly Template[]>;
}

export const templateSet = (version: number, templates: readonly Template[]): TemplateSet => ({
  version,
  templates,
  of: new Map(CHECKS.map((c) => [c, templates.filter((t) => t.check === c)])),
});

/**
 * Every template set, oldest first: a decision is written with the newest and read with the one
 * it names. To change how a check reads (a reason, a shape, or anything a template reads when a
 * record is decoded), copy the newest set, change the copy, and add it here as the next version;
 * never change a set that decisions were written with.
 */
export const TEMPLATE_SETS: readonly TemplateSet[] = [templateSet(1, TEMPLATES)];

export function template(set: TemplateSet, check: CheckName, id: string): Template {
  const t = set.of.get(check)!.find((x) => x.id === id);
  if (!t) throw new DomainError('ServiceRequestEvaluated.checks', `'${id}' is not a template of check ${check} (template set ${set.version})`);
  return t;
}
