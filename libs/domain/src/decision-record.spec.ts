import { decodeDecision, DECISION_TEMPLATES, encodeDecision, type DecisionRecordV3 } from './decision-record';
import { storedData, upcast, type LedgerEvent, type ServiceRequestEvaluatedV1 } from './events';
import { DomainError } from './identifiers';
import { cert, given, ids, inventory, mpan, mprn, NOW, placed, registration, request, userRole, when, type RequestSpec } from './testing/scenario';

/**
 * The stored form of a decision (schema version 3) gives back exactly the decision evaluate()
 * made, reasons word for word, for every branch of evaluate(): one row per template, and every
 * template is met. What a recorded decision holds that no template renders is kept as recorded.
 */

const { supplierA, supplierB, noA, noB, gtA, esme, esme2, gsme, chf, unknownDevice } = ids;
const T2019 = '2019-01-01T00:00:00.000Z';
const LATER = '2030-01-01T00:00:00.000Z';
const DCC_ORG = '90-B3-D5-1F-30-0D-00-01';
const OTHER_USER = '90-B3-D5-1F-30-0E-00-01';
const TEST_MPAN = '1412345678900'; // fails its check digit
const noCerts = (owner: string, roleCode = '03') => [cert(owner, 'digitalSignature', roleCode, 'N1'), cert(owner, 'keyAgreement', roleCode, 'N2')];
const supplierCerts = (owner: string) => [cert(owner, 'digitalSignature', '02', 'C1')];
const pendingPlacement: LedgerEvent = {
  type: 'CertificatePlaced',
  data: { schemaVersion: 1, deviceId: esme, slot: 'supplier.critical', certificate: cert(supplierB, 'digitalSignature', '02', 'P1'), heldBy: ['DSP', 'S1SP'], via: { kind: 'request', requestId: `${supplierB}:${esme}:9`, srv: '6.23' }, placedAt: LATER },
};

