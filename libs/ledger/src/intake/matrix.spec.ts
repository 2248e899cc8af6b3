import { DUIS_MATRIX, MATRIX_CATALOGUE, SRV_SUPPLEMENT, type DeviceType, type SrvDefinition, type UserRole } from '@ledger/domain';
import { cert, given, inventory, mpan, mprn, placed, registration, userRole, when, NOW, type World } from '../../../domain/src/testing/scenario';
import type { XMLData } from '@smartdcc/duis-parser';
import { serviceRequestFromXml } from './requests';
import { makeCertificate } from './testing/make-certificate';
import { makeDuisRequest } from './testing/make-duis';

/**
 * Walks the whole DUIS request matrix: for every SRV, a DUIS XML request built by the project's
 * own fixture builder (the SRV's real header, a minimal body) goes through the one intake and is
 * judged (rule sets @2) on an estate that fits it. Three rows per SRV:
 * 1. an eligible sender, on a device the SRV applies to: I0 (E2 where the matrix names no role);
 * 2. the same, future dated: I99 where the matrix's pattern allows it, else E_NOT_FUTURE_DATABLE;
 * 3. the same sender, on a device type the SRV does not apply to: E11 (a non-device request has
 *    no device checks, so it is I0 whatever the target).
 */

const senders: Record<UserRole, string> = {
  IS: '90-B3-D5-1F-30-01-00-01',
  GS: '90-B3-D5-1F-30-01-00-02',
  ES: '90-B3-D5-1F-30-01-00-03',
  ED: '90-B3-D5-1F-30-03-00-01',
  GT: '90-B3-D5-1F-30-04-00-01',
  OU: '90-B3-D5-1F-30-05-00-01',
  RSA: '90-B3-D5-1F-30-06-00-01',
};
/** One device of each type. Meters are SMETS1 (so steps 4 and 5 apply to critical requests); HAN devices SMETS2, on the MPAN. */
const devices: Record<DeviceType, { id: string; gen: 1 | 2; mpxn: string }> = {
  ESME: { id: '00-DB-12-34-56-78-90-A0', gen: 1, mpxn: mpan },
  GSME: { id: '00-DB-12-34-56-78-90-A3', gen: 1, mpxn: mprn },
  GPF: { id: '00-DB-12-34-56-78-90-A4', gen: 1, mpxn: mprn },
  CHF: { id: '00-DB-12-34-56-78-90-A1', gen: 2, mpxn: mpan },
  PPMID: { id: '00-DB-12-34-56-78-90-A5', gen: 2, mpxn: mpan },
  HCALCS: { id: '00-DB-12-34-56-78-90-A6', gen: 2, mpxn: mpan },
  IHD: { id: '00-DB-12-34-56-78-90-A7', gen: 2, mpxn: mpan },
  CAD: { id: '00-DB-12-34-56-78-90-A8', gen: 2, mpxn: mpan },
};
const ELECTRICITY_ROLES: readonly UserRole[] = ['IS', 'ES', 'ED', 'OU', 'RSA'];
const GAS_ROLES: readonly UserRole[] = ['GS', 'GT', 'OU', 'RSA'];
const rolesFitting = (type: DeviceType): readonly UserRole[] => (type === 'GSME' || type === 'GPF' ? GAS_ROLES : ELECTRICITY_ROLES);

/** The estate: every role's User, Registration Data for the MPAN and the MPRN, every device, the SMETS1 meters' supplier certificates by proxy. */
function estate(): World {
  return given([
    ...Object.entries(senders).map(([role, id]) => userRole(id, role as UserRole)),
    registration(mpan, 'supplier', senders.IS, '2019-01-01T00:00:00.000Z'),
    registration(mpan, 'networkOperator', senders.ED, '2019-01-01T00:00:00.000Z'),
    registration(mprn, 'supplier', senders.GS, '2019-01-01T00:00:00.000Z'),
    registration(mprn, 'networkOperator', senders.GT, '2019-01-01T00:00:00.000Z'),
    ...Object.entries(devices).map(([type, d]) => inventory(d.id, type as DeviceType, d.gen, 'Commissioned', d.mpxn)),
    placed(devices.ESME.id, 'supplier.critical', cert(senders.IS, 'digitalSignature', '02', 'E1')),
    placed(devices.GSME.id, 'supplier.critical', cert(senders.GS, 'digitalSignature', '02', 'G1')),
    placed(devices.GPF.id, 'supplier.critical', cert(senders.GS, 'digitalSignature', '02', 'P1')),
  ]);
}

interface Plan {
  srv: string;
  def: SrvDefinition;
  role: UserRole;
  device: DeviceType;
  /** A device type the SRV does not apply to whose fuel fits the sender, for the E11 row (for a non-device request: any); undefined if none. */
  other?: DeviceType;
  expected: string;
}

/** The sender and device each SRV is judged on: the first eligible role whose fuel fits a device type the SRV applies to. */
function planOf(def: SrvDefinition): Plan {
  const types = def.nonDevice ? (['ESME'] as DeviceType[]) : def.deviceTypes;
  let pick: { role: UserRole; device: DeviceType } | undefined;
  for (const device of types) {
    const role = (['IS', 'GS', 'ES', 'ED', 'GT', 'OU', 'RSA'] as UserRole[]).find((r) => def.eligibleRoles.includes(r) && rolesFitting(device).includes(r));
    if (role) {
      pick = { role, device };
      break;
    }
  }
  if (!pick) return { srv: def.srv, def, role: 'IS', device: types[0], expected: 'E2' };
  const other = (Object.keys(devices) as DeviceType[]).find((t) => !def.deviceTypes.includes(t) && rolesFitting(t).includes(pick.role));
  return { srv: def.srv, def, ...pick, other, expected: 'I0' };
}

