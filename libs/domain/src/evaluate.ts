import {
  criticalityOf,
  fuelOf,
  NETWORK_OPERATOR_ROLE_CODE,
  responsibilityOf,
  sameCertificate,
  SUPPLIER_ROLE_CODE,
  type SlotKey,
  type SlotParty,
} from './catalogue';
import type { CertificatePlacedV1, CheckName, CheckRecord, ResponseCode, ServiceRequestEvaluatedV1 } from './events';
import { isMpan, mpanCheckDigitValid, type Instant, type RemotePartyRole, type UserRole } from './identifiers';
import { recordRequest, type ServiceRequest } from './request';
import type { RuleSet } from './rule-sets';
import { heldThroughout, holderAt, type DeviceState, type MeterPointState, type UserState } from './state';

/** What a decision reads: the sender's roles, the device, the meter point it serves, and the revisions of those streams. */
export interface EvaluationState {
  sender: UserState | undefined;
  device: DeviceState | undefined;
  meterPoint: MeterPointState | undefined;
  revisionsRead: Record<string, string | null>;
}

export interface Evaluation {
  decision: { type: 'ServiceRequestEvaluated'; data: ServiceRequestEvaluatedV1 };
  /** For an accepted credential change (6.15.1, 6.21, 6.23): the certificates it places by proxy. */
  placed: Array<{ type: 'CertificatePlaced'; data: CertificatePlacedV1 }>;
}

/** The order in which a derived role is chosen when a User holds several that fit (domain.md section 4). */
const ROLE_PREFERENCE: readonly UserRole[] = ['IS', 'GS', 'ED', 'GT', 'ES', 'OU', 'RSA'];
const ROLES_OF_CODE: Record<string, readonly UserRole[]> = { [SUPPLIER_ROLE_CODE]: ['IS', 'ES', 'GS'], [NETWORK_OPERATOR_ROLE_CODE]: ['ED', 'GT'] };
const ROLES_OF_FUEL: Record<'electricity' | 'gas', readonly UserRole[]> = { electricity: ['IS', 'ES', 'ED', 'OU', 'RSA'], gas: ['GS', 'GT', 'OU', 'RSA'] };

const STEP: Record<CheckName, number> = { 'user-role': 1, 'srv-eligibility': 2, device: 3, 'registration-data': 4, 'certificate-ownership': 5 };

/**
 * Judges a service request as the DSP does (domain.md section 5), under a rule set, at the
 * instant `now` (the time of the check: the domain never reads a clock). The steps run in order
 * and the first failure decides the response code; every step is recorded, those after a failure
 * as 'skipped'. Pure and deterministic: the same inputs give a deep-equal result.
 */
