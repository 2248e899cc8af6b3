import { responsibilityOf, slotPartyOfRemoteParty, type CertificateIdentity, type SrvDefinition } from './catalogue';
import { srvDefinitionFor } from './evaluate';
import type { CheckName, CheckOutcome, CheckRecord, RecordedRequest, ResponseCode, ServiceRequestEvaluatedV1 } from './events';
import { DomainError, type UserRole } from './identifiers';
import { getRuleSet, type RuleSet } from './rule-sets';

/**
 * The stored form of a decision: ServiceRequestEvaluated schema version 3.
 *
 * A decision (the shape evaluate() returns and every reader gets: versions 1 and 2) states many
 * facts two or three times and renders each check's reason as prose. Version 3 states each fact
 * once and no prose: the reasons are rendered on read from each check's template, its evidence and
 * the request (decodeDecision), and whatever a reader can derive is left out:
 *
 * - the request's target, which is the device of the stream the event is in, and `originator`,
 *   `target`, `counter` (the RequestID holds them); `signatureVerified` (always false); `format`
 *   when it is 'json';
 * - `outcome` (from the response code), the response code (from the failing check's template, or
 *   I99 for a request executing after the check, else I0), `evaluatedAt` when it is `receivedAt`,
 *   `schemaVersion` 2 (a request naming several RemotePartyRoles);
 * - each check's step, name and code (its place in the list and its template), and of its evidence
 *   what repeats the request, the sender's role, the rule set, the SRV's definition in the rule
 *   set's catalogue, or the device as the device check read it;
 * - the names of the streams read (user-<originator>, device-<target>, meterpoint-<the device's MPxN>).
 *
 * Each check is a template id (`CheckEntry`): alone, when every piece of its evidence derives; or
 * `[id, ...values]`, the pieces that do not derive, in the order of the evidence's keys; or, where
 * a recorded check fits no template exactly, an object keeping what differs as recorded
 * (`reasonAsRecorded`, `evidenceAsRecorded`). encodeDecision() checks that decoding gives back
 * exactly the decision it was given (every field, in the same key order) and otherwise returns
 * undefined, so nothing is ever lost: the caller keeps the decision as it is.
 */
export interface DecisionRecordV3 {
  schemaVersion: 3;
  /** The RequestID without its target (the device whose stream holds the event): `originator::counter`. */
  requestId: string;
  srv: string;
  /** The instant the request was received (whole seconds without `.000`). */
  receivedAt: string;
  /** The time of the check, when it is not `receivedAt`. */
  evaluatedAt?: string;
  commandVariant?: number;
  statedRole?: string;
  signingRoleCode?: string;
  executionDateTime?: string;
  dateRange?: { from: string; to: string };
  /** The RemotePartyRole, or every one when the request names several (the first is `request.remotePartyRole`). */
  remotePartyRole?: string | string[];
  /** The certificates the request carries, each `[serial, issuer, ownerUserId, roleCode, keyUsage]`. */
  certificates?: Array<[string, string, string, string, string]>;
  /** Only 'duis': a JSON request is the default. */
  format?: 'duis';
  /** `id@version`. */
  ruleSet: string;
  /** The role the request was judged as; absent when none was found (step 1 failed). */
  senderRole?: string;
  /** Only where it is not the one derived (see above). */
  responseCode?: ResponseCode;
  /**
   * The revisions read: `[user, device]` or `[user, device, meterPoint]` (the device's MPxN as the
   * device check read it), or `[user, device, meterPoint, mpxn]` when no check states the MPxN; an
   * object, as recorded, when the streams read are not those.
   */
  revisionsRead: Array<number | string | null> | Record<string, string | null>;
  /** The five checks, in step order. */
  checks: CheckEntry[];
}

export type CheckEntry =
  | string
  | [string, ...unknown[]]
  | { id: string; evidence?: Record<string, unknown>; evidenceAsRecorded?: Record<string, unknown>; reasonAsRecorded?: string }
  | CheckRecord;

const CHECKS: readonly CheckName[] = ['user-role', 'srv-eligibility', 'device', 'registration-data', 'certificate-ownership'];
const DERIVED_ROLE = 'derived from the roles held, the signing certificate and the fuel';
const STATED_ROLE = 'stated in the request';
const NOT_REACHED = 'not reached: an earlier check failed';
const TEST_MPAN = ': the inventory links the device to an MPAN that fails its check digit, for which Registration Data is refused';

