import type { LedgerEvent } from '../events';
import { cert, given, ids, inventory, mpan, mprn, placed, registration, request, userRole, when, type RequestSpec } from './scenario';

/**
 * One decision per branch of evaluate(): every template of the stored form of a decision
 * (decision-templates.ts) is met by a row. decision-record.spec.ts holds each to its stored form;
 * the frozen fixture of stored decisions (frozen-decisions.json) was made from them.
 */

export const { supplierA, supplierB, noA, noB, gtA, esme, esme2, gsme, chf, unknownDevice } = ids;
export const T2019 = '2019-01-01T00:00:00.000Z';
export const LATER = '2030-01-01T00:00:00.000Z';
export const DCC_ORG = '90-B3-D5-1F-30-0D-00-01';
export const OTHER_USER = '90-B3-D5-1F-30-0E-00-01';
export const TEST_MPAN = '1412345678900'; // fails its check digit
export const noCerts = (owner: string, roleCode = '03') => [cert(owner, 'digitalSignature', roleCode, 'N1'), cert(owner, 'keyAgreement', roleCode, 'N2')];
export const supplierCerts = (owner: string) => [cert(owner, 'digitalSignature', '02', 'C1')];
const pendingPlacement: LedgerEvent = {
  type: 'CertificatePlaced',
  data: { schemaVersion: 1, deviceId: esme, slot: 'supplier.critical', certificate: cert(supplierB, 'digitalSignature', '02', 'P1'), heldBy: ['DSP', 'S1SP'], via: { kind: 'request', requestId: `${supplierB}:${esme}:9`, srv: '6.23' }, placedAt: LATER },
};

export const world = (extra: LedgerEvent[] = []) =>
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

export interface Row {
  case: string;
  spec: RequestSpec;
  ruleSet?: string;
  extra?: LedgerEvent[];
  /** The template of each check, in step order. */
  templates: string[];
  /** The evidence of one check is of no template's shape, and kept as an object of the pieces that do not derive. */
  kept?: number;
}

export const rows: Row[] = [
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
  { case: 'E2: 8.5 carrying a certificate it does not place', spec: { from: supplierA, to: esme, srv: '8.5', certificates: supplierCerts(supplierA) }, templates: ['pass', 'E2', 'skip', 'skip', 'skip'] },
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
  { case: 'step 5: the override refused', spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }, ruleSet: 'registered-operator@4', templates: ['pass', 'pass', 'pass', 'pass', 'E.override'] },
  {
    case: 'step 5: the registered supplier holding ED, sending as IS (no override from @4)',
    spec: { from: supplierA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(supplierA), role: 'IS' },
    ruleSet: 'registered-operator@4',
    extra: [userRole(supplierA, 'ED')],
    templates: ['pass', 'pass', 'pass', 'pass', 'E.owner'],
  },
  {
    case: 'step 5: a NO registered throughout the date range, not at the check (no override from @4)',
    spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA), dateRange: { from: '2020-01-01T00:00:00.000Z', to: '2021-01-01T00:00:00.000Z' } },
    ruleSet: 'registered-operator',
    extra: [registration(mpan, 'networkOperator', noB, '2023-01-01T00:00:00.000Z')],
    templates: ['pass', 'pass', 'pass', 'pass.range', 'E.owner'],
  },
  // Edition 5's step 5.
  { case: 'step 5 (@5): a supplier replacing NetworkOperator credentials', spec: { from: supplierA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(supplierA) }, ruleSet: 'baseline@5', templates: ['pass', 'pass', 'pass', 'pass', 'E.supplierNo'] },
  { case: 'step 5 (@5): certificates of another party', spec: { from: noA, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA, '02') }, ruleSet: 'registered-operator@5', templates: ['pass', 'pass', 'pass', 'pass', 'E.roleCode'] },
  {
    case: 'step 5 (@5): the registered NO overriding, nothing held',
    spec: { from: noA, to: esme2, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) },
    ruleSet: 'registered-operator@5',
    extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan)],
    templates: ['pass', 'pass', 'pass', 'pass', 'pass.override.any'],
  },
  {
    case: 'step 5 (@5): the registered NO overriding disagreeing copies',
    spec: { from: noA, to: esme2, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noA) },
    ruleSet: 'registered-operator@5',
    extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan), placed(esme2, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B1'), ['DSP']), placed(esme2, 'networkOperator.critical', cert(noB, 'digitalSignature', '03', 'B2'), ['S1SP'])],
    templates: ['pass', 'pass', 'pass', 'pass', 'pass.override.any'],
  },
  {
    case: "step 5 (@5): the override refused another NO's certificates, nothing held",
    spec: { from: noA, to: esme2, srv: '6.15.1', rpr: 'NetworkOperator', certificates: noCerts(noB) },
    ruleSet: 'registered-operator@5',
    extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan)],
    templates: ['pass', 'pass', 'pass', 'pass', 'E.override.any'],
  },
  { case: 'step 5: SMETS2 checks itself', spec: { from: supplierB, to: gsme, srv: '7.3' }, templates: ['pass', 'pass', 'pass', 'smets2', 'smets2'] },
  { case: '6.21 into a held slot', spec: { from: supplierA, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }, templates: ['pass', 'pass', 'pass', 'pass', 'E.6.21'] },
  { case: '6.21 into an empty slot', spec: { from: supplierA, to: esme2, srv: '6.21', rpr: 'NetworkOperator', certificates: noCerts(noA) }, extra: [inventory(esme2, 'ESME', 1, 'Commissioned', mpan)], templates: ['pass', 'pass', 'pass', 'pass', 'pass.6.21'] },
  { case: "6.23 with the sender's own certificates", spec: { from: supplierA, to: esme, srv: '6.23', certificates: supplierCerts(supplierA) }, templates: ['pass', 'pass', 'pass', 'pass', 'pass.6.23'] },
  { case: "6.23 with another's certificates", spec: { from: supplierA, to: esme, srv: '6.23', certificates: supplierCerts(supplierB) }, templates: ['pass', 'pass', 'pass', 'pass', 'E.6.23'] },
];

/** The decision of a row, under its rule set or `ruleSet`. */
export const decided = (row: Row, ruleSet = row.ruleSet ?? 'baseline') => when(world(row.extra), request(row.spec), ruleSet).decision.data;

/** A stored decision's checks, by place: the specs' own list, not the code's (a change to that shows). */
export const CHECKS = ['user-role', 'srv-eligibility', 'device', 'registration-data', 'certificate-ownership'];
/** A stored check's template id: the entry itself, the first of its list, or the id of a check kept whole. */
export const idOf = (entry: unknown) => (typeof entry === 'string' ? entry : Array.isArray(entry) ? String(entry[0]) : (entry as { id?: string }).id);