export function evaluate(req: ServiceRequest, state: EvaluationState, ruleSet: RuleSet, now: Instant): Evaluation {
  const checks: CheckRecord[] = [];
  const pass = (check: CheckName, reason: string, evidence: Record<string, unknown> = {}) =>
    checks.push({ step: STEP[check], check, outcome: 'pass', reason, evidence });
  const skip = (check: CheckName, reason: string, evidence: Record<string, unknown> = {}) =>
    checks.push({ step: STEP[check], check, outcome: 'skipped', reason, evidence });
  const sender = req.requestId.originator;
  const { device, meterPoint } = state;
  let role: UserRole | undefined;

  const finish = (failed?: { check: CheckName; code: ResponseCode; reason: string; evidence: Record<string, unknown> }): Evaluation => {
    if (failed) {
      checks.push({ step: STEP[failed.check], check: failed.check, outcome: 'fail', code: failed.code, reason: failed.reason, evidence: failed.evidence });
      for (const c of Object.keys(STEP) as CheckName[]) {
        if (STEP[c] > STEP[failed.check]) skip(c, 'not reached: an earlier check failed');
      }
    }
    const future = req.executionDateTime !== undefined && req.executionDateTime > now;
    const responseCode: ResponseCode = failed ? failed.code : future ? 'I99' : 'I0';
    const decision: ServiceRequestEvaluatedV1 = {
      schemaVersion: 1,
      request: recordRequest(req),
      ruleSet: { id: ruleSet.id, version: ruleSet.version },
      senderRole: role ?? null,
      checks,
      outcome: failed ? 'rejected' : 'accepted',
      responseCode,
      evaluatedAt: now,
      revisionsRead: state.revisionsRead,
    };
    const placed = failed ? [] : placements(req, future ? req.executionDateTime! : now);
    return { decision: { type: 'ServiceRequestEvaluated', data: decision }, placed };
  };

  // Step 1: E1 the User ID / role pair is not a known User Role; E3 the User's status does not allow requests.
  const derived = deriveRole(req, state);
  if (!derived.role) {
    return finish({ check: 'user-role', code: 'E1', reason: derived.reason, evidence: derived.evidence });
  }
  role = derived.role;
  const held = state.sender!.roles[role]!;
  if (held.status !== 'Active') {
    return finish({ check: 'user-role', code: 'E3', reason: `User ${sender} in role ${role} is ${held.status}, not Active`, evidence: { userId: sender, role, status: held.status } });
  }
  pass('user-role', `User ${sender} holds role ${role} (${derived.how})`, { userId: sender, role, status: held.status, derivedBy: derived.how });

  // Step 2: E2 the role is not eligible for this SRV.
  if (!req.srv.eligibleRoles.includes(role)) {
    return finish({ check: 'srv-eligibility', code: 'E2', reason: `role ${role} is not eligible for SRV ${req.srv.srv}`, evidence: { srv: req.srv.srv, role, eligibleRoles: req.srv.eligibleRoles } });
  }
  const rpr = req.remotePartyRole;
  if (rpr && req.srv.placesCertificates === 'remotePartyRole' && slotPartyOf(rpr) === undefined) {
    return finish({ check: 'srv-eligibility', code: 'E2', reason: `a User cannot replace ${rpr} credentials with SRV ${req.srv.srv}: they are the DCC's`, evidence: { srv: req.srv.srv, role, remotePartyRole: rpr } });
  }
  pass('srv-eligibility', `role ${role} is eligible for SRV ${req.srv.srv} (${req.srv.name})`, { srv: req.srv.srv, role, critical: req.srv.critical });

  // Step 3: E19 not in the inventory; E11 the SRV does not apply to the device type; E5 the status does not allow it.
  if (!device || !device.inInventory) {
    return finish({ check: 'device', code: 'E19', reason: `device ${req.requestId.target} is not in the Smart Metering Inventory`, evidence: { deviceId: req.requestId.target } });
  }
  const deviceEvidence = { deviceId: device.deviceId, deviceType: device.deviceType, smetsGeneration: device.smetsGeneration, status: device.status, mpxn: device.mpxn ?? null };
  if (!req.srv.deviceTypes.includes(device.deviceType!)) {
    return finish({ check: 'device', code: 'E11', reason: `SRV ${req.srv.srv} does not apply to a ${device.deviceType}`, evidence: { ...deviceEvidence, appliesTo: req.srv.deviceTypes } });
  }
  if (!req.srv.allowedStatuses.includes(device.status!)) {
    return finish({ check: 'device', code: 'E5', reason: `device status ${device.status} does not allow SRV ${req.srv.srv}`, evidence: { ...deviceEvidence, allowedStatuses: req.srv.allowedStatuses } });
  }
  pass('device', `${device.deviceType} (SMETS${device.smetsGeneration}) is ${device.status}`, deviceEvidence);

  // Step 4: E4 Registration-Data eligibility (SRPD 6.1), for non-critical requests and SMETS1 critical ones.
  const smets1 = device.smetsGeneration === 1;
  const replacesNo = smets1 && req.srv.srv === '6.15.1' && rpr === 'NetworkOperator';
  const responsibility = responsibilityOf(role);
  let registeredAtCheck: string | undefined;
  if (req.srv.critical && !smets1) {
    skip('registration-data', 'not applied to a critical request for a SMETS2 device', { smetsGeneration: device.smetsGeneration });
  } else if (replacesNo && ruleSet.replaceNoStep4 === 'skip') {
    skip('registration-data', `rule set ${ruleSet.id} skips it for a SMETS1 6.15.1 replacing NetworkOperator credentials`, { ruleSet: ruleSet.id });
  } else if (!responsibility) {
    skip('registration-data', `role ${role} has no Registration Data responsibility`, { role });
  } else {
    const mpxn = device.mpxn;
    const base = { mpxn: mpxn ?? null, responsibility, userId: sender };
    if (!mpxn) {
      return finish({ check: 'registration-data', code: 'E4', reason: `device ${device.deviceId} serves no meter point in the inventory`, evidence: base });
    }
    if (req.dateRange) {
      const { from, to } = req.dateRange;
      const r = heldThroughout(meterPoint, responsibility, sender, from, to);
      const evidence = { ...base, basis: 'dateRange', from, to, holderAtStart: r.holderAtStart ?? null, changesInRange: r.changes };
      if (!r.held) {
        const why = r.holderAtStart?.partyUserId !== sender ? `was not the registered ${responsibilityName(responsibility)} at ${from}` : `the registration changed inside the range (at ${r.changes[0].effectiveFrom})`;
        return finish(registrationFailure(`${sender} ${why} for ${mpxn}`, evidence, mpxn, !r.holderAtStart));
      }
      registeredAtCheck = sender;
      pass('registration-data', `${sender} was the registered ${responsibilityName(responsibility)} of ${mpxn} throughout ${from} to ${to}`, evidence);
    } else {
      const at = req.executionDateTime ?? now;
      const basis = req.executionDateTime ? 'executionDateTime' : 'timeOfCheck';
      const holder = holderAt(meterPoint, responsibility, at);
      const evidence = { ...base, basis, at, registered: holder ?? null };
      registeredAtCheck = holder?.partyUserId;
      if (holder?.partyUserId !== sender) {
        const who = holder ? `the registered ${responsibilityName(responsibility)} is ${holder.partyUserId}` : `no ${responsibilityName(responsibility)} is registered`;
        return finish(registrationFailure(`at ${at} ${who} for ${mpxn}, not ${sender}`, evidence, mpxn, !holder));
      }
      pass('registration-data', `${sender} is the registered ${responsibilityName(responsibility)} of ${mpxn} at ${at}`, evidence);
    }
  }

  // Step 5: certificate ownership for critical requests (and the handover rule for 6.21).
  const slotParty: SlotParty | undefined = rpr ? slotPartyOf(rpr) : responsibility;
  if (req.srv.srv === '6.21') {
    // 6.21 hands over a DCC controlled device: it may place a party's credentials only where no
    // User's certificate is held yet. Once a party's certificate is there, only that party
    // (6.15.1) may replace it; otherwise a supplier could side-step the NO-by-NO rule.
    const key: SlotKey = `${slotParty!}.critical`;
    const current = device.slots[key]?.DSP ?? device.slots[key]?.S1SP;
    if (current) {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `the ${key} slot already holds ${current.certificate.ownerUserId}'s certificate: the device is not DCC controlled for ${rpr}`, evidence: { slot: key, held: current } });
    }
    pass('certificate-ownership', `the ${key} slot is DCC controlled (no User certificate held): handover allowed`, { slot: key });
  } else if (!req.srv.critical) {
    skip('certificate-ownership', 'not a critical request');
  } else if (!smets1) {
    skip('certificate-ownership', 'a SMETS2 meter checks the signature against the certificates it stores itself');
  } else {
    const key: SlotKey = `${slotParty!}.critical`;
    const slot = device.slots[key];
    const evidence: Record<string, unknown> = { slot: key, dsp: slot?.DSP ?? null, s1sp: slot?.S1SP ?? null, sender };
    if (slot?.DSP && slot?.S1SP && !sameCertificate(slot.DSP.certificate, slot.S1SP.certificate)) {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `the DSP and S1SP copies of the ${key} certificate disagree: ownership cannot be established`, evidence: { ...evidence, finding: 'proxy-copies-disagree' } });
    }
    const current = slot?.DSP ?? slot?.S1SP;
    if (!current) {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `no ${key} certificate is held by proxy for device ${device.deviceId}`, evidence });
    }
    const owner = current.certificate.ownerUserId;
    evidence.owner = owner;
    if (owner === sender) {
      pass('certificate-ownership', `${sender} owns the ${key} certificate held by proxy (serial ${current.certificate.serial})`, evidence);
    } else if (replacesNo && ruleSet.registeredOperatorOverride && registeredAtCheck === sender) {
      const foreign = req.certificates.filter((c) => c.ownerUserId !== sender || c.roleCode !== NETWORK_OPERATOR_ROLE_CODE);
      if (foreign.length > 0) {
        return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `rule set ${ruleSet.id}: the registered NO ${sender} may replace ${owner}'s certificate only with its own network-operator certificates`, evidence: { ...evidence, foreign } });
      }
      pass('certificate-ownership', `rule set ${ruleSet.id}: ${sender}, the registered NO, replaces ${owner}'s certificate with its own`, { ...evidence, override: 'registered-operator' });
    } else {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `${sender} does not own the ${key} certificate held by proxy: its owner is ${owner}`, evidence });
    }
  }
  return finish();
}