// ---- shapes of evidence -------------------------------------------------------------------------

/** A piece of evidence held in the record. */
const STORED = Symbol('stored');
/** A piece held in the record when present (never null when present): null in a record's values when absent. */
const OPTIONAL = Symbol('optional');
/** An instant held in the record, whole seconds written without `.000`. */
const INSTANT = Symbol('instant');
/** A piece derived from the pieces before it in the same object. */
class From {
  constructor(readonly derive: (built: Record<string, unknown>) => unknown) {}
}
/** An object whose keys, in this order, have shapes of their own. */
class Nested {
  constructor(readonly keys: Record<string, Shape>) {}
}
/** Anything else in a shape is the value itself, derived from the decision (undefined: the key is absent). */
type Shape = typeof STORED | typeof OPTIONAL | typeof INSTANT | From | Nested | unknown;

/** Whole seconds without `.000`; decoded back to the normalised form. */
const shortInstant = (t: string) => t.replace(/\.000Z$/, 'Z');
const longInstant = (t: string) => {
  if (typeof t === 'string' && t.length === 20 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(t)) return `${t.slice(0, 19)}.000Z`;
  const ms = Date.parse(t);
  if (typeof t !== 'string' || Number.isNaN(ms)) throw new DomainError('ServiceRequestEvaluated', `'${String(t)}' is not an instant`);
  return new Date(ms).toISOString();
};
/** Whether two JSON values are the same JSON text: equal values, and object keys in the same order (a key whose value is undefined is no key). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !same((a as Record<string, unknown>)[ka[i]], (b as Record<string, unknown>)[kb[i]])) return false;
  return true;
}
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const present = (keys: Record<string, Shape>) => Object.keys(keys).filter((k) => keys[k] !== undefined);

/** Pushes onto `out` the evidence's pieces that do not derive, in order; false when the evidence is not of this shape. */
function pack(value: unknown, shape: Shape, out: unknown[], built: Record<string, unknown>, has = true): boolean {
  if (shape === STORED) return has && (out.push(value), true);
  if (shape === INSTANT) return has && typeof value === 'string' && (out.push(shortInstant(value)), true);
  if (shape === OPTIONAL) return has ? value !== null && (out.push(value), true) : (out.push(null), true);
  if (!has) return false;
  if (shape instanceof From) return same(value, shape.derive(built));
  if (shape instanceof Nested) {
    if (!isObject(value)) return false;
    const keys = present(shape.keys);
    const optional = keys.filter((k) => shape.keys[k] === OPTIONAL);
    if (!Object.keys(value).every((k) => keys.includes(k)) || !keys.every((k) => k in value || optional.includes(k))) return false;
    if (!same(Object.keys(value), keys.filter((k) => k in value))) return false;
    return keys.every((k) => pack(value[k], shape.keys[k], out, value, k in value));
  }
  return same(value, shape);
}

function unpack(values: unknown[], shape: Shape, at: { i: number }, built: Record<string, unknown>): unknown {
  if (shape === STORED) return values[at.i++] ?? null;
  if (shape === INSTANT) return longInstant(values[at.i++] as string);
  if (shape === OPTIONAL) return values[at.i++] ?? undefined;
  if (shape instanceof From) return shape.derive(built);
  if (shape instanceof Nested) {
    const o: Record<string, unknown> = {};
    for (const k of present(shape.keys)) {
      const v = unpack(values, shape.keys[k], at, o);
      if (v !== undefined) o[k] = v;
    }
    return o;
  }
  return copy(shape);
}

/** A derived value, copied so that no decision shares an object with another (or with the catalogue). */
const copy = (v: unknown): unknown => (v !== null && typeof v === 'object' ? JSON.parse(JSON.stringify(v)) : v);

/** The evidence from the pieces kept as an object (those that differ from, or are missing in, the shape). */
function merge(kept: Record<string, unknown>, shape: Record<string, Shape>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of present(shape)) {
    const s = shape[k];
    if (k in kept) o[k] = kept[k];
    else if (s !== STORED && s !== OPTIONAL && s !== INSTANT && !(s instanceof Nested)) {
      const v = s instanceof From ? s.derive(o) : copy(s);
      if (v !== undefined) o[k] = v;
    }
  }
  for (const [k, v] of Object.entries(kept)) if (!(k in o)) o[k] = v;
  return o;
}

