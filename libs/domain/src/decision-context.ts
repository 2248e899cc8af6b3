import { responsibilityOf, slotPartyOfRemoteParty, type SrvDefinition } from './catalogue';
import { From, INSTANT, Nested, OPTIONAL, STORED, type Shape } from './decision-shapes';
import { srvDefinitionFor } from './evaluate';
import type { CheckName, CheckOutcome, RecordedRequest, ResponseCode } from './events';
import { DomainError, type UserRole } from './identifiers';
import { getRuleSet, type RuleSet } from './rule-sets';

/** What the templates of a decision's checks (decision-templates.ts) render from and build on. */

export const CHECKS: readonly CheckName[] = ['user-role', 'srv-eligibility', 'device', 'registration-data', 'certificate-ownership'];
export const DERIVED_ROLE = 'derived from the roles held, the signing certificate and the fuel';
export const STATED_ROLE = 'stated in the request';
export const NOT_REACHED = 'not reached: an earlier check failed';
export const TEST_MPAN = ': the inventory links the device to an MPAN that fails its check digit, for which Registration Data is refused';

/** What a check's reason and derivable evidence are rendered from: the decision less its checks, and the device as read. */
export interface Context {
  request: RecordedRequest;
  sender: string;
  role: string | null;
  ruleSet: { id: string; version: number };
  edition: RuleSet['edition'] | undefined;
  def: SrvDefinition | undefined;
  now: string;
  future: boolean;
  /** The device check's evidence (deviceId, deviceType, smetsGeneration, status, mpxn), when it has one. */
  device: Record<string, unknown> | undefined;
}

export interface Template {
  id: string;
  check: CheckName;
  outcome: CheckOutcome;
  code?: ResponseCode;
  reason(ev: Record<string, unknown>, c: Context): string;
  shape(c: Context): Record<string, Shape>;
}

/** Evidence as the templates read it (its shape is the template's). */
export type E = Record<string, any>;

export const def = (c: Context): SrvDefinition => {
  if (!c.def) throw new DomainError('ServiceRequestEvaluated.srv', `SRV ${c.request.srv} is not judged under rule set ${c.ruleSet.id}@${c.ruleSet.version}`);
  return c.def;
};
/** Whether a decision was judged under edition 2 or a later one (3 judges as 2 does, but for roles and inventory in force; 4 as 3, but for the override). */
export const fromEdition2 = (c: Context): boolean => c.edition !== undefined && c.edition >= 2;
export const responsibilityName = (r: unknown) => (r === 'supplier' ? 'supplier' : 'network operator');
export const deviceFacts = (c: Context): Record<string, Shape> => ({ deviceId: c.request.target, deviceType: STORED, smetsGeneration: STORED, status: STORED, mpxn: STORED });
export const registrationBase = (c: Context): Record<string, Shape> => ({
  mpxn: (c.device?.mpxn as string | null | undefined) ?? null,
  responsibility: c.role ? responsibilityOf(c.role as UserRole) : undefined,
  userId: c.sender,
});
export const slotOf = (c: Context): string | undefined => {
  const rpr = c.request.remotePartyRole;
  const party = rpr ? slotPartyOfRemoteParty(rpr as never, c.edition === 1 ? 1 : 2) : c.role ? responsibilityOf(c.role as UserRole) : undefined;
  return party ? `${party}.critical` : undefined;
};
/** The additions of edition 2 (and later ones) to step 5's evidence: the instant the certificates are in force, and those pending after it. */
export const inForce = (c: Context): Record<string, Shape> => (fromEdition2(c) ? { inForceAt: c.future ? c.request.executionDateTime : c.now, pendingAfter: OPTIONAL } : {});
export const heldBy = (owner: Shape): Nested =>
  new Nested({ certificate: new Nested({ serial: STORED, issuer: STORED, ownerUserId: owner, roleCode: STORED, keyUsage: 'digitalSignature' }), via: STORED, placedAt: INSTANT });
export const proxyRecords = (c: Context, owner: Shape): Record<string, Shape> => ({
  slot: slotOf(c),
  dsp: heldBy(owner),
  s1sp: new From((b) => b.dsp),
  sender: c.sender,
  ...inForce(c),
});
export const ownerOf = new From((b) => ((b.dsp ?? b.s1sp) as E).certificate.ownerUserId);
export const foreignTo = (c: Context, roleCode: string) => c.request.certificates.filter((x) => x.ownerUserId !== c.sender || x.roleCode !== roleCode);
export const nonDevice: Omit<Template, 'check'> = {
  id: 'nd',
  outcome: 'skipped',
  reason: (e) => `SRV ${e.srv} is a non-device request (DUIS matrix): no device, Registration Data or certificate check`,
  shape: (c) => ({ srv: c.request.srv }),
};
export const notReached: Omit<Template, 'check'> = { id: 'skip', outcome: 'skipped', reason: () => NOT_REACHED, shape: () => ({}) };
export const e1 = (c: Context, extra: Record<string, Shape> = {}): Record<string, Shape> => ({
  userId: c.sender,
  heldRoles: STORED,
  ...(c.request.statedRole ? { statedRole: c.request.statedRole } : { signingRoleCode: c.request.signingRoleCode, fuel: OPTIONAL }),
  ...extra,
});
export const rprEvidence = (c: Context): Record<string, Shape> => ({ srv: c.request.srv, role: c.role, remotePartyRole: c.request.remotePartyRole });

/** What a function gives, or undefined where it throws (an unknown rule set, an SRV its catalogue lacks, evidence of another shape). */
export function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

export const ruleSets = new Map<string, RuleSet | undefined>();
export const ruleSetOf = (id: string, version: number): RuleSet | undefined => {
  const key = `${id}@${version}`;
  if (!ruleSets.has(key)) ruleSets.set(key, attempt(() => getRuleSet(id, version)));
  return ruleSets.get(key);
};

export function context(request: RecordedRequest, ruleSet: { id: string; version: number }, role: string | null, now: string): Context {
  const rs = ruleSetOf(ruleSet.id, ruleSet.version);
  const d = rs && attempt(() => srvDefinitionFor(request.srv, rs));
  const future = request.executionDateTime !== undefined && request.executionDateTime > now;
  return { request, sender: request.originator, role, ruleSet, edition: rs?.edition, def: d, now, future, device: undefined };
}