const world = (extra: LedgerEvent[] = []) =>
  given([
    userRole(supplierA, 'IS'),
    userRole(supplierB, 'GS'),
    userRole(noA, 'ED'),
    userRole(noB, 'ED'),
    userRole(gtA, 'GT'),
    userRole(OTHER_USER, 'OU'),
    userRole(DCC_ORG, 'DCC' as never),
    registration(mpan, 'supplier', supplierA, T2019),
    registration(mpan, 'networkOperator', noA, T2019),
    registration(mprn, 'networkOperator', gtA, T2019),
    registration(mprn, 'supplier', supplierB, T2019),
    inventory(esme, 'ESME', 1, 'Commissioned', mpan),
    inventory(gsme, 'GSME', 2, 'Commissioned', mprn),
    inventory(chf, 'CHF', 2, 'Commissioned', null),
    placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1')),
    placed(esme, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1')),
    ...extra,
  ]);

interface Row {
  case: string;
  spec: RequestSpec;
  ruleSet?: string;
  extra?: LedgerEvent[];
  /** The template of each check, in step order. */
  templates: string[];
  /** The evidence of one check is of no template's shape, and kept as an object of the pieces that do not derive. */
  kept?: number;
}

const rows: Row[] = [
  { case: 'a read, accepted', spec: { from: supplierA, to: esme, srv: '4.1.1' }, templates: ['pass', 'pass', 'pass', 'pass', 'nc'] },
  { case: 'a read under edition 1', spec: { from: noA, to: esme, srv: '4.1.1' }, ruleSet: 'baseline@1', templates: ['pass', 'pass', 'pass', 'pass', 'nc'] },
  { case: 'a stated role', spec: { from: supplierA, to: esme, srv: '4.1.1', role: 'IS' }, templates: ['pass', 'pass', 'pass', 'pass', 'nc'] },
  { case: 'a future-dated read: I99, judged at its execution time', spec: { from: supplierA, to: esme, srv: '4.1.1', executionDateTime: LATER }, templates: ['pass', 'pass', 'pass', 'pass', 'nc'] },
  { case: 'E1: no role fits', spec: { from: supplierA, to: esme, srv: '4.1.1', signingRoleCode: '03' }, templates: ['E1.fits', 'skip', 'skip', 'skip', 'skip'] },
  { case: 'E1: no role at all', spec: { from: OTHER_USER.replace('0E', '0F'), to: esme, srv: '4.1.1' }, templates: ['E1.none', 'skip', 'skip', 'skip', 'skip'] },
  { case: 'E1: a stated role not held', spec: { from: supplierA, to: esme, srv: '4.1.1', role: 'ED' }, templates: ['E1.stated', 'skip', 'skip', 'skip', 'skip'] },
  { case: 'E1: a DCC org id', spec: { from: DCC_ORG, to: esme, srv: '4.1.1' }, templates: ['E1.dcc', 'skip', 'skip', 'skip', 'skip'] },
  { case: 'E3', spec: { from: supplierA, to: esme, srv: '4.1.1' }, extra: [userRole(supplierA, 'IS', 'Suspended')], templates: ['E3', 'skip', 'skip', 'skip', 'skip'] },
  { case: 'E2', spec: { from: noA, to: esme, srv: '7.3' }, templates: ['pass', 'E2', 'skip', 'skip', 'skip'] },
  { case: 'E2: no role at all may send it', spec: { from: supplierA, to: esme, srv: '7.16' }, templates: ['pass', 'E2', 'skip', 'skip', 'skip'] },
  { case: "E2: the DCC's credentials", spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'Root', certificates: noCerts(noA) }, templates: ['pass', 'E2.dcc', 'skip', 'skip', 'skip'] },
  { case: "E2: 6.21 of the Load Controller's", spec: { from: supplierA, to: esme, srv: '6.21', rpr: 'LoadController', certificates: supplierCerts(supplierA) }, templates: ['pass', 'E2.lc', 'skip', 'skip', 'skip'] },
  { case: "E2: a NO replacing the Load Controller's", spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'LoadController', certificates: noCerts(noA) }, templates: ['pass', 'E2.lcrole', 'skip', 'skip', 'skip'] },
  { case: 'E_NOT_FUTURE_DATABLE', spec: { from: supplierA, to: esme, srv: '2.2', executionDateTime: LATER }, templates: ['pass', 'E_NFD', 'skip', 'skip', 'skip'] },
  { case: 'a non-device request', spec: { from: supplierA, to: esme, srv: '5.1' }, templates: ['pass', 'pass', 'nd', 'nd', 'nd'] },
  { case: 'E19', spec: { from: noA, to: unknownDevice, srv: '4.1.1' }, templates: ['pass', 'pass', 'E19', 'skip', 'skip'] },
  { case: 'E11', spec: { from: supplierA, to: chf, srv: '4.1.1', role: 'IS' }, templates: ['pass', 'pass', 'E11', 'skip', 'skip'] },
  { case: 'E11: no Load Controller on SMETS1', spec: { from: supplierA, to: esme, srv: '6.15.1', rpr: 'LoadController', certificates: supplierCerts(supplierA) }, templates: ['pass', 'pass', 'E11.lc', 'skip', 'skip'] },
  { case: 'E11: no Load Controller on a gas meter', spec: { from: supplierB, to: gsme, srv: '6.15.1', rpr: 'LoadController', certificates: supplierCerts(supplierB) }, templates: ['pass', 'pass', 'E11.lc', 'skip', 'skip'] },
  { case: 'E5', spec: { from: supplierA, to: esme2, srv: '4.1.1' }, extra: [inventory(esme2, 'ESME', 1, 'Suspended', mpan)], templates: ['pass', 'pass', 'E5', 'skip', 'skip'] },
  { case: 'step 4 skipped for SMETS2 critical', spec: { from: gtA, to: gsme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(gtA) }, templates: ['pass', 'pass', 'pass', 'smets2', 'smets2'] },
  { case: 'step 4 skipped by the rule set', spec: { from: noB, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, ruleSet: 'ownership-only', templates: ['pass', 'pass', 'pass', 'rules', 'pass'] },
  { case: 'step 4 skipped for a role without responsibility', spec: { from: OTHER_USER, to: esme, srv: '4.8.1' }, templates: ['pass', 'pass', 'pass', 'norole', 'nc'] },
  { case: 'E4: no meter point', spec: { from: supplierA, to: esme2, srv: '4.1.1' }, extra: [inventory(esme2, 'ESME', 1, 'Commissioned', null)], templates: ['pass', 'pass', 'pass', 'E4.nompxn', 'skip'] },
  { case: 'E4: another supplier', spec: { from: supplierB, to: esme, srv: '4.1.1', role: 'GS' }, templates: ['pass', 'pass', 'pass', 'E4', 'skip'] },
  { case: 'E4: nobody, on a test MPAN', spec: { from: supplierA, to: esme2, srv: '4.1.1' }, extra: [inventory(esme2, 'ESME', 1, 'Commissioned', TEST_MPAN)], templates: ['pass', 'pass', 'pass', 'E4', 'skip'] },
  { case: 'a date range held throughout', spec: { from: supplierA, to: esme, srv: '4.1.1', dateRange: { from: '2020-01-01T00:00:00.000Z', to: '2021-01-01T00:00:00.000Z' } }, templates: ['pass', 'pass', 'pass', 'pass.range', 'nc'] },
  { case: 'E4: not held at the start of the range', spec: { from: supplierB, to: esme, srv: '4.1.1', role: 'GS', dateRange: { from: '2020-01-01T00:00:00.000Z', to: '2021-01-01T00:00:00.000Z' } }, templates: ['pass', 'pass', 'pass', 'E4.start', 'skip'] },
  {
    case: 'E4: a range on a test MPAN',
    spec: { from: supplierA, to: esme2, srv: '4.1.1', dateRange: { from: '2020-01-01T00:00:00.000Z', to: '2021-01-01T00:00:00.000Z' } },
    extra: [inventory(esme2, 'ESME', 1, 'Commissioned', TEST_MPAN)],
    templates: ['pass', 'pass', 'pass', 'E4.start', 'skip'],
  },
  {
    case: 'E4: a change inside the range',
    spec: { from: supplierA, to: esme, srv: '4.1.1', dateRange: { from: '2020-01-01T00:00:00.000Z', to: '2022-01-01T00:00:00.000Z' } },
    extra: [registration(mpan, 'supplier', supplierB, '2021-01-01T00:00:00.000Z')],
    templates: ['pass', 'pass', 'pass', 'E4.range', 'skip'],
  },
  { case: 'step 5: the owner', spec: { from: supplierA, to: esme, srv: '7.3' }, templates: ['pass', 'pass', 'pass', 'pass', 'pass'] },
  { case: 'step 5: the owner, edition 1', spec: { from: supplierA, to: esme, srv: '7.3' }, ruleSet: 'baseline@1', templates: ['pass', 'pass', 'pass', 'pass', 'pass'] },
  { case: 'step 5: the owner, a change pending', spec: { from: supplierA, to: esme, srv: '7.3' }, extra: [pendingPlacement], templates: ['pass', 'pass', 'pass', 'pass', 'pass'] },
  { case: 'step 5: not the owner', spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, templates: ['pass', 'pass', 'pass', 'pass', 'E.owner'] },
  { case: 'step 5: nothing held', spec: { from: supplierA, to: esme2, srv: '7.3' }, extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan)], templates: ['pass', 'pass', 'pass', 'pass', 'E.none'] },
  {
    case: 'step 5: the proxy copies disagree',
    spec: { from: supplierA, to: esme2, srv: '7.3' },
    extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1'), ['DSP']), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S2'), ['S1SP'])],
    templates: ['pass', 'pass', 'pass', 'pass', 'E.disagree'],
  },
  { case: 'step 5: only the S1SP copy', spec: { from: supplierA, to: esme2, srv: '7.3' }, extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1'), ['S1SP'])], templates: ['pass', 'pass', 'pass', 'pass', 'pass'], kept: 4 },
  { case: 'step 5: the registered NO overriding', spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) }, ruleSet: 'registered-operator', templates: ['pass', 'pass', 'pass', 'pass', 'pass.override'] },
  { case: 'step 5: the override refused', spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }, ruleSet: 'registered-operator', templates: ['pass', 'pass', 'pass', 'pass', 'E.override'] },
  { case: 'step 5: SMETS2 checks itself', spec: { from: supplierB, to: gsme, srv: '7.3' }, templates: ['pass', 'pass', 'pass', 'smets2', 'smets2'] },
  { case: '6.21 into a held slot', spec: { from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }, templates: ['pass', 'pass', 'pass', 'pass', 'E.6.21'] },
  { case: '6.21 into an empty slot', spec: { from: supplierA, to: esme2, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }, extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan)], templates: ['pass', 'pass', 'pass', 'pass', 'pass.6.21'] },
  { case: "6.23 with the sender's own certificates", spec: { from: supplierA, to: esme, srv: '6.23', certificates: supplierCerts(supplierA) }, templates: ['pass', 'pass', 'pass', 'pass', 'pass.6.23'] },
  { case: "6.23 with another's certificates", spec: { from: supplierA, to: esme, srv: '6.23', certificates: supplierCerts(supplierB) }, templates: ['pass', 'pass', 'pass', 'pass', 'E.6.23'] },
];

