import {
  criticalityOf,
  fuelOf,
  hasSlotFor,
  isDccPartyRole,
  MATRIX_CATALOGUE,
  NETWORK_OPERATOR_ROLE_CODE,
  responsibilityOf,
  roleCodeOfRemoteParty,
  sameCertificate,
  sameCertificateByName,
  slotPartyOfRemoteParty,
  SRV_CATALOGUE,
  SUPPLIER_ROLE_CODE,
  type SlotKey,
  type SlotParty,
  type SrvDefinition,
} from './catalogue';
import type { CertificatePlacedV1, CheckName, CheckRecord, ResponseCode, ServiceRequestEvaluatedV1 } from './events';
import { DomainError, isMpan, mpanCheckDigitValid, type Instant, type RemotePartyRole, type UserRole } from './identifiers';
import { recordRequest, type ServiceRequest } from './request';
import type { RuleSet } from './rule-sets';
import { heldThroughout, holderAt, inventoryAt, pendingPlacements, slotsAt, userAt, type DeviceState, type MeterPointState, type UserState } from './state';

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

// Evidence that adds keys to another's is made with Object.assign onto a new object, not a spread
// ({ ...evidence, key }): on Node 20, once optimised, a spread copy that gains a key costs
// microseconds (state.ts, withKey).

/** The order in which a derived role is chosen when a User holds several that fit (domain.md section 4). */
const ROLE_PREFERENCE: readonly UserRole[] = ['IS', 'GS', 'ED', 'GT', 'ES', 'OU', 'RSA'];
const ROLES_OF_CODE: Record<string, readonly UserRole[]> = { [SUPPLIER_ROLE_CODE]: ['IS', 'ES', 'GS'], [NETWORK_OPERATOR_ROLE_CODE]: ['ED', 'GT'] };
const ROLES_OF_FUEL: Record<'electricity' | 'gas', readonly UserRole[]> = { electricity: ['IS', 'ES', 'ED', 'OU', 'RSA'], gas: ['GS', 'GT', 'OU', 'RSA'] };

const STEP: Record<CheckName, number> = { 'user-role': 1, 'srv-eligibility': 2, device: 3, 'registration-data': 4, 'certificate-ownership': 5 };

/** Whether a rule set judges an SRV: whether srvDefinitionFor gives its definition (else it refuses). */
export function judgesSrv(srv: string, ruleSet: RuleSet): boolean {
  return Object.hasOwn(ruleSet.edition === 1 ? SRV_CATALOGUE : MATRIX_CATALOGUE, srv);
}

/** The definition a rule set judges an SRV by: catalogue@1 for edition 1, the DUIS matrix from edition 2 on. */
export function srvDefinitionFor(srv: string, ruleSet: RuleSet): SrvDefinition {
  const catalogue = ruleSet.edition === 1 ? SRV_CATALOGUE : MATRIX_CATALOGUE;
  if (!judgesSrv(srv, ruleSet)) {
    throw new DomainError('srv', `SRV ${srv} is not judged under rule set ${ruleSet.id}@${ruleSet.version} (its catalogue holds ${Object.keys(catalogue).length} SRVs)`);
  }
  return catalogue[srv];
}

/**
 * Judges a service request as the DSP does (domain.md section 5), under a rule set, at the
 * instant `now` (the time of the check: the domain never reads a clock). The steps run in order
 * and the first failure decides the response code; every step is recorded, those after a failure
 * as 'skipped'. Pure and deterministic: the same inputs give a deep-equal result. What differs
 * between editions of the rule sets is described on RuleSet.edition; edition 1's path is kept
 * exactly as it was, so its decisions replay identically.
 */
export function evaluate(req: ServiceRequest, state: EvaluationState, ruleSet: RuleSet, now: Instant): Evaluation {
  return judge(req, state, ruleSet, now, true) as Evaluation;
}

