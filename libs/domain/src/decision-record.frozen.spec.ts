import * as fs from 'node:fs';
import * as path from 'node:path';
import { REMOTE_PARTY_ROLES, USER_ROLES, type UserRole } from './identifiers';
import { responsibilityOf, slotPartyOfRemoteParty, SRV_CATALOGUE } from './catalogue';
import { attempt, def, type Context } from './decision-context';
import { readsOf, type DecisionWithReads } from './decision-decode';
import { decodeDecision, encodeDecision, type DecisionRecordV3 } from './decision-record';
import { TEMPLATE_SETS, TEMPLATES, templateSet } from './decision-templates';
import { srvDefinitionFor } from './evaluate';
import { storedData, upcast } from './events';
import { getRuleSet, RULE_SETS } from './rule-sets';
import { MATRIX_CATALOGUE } from './srv-table';
import { CHECKS, decided, idOf, rows } from './testing/decision-cases';
import { entryKey, FIXTURE, readByTemplates, type Fixture, type FrozenDecision } from './testing/frozen-decisions';

/**
 * Stored decisions read, replay and project as they did when they were written. A stored decision
 * (schema version 3) holds no prose: its reasons, and evidence that derives, are rendered on read
 * from the templates (decision-templates.ts) and what they read (the rule set's edition and
 * catalogue, roles and slots). The hash chain covers the stored bytes, not what they render to,
 * so a reworded template would change every stored decision and verify would still say ok.
 *
 * testing/frozen-decisions.json holds stored decisions exactly as the store holds them, each with
 * the decision it decoded to when it was written, and what the templates read at decode time. It
 * is never regenerated: test/add-frozen-decisions.ts only adds entries for what has none. When
 * a test here fails on an entry, the code changed how stored decisions read: change the code back,
 * or make the change a new template set (README, "Decisions as stored").
 */

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'testing', FIXTURE), 'utf8')) as Fixture;
const read = (e: FrozenDecision, options = {}) => JSON.stringify(upcast('ServiceRequestEvaluated', structuredClone(e.stored), e.stream, options).data);

/** The decision read without its reasons: each reason '' but those kept as recorded (a check stored whole, or `reasonAsRecorded`). */
function unrendered(e: FrozenDecision) {
  const d = e.decoded;
  const asRecorded = (i: number) => {
    const entry = (e.stored.checks as unknown[])[i] as Record<string, unknown>;
    return typeof entry === 'object' && !Array.isArray(entry) && ('check' in entry || 'reasonAsRecorded' in entry);
  };
  return { ...d, checks: d.checks.map((c, i) => (asRecorded(i) ? c : { ...c, reason: '' })) };
}