const decided = (row: Row) => when(world(row.extra), request(row.spec), row.ruleSet ?? 'baseline').decision.data;
const idOf = (entry: unknown) => (typeof entry === 'string' ? entry : Array.isArray(entry) ? String(entry[0]) : (entry as { id?: string }).id);
const CHECKS = ['user-role', 'srv-eligibility', 'device', 'registration-data', 'certificate-ownership'];

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
    expect(record).toMatchObject({ schemaVersion: 3, requestId: `${supplierA}::1`, srv: '4.1.1', receivedAt: '2024-03-01T12:00:00Z', ruleSet: 'baseline@2', senderRole: 'IS' });
    expect(record.revisionsRead).toEqual([0, 0, 0]);
    expect(decodeDecision(record, esme).schemaVersion).toBe(1);
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

  it('version 3 is read from its device stream only, and a malformed record is refused naming the field', () => {
    const record = encodeDecision(decided(rows[0]))! as DecisionRecordV3;
    expect(() => upcast('ServiceRequestEvaluated', record)).toThrow(/read from its device's stream/);
    expect(() => upcast('ServiceRequestEvaluated', record, `user-${supplierA}`)).toThrow(/read from its device's stream/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, requestId: 'x' }, `device-${esme}`)).toThrow(/requestId: 'x' is not originator::counter/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, checks: ['pass'] }, `device-${esme}`)).toThrow(/checks: must hold 5 checks/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, checks: ['nope', 'pass', 'pass', 'pass', 'nc'] }, `device-${esme}`)).toThrow(/'nope' is not a template of check user-role/);
    expect(() => upcast('ServiceRequestEvaluated', { ...record, schemaVersion: 4 }, `device-${esme}`)).toThrow(/version 4 is not known/);
    const e1 = encodeDecision(decided(rows.find((r) => r.case === 'E1: no role fits')!))!;
    expect(() => upcast('ServiceRequestEvaluated', { ...e1, checks: ['E1.fits', ...e1.checks.slice(1)] }, `device-${esme}`)).toThrow(DomainError);
    expect(() => upcast('ServiceRequestEvaluated', { ...e1, checks: ['E1.fits', ...e1.checks.slice(1)] }, `device-${esme}`)).toThrow(/does not decode/);
  });
});