/** What a decision decided: its outcome and response code, without why. */
export interface Verdict {
  outcome: 'accepted' | 'rejected';
  responseCode: ResponseCode;
}

/**
 * The outcome and response code evaluate() gives, and nothing else: no check is recorded, no
 * reason or evidence of a check that passes or is skipped is made, and no placement (for a reader
 * that compares what was decided, not why: a what-if under another rule set). Exactly evaluate()'s
 * outcome and code, as evaluate.verdict.spec.ts holds.
 */
export function verdict(req: ServiceRequest, state: EvaluationState, ruleSet: RuleSet, now: Instant): Verdict {
  return judge(req, state, ruleSet, now, false) as Verdict;
}

/**
 * What edition 3 judges: the sender's roles and the device's inventory record as in force at `now`
 * (rolesAt, inventoryAt); editions 1 and 2 judge them as last recorded.
 */
export function judgedState(state: EvaluationState, ruleSet: RuleSet, now: Instant): EvaluationState {
  if (ruleSet.edition < 3) return state;
  const sender = state.sender && userAt(state.sender, now);
  const device = state.device && inventoryAt(state.device, now);
  return sender === state.sender && device === state.device ? state : Object.assign({}, state, { sender, device });
}

/** evaluate(), or (`whole` false) its verdict only: the same steps, the checks that pass or are skipped not recorded. */
function judge(req: ServiceRequest, recorded: EvaluationState, ruleSet: RuleSet, now: Instant, whole: boolean): Evaluation | Verdict {
  const def = srvDefinitionFor(req.srv.srv, ruleSet);
  const state = judgedState(recorded, ruleSet, now);
  const ed2 = ruleSet.edition >= 2;
  const checks: CheckRecord[] = [];
  const pass = (check: CheckName, reason: string, evidence: Record<string, unknown> = {}) =>
    checks.push({ step: STEP[check], check, outcome: 'pass', reason, evidence });
  const skip = (check: CheckName, reason: string, evidence: Record<string, unknown> = {}) =>
    checks.push({ step: STEP[check], check, outcome: 'skipped', reason, evidence });
  const sender = req.requestId.originator;
  const { device, meterPoint } = state;
  let role: UserRole | undefined;
  const future = req.executionDateTime !== undefined && req.executionDateTime > now;

  const finish = (failed?: { check: CheckName; code: ResponseCode; reason: string; evidence: Record<string, unknown> }): Evaluation | Verdict => {
    if (!whole) return { outcome: failed ? 'rejected' : 'accepted', responseCode: failed ? failed.code : future ? 'I99' : 'I0' };
    if (failed) {
      checks.push({ step: STEP[failed.check], check: failed.check, outcome: 'fail', code: failed.code, reason: failed.reason, evidence: failed.evidence });
      for (const c of Object.keys(STEP) as CheckName[]) {
        if (STEP[c] > STEP[failed.check]) skip(c, 'not reached: an earlier check failed');
      }
    }
    const responseCode: ResponseCode = failed ? failed.code : future ? 'I99' : 'I0';
    const request = recordRequest(req);
    const decision: ServiceRequestEvaluatedV1 = {
      schemaVersion: request.remotePartyRoles ? 2 : 1,
      request,
      ruleSet: { id: ruleSet.id, version: ruleSet.version },
      senderRole: role ?? null,
      checks,
      outcome: failed ? 'rejected' : 'accepted',
      responseCode,
      evaluatedAt: now,
      revisionsRead: state.revisionsRead,
    };
    const placed = failed ? [] : placements(req, def, ruleSet, future ? req.executionDateTime! : now);
    return { decision: { type: 'ServiceRequestEvaluated', data: decision }, placed };
  };

  // Step 1: E1 the User ID / role pair is not a known User Role; E3 the User's status does not allow requests.
  const derived = deriveRole(req, def, state, ruleSet.edition);
  if (!derived.role) {
    const dccParties = Object.keys(state.sender?.roles ?? {}).filter(isDccPartyRole);
    if (ed2 && dccParties.length > 0) {
      return finish({
        check: 'user-role',
        code: 'E1',
        reason: `${sender} is an org id of the DCC (${dccParties.join(', ')}), not a DUIS User: a request it originates is not a User's Service Request`,
        evidence: Object.assign({}, derived.evidence, { dccParty: dccParties }),
      });
    }
    return finish({ check: 'user-role', code: 'E1', reason: derived.reason, evidence: derived.evidence });
  }
  role = derived.role;
  const held = state.sender!.roles[role]!;
  if (held.status !== 'Active') {
    return finish({ check: 'user-role', code: 'E3', reason: `User ${sender} in role ${role} is ${held.status}, not Active`, evidence: { userId: sender, role, status: held.status } });
  }
  if (whole) pass('user-role', `User ${sender} holds role ${role} (${derived.how})`, { userId: sender, role, status: held.status, derivedBy: derived.how });

  // Step 2: E2 the role is not eligible for this SRV.
  if (!def.eligibleRoles.includes(role)) {
    const none = ed2 && def.eligibleRoles.length === 0 ? ': the DUIS matrix names no User Role for it' : '';
    return finish({ check: 'srv-eligibility', code: 'E2', reason: `role ${role} is not eligible for SRV ${def.srv}${none}`, evidence: { srv: def.srv, role, eligibleRoles: def.eligibleRoles } });
  }
  const rpr = req.remotePartyRole;
  const edition = ed2 ? 2 : 1;
  if (rpr && def.placesCertificates === 'remotePartyRole' && slotPartyOfRemoteParty(rpr, edition) === undefined) {
    return finish({ check: 'srv-eligibility', code: 'E2', reason: `a User cannot replace ${rpr} credentials with SRV ${def.srv}: they are the DCC's`, evidence: { srv: def.srv, role, remotePartyRole: rpr } });
  }
  if (ed2 && rpr === 'LoadController' && def.placesCertificates === 'remotePartyRole') {
    if (def.srv !== '6.15.1') {
      return finish({ check: 'srv-eligibility', code: 'E2', reason: `SRV ${def.srv} hands over Supplier or NetworkOperator credentials only; the Load Controller's are replaced with 6.15.1`, evidence: { srv: def.srv, role, remotePartyRole: rpr } });
    }
    if (responsibilityOf(role) !== 'supplier') {
      return finish({ check: 'srv-eligibility', code: 'E2', reason: `only the supplier may replace the Load Controller's credentials (a party it appoints), not role ${role}`, evidence: { srv: def.srv, role, remotePartyRole: rpr } });
    }
  }
  if (ed2 && future && def.futureDating === 'No') {
    return finish({
      check: 'srv-eligibility',
      code: 'E_NOT_FUTURE_DATABLE',
      reason: `SRV ${def.srv} cannot be future dated (its future-dated response pattern in the DUIS matrix is 'No'), but executes at ${req.executionDateTime}`,
      evidence: { srv: def.srv, futureDating: def.futureDating, executionDateTime: req.executionDateTime, timeOfCheck: now },
    });
  }
  if (whole) {
    const eligibility: Record<string, unknown> = { srv: def.srv, role, critical: def.critical };
    if (ed2) Object.assign(eligibility, { nonDevice: def.nonDevice ?? false, futureDating: def.futureDating ?? null });
    pass('srv-eligibility', `role ${role} is eligible for SRV ${def.srv} (${def.name})`, eligibility);
  }

  if (ed2 && def.nonDevice) {
    if (whole) {
      const why = `SRV ${def.srv} is a non-device request (DUIS matrix): no device, Registration Data or certificate check`;
      skip('device', why, { srv: def.srv });
      skip('registration-data', why, { srv: def.srv });
      skip('certificate-ownership', why, { srv: def.srv });
    }
    return finish();
  }

  // Step 3: E19 not in the inventory; E11 the SRV does not apply to the device type; E5 the status does not allow it.
  if (!device || !device.inInventory) {
    return finish({ check: 'device', code: 'E19', reason: `device ${req.requestId.target} is not in the Smart Metering Inventory`, evidence: { deviceId: req.requestId.target } });
  }
  const deviceEvidence = { deviceId: device.deviceId, deviceType: device.deviceType, smetsGeneration: device.smetsGeneration, status: device.status, mpxn: device.mpxn ?? null };
  if (!def.deviceTypes.includes(device.deviceType!)) {
    return finish({ check: 'device', code: 'E11', reason: `SRV ${def.srv} does not apply to a ${device.deviceType}`, evidence: Object.assign({}, deviceEvidence, { appliesTo: def.deviceTypes }) });
  }
  if (ed2 && rpr === 'LoadController' && def.placesCertificates === 'remotePartyRole' && !hasSlotFor('loadController', device)) {
    const why =
      device.smetsGeneration === 1
        ? 'a SMETS1 device has no Load Controller: the DSP and the S1SP hold its supplier and network-operator certificate records only'
        : `only a SMETS2 ESME trusts a Load Controller, not a ${device.deviceType}`;
    return finish({ check: 'device', code: 'E11', reason: `SRV ${def.srv} cannot replace LoadController credentials here: ${why}`, evidence: Object.assign({}, deviceEvidence, { remotePartyRole: rpr }) });
  }
  if (!def.allowedStatuses.includes(device.status!)) {
    return finish({ check: 'device', code: 'E5', reason: `device status ${device.status} does not allow SRV ${def.srv}`, evidence: Object.assign({}, deviceEvidence, { allowedStatuses: def.allowedStatuses }) });
  }
  if (whole) pass('device', `${device.deviceType} (SMETS${device.smetsGeneration}) is ${device.status}`, deviceEvidence);

  // Step 4: E4 Registration-Data eligibility (SRPD 6.1), for non-critical requests and SMETS1 critical ones.
  const smets1 = device.smetsGeneration === 1;
  const replacesNo = smets1 && def.srv === '6.15.1' && rpr === 'NetworkOperator';
  const responsibility = responsibilityOf(role);
  let registeredAtCheck: string | undefined;
  if (def.critical && !smets1) {
    if (whole) skip('registration-data', 'not applied to a critical request for a SMETS2 device', { smetsGeneration: device.smetsGeneration });
  } else if (replacesNo && ruleSet.replaceNoStep4 === 'skip') {
    if (whole) skip('registration-data', `rule set ${ruleSet.id} skips it for a SMETS1 6.15.1 replacing NetworkOperator credentials`, { ruleSet: ruleSet.id });
  } else if (!responsibility) {
    if (whole) skip('registration-data', `role ${role} has no Registration Data responsibility`, { role });
  } else {
    const mpxn = device.mpxn;
    const base = { mpxn: mpxn ?? null, responsibility, userId: sender };
    if (!mpxn) {
      return finish({ check: 'registration-data', code: 'E4', reason: `device ${device.deviceId} serves no meter point in the inventory`, evidence: base });
    }
    if (req.dateRange) {
      const { from, to } = req.dateRange;
      const r = heldThroughout(meterPoint, responsibility, sender, from, to);
      const evidence = Object.assign({}, base, { basis: 'dateRange', from, to, holderAtStart: r.holderAtStart ?? null, changesInRange: r.changes });
      if (!r.held) {
        const why = r.holderAtStart?.partyUserId !== sender ? `was not the registered ${responsibilityName(responsibility)} at ${from}` : `the registration changed inside the range (at ${r.changes[0].effectiveFrom})`;
        return finish(registrationFailure(`${sender} ${why} for ${mpxn}`, evidence, mpxn, !r.holderAtStart));
      }
      registeredAtCheck = sender;
      if (whole) pass('registration-data', `${sender} was the registered ${responsibilityName(responsibility)} of ${mpxn} throughout ${from} to ${to}`, evidence);
    } else {
      const at = req.executionDateTime ?? now;
      const basis = req.executionDateTime ? 'executionDateTime' : 'timeOfCheck';
      const holder = holderAt(meterPoint, responsibility, at);
      const evidence = Object.assign({}, base, { basis, at, registered: holder ?? null });
      registeredAtCheck = holder?.partyUserId;
      if (holder?.partyUserId !== sender) {
        const who = holder ? `the registered ${responsibilityName(responsibility)} is ${holder.partyUserId}` : `no ${responsibilityName(responsibility)} is registered`;
        return finish(registrationFailure(`at ${at} ${who} for ${mpxn}, not ${sender}`, evidence, mpxn, !holder));
      }
      if (whole) pass('registration-data', `${sender} is the registered ${responsibilityName(responsibility)} of ${mpxn} at ${at}`, evidence);
    }
  }

  // Step 5: certificate ownership for critical requests (and the handover rule for 6.21, the CoS rule for 6.23).
  // Edition 1: the slots as the last placement appended left them. Edition 2: the certificates in
  // force when the request executes (its future execution time, else the time of the check).
  const inForceAt = future ? req.executionDateTime! : now;
  const slotsInForce = () => (ed2 ? slotsAt(device, inForceAt) : device.slots); // only where a slot is read
  const inForce = (evidence: Record<string, unknown>, key: SlotKey): Record<string, unknown> => {
    if (!ed2) return evidence;
    const pending = pendingPlacements(device, inForceAt).filter((p) => p.slot === key);
    const withTime = Object.assign({}, evidence, { inForceAt });
    if (pending.length) withTime.pendingAfter = pending.map((p) => ({ serial: p.certificate.serial, owner: p.certificate.ownerUserId, placedAt: p.placedAt }));
    return withTime;
  };
  const slotParty: SlotParty | undefined = rpr ? slotPartyOfRemoteParty(rpr, edition) : responsibility;
  const registeredNoAtCheck = () => holderAt(meterPoint, 'networkOperator', req.executionDateTime ?? now)?.partyUserId;
  if (def.srv === '6.21') {
    // 6.21 hands over a DCC controlled device: it may place a party's credentials only where no
    // User's certificate is held yet. Once a party's certificate is there, only that party
    // (6.15.1) may replace it; otherwise a supplier could side-step the NO-by-NO rule.
    const key: SlotKey = `${slotParty!}.critical`;
    const slot = slotsInForce()[key];
    const current = slot?.DSP ?? slot?.S1SP;
    if (current) {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `the ${key} slot already holds ${current.certificate.ownerUserId}'s certificate: the device is not DCC controlled for ${rpr}`, evidence: inForce({ slot: key, held: current }, key) });
    }
    if (whole) pass('certificate-ownership', `the ${key} slot is DCC controlled (no User certificate held): handover allowed`, inForce({ slot: key }, key));
  } else if (ed2 && def.srv === '6.23') {
    // 6.23 (change of supplier) places the incoming supplier's credentials through the DCC's
    // TransCoS party: the sender may place its own supplier certificates only, never another's.
    const foreign = req.certificates.filter((c) => c.ownerUserId !== sender || c.roleCode !== SUPPLIER_ROLE_CODE);
    if (foreign.length > 0) {
      return finish({
        check: 'certificate-ownership',
        code: 'E_CERT_OWNER',
        reason: `6.23 places the sender's own supplier credentials only: ${foreign.map((c) => `serial ${c.serial} is ${c.ownerUserId}'s (role code ${c.roleCode})`).join('; ')}, not ${sender}'s supplier certificate`,
        evidence: { sender, foreign },
      });
    }
    if (whole) pass('certificate-ownership', `6.23: every replacement certificate is ${sender}'s own supplier certificate`, { sender, certificates: req.certificates.map((c) => c.serial) });
  } else if (!def.critical) {
    if (whole) skip('certificate-ownership', 'not a critical request');
  } else if (!smets1) {
    if (whole) skip('certificate-ownership', 'a SMETS2 meter checks the signature against the certificates it stores itself');
  } else {
    const key: SlotKey = `${slotParty!}.critical`;
    const ed5 = ruleSet.edition >= 5;
    if (ed5 && replacesNo && responsibility === 'supplier') {
      // Edition 5: NO-by-NO (domain.md section 4). A SMETS2 meter checks this itself; on a SMETS1 one only the DSP can.
      return finish({
        check: 'certificate-ownership',
        code: 'E_CERT_OWNER',
        reason: `rule set ${ruleSet.id}: a supplier cannot replace NetworkOperator credentials with 6.15.1 (they are replaced NO by NO): ${sender} sends as ${role}`,
        evidence: { sender, role, remotePartyRole: rpr, finding: 'supplier-replaces-network-operator' },
      });
    }
    const partyCode = def.srv === '6.15.1' ? roleCodeOfRemoteParty(rpr) : undefined;
    const wrongParty = ed5 && partyCode ? req.certificates.filter((c) => c.roleCode !== partyCode) : [];
    if (wrongParty.length > 0) {
      return finish({
        check: 'certificate-ownership',
        code: 'E_CERT_OWNER',
        reason: `rule set ${ruleSet.id}: ${rpr} credentials are replaced with ${rpr} certificates only (role code ${partyCode}): ${wrongParty.map((c) => `serial ${c.serial} (${c.ownerUserId}'s) has role code ${c.roleCode}`).join('; ')}`,
        evidence: { remotePartyRole: rpr, roleCode: partyCode, wrong: wrongParty, finding: 'replacement-role-code' },
      });
    }
    const slot = slotsInForce()[key];
    const evidence: Record<string, unknown> = whole ? inForce({ slot: key, dsp: slot?.DSP ?? null, s1sp: slot?.S1SP ?? null, sender }, key) : {};
    // Editions 1 to 3: whoever step 4 found registered for the sender's own responsibility (a
    // registered supplier too; with a date range, the one registered throughout it). From
    // edition 4 the registered NO only, at the check, sending in its ED or GT role.
    const overrides = () =>
      replacesNo && ruleSet.registeredOperatorOverride && (ruleSet.edition < 4 ? registeredAtCheck === sender : responsibility === 'networkOperator' && registeredNoAtCheck() === sender);
    const disagree = !!slot?.DSP && !!slot?.S1SP && !(ed5 ? sameCertificateByName : sameCertificate)(slot.DSP.certificate, slot.S1SP.certificate);
    const current = slot?.DSP ?? slot?.S1SP;
    const notTheSendersNoCertificates = () => req.certificates.filter((c) => c.ownerUserId !== sender || c.roleCode !== NETWORK_OPERATOR_ROLE_CODE);
    if ((disagree || !current) && ed5 && overrides()) {
      // Edition 5: the override needs no ownership, so it applies to an empty slot and whatever the two copies hold.
      const held = disagree ? 'disagreeing copies' : 'none';
      const foreign = notTheSendersNoCertificates();
      if (foreign.length > 0) {
        return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `rule set ${ruleSet.id}: the registered NO ${sender} may replace the ${key} certificate (held: ${held}) only with its own network-operator certificates`, evidence: Object.assign({}, evidence, { held, foreign }) });
      }
      if (whole) {
        const what = disagree ? `the ${key} certificate, whose DSP and S1SP copies disagree,` : `an empty ${key} slot's certificate`;
        pass('certificate-ownership', `rule set ${ruleSet.id}: ${sender}, the registered NO, replaces ${what} with its own`, Object.assign({}, evidence, { held, override: 'registered-operator' }));
      }
      return finish();
    }
    if (disagree) {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `the DSP and S1SP copies of the ${key} certificate disagree: ownership cannot be established`, evidence: Object.assign({}, evidence, { finding: 'proxy-copies-disagree' }) });
    }
    if (!current) {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `no ${key} certificate is held by proxy for device ${device.deviceId}`, evidence });
    }
    const owner = current.certificate.ownerUserId;
    evidence.owner = owner;
    if (owner === sender) {
      if (whole) pass('certificate-ownership', `${sender} owns the ${key} certificate held by proxy (serial ${current.certificate.serial})`, evidence);
    } else if (overrides()) {
      const foreign = notTheSendersNoCertificates();
      if (foreign.length > 0) {
        return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `rule set ${ruleSet.id}: the registered NO ${sender} may replace ${owner}'s certificate only with its own network-operator certificates`, evidence: Object.assign({}, evidence, { foreign }) });
      }
      if (whole) pass('certificate-ownership', `rule set ${ruleSet.id}: ${sender}, the registered NO, replaces ${owner}'s certificate with its own`, Object.assign({}, evidence, { override: 'registered-operator' }));
    } else {
      return finish({ check: 'certificate-ownership', code: 'E_CERT_OWNER', reason: `${sender} does not own the ${key} certificate held by proxy: its owner is ${owner}`, evidence });
    }
  }
  return finish();
}