// ---- templates ----------------------------------------------------------------------------------

/** What a check's reason and derivable evidence are rendered from: the decision less its checks, and the device as read. */
interface Context {
  request: RecordedRequest;
  sender: string;
  role: string | null;
  ruleSet: { id: string; version: number };
  edition: 1 | 2 | undefined;
  def: SrvDefinition | undefined;
  now: string;
  future: boolean;
  /** The device check's evidence (deviceId, deviceType, smetsGeneration, status, mpxn), when it has one. */
  device: Record<string, unknown> | undefined;
}

interface Template {
  id: string;
  check: CheckName;
  outcome: CheckOutcome;
  code?: ResponseCode;
  reason(ev: Record<string, unknown>, c: Context): string;
  shape(c: Context): Record<string, Shape>;
}

/** Evidence as the templates read it (its shape is the template's). */
type E = Record<string, any>;

const def = (c: Context): SrvDefinition => {
  if (!c.def) throw new DomainError('ServiceRequestEvaluated.srv', `SRV ${c.request.srv} is not judged under rule set ${c.ruleSet.id}@${c.ruleSet.version}`);
  return c.def;
};
const responsibilityName = (r: unknown) => (r === 'supplier' ? 'supplier' : 'network operator');
const deviceFacts = (c: Context): Record<string, Shape> => ({ deviceId: c.request.target, deviceType: STORED, smetsGeneration: STORED, status: STORED, mpxn: STORED });
const registrationBase = (c: Context): Record<string, Shape> => ({
  mpxn: (c.device?.mpxn as string | null | undefined) ?? null,
  responsibility: c.role ? responsibilityOf(c.role as UserRole) : undefined,
  userId: c.sender,
});
const slotOf = (c: Context): string | undefined => {
  const rpr = c.request.remotePartyRole;
  const party = rpr ? slotPartyOfRemoteParty(rpr as never, c.edition ?? 2) : c.role ? responsibilityOf(c.role as UserRole) : undefined;
  return party ? `${party}.critical` : undefined;
};
/** The edition-2 additions to step 5's evidence: the instant the certificates are in force, and those pending after it. */
const inForce = (c: Context): Record<string, Shape> => (c.edition === 2 ? { inForceAt: c.future ? c.request.executionDateTime : c.now, pendingAfter: OPTIONAL } : {});
const heldBy = (owner: Shape): Nested =>
  new Nested({ certificate: new Nested({ serial: STORED, issuer: STORED, ownerUserId: owner, roleCode: STORED, keyUsage: 'digitalSignature' }), via: STORED, placedAt: INSTANT });
const proxyRecords = (c: Context, owner: Shape): Record<string, Shape> => ({
  slot: slotOf(c),
  dsp: heldBy(owner),
  s1sp: new From((b) => b.dsp),
  sender: c.sender,
  ...inForce(c),
});
const ownerOf = new From((b) => ((b.dsp ?? b.s1sp) as E).certificate.ownerUserId);
const foreignTo = (c: Context, roleCode: string) => c.request.certificates.filter((x) => x.ownerUserId !== c.sender || x.roleCode !== roleCode);
const nonDevice: Omit<Template, 'check'> = {
  id: 'nd',
  outcome: 'skipped',
  reason: (e) => `SRV ${e.srv} is a non-device request (DUIS matrix): no device, Registration Data or certificate check`,
  shape: (c) => ({ srv: c.request.srv }),
};
const notReached: Omit<Template, 'check'> = { id: 'skip', outcome: 'skipped', reason: () => NOT_REACHED, shape: () => ({}) };
const e1 = (c: Context, extra: Record<string, Shape> = {}): Record<string, Shape> => ({
  userId: c.sender,
  heldRoles: STORED,
  ...(c.request.statedRole ? { statedRole: c.request.statedRole } : { signingRoleCode: c.request.signingRoleCode, fuel: OPTIONAL }),
  ...extra,
});
const rprEvidence = (c: Context): Record<string, Shape> => ({ srv: c.request.srv, role: c.role, remotePartyRole: c.request.remotePartyRole });