describe('stored decisions read as they were written (testing/frozen-decisions.json)', () => {
  it.each(fixture.decisions.map((e) => [entryKey(e), e] as const))('%s', (_key, e) => {
    // Whole, as replay, verify and the API read it: the same JSON text (key order too: replay compares text).
    expect(read(e)).toBe(JSON.stringify(e.decoded));
    // Without reasons (the projections) and without checks (the folds, a what-if under another rule set).
    expect(read(e, { reasons: false })).toBe(JSON.stringify(unrendered(e)));
    expect(read(e, { checks: false })).toBe(JSON.stringify({ ...e.decoded, checks: [] }));
    // And without revisionsRead made into an object (a what-if under another rule set): the rest the same, and the same streams and revisions to judge it on.
    const lean = upcast('ServiceRequestEvaluated', structuredClone(e.stored), e.stream, { checks: false, revisionsRead: false }).data as DecisionWithReads;
    expect(readsOf(lean)).toEqual(readsOf(e.decoded));
    expect(JSON.stringify({ ...lean, revisionsRead: undefined, reads: undefined })).toBe(JSON.stringify({ ...e.decoded, checks: [], revisionsRead: undefined }));
    // Today's encoder writes each decision of the newest template set back to the bytes stored (an older set's, it writes with the newest).
    if ((e.stored.templates ?? 1) === TEMPLATE_SETS[TEMPLATE_SETS.length - 1].version) {
      expect(JSON.stringify(storedData({ type: 'ServiceRequestEvaluated', data: e.decoded }))).toBe(JSON.stringify(e.stored));
    }
  });

  it('every template of every set has a stored decision written with that set that uses it', () => {
    const met = new Set(fixture.decisions.flatMap((e) => (e.stored.checks as unknown[]).map((entry, i) => `templates ${String(e.stored.templates ?? 1)} ${CHECKS[i]}:${idOf(entry)}`)));
    const templates = TEMPLATE_SETS.flatMap((s) => s.templates.map((t) => `templates ${s.version} ${t.check}:${t.id}`));
    expect(templates.filter((t) => !met.has(t))).toEqual([]);
  });

  it('every rule set has stored decisions, and is of the edition it was', () => {
    const stored = new Set(fixture.decisions.map((e) => e.stored.ruleSet));
    expect(RULE_SETS.map((r) => `${r.id}@${r.version}`).filter((r) => !stored.has(r) || !(r in fixture.ruleSets))).toEqual([]);
    const editions = Object.fromEntries(Object.keys(fixture.ruleSets).map((r) => [r, attempt(() => getRuleSet(r).edition) ?? 'no longer a rule set']));
    expect(editions).toEqual(fixture.ruleSets);
  });

  it('what the templates read of each rule set: its catalogue, the roles and the slots, as they were', () => {
    const srvs = [...new Set([...Object.keys(SRV_CATALOGUE), ...Object.keys(MATRIX_CATALOGUE), ...Object.values(fixture.catalogues).flatMap(Object.keys)])];
    for (const [name, edition] of Object.entries(fixture.ruleSets)) {
      const rs = getRuleSet(name);
      const catalogue: Record<string, Record<string, unknown>> = {};
      for (const srv of srvs) {
        const d = attempt(() => srvDefinitionFor(srv, rs));
        if (d) catalogue[srv] = readByTemplates(d);
      }
      expect({ [name]: catalogue }).toEqual({ [name]: fixture.catalogues[edition] });
      expect(Object.fromEntries(REMOTE_PARTY_ROLES.map((r) => [r, slotPartyOfRemoteParty(r, rs.edition) ?? null]))).toEqual(fixture.slotParties[edition]);
    }
    expect(Object.fromEntries(USER_ROLES.map((r: UserRole) => [r, responsibilityOf(r) ?? null]))).toEqual(fixture.roles);
  });

  describe('a template set is what a stored decision reads with: a change of wording is a new set, and old decisions read as written', () => {
    // A test-only set 2: set 1 with step 2's reason reworded, as evaluate() would then word it.
    const reworded = (e: Record<string, unknown>, c: Context) => `role ${String(e.role)} may send SRV ${String(e.srv)} (${def(c).name})`;
    const sets = [...TEMPLATE_SETS, templateSet(2, TEMPLATES.map((t) => (t.check === 'srv-eligibility' && t.id === 'pass' ? { ...t, reason: reworded } : t)))];
    const now = () => {
      const d = decided(rows[0]);
      d.checks[1].reason = 'role IS may send SRV 4.1.1 (Read Instantaneous Import Registers)';
      return d;
    };

    it('every decision stored so far reads with the set it was written with, word for word', () => {
      for (const e of fixture.decisions) {
        expect(JSON.stringify(decodeDecision(structuredClone(e.stored) as unknown as DecisionRecordV3, e.stream.slice('device-'.length), {}, sets))).toBe(JSON.stringify(e.decoded));
      }
    });

    it('a new decision is written with the newest set, says so, and reads back with it', () => {
      const d = now();
      const record = encodeDecision(d, sets)!;
      expect(Object.keys(record).slice(0, 2)).toEqual(['schemaVersion', 'templates']);
      expect(record.templates).toBe(2);
      expect(record.checks[1]).toBe('pass');
      expect(JSON.stringify(decodeDecision(record, d.request.target, {}, sets))).toBe(JSON.stringify(d));
      // Under set 1 the new wording fits no template: it is kept as recorded, and set 1 writes no `templates`.
      expect(encodeDecision(d)!.checks[1]).toEqual({ id: 'pass', reasonAsRecorded: d.checks[1].reason });
      expect(encodeDecision(d)!.templates).toBeUndefined();
    });

    it("code that does not know a record's template set refuses it, naming the field", () => {
      const record = encodeDecision(now(), sets)!;
      expect(() => upcast('ServiceRequestEvaluated', record, `device-${rows[0].spec.to}`)).toThrow(/ServiceRequestEvaluated.templates: template set 2 is not known \(known: 1\)/);
    });

    it('a record whose templates is null (or not a number) is refused as an unknown set; absent, it is set 1', () => {
      const record = encodeDecision(now())!;
      expect(record.templates).toBeUndefined();
      const stream = `device-${rows[0].spec.to}`;
      expect(() => upcast('ServiceRequestEvaluated', record, stream)).not.toThrow();
      for (const [templates, named] of [[null, 'null'], ['1', '"1"'], [0, '0']] as const) {
        expect(() => upcast('ServiceRequestEvaluated', { ...record, templates }, stream)).toThrow(`ServiceRequestEvaluated.templates: template set ${named} is not known (known: 1)`);
      }
    });
  });
});
