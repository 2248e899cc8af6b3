import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { decodeDecision, DECISION_TEMPLATES, encodeDecision, type DecisionRecordV3 } from './decision-record';
import { storedData, upcast, type ServiceRequestEvaluatedV1 } from './events';
import { readsOf, REVISIONS_LEFT_OUT, type DecisionWithReads } from './decision-decode';
import { byName } from './decision-shapes';
import { TEMPLATE_SETS, templateSet } from './decision-templates';
import { DomainError } from './identifiers';
import { CHECKS, decided, esme, esme2, idOf, rows, supplierA, T2019 } from './testing/decision-cases';
import { given, inventory, mpan, registration, request, userRole, when } from './testing/scenario';

/**
 * The stored form of a decision (schema version 3) gives back exactly the decision evaluate()
 * made, reasons word for word, for every branch of evaluate(): one row per template, and every
 * template is met (the rows: testing/decision-cases.ts). What a recorded decision holds that no
 * template renders is kept as recorded.
 */

describe('a decision in its stored form (schema version 3)', () => {
  const met = new Set<string>();
  afterAll(() => {
    // Every template met by a row above: every branch of evaluate() is held to its rendering.
    expect(DECISION_TEMPLATES.filter((t) => !met.has(`${t.check}:${t.id}`))).toEqual([]);
  });

  it.each(rows.map((r) => [r.case, r] as const))('%s: stored compactly, read back word for word', (_case, row) => {
    const d = decided(row);
    const record = encodeDecision(d)!;
    expect(record).toBeDefined();
    expect(record.checks.map(idOf)).toEqual(row.templates);
    expect(record.checks.map((e, i) => (typeof e === 'string' || Array.isArray(e) ? 'compact' : i))).toEqual(record.checks.map((_, i) => (i === row.kept ? i : 'compact')));
    if (row.kept !== undefined) expect(Object.keys(record.checks[row.kept])).toEqual(['id', 'evidence']);
    record.checks.forEach((entry, i) => met.add(`${CHECKS[i]}:${idOf(entry)}`));
    expect(JSON.stringify(decodeDecision(record, d.request.target))).toBe(JSON.stringify(d));
    expect(JSON.stringify(upcast('ServiceRequestEvaluated', JSON.parse(JSON.stringify(record)), `device-${d.request.target}`).data)).toBe(JSON.stringify(d));
    // Read without its reasons (what-if under another rule set, the projections): the same decision, each reason empty.
    const unrendered = { ...d, checks: d.checks.map((c) => ({ ...c, reason: c.reason === undefined ? undefined : '' })) };
    expect(JSON.stringify(decodeDecision(record, d.request.target, { reasons: false }))).toBe(JSON.stringify(unrendered));
    expect(JSON.stringify(upcast('ServiceRequestEvaluated', record, `device-${d.request.target}`, { reasons: false }).data)).toBe(JSON.stringify(unrendered));
    // Without its checks (what-if under another rule set): what was decided, on which revisions, for which request.
    expect(JSON.stringify(decodeDecision(record, d.request.target, { checks: false }))).toBe(JSON.stringify({ ...d, checks: [] }));
    // And without its revisionsRead made into an object (what-if under another rule set): left empty, what a judgement reads again in `reads`, as readsOf gives it of the whole.
    const lean: DecisionWithReads = decodeDecision(record, d.request.target, { checks: false, revisionsRead: false });
    expect([lean.revisionsRead, lean.reads]).toEqual([REVISIONS_LEFT_OUT, readsOf(d)]);
    expect(JSON.stringify({ ...lean, reads: undefined })).toBe(JSON.stringify({ ...d, checks: [], revisionsRead: {} }));
    // A `reads` key in a decision's data (an edited or hostile record) is not taken for the decode's: its revisionsRead are read.
    expect(readsOf({ ...d, reads: { user: '9', device: '9', meterPoint: 'user-x', meterPointRevision: '9' } } as DecisionWithReads)).toEqual(readsOf(d));
    // No prose, and no copy of the request or of the stream's device.
    const stored = JSON.stringify(record);
    for (const c of d.checks) if (c.reason.length > 12) expect(stored).not.toContain(c.reason);
    expect(stored).not.toContain(d.request.target === esme ? `${d.request.originator}:${esme}` : '\u0000');
  });

  it('an accepted read is about a sixth of the decision it stores, and reads back as version 1', () => {
    const d = decided(rows[0]);
    const record = encodeDecision(d)!;
    expect(JSON.stringify(d).length).toBeGreaterThan(1500);
    expect(JSON.stringify(record).length).toBeLessThan(320);
    expect(record).toMatchObject({ schemaVersion: 3, requestId: `${supplierA}::1`, srv: '4.1.1', receivedAt: '2024-03-01T12:00:00Z', ruleSet: 'baseline@5', senderRole: 'IS' });
    expect(record.revisionsRead).toEqual([0, 0, 0]);
    expect(decodeDecision(record, esme).schemaVersion).toBe(1);
  });

  it("the revisions read are a plain object keyed by the streams' names, in their order, which V8 keeps as a dictionary (a hidden class per device and meter point costs more than the rest of the decode)", () => {
    const d = decided(rows[0]);
    const read = decodeDecision(encodeDecision(d)!, esme).revisionsRead;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.entries(read)).toEqual(Object.entries(d.revisionsRead));
    expect(JSON.stringify(read)).toBe(JSON.stringify(d.revisionsRead));
    setFlagsFromString('--allow-natives-syntax');
    const fastProperties = runInThisContext('(o) => %HasFastProperties(o)') as (o: object) => boolean;
    expect([fastProperties(read), fastProperties({ ...d.request })]).toEqual([false, true]);
    // Made a dictionary by deleting properties, none of which is left; a key __proto__ is a key like any (no prototype set).
    const named = byName<unknown>([['b', 1], ['__proto__', { x: 1 }], ['a', null]]);
    expect([Object.getPrototypeOf(named), JSON.stringify(named), fastProperties(named)]).toEqual([Object.prototype, '{"b":1,"__proto__":{"x":1},"a":null}', false]);
    expect([Object.keys(byName([['user-1', '0']])), fastProperties(byName([['user-1', '0']]))]).toEqual([['user-1'], false]);
  });

  it('what judging a decision again reads (readsOf) is the same whether its revisionsRead was made into an object or left out, for any list stored, and taken from an object stored as one', () => {
    const record = encodeDecision(decided(rows[0]))!;
    expect(record.revisionsRead).toEqual([0, 0, 0]);
    const both = (revisionsRead: DecisionRecordV3['revisionsRead']) => {
      const whole = decodeDecision({ ...record, revisionsRead }, esme);
      const lean: DecisionWithReads = decodeDecision({ ...record, revisionsRead }, esme, { checks: false, revisionsRead: false });
      expect(readsOf(lean)).toEqual(readsOf(whole));
      return [lean.reads === undefined ? 'from the object' : 'from reads', readsOf(lean)];
    };
    const user = `user-${supplierA}`;
    expect(both([3, 5, 7])).toEqual(['from reads', { user: '3', device: '5', meterPoint: `meterpoint-${mpan}`, meterPointRevision: '7' }]);
    expect(both([3, null, null])).toEqual(['from reads', { user: '3', device: null, meterPoint: `meterpoint-${mpan}`, meterPointRevision: null }]);
    expect(both([null, 2])).toEqual(['from reads', { user: null, device: '2', meterPoint: undefined, meterPointRevision: null }]);
    expect(both([1])).toEqual(['from reads', { user: '1', device: null, meterPoint: undefined, meterPointRevision: null }]);
    expect(both([1, 2, 3, '1100000000001'])).toEqual(['from reads', { user: '1', device: '2', meterPoint: 'meterpoint-1100000000001', meterPointRevision: '3' }]);
    // Not a revision: kept as the text it makes, which the what-if then fails to read as one (as it always did).
    expect(both([{ a: 1 }, 2] as never)).toEqual(['from reads', { user: '[object Object]', device: '2', meterPoint: undefined, meterPointRevision: null }]);
    // Stored as an object (streams that are not those of the list): the first meter point's, the sender's and the device's by name.
    const stored = { 'meterpoint-9': '0', [`device-${esme}`]: '4', 'meterpoint-8': '1', [user]: '2' };
    expect(both(stored)).toEqual(['from the object', { user: '2', device: '4', meterPoint: 'meterpoint-9', meterPointRevision: '0' }]);
    expect(both({ [user]: '2' })).toEqual(['from the object', { user: '2', device: null, meterPoint: undefined, meterPointRevision: null }]);
  });

  it('a decision naming several RemotePartyRoles reads back as version 2', () => {
    const w = given([userRole(supplierA, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', 2, 'Commissioned', mpan)]);
    const d = when(w, { ...request({ from: supplierA, to: esme, srv: '6.24.1', rpr: 'Supplier' }), remotePartyRoles: ['Supplier', 'LoadController'] }).decision.data;
    const record = encodeDecision(d)!;
    expect(record.remotePartyRole).toEqual(['Supplier', 'LoadController']);
    expect(decodeDecision(record, esme)).toEqual(d);
    expect(decodeDecision(record, esme).schemaVersion).toBe(2);
  });

  describe('what a recorded decision holds beyond the templates is kept as recorded', () => {
    const d = () => decided(rows[0]);
    const back = (x: ServiceRequestEvaluatedV1) => decodeDecision(encodeDecision(x)!, x.request.target);

    it('a reason worded otherwise: reasonAsRecorded', () => {
      const x = d();
      x.checks[1].reason = 'role IS may send SRV 4.1.1';
      const record = encodeDecision(x)!;
      expect(record.checks[1]).toEqual({ id: 'pass', reasonAsRecorded: 'role IS may send SRV 4.1.1' });
      expect(JSON.stringify(back(x))).toBe(JSON.stringify(x));
    });

    it('evidence with a piece more, or a piece that differs from what derives', () => {
      const x = d();
      x.checks[0].evidence.note = 'kept';
      x.checks[2].evidence.deviceId = esme2;
      const record = encodeDecision(x)!;
      expect(record.checks[0]).toEqual({ id: 'pass', evidence: { note: 'kept' } });
      expect(record.checks[2]).toEqual({ id: 'pass', evidence: { deviceId: esme2, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: mpan } });
      expect(JSON.stringify(back(x))).toBe(JSON.stringify(x));
    });

    it('evidence in another key order, a check out of place, a response code that does not derive', () => {
      const x = d();
      const { mpxn, ...rest } = x.checks[2].evidence;
      x.checks[2].evidence = { mpxn, ...rest };
      x.checks[3] = { ...x.checks[3], check: 'certificate-ownership' };
      x.responseCode = 'I99';
      const record = encodeDecision(x)!;
      expect(record.checks[2]).toEqual({ id: 'pass', evidenceAsRecorded: x.checks[2].evidence });
      expect(record.checks[3]).toEqual(x.checks[3]);
      expect(record.responseCode).toBe('I99');
      expect(JSON.stringify(back(x))).toBe(JSON.stringify(x));
    });

    it('a decision the stored form cannot give back is written as it is', () => {
      const x = d();
      x.outcome = 'rejected'; // an I0 that says rejected: no version 3 record reads back so
      expect(encodeDecision(x)).toBeUndefined();
      expect(storedData({ type: 'ServiceRequestEvaluated', data: x })).toBe(x);
      expect(storedData({ type: 'ServiceRequestEvaluated', data: d() })).toMatchObject({ schemaVersion: 3 });
    });
  });

  describe('a stored form that would not give the decision back is caught by the check that decodes it (encodeDecision), and not written', () => {
    const d = () => decided(rows[0]);
    /** What a reader gets of the decision as written (its stored form, or the decision itself when none gives it back). */
    const readBack = (x: ServiceRequestEvaluatedV1) => JSON.stringify(upcast('ServiceRequestEvaluated', JSON.parse(JSON.stringify(storedData({ type: 'ServiceRequestEvaluated', data: x }))), `device-${x.request.target}`).data);

    it('revisions read that the list form would give back altered (numbers, where a decision holds strings): no stored form, the decision written as it is', () => {
      const x = d();
      x.revisionsRead = byName(Object.entries(x.revisionsRead).map(([k, v]) => [k, Number(v) as unknown as string]));
      expect(encodeDecision(x)).toBeUndefined();
      expect(readBack(x)).toBe(JSON.stringify(x));
    });

    it("revisions read naming a stream the list form would not (another meter point's), one stream less or more, or in another order: read back as recorded", () => {
      const variants = [
        { [`user-${supplierA}`]: '0', [`device-${esme}`]: '0', [`meterpoint-1412345678902`]: '0' },
        { [`user-${supplierA}`]: '0', [`device-${esme}`]: '0' },
        { [`user-${supplierA}`]: '0', [`device-${esme}`]: '0', [`meterpoint-${mpan}`]: '0', extra: '1' },
        { [`device-${esme}`]: '0', [`user-${supplierA}`]: '0', [`meterpoint-${mpan}`]: '0' },
        { [`user-${supplierA}`]: '0', [`device-${esme}`]: '1', [`meterpoint-${mpan}`]: null },
      ];
      for (const revisionsRead of variants) {
        const x = d();
        x.revisionsRead = byName(Object.entries(revisionsRead));
        expect(readBack(x)).toBe(JSON.stringify(x));
      }
    });

    it("an encoder that drops a piece of evidence the decode then gives otherwise (a template whose shape says the device's status derives: as it is when encoding, as another when decoding): that record is not written", () => {
      const newest = TEMPLATE_SETS[TEMPLATE_SETS.length - 1];
      let calls = 0;
      const faulty = templateSet(
        newest.version,
        newest.templates.map((t) => (t.check === 'device' && t.id === 'pass' ? { ...t, shape: (c) => ({ ...t.shape(c), status: calls++ === 0 ? 'Commissioned' : 'Suspended' }) } : t)),
      );
      const x = d();
      const record = encodeDecision(x, [faulty]);
      expect(calls).toBeGreaterThan(1);
      // Caught: not the compact entry without the status (which decodes as Suspended); what is written reads back exactly.
      expect(record?.checks[2]).not.toEqual(['pass', 'ESME', 1, '1412345678901']);
      if (record) expect(JSON.stringify(decodeDecision(record, x.request.target, {}, [faulty]))).toBe(JSON.stringify(x));
    });
  });

  it('version 3 is read from its device stream only, and a malformed record is refused naming the field', () => {
    const record = encodeDecision(decided(rows[0]))! as DecisionRecordV3;
    expect(() => upcast('ServiceRequestEvaluated', record)).toThrow(/read from its device's stream/);
    expect(() => upcast('ServiceRequestEvaluated', record, `user-${supplierA}`)).toThrow(/read from its device's stream/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, requestId: 'x' }, `device-${esme}`)).toThrow(/requestId: 'x' is not originator::counter/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, checks: ['pass'] }, `device-${esme}`)).toThrow(/checks: must hold 5 checks/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, checks: ['nope', 'pass', 'pass', 'pass', 'nc'] }, `device-${esme}`)).toThrow(/'nope' is not a template of check user-role/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, schemaVersion: 4 }, `device-${esme}`)).toThrow(/version 4 is not known/);
    // A rule set's version this code does not know (a later ledger's): said so, not as its SRV not judged (until 2026-11-27, fifteenth session).
    // Every case, a step-1 refusal too (which reads no SRV: it decoded, of no edition, in the review of that change).
    for (const row of rows) {
      const each = encodeDecision(decided(row))! as DecisionRecordV3;
      const id = each.ruleSet.replace(/@\d+$/, '');
      expect(() => upcast('ServiceRequestEvaluated', { ...each, ruleSet: `${id}@99` }, `device-${row.spec.to}`)).toThrow(`ruleSet: rule set ${id}@99 is not known to this version of the ledger (a later version recorded it): upgrade this reader`);
      // An id of none, or a version below the first: an edit, not a later ledger's (not told to upgrade).
      for (const edited of ['nonsense@1', `${id}@0`]) expect(() => upcast('ServiceRequestEvaluated', { ...each, ruleSet: edited }, `device-${row.spec.to}`)).toThrow(`ruleSet: rule set ${edited} is not a rule set of this ledger, of any version`);
    }
    // A check entry that is neither a template id, a list nor a check: refused, read whole or without its checks.
    for (const at of [2, 4]) {
      const odd = { ...record, checks: record.checks.map((e, i) => (i === at ? 7 : e)) } as DecisionRecordV3;
      for (const options of [{}, { checks: false }]) expect(() => decodeDecision(odd, esme, options)).toThrow(`ServiceRequestEvaluated.checks: check ${at + 1} is not a template id, a list or a check`);
    }
    // Revisions read that do not decode: refused the same way when read without revisionsRead made into an object (a what-if under another rule set).
    for (const options of [{}, { checks: false, revisionsRead: false }]) {
      expect(() => upcast('ServiceRequestEvaluated', { ...record, revisionsRead: '0,0,0' }, `device-${esme}`, options)).toThrow(/revisionsRead: is neither a list nor an object/);
      expect(() => upcast('ServiceRequestEvaluated', { ...record, revisionsRead: [0, 0, 0, 7] }, `device-${esme}`, options)).toThrow(/revisionsRead: names a meter point read but no MPxN/);
    }
    const e1 = encodeDecision(decided(rows.find((r) => r.case === 'E1: no role fits')!))!;
    expect(() => upcast('ServiceRequestEvaluated', { ...e1, checks: ['E1.fits', ...e1.checks.slice(1)] }, `device-${esme}`)).toThrow(DomainError);
    expect(() => upcast('ServiceRequestEvaluated', { ...e1, checks: ['E1.fits', ...e1.checks.slice(1)] }, `device-${esme}`)).toThrow(/does not decode/);
  });
});
