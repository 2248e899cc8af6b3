import type { CertificateIdentity } from './catalogue';
import type { CheckOutcome, CheckRecord, RecordedRequest, ResponseCode, ServiceRequestEvaluatedV1 } from './events';
import { DomainError } from './identifiers';
import { CHECKS, context, type Context, type Template } from './decision-context';
import type { CheckEntry, DecisionRecordV3 } from './decision-record';
import { Nested, byName, isObject, longInstant, merge, unpack } from './decision-shapes';
import { template, TEMPLATE_SETS, type TemplateSet } from './decision-templates';
import { RULE_SETS } from './rule-sets';

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
  /**
   * false: revisions read stored as a list (as nearly all are) are not made into the object of
   * stream names (byName, a dictionary, the dearest object of such a decode): the decision's
   * `revisionsRead` is left empty (REVISIONS_LEFT_OUT) and what a judgement of it reads again is
   * in `reads` (readsOf gives it for any decision). For a reader that judges a decision again and
   * compares its verdict only (a what-if under another rule set). Default true.
   */
  revisionsRead?: boolean;
}

/**
 * What judging a decision again reads of what it read (see the what-if): the revisions of the
 * sender's stream and of the device's (null: not read, or the stream had no events), and the
 * first meter point's stream it read, if any, with its revision.
 */
export interface JudgedReads {
  user: string | null;
  device: string | null;
  meterPoint: string | undefined;
  meterPointRevision: string | null;
}

/** A decision as decoded with `revisionsRead: false`: where its revisions were stored as a list, they are in `reads` and its revisionsRead is REVISIONS_LEFT_OUT. */
export type DecisionWithReads = ServiceRequestEvaluatedV1 & { reads?: JudgedReads };

/** The revisionsRead of a decision decoded without it (DecodeOptions.revisionsRead false): empty, and not to be written to. */
export const REVISIONS_LEFT_OUT: Readonly<Record<string, string | null>> = Object.freeze({});

/** What judging `d` again reads (JudgedReads): its `reads` where decoded without revisionsRead, else from its revisionsRead. */
export function readsOf(d: DecisionWithReads): JudgedReads {
  if (d.revisionsRead === REVISIONS_LEFT_OUT) return d.reads!; // by identity: a `reads` key stored in a decision's data is no decode's

  const read = d.revisionsRead;
  let meterPoint: string | undefined;
  for (const stream in read) {
    if (stream.startsWith('meterpoint-')) {
      meterPoint = stream;
      break;
    }
  }
  return { user: read[`user-${d.request.originator}`] ?? null, device: read[`device-${d.request.target}`] ?? null, meterPoint, meterPointRevision: meterPoint === undefined ? null : read[meterPoint] };
}

/**
 * A stored decision (schema version 3) as every reader sees a decision: the request whole, each
 * check with its reason rendered by the template set it was written with (`sets`: the code's).
 * A record that does not decode is a DomainError (an unreadable event). `options` leave out what a
 * reader never looks at (DecodeOptions); all else is the same.
 */
export function decodeDecision(record: DecisionRecordV3, target: string, options: DecodeOptions = {}, sets: readonly TemplateSet[] = TEMPLATE_SETS): ServiceRequestEvaluatedV1 {
  try {
    return decode(record, target, options.reasons ?? true, options.checks ?? true, options.revisionsRead ?? true, sets);
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

function decode(record: DecisionRecordV3, target: string, reasons: boolean, whole: boolean, withRevisions: boolean, sets: readonly TemplateSet[]): DecisionWithReads {
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
  // A rule set this code does not know (a later ledger recorded it), whatever its checks: said so (until 2026-11-27, fifteenth session,
  // as its SRV not judged under it, which sent a reader looking at the SRV; and a step-1 refusal, which reads no SRV, decoded as of no edition).
  if (c.edition === undefined) {
    // A later version of an id this code knows: a later ledger's; anything else (an id of none, a version 0): not of this ledger at all (an edit).
    const later = RULE_SETS.some((r) => r.id === ruleSet.id) && RULE_SETS.every((r) => r.id !== ruleSet.id || r.version < ruleSet.version);
    throw new DomainError('ServiceRequestEvaluated.ruleSet', later ? `rule set ${record.ruleSet} is not known to this version of the ledger (a later version recorded it): upgrade this reader` : `rule set ${record.ruleSet} is not a rule set of this ledger, of any version`);
  }
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
  let reads: JudgedReads | undefined;
  if (Array.isArray(record.revisionsRead)) {
    const [u, dv, mp, mpxn] = record.revisionsRead;
    const names = streamsRead({ originator: request.originator, target, mpxn: mp === undefined ? undefined : (mpxn ?? c.device?.mpxn) });
    if (names.length !== (mp === undefined ? 2 : 3)) throw fail('revisionsRead', 'names a meter point read but no MPxN');
    if (withRevisions) {
      const revs = [u, dv, mp].slice(0, names.length).map(revisionOf);
      revisionsRead = byName(names.map((n, i) => [n, revs[i]] as const));
    } else {
      // The same streams and revisions as readsOf gives of the object above: names[2] is the only meter point.
      reads = { user: revisionOf(u), device: revisionOf(dv), meterPoint: names[2], meterPointRevision: names.length === 3 ? revisionOf(mp) : null };
      revisionsRead = REVISIONS_LEFT_OUT;
    }
  } else if (isObject(record.revisionsRead)) {
    revisionsRead = record.revisionsRead as Record<string, string | null>;
  } else {
    throw fail('revisionsRead', 'is neither a list nor an object');
  }
  const schemaVersion = request.remotePartyRoles ? 2 : 1;
  const senderRole = record.senderRole ?? null;
  const outcome = responseCode === 'I0' || responseCode === 'I99' ? 'accepted' : 'rejected';
  // Two literals, not a key added to one: a decision read whole has no `reads` key at all.
  return reads
    ? { schemaVersion, request, ruleSet, senderRole, checks, outcome, responseCode, evaluatedAt, revisionsRead, reads }
    : { schemaVersion, request, ruleSet, senderRole, checks, outcome, responseCode, evaluatedAt, revisionsRead };
}

/** A revision as revisionsRead holds it: null when not read (or before the stream's first event), else its decimal string. */
const revisionOf = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