function slotPartyOf(rpr: RemotePartyRole): SlotParty | undefined {
  return rpr === 'Supplier' ? 'supplier' : rpr === 'NetworkOperator' ? 'networkOperator' : undefined;
}

function responsibilityName(r: 'supplier' | 'networkOperator'): string {
  return r === 'supplier' ? 'supplier' : 'network operator';
}

/**
 * The sender's role. A stated role (JSON) must be one the User holds. Otherwise (DUIS) it is
 * derived from the roles the User holds, narrowed by the signing certificate's role code and the
 * device's fuel; of several left, the first eligible for the SRV in the order IS, GS, ED, GT, ES,
 * OU, RSA.
 */
function deriveRole(req: ServiceRequest, state: EvaluationState): { role?: UserRole; how: string; reason: string; evidence: Record<string, unknown> } {
  const userId = req.requestId.originator;
  const heldRoles = ROLE_PREFERENCE.filter((r) => state.sender?.roles[r]);
  const evidence: Record<string, unknown> = { userId, heldRoles };
  if (req.statedRole) {
    if (heldRoles.includes(req.statedRole)) return { role: req.statedRole, how: 'stated in the request', reason: '', evidence };
    return { how: '', reason: `User ${userId} does not hold role ${req.statedRole}`, evidence: { ...evidence, statedRole: req.statedRole } };
  }
  let candidates = heldRoles;
  if (req.signingRoleCode) {
    const byCode = ROLES_OF_CODE[req.signingRoleCode] ?? [];
    candidates = candidates.filter((r) => byCode.includes(r));
    evidence.signingRoleCode = req.signingRoleCode;
  }
  const fuel = state.device?.deviceType ? fuelOf(state.device.deviceType) : undefined;
  if (fuel) {
    candidates = candidates.filter((r) => ROLES_OF_FUEL[fuel].includes(r));
    evidence.fuel = fuel;
  }
  const role = candidates.find((r) => req.srv.eligibleRoles.includes(r)) ?? candidates[0];
  if (!role) {
    const why = heldRoles.length === 0 ? `User ${userId} holds no User Role` : `none of User ${userId}'s roles (${heldRoles.join(', ')}) fits this request`;
    return { how: '', reason: why, evidence };
  }
  return { role, how: 'derived from the roles held, the signing certificate and the fuel', reason: '', evidence };
}

