import { attempt, CHECKS, context, type Context } from './decision-context';
import { decodeCheck, decodeDecision, derivedCode, deviceOf, streamsRead, type DecisionWithReads, type JudgedReads } from './decision-decode';
import { From, INSTANT, isObject, Nested, OPTIONAL, pack, same, shortInstant, STORED } from './decision-shapes';
import { TEMPLATE_SETS, type TemplateSet } from './decision-templates';
import type { CheckName, CheckRecord, ResponseCode, ServiceRequestEvaluatedV1 } from './events';

export { decodeDecision };

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
  /** The template set it was written with (decision-templates.ts, TEMPLATE_SETS); absent: 1. */
  templates?: number;
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

/**
 * A check as an entry of the stored form. `checked` false (the fast path): the compact entry is
 * returned without decoding it, since encodeDecision decodes the whole record once; true: each
 * form is decoded and compared, and the first that gives the check back exactly is kept.
 */
function encodeCheck(check: CheckRecord, index: number, c: Context, set: TemplateSet, checked: boolean): CheckEntry {
  const name = CHECKS[index];
  if (check.check !== name || check.step !== index + 1 || !isObject(check.evidence)) return check;
  const candidates = set.of.get(name)!.filter((t) => t.outcome === check.outcome && t.code === check.code);
  const fits = candidates.find((x) => attempt(() => x.reason(check.evidence, c)) === check.reason);
  const t = fits ?? candidates[0];
  const shape = t && attempt(() => t.shape(c));
  if (!t || !shape) return check;
  const gives = (entry: CheckEntry) => !checked || attempt(() => same(decodeCheck(entry, index, c, set), check)) === true;
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


/**
 * A decision in its stored form (schema version 3), written with the newest template set of
 * `sets` (the code's), or undefined when that form would not give it back exactly: such a
 * decision is kept as it is (versions 1 and 2 stay readable).
 */
export function encodeDecision(d: ServiceRequestEvaluatedV1, sets: readonly TemplateSet[] = TEMPLATE_SETS): DecisionRecordV3 | undefined {
  // Fast path: compact entries, one decode of the whole record to check it; else each check checked on its own.
  return encodeWith(d, false, sets) ?? encodeWith(d, true, sets);
}

function encodeWith(d: ServiceRequestEvaluatedV1, checked: boolean, sets: readonly TemplateSet[]): DecisionRecordV3 | undefined {
  try {
    const r = d.request;
    if (d.checks.length !== CHECKS.length || r.requestId !== `${r.originator}:${r.target}:${r.counter}`) return undefined;
    const c = context(r, d.ruleSet, d.senderRole, d.evaluatedAt);
    const set = sets[sets.length - 1];
    const checks = d.checks.map((check, i) => {
      const entry = encodeCheck(check, i, c, set, checked);
      if (i === 2) c.device = deviceOf(check);
      return entry;
    });
    const record = { schemaVersion: 3 } as DecisionRecordV3;
    if (set.version !== 1) record.templates = set.version;
    Object.assign(record, { requestId: `${r.originator}::${r.counter}`, srv: r.srv, receivedAt: shortInstant(r.receivedAt) });
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
    const back = decodeDecision(record, r.target, { revisionsRead: false }, sets);
    return sameAsDecoded(back, d) ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `d` is what a reader decoding the record whole gets, from `back`, the record decoded
 * without its revisionsRead object (decodeDecision's revisionsRead false): `same` as the whole
 * decode, field by field, with the revisions read compared with the streams and revisions the
 * record names (those of the object the whole decode makes of them, byName, in their order)
 * without making that object (a dictionary, the dearest object of the decode).
 */
function sameAsDecoded(back: DecisionWithReads, d: ServiceRequestEvaluatedV1): boolean {
  const { reads } = back;
  if (reads === undefined) return same(back, d); // stored as an object: decoded as it is
  const ob = back as unknown as Record<string, unknown>;
  const od = d as unknown as Record<string, unknown>;
  const kb = Object.keys(ob).filter((k) => k !== 'reads' && ob[k] !== undefined);
  const kd = Object.keys(od).filter((k) => od[k] !== undefined);
  if (kb.length !== kd.length) return false;
  for (let i = 0; i < kb.length; i++) {
    const k = kb[i];
    if (k !== kd[i]) return false;
    if (k === 'revisionsRead' ? !sameReads(reads, back.request, od[k]) : !same(ob[k], od[k])) return false;
  }
  return true;
}

/** Whether `read` is, as JSON, the object of the streams read and their revisions that a whole decode makes (see sameAsDecoded). */
function sameReads(reads: JudgedReads, r: { originator: string; target: string }, read: unknown): boolean {
  if (!isObject(read)) return false;
  const names = [`user-${r.originator}`, `device-${r.target}`];
  const revisions = [reads.user, reads.device];
  if (reads.meterPoint !== undefined) {
    names.push(reads.meterPoint);
    revisions.push(reads.meterPointRevision);
  }
  const keys = Object.keys(read).filter((k) => read[k] !== undefined);
  return keys.length === names.length && keys.every((k, i) => k === names[i] && read[k] === revisions[i]);
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

/** Every template of the newest set, by check (for the specs that hold each branch of evaluate() to its rendering). */
export const DECISION_TEMPLATES: ReadonlyArray<{ check: CheckName; id: string }> = TEMPLATE_SETS[TEMPLATE_SETS.length - 1].templates.map((t) => ({ check: t.check, id: t.id }));