/** Every check evaluate() records, one template per branch (evaluate.reasons.spec.ts and decision-record.spec.ts hold them to it). */
const TEMPLATES: readonly Template[] = [
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
    shape: (c) => ({ srv: c.request.srv, role: c.role, critical: def(c).critical, ...(c.edition === 2 ? { nonDevice: def(c).nonDevice ?? false, futureDating: def(c).futureDating ?? null } : {}) }),
  },
  {
    id: 'E2',
    check: 'srv-eligibility',
    outcome: 'fail',
    code: 'E2',
    reason: (e, c) => `role ${e.role} is not eligible for SRV ${e.srv}${c.edition === 2 && (e.eligibleRoles as string[]).length === 0 ? ': the DUIS matrix names no User Role for it' : ''}`,
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
  { id: 'E11', check: 'device', outcome: 'fail', code: 'E11', reason: (e, c) => `SRV ${c.request.srv} does not apply to a ${e.deviceType}`, shape: (c) => ({ ...deviceFacts(c), appliesTo: def(c).deviceTypes }) },
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
    shape: (c) => ({ ...deviceFacts(c), remotePartyRole: c.request.remotePartyRole }),
  },
  { id: 'E5', check: 'device', outcome: 'fail', code: 'E5', reason: (e, c) => `device status ${e.status} does not allow SRV ${c.request.srv}`, shape: (c) => ({ ...deviceFacts(c), allowedStatuses: def(c).allowedStatuses }) },
  // Step 4
  {
    id: 'pass',
    check: 'registration-data',
    outcome: 'pass',
    reason: (e, c) => `${c.sender} is the registered ${responsibilityName(e.responsibility)} of ${e.mpxn} at ${e.at}`,
    shape: (c) => ({
      ...registrationBase(c),
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
    shape: (c) => ({
      ...registrationBase(c),
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
      shape: (c) => ({
        ...registrationBase(c),
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
    shape: (c) => ({ ...proxyRecords(c, c.sender), owner: ownerOf }),
  },
  {
    id: 'E.owner',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e) => `${e.sender} does not own the ${e.slot} certificate held by proxy: its owner is ${e.owner}`,
    shape: (c) => ({ ...proxyRecords(c, STORED), owner: ownerOf }),
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
    shape: (c) => ({ slot: slotOf(c), dsp: STORED, s1sp: STORED, sender: c.sender, ...inForce(c), finding: 'proxy-copies-disagree' }),
  },
  {
    id: 'pass.override',
    check: 'certificate-ownership',
    outcome: 'pass',
    reason: (e, c) => `rule set ${c.ruleSet.id}: ${e.sender}, the registered NO, replaces ${e.owner}'s certificate with its own`,
    shape: (c) => ({ ...proxyRecords(c, STORED), owner: ownerOf, override: 'registered-operator' }),
  },
  {
    id: 'E.override',
    check: 'certificate-ownership',
    outcome: 'fail',
    code: 'E_CERT_OWNER',
    reason: (e, c) => `rule set ${c.ruleSet.id}: the registered NO ${e.sender} may replace ${e.owner}'s certificate only with its own network-operator certificates`,
    shape: (c) => ({ ...proxyRecords(c, STORED), owner: ownerOf, foreign: foreignTo(c, '03') }),
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
  // Steps 3 to 5 skipped: not reached, or a non-device request.
  ...(['srv-eligibility', 'device', 'registration-data', 'certificate-ownership'] as const).map((check): Template => ({ ...notReached, check })),
  ...(['device', 'registration-data', 'certificate-ownership'] as const).map((check): Template => ({ ...nonDevice, check })),
];

const templatesOf = new Map<CheckName, Template[]>(CHECKS.map((c) => [c, TEMPLATES.filter((t) => t.check === c)]));

function template(check: CheckName, id: string): Template {
  const t = templatesOf.get(check)!.find((x) => x.id === id);
  if (!t) throw new DomainError('ServiceRequestEvaluated.checks', `'${id}' is not a template of check ${check}`);
  return t;
}

// ---- encode and decode --------------------------------------------------------------------------

/** What a function gives, or undefined where it throws (an unknown rule set, an SRV its catalogue lacks, evidence of another shape). */
function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

const ruleSets = new Map<string, RuleSet | undefined>();
const ruleSetOf = (id: string, version: number): RuleSet | undefined => {
  const key = `${id}@${version}`;
  if (!ruleSets.has(key)) ruleSets.set(key, attempt(() => getRuleSet(id, version)));
  return ruleSets.get(key);
};

function context(request: RecordedRequest, ruleSet: { id: string; version: number }, role: string | null, now: string): Context {
  const rs = ruleSetOf(ruleSet.id, ruleSet.version);
  const d = rs && attempt(() => srvDefinitionFor(request.srv, rs));
  const future = request.executionDateTime !== undefined && request.executionDateTime > now;
  return { request, sender: request.originator, role, ruleSet, edition: rs?.edition, def: d, now, future, device: undefined };
}


/**
 * A check as an entry of the stored form. `checked` false (the fast path): the compact entry is
 * returned without decoding it, since encodeDecision decodes the whole record once; true: each
 * form is decoded and compared, and the first that gives the check back exactly is kept.
 */
function encodeCheck(check: CheckRecord, index: number, c: Context, checked: boolean): CheckEntry {
  const name = CHECKS[index];
  if (check.check !== name || check.step !== index + 1 || !isObject(check.evidence)) return check;
  const candidates = templatesOf.get(name)!.filter((t) => t.outcome === check.outcome && t.code === check.code);
  const fits = candidates.find((x) => attempt(() => x.reason(check.evidence, c)) === check.reason);
  const t = fits ?? candidates[0];
  const shape = t && attempt(() => t.shape(c));
  if (!t || !shape) return check;
  const gives = (entry: CheckEntry) => !checked || attempt(() => same(decodeCheck(entry, index, c), check)) === true;
  const reasonAsRecorded = fits ? undefined : check.reason;
  const values: unknown[] = [];
  if (reasonAsRecorded === undefined && attempt(() => pack(check.evidence, new Nested(shape), values, {}))) {
    while (values.length > 0 && values[values.length - 1] === null) values.pop();
    const entry: CheckEntry = values.length === 0 ? t.id : [t.id, ...values];
    if (gives(entry)) return entry;
  }
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(check.evidence)) {
    const s = shape[k];
    const derivable = k in shape && s !== STORED && s !== OPTIONAL && s !== INSTANT && !(s instanceof Nested);
    if (!derivable || !same(v, s instanceof From ? attempt(() => s.derive(check.evidence)) : s)) kept[k] = v;
  }
  const asRecorded = reasonAsRecorded === undefined ? {} : { reasonAsRecorded };
  const entry = { id: t.id, ...(Object.keys(kept).length ? { evidence: kept } : {}), ...asRecorded };
  if (gives(entry)) return entry;
  const verbatim = { id: t.id, evidenceAsRecorded: check.evidence, ...asRecorded };
  return gives(verbatim) ? verbatim : check;
}

function decodeCheck(entry: CheckEntry, index: number, c: Context): CheckRecord {
  if (isObject(entry) && 'check' in entry) return entry as unknown as CheckRecord;
  const name = CHECKS[index];
  if (!name) throw new DomainError('ServiceRequestEvaluated.checks', `holds more than ${CHECKS.length} checks`);
  let t: Template;
  let evidence: Record<string, unknown>;
  let reasonAsRecorded: string | undefined;
  if (typeof entry === 'string' || Array.isArray(entry)) {
    t = template(name, typeof entry === 'string' ? entry : String(entry[0]));
    evidence = unpack(typeof entry === 'string' ? [] : entry.slice(1), new Nested(t.shape(c)), { i: 0 }, {}) as Record<string, unknown>;
  } else if (isObject(entry) && typeof entry.id === 'string') {
    t = template(name, entry.id);
    evidence = entry.evidenceAsRecorded ?? merge(entry.evidence ?? {}, t.shape(c));
    reasonAsRecorded = entry.reasonAsRecorded;
  } else {
    throw new DomainError('ServiceRequestEvaluated.checks', `check ${index + 1} is not a template id, a list or a check`);
  }
  const reason = reasonAsRecorded ?? t.reason(evidence, c);
  return { step: index + 1, check: name, outcome: t.outcome, ...(t.code ? { code: t.code } : {}), reason, evidence };
}

/** The device check's evidence, which later checks derive from. */
const deviceOf = (check: CheckRecord | undefined) => (check && check.check === 'device' && 'deviceType' in check.evidence ? check.evidence : undefined);

function derivedCode(checks: CheckRecord[], c: Context): ResponseCode {
  return checks.find((k) => k.outcome === 'fail')?.code ?? (c.future ? 'I99' : 'I0');
}

function streamsRead(d: { originator: string; target: string; mpxn: unknown }): string[] {
  return [`user-${d.originator}`, `device-${d.target}`, ...(typeof d.mpxn === 'string' ? [`meterpoint-${d.mpxn}`] : [])];
}

/**
 * A decision in its stored form (schema version 3), or undefined when that form would not give it
 * back exactly: such a decision is kept as it is (versions 1 and 2 stay readable).
 */
export function encodeDecision(d: ServiceRequestEvaluatedV1): DecisionRecordV3 | undefined {
  // Fast path: compact entries, one decode of the whole record to check it; else each check checked on its own.
  return encodeWith(d, false) ?? encodeWith(d, true);
}

function encodeWith(d: ServiceRequestEvaluatedV1, checked: boolean): DecisionRecordV3 | undefined {
  try {
    const r = d.request;
    if (d.checks.length !== CHECKS.length || r.requestId !== `${r.originator}:${r.target}:${r.counter}`) return undefined;
    const c = context(r, d.ruleSet, d.senderRole, d.evaluatedAt);
    const checks = d.checks.map((check, i) => {
      const entry = encodeCheck(check, i, c, checked);
      if (i === 2) c.device = deviceOf(check);
      return entry;
    });
    const record = { schemaVersion: 3, requestId: `${r.originator}::${r.counter}`, srv: r.srv, receivedAt: shortInstant(r.receivedAt) } as DecisionRecordV3;
    if (d.evaluatedAt !== r.receivedAt) record.evaluatedAt = shortInstant(d.evaluatedAt);
    if (r.commandVariant !== undefined) record.commandVariant = r.commandVariant;
    if (r.statedRole !== undefined) record.statedRole = r.statedRole;
    if (r.signingRoleCode !== undefined) record.signingRoleCode = r.signingRoleCode;
    if (r.executionDateTime !== undefined) record.executionDateTime = shortInstant(r.executionDateTime);
    if (r.dateRange !== undefined) record.dateRange = r.dateRange;
    if (r.remotePartyRole !== undefined) record.remotePartyRole = r.remotePartyRoles ?? r.remotePartyRole;
    if (r.certificates.length > 0) record.certificates = r.certificates.map((x) => [x.serial, x.issuer, x.ownerUserId, x.roleCode, x.keyUsage]);
    if (r.format === 'duis') record.format = 'duis';
    record.ruleSet = `${d.ruleSet.id}@${d.ruleSet.version}`;
    if (d.senderRole !== null) record.senderRole = d.senderRole;
    if (d.responseCode !== derivedCode(d.checks, c)) record.responseCode = d.responseCode;
    record.revisionsRead = revisionsOf(d, c.device);
    record.checks = checks;
    const back = decodeDecision(record, r.target);
    return same(back, d) ? record : undefined;
  } catch {
    return undefined;
  }
}

function revisionsOf(d: ServiceRequestEvaluatedV1, device: Record<string, unknown> | undefined): DecisionRecordV3['revisionsRead'] {
  const entries = Object.entries(d.revisionsRead);
  const asNumber = (v: string | null) => (v === null ? null : /^(0|[1-9]\d{0,14})$/.test(v) ? Number(v) : undefined);
  const revisions = entries.map(([, v]) => asNumber(v));
  if (revisions.some((v) => v === undefined)) return d.revisionsRead;
  const names = entries.map(([k]) => k);
  const mp = names[2]?.startsWith('meterpoint-') ? names[2].slice('meterpoint-'.length) : undefined;
  if (same(names, streamsRead({ originator: d.request.originator, target: d.request.target, mpxn: mp }))) {
    if (mp === undefined || device?.mpxn === mp) return revisions as Array<number | null>;
    return [...(revisions as Array<number | null>), mp];
  }
  return d.revisionsRead;
}

/**
 * A stored decision (schema version 3) as every reader sees a decision: the request whole, each
 * check with its reason rendered. A record that does not decode is a DomainError (an unreadable event).
 */
export function decodeDecision(record: DecisionRecordV3, target: string): ServiceRequestEvaluatedV1 {
  try {
    return decode(record, target);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new DomainError('ServiceRequestEvaluated', `the stored decision does not decode: ${(err as Error).message}`);
  }
}

function decode(record: DecisionRecordV3, target: string): ServiceRequestEvaluatedV1 {
  const fail = (field: string, why: string) => new DomainError(`ServiceRequestEvaluated.${field}`, why);
  if (!isObject(record) || record.schemaVersion !== 3) throw fail('schemaVersion', 'is not 3');
  const id = /^([^:]+)::(\d+)$/.exec(String(record.requestId));
  if (!id) throw fail('requestId', `'${String(record.requestId)}' is not originator::counter`);
  const rs = /^(.+)@(\d+)$/.exec(String(record.ruleSet));
  if (!rs) throw fail('ruleSet', `'${String(record.ruleSet)}' is not id@version`);
  if (!Array.isArray(record.checks) || record.checks.length !== CHECKS.length) throw fail('checks', `must hold ${CHECKS.length} checks`);
  const receivedAt = longInstant(record.receivedAt);
  const request: RecordedRequest = {
    requestId: `${id[1]}:${target}:${id[2]}`,
    originator: id[1],
    target,
    counter: id[2],
    srv: record.srv,
    certificates: (record.certificates ?? []).map(([serial, issuer, ownerUserId, roleCode, keyUsage]) => ({ serial, issuer, ownerUserId, roleCode, keyUsage }) as CertificateIdentity),
    receivedAt,
    format: record.format === 'duis' ? 'duis' : 'json',
    signatureVerified: false,
  };
  if (record.commandVariant !== undefined) request.commandVariant = record.commandVariant;
  if (record.statedRole !== undefined) request.statedRole = record.statedRole;
  if (record.signingRoleCode !== undefined) request.signingRoleCode = record.signingRoleCode;
  if (record.executionDateTime !== undefined) request.executionDateTime = longInstant(record.executionDateTime);
  if (record.dateRange !== undefined) request.dateRange = record.dateRange;
  if (record.remotePartyRole !== undefined) {
    const all = record.remotePartyRole;
    request.remotePartyRole = Array.isArray(all) ? all[0] : all;
    if (Array.isArray(all)) request.remotePartyRoles = all;
  }
  const ruleSet = { id: rs[1], version: Number(rs[2]) };
  const evaluatedAt = record.evaluatedAt === undefined ? receivedAt : longInstant(record.evaluatedAt);
  const c = context(request, ruleSet, record.senderRole ?? null, evaluatedAt);
  const checks = record.checks.map((entry, i) => {
    const check = decodeCheck(entry, i, c);
    if (i === 2) c.device = deviceOf(check);
    return check;
  });
  const responseCode = record.responseCode ?? derivedCode(checks, c);
  let revisionsRead: Record<string, string | null>;
  if (Array.isArray(record.revisionsRead)) {
    const [u, dv, mp, mpxn] = record.revisionsRead;
    const names = streamsRead({ originator: request.originator, target, mpxn: mp === undefined ? undefined : (mpxn ?? c.device?.mpxn) });
    if (names.length !== (mp === undefined ? 2 : 3)) throw fail('revisionsRead', 'names a meter point read but no MPxN');
    const revs = [u, dv, mp].slice(0, names.length).map((v) => (v === null || v === undefined ? null : String(v)));
    revisionsRead = Object.fromEntries(names.map((n, i) => [n, revs[i]]));
  } else if (isObject(record.revisionsRead)) {
    revisionsRead = record.revisionsRead as Record<string, string | null>;
  } else {
    throw fail('revisionsRead', 'is neither a list nor an object');
  }
  return {
    schemaVersion: request.remotePartyRoles ? 2 : 1,
    request,
    ruleSet,
    senderRole: record.senderRole ?? null,
    checks,
    outcome: responseCode === 'I0' || responseCode === 'I99' ? 'accepted' : 'rejected',
    responseCode,
    evaluatedAt,
    revisionsRead,
  };
}

/** Every template, by check (for the specs that hold each branch of evaluate() to its rendering). */
export const DECISION_TEMPLATES: ReadonlyArray<{ check: CheckName; id: string }> = TEMPLATES.map((t) => ({ check: t.check, id: t.id }));