function placements(req: ServiceRequest, placedAt: Instant): Array<{ type: 'CertificatePlaced'; data: CertificatePlacedV1 }> {
  const party: SlotParty | undefined = req.srv.placesCertificates === 'supplier' ? 'supplier' : req.srv.placesCertificates === 'remotePartyRole' && req.remotePartyRole ? slotPartyOf(req.remotePartyRole) : undefined;
  if (!party) return [];
  const requestId = `${req.requestId.originator}:${req.requestId.target}:${req.requestId.counter.toString()}`;
  return req.certificates.map((certificate) => ({
    type: 'CertificatePlaced' as const,
    data: {
      schemaVersion: 1 as const,
      deviceId: req.requestId.target,
      slot: `${party}.${criticalityOf(certificate.keyUsage)}` as SlotKey,
      certificate,
      heldBy: ['DSP', 'S1SP'] as Array<'DSP' | 'S1SP'>,
      via: { kind: 'request' as const, requestId, srv: req.srv.srv },
      placedAt,
    },
  }));
}

/**
 * An E4. Where nobody is registered because the inventory's MPAN fails its check digit (DCC test
 * data: Registration Data intake refuses such an MPAN), the reason and evidence say so.
 */
function registrationFailure(reason: string, evidence: Record<string, unknown>, mpxn: string, nobodyRegistered: boolean) {
  const testMpan = nobodyRegistered && isMpan(mpxn) && !mpanCheckDigitValid(mpxn);
  return {
    check: 'registration-data' as const,
    code: 'E4' as const,
    reason: testMpan ? `${reason}: the inventory links the device to an MPAN that fails its check digit, for which Registration Data is refused` : reason,
    evidence: testMpan ? { ...evidence, mpanCheckDigitValid: false } : evidence,
  };
}