function responsibilityName(r: 'supplier' | 'networkOperator'): string {
  return r === 'supplier' ? 'supplier' : 'network operator';
}

/**
 * The sender's role. A stated role (JSON) must be one the User holds. Otherwise (DUIS) it is
 * derived from the roles the User holds, narrowed by the signing certificate's role code and the
 * device's fuel; of several left, the first eligible for the SRV in the order IS, GS, ED, GT, ES,
 * OU, RSA. From edition 5, with no signing role code, a 6.15.1 replacing NetworkOperator
 * credentials is the network operator's (ED, GT) first: a User holding IS and ED sending it is
 * judged as ED, where edition 5 refuses a supplier's.
 */
function deriveRole(req: ServiceRequest, def: SrvDefinition, state: EvaluationState, edition: number): { role?: UserRole; how: string; reason: string; evidence: Record<string, unknown> } {
  const userId = req.requestId.originator;
  const heldRoles = ROLE_PREFERENCE.filter((r) => state.sender?.roles[r]);
  const evidence: Record<string, unknown> = { userId, heldRoles };
  if (req.statedRole) {
    if (heldRoles.includes(req.statedRole)) return { role: req.statedRole, how: 'stated in the request', reason: '', evidence };
    return { how: '', reason: `User ${userId} does not hold role ${req.statedRole}`, evidence: Object.assign({}, evidence, { statedRole: req.statedRole }) };
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
  if (edition >= 5 && !req.signingRoleCode && def.srv === '6.15.1' && req.remotePartyRole === 'NetworkOperator') {
    candidates = [...candidates.filter((r) => responsibilityOf(r) === 'networkOperator'), ...candidates.filter((r) => responsibilityOf(r) !== 'networkOperator')];
  }
  const role = candidates.find((r) => def.eligibleRoles.includes(r)) ?? candidates[0];
  if (!role) {
    const why = heldRoles.length === 0 ? `User ${userId} holds no User Role` : `none of User ${userId}'s roles (${heldRoles.join(', ')}) fits this request`;
    return { how: '', reason: why, evidence };
  }
  return { role, how: 'derived from the roles held, the signing certificate and the fuel', reason: '', evidence };
}

function placements(req: ServiceRequest, def: SrvDefinition, ruleSet: RuleSet, placedAt: Instant): Array<{ type: 'CertificatePlaced'; data: CertificatePlacedV1 }> {
  const party: SlotParty | undefined =
    def.placesCertificates === 'supplier' ? 'supplier' : def.placesCertificates === 'remotePartyRole' && req.remotePartyRole ? slotPartyOfRemoteParty(req.remotePartyRole, ruleSet.edition) : undefined;
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
    evidence: testMpan ? Object.assign({}, evidence, { mpanCheckDigitValid: false }) : evidence,
  };
}