/** The element a minimal body is made of: the SRV's name without spaces or punctuation. */
const elementOf = (def: SrvDefinition): string => def.name.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()).replace(/^./, (c) => c.toUpperCase());

let certificates: Record<string, string>;

beforeAll(async () => {
  const mk = async (owner: string, roleCode: string, keyUsage: 'digitalSignature' | 'keyAgreement') => (await makeCertificate({ ownerUserId: owner, roleCode, keyUsage })).base64;
  certificates = {
    isSigning: await mk(senders.IS, '02', 'digitalSignature'),
    isKeyAgreement: await mk(senders.IS, '02', 'keyAgreement'),
    edSigning: await mk(senders.ED, '03', 'digitalSignature'),
  };
});

/** A minimal body; the credential requests carry what DUIS requires of them (DCC's own examples as the model). */
function bodyOf(plan: Plan, executionDateTime?: string): XMLData {
  const inner: XMLData = {};
  if (plan.srv === '6.15.1') {
    // Supplier by supplier (DCC example CS02bSupplierBySupplier): the sender's own supplier certificates.
    Object.assign(inner, { RemotePartyRole: 'Supplier', ReplacementCertificates: { DigitalSigningCertificate: certificates.isSigning, KeyAgreementCertificate: certificates.isKeyAgreement } });
  } else if (plan.srv === '6.21') {
    // Handover of a DCC controlled device: the NO slot holds no User's certificate in this estate.
    Object.assign(inner, { RemotePartyRole: 'NetworkOperator', ReplacementCertificates: { DigitalSigningCertificate: certificates.edSigning } });
  } else if (plan.srv === '6.23') {
    Object.assign(inner, { ReplacementCertificates: { DigitalSigningCertificate: certificates.isSigning } });
  } else if (plan.srv === '6.24.1') {
    // DCC example CS02fMAC: two RemotePartyRoles in one request.
    inner.RemotePartyRole = ['Supplier', 'LoadController'];
  }
  if (executionDateTime) inner.ExecutionDateTime = executionDateTime;
  return { [elementOf(plan.def)]: inner };
}

function judge(plan: Plan, target: DeviceType, counter: number, executionDateTime?: string) {
  const xml = makeDuisRequest({
    originator: senders[plan.role],
    target: devices[target].id,
    counter,
    srv: plan.srv,
    commandVariant: plan.def.nonDevice ? 8 : plan.def.critical ? 4 : 1,
    body: bodyOf(plan, executionDateTime),
  });
  const request = serviceRequestFromXml(xml, NOW);
  return when(estate(), request, 'baseline@2').decision.data;
}

const otherRowsCount = () => plans.filter((p) => p.expected === 'I0' && p.other).length;
const plans = DUIS_MATRIX.map((row) => planOf(MATRIX_CATALOGUE[row['Service Reference Variant']]));

describe('the DUIS request matrix: every SRV is judged, none is refused as unknown', () => {
  it('walks all 129 SRVs of the matrix, each with a supplement entry naming its source', () => {
    expect(plans).toHaveLength(129);
    expect(otherRowsCount()).toBeGreaterThan(100);
    for (const p of plans) expect(p.def.source).toEqual(expect.any(String));
    // The supplement adds to the matrix and nothing else: exactly one entry per matrix SRV.
    expect(Object.keys(SRV_SUPPLEMENT).sort()).toEqual(DUIS_MATRIX.map((r) => r['Service Reference Variant']).sort());
  });

  it.each(plans.map((p) => [p.srv, p.def.name, p.role, p.device, p.expected, p] as const))('%s %s, from %s to a %s: %s', (_srv, _name, _role, _device, expected, plan) => {
    const d = judge(plan, plan.device, 1);
    expect({ srv: d.request.srv, code: d.responseCode, failed: d.checks.find((c) => c.outcome === 'fail')?.reason ?? null }).toEqual({
      srv: plan.srv,
      code: expected,
      failed: expected === 'I0' ? null : expect.any(String),
    });
    expect(d.ruleSet).toEqual({ id: 'baseline', version: 2 });
  });

  const futureRows = plans.filter((p) => p.expected === 'I0').map((p) => [p.srv, p.def.futureDating, p.def.futureDating === 'No' ? 'E_NOT_FUTURE_DATABLE' : 'I99', p] as const);
  it.each(futureRows)('%s future dated (pattern %s): %s', (_srv, _pattern, expected, plan) => {
    const d = judge(plan, plan.device, 2, '2024-09-01T00:00:00Z');
    expect(d.responseCode).toBe(expected);
  });

  const otherRows = plans.filter((p) => p.expected === 'I0' && p.other).map((p) => [p.srv, p.other!, p.def.nonDevice ? 'I0' : 'E11', p] as const);
  it.each(otherRows)('%s sent to a %s: %s', (_srv, other, expected, plan) => {
    const d = judge(plan, other, 3);
    expect(d.responseCode).toBe(expected);
    if (plan.def.nonDevice) expect(d.checks.filter((c) => c.outcome === 'skipped').map((c) => c.check)).toEqual(['device', 'registration-data', 'certificate-ownership']);
  });

  it('an SRV outside the matrix is still refused as unknown, naming the header field', () => {
    const xml = makeDuisRequest({ originator: senders.IS, target: devices.ESME.id, counter: 1, srv: '6.15.1', body: {} }).replace(/6\.15\.1/g, '6.99.1');
    expect(() => serviceRequestFromXml(xml, NOW)).toThrow(/6\.99\.1/);
  });
});
