import type { CertificateIdentity } from './catalogue';
import type { CheckOutcome, CheckRecord, RecordedRequest, ResponseCode, ServiceRequestEvaluatedV1 } from './events';
import { DomainError } from './identifiers';
import { CHECKS, context, type Context, type Template } from './decision-context';
import type { CheckEntry, DecisionRecordV3 } from './decision-record';
import { Nested, byName, isObject, longInstant, merge, unpack } from './decision-shapes';
import { template, TEMPLATE_SETS, type TemplateSet } from './decision-templates';

/**
 * Decoding the stored form of a decision (decision-record.ts): each check from its template, its
 * values and the request, with its reason rendered.
 */
export function decodeCheck(entry: CheckEntry, index: number, c: Context, set: TemplateSet, reasons = true): CheckRecord {
  if (isObject(entry) && 'check' in entry) return entry as unknown as CheckRecord;
  const name = CHECKS[index];
  if (!name) throw new DomainError('ServiceRequestEvaluated.checks', `holds more than ${CHECKS.length} checks`);
  let t: Template;
  let evidence: Record<string, unknown>;
  let reasonAsRecorded: string | undefined;
  if (typeof entry === 'string' || Array.isArray(entry)) {
    t = template(set, name, typeof entry === 'string' ? entry : String(entry[0]));
    evidence = unpack(typeof entry === 'string' ? [] : entry.slice(1), new Nested(t.shape(c)), { i: 0 }, {}) as Record<string, unknown>;
  } else if (isObject(entry) && typeof entry.id === 'string') {
    t = template(set, name, entry.id);
    evidence = entry.evidenceAsRecorded ?? merge(entry.evidence ?? {}, t.shape(c));
    reasonAsRecorded = entry.reasonAsRecorded;
  } else {
    throw new DomainError('ServiceRequestEvaluated.checks', `check ${index + 1} is not a template id, a list or a check`);
  }
  const reason = reasonAsRecorded ?? (reasons ? t.reason(evidence, c) : '');
  // Two literals, not a spread of the code: a literal that spreads and then gains keys is several times slower (see state.ts, withKey).
  return t.code ? { step: index + 1, check: name, outcome: t.outcome, code: t.code, reason, evidence } : { step: index + 1, check: name, outcome: t.outcome, reason, evidence };
}

/** The device check's evidence, which later checks derive from. */
export const deviceOf = (check: CheckRecord | undefined) => (check && check.check === 'device' && 'deviceType' in check.evidence ? check.evidence : undefined);

export function derivedCode(checks: ReadonlyArray<{ outcome: CheckOutcome; code?: ResponseCode }>, c: Context): ResponseCode {
  return checks.find((k) => k.outcome === 'fail')?.code ?? (c.future ? 'I99' : 'I0');
}

export function streamsRead(d: { originator: string; target: string; mpxn: unknown }): string[] {
  return [`user-${d.originator}`, `device-${d.target}`, ...(typeof d.mpxn === 'string' ? [`meterpoint-${d.mpxn}`] : [])];
}

/** How much of a stored decision to decode (every field not named here is decoded as always). */
export interface DecodeOptions {
  /** false: each check's reason is left empty (''), not rendered (a third of the decode). Default true. */
  reasons?: boolean;
  /**
   * false: the decision without its checks (`checks: []`): the request, rule set, time, revisions
   * read, outcome and response code, for a reader that needs what was decided and not why (what-if
   * under another rule set). Of the checks only the device check is decoded (the MPxN read); of
   * the others, their templates' outcomes and codes. Default true.
   */
  checks?: boolean;
}

/**
 * A stored decision (schema version 3) as every reader sees a decision: the request whole, each
 * check with its reason rendered by the template set it was written with (`sets`: the code's).
 * A record that does not decode is a DomainError (an unreadable event). `options` leave out what a
 * reader never looks at (DecodeOptions); all else is the same.
 */
export function decodeDecision(record: DecisionRecordV3, target: string, options: DecodeOptions = {}, sets: readonly TemplateSet[] = TEMPLATE_SETS): ServiceRequestEvaluatedV1 {
  try {
    return decode(record, target, options.reasons ?? true, options.checks ?? true, sets);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new DomainError('ServiceRequestEvaluated', `the stored decision does not decode: ${(err as Error).message}`);
  }
}

/** A check's outcome and code, from its template (or as recorded), without decoding its evidence. */
function outcomeOf(entry: CheckEntry, index: number, set: TemplateSet): { outcome: CheckOutcome; code?: ResponseCode } {
  if (isObject(entry) && 'check' in entry) return entry as unknown as CheckRecord;
  const id = typeof entry === 'string' ? entry : Array.isArray(entry) ? String(entry[0]) : isObject(entry) && typeof entry.id === 'string' ? entry.id : undefined;
  if (id === undefined) throw new DomainError('ServiceRequestEvaluated.checks', `check ${index + 1} is not a template id, a list or a check`);
  return template(set, CHECKS[index], id);
}

function decode(record: DecisionRecordV3, target: string, reasons: boolean, whole: boolean, sets: readonly TemplateSet[]): ServiceRequestEvaluatedV1 {
  const fail = (field: string, why: string) => new DomainError(`ServiceRequestEvaluated.${field}`, why);
  if (!isObject(record) || record.schemaVersion !== 3) throw fail('schemaVersion', 'is not 3');
  const set = sets.find((s) => s.version === (record.templates === undefined ? 1 : record.templates)); // absent: set 1; null is no set
  if (!set) throw fail('templates', `template set ${JSON.stringify(record.templates)} is not known (known: ${sets.map((s) => s.version).join(', ')})`);
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
  const checks: CheckRecord[] = [];
  const outcomes = record.checks.map((entry, i) => {
    if (!whole && i !== 2) return outcomeOf(entry, i, set);
    const check = decodeCheck(entry, i, c, set, reasons);
    if (i === 2) c.device = deviceOf(check);
    if (whole) checks.push(check);
    return check;
  });
  const responseCode = record.responseCode ?? derivedCode(outcomes, c);
  let revisionsRead: Record<string, string | null>;
  if (Array.isArray(record.revisionsRead)) {
    const [u, dv, mp, mpxn] = record.revisionsRead;
    const names = streamsRead({ originator: request.originator, target, mpxn: mp === undefined ? undefined : (mpxn ?? c.device?.mpxn) });
    if (names.length !== (mp === undefined ? 2 : 3)) throw fail('revisionsRead', 'names a meter point read but no MPxN');
    const revs = [u, dv, mp].slice(0, names.length).map((v) => (v === null || v === undefined ? null : String(v)));
    revisionsRead = byName(names.map((n, i) => [n, revs[i]] as const));
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
