import { fuelOf, NETWORK_OPERATOR_ROLE_CODE, sameCertificate, sameCertificateByName, SLOT_KEYS, SRV_CATALOGUE, type CertificateIdentity, type SlotKey } from './catalogue';
import { evaluate } from './evaluate';
import type { ResponseCode } from './events';
import type { DeviceId, Instant, UserId } from './identifiers';
import type { ServiceRequest } from './request';
import { LATEST_EDITION, type RuleSet } from './rule-sets';
import { holderAt, inventoryAt, inventoryRecordsUpTo, meterPointAt, pendingPlacements, slotsAt, type DeviceState, type HeldCertificate, type MeterPointState, type UserState } from './state';

export interface StuckStatus {
  stuck: boolean;
  deviceId: string;
  mpxn: string | null;
  registeredOperator: string | null;
  /** The owner of the NO critical (digital-signing) certificate held by proxy. */
  certificateOwner: string | null;
  /**
   * Since when the mismatch has held: the latest of the placement, the registration change and the
   * inventory change from which the device has served this MPxN as SMETS1 (servingSince).
   */
  since: Instant | null;
  /**
   * Present on a stuck device whose two proxy copies of the NO critical certificate are held and
   * are not one certificate (sameCertificateByName): the registered NO's 6.15.1 is then refused
   * `proxy-copies-disagree` (all rule sets but registered-operator@5), whoever owns the copies.
   * `copyOwners` gives both copies' owners where they differ.
   */
  copiesDisagree?: true;
  copyOwners?: { DSP: string; S1SP: string };
  /**
   * Present on a SMETS1 device whose two proxy copies of the NO critical certificate are one
   * certificate by name (sameCertificateByName) but whose issuer texts differ, stuck or not: under
   * rule sets @1 to @4, which compare issuer text, the copies disagree (the registered NO's 6.15.1
   * is refused `proxy-copies-disagree`), so the status judged by an edition before 5 is stuck,
   * `copiesDisagree` too; from @5 they are one certificate (since 2026-11-28, twenty-first session).
   */
  issuerSpeltTwoWays?: true;
  /**
   * Accepted future-dated changes of the NO critical certificate, pending at `at` (each takes
   * effect at its placedAt): who will own it then. Absent when none is pending.
   */
  pending?: Array<{ owner: string; serial: string; placedAt: Instant; via: HeldCertificate['via'] }>;
}

/**
 * A SMETS1 device is stuck when the network-operator certificate held for it by proxy belongs to
 * someone other than the NO registered for its meter point at `at`, or when its DSP and S1SP copies
 * are both held and are not one certificate (`copiesDisagree`: until 2026-11-28, twentieth session,
 * only the DSP copy was read, and a device whose DSP copy was the registered NO's was not listed,
 * though its repair was refused `proxy-copies-disagree`). The copies are compared as the rule sets
 * of `edition` compare them at step 5 (evaluate): from 5 by issuer name, so copies that are one
 * certificate, its issuer spelt two ways, do not disagree; before 5 by issuer text, so they do
 * (`issuerSpeltTwoWays` marks them either way). Until 2026-11-28 (twenty-first session) the
 * copies were compared by name whatever the rule set, and such a device was not stuck under
 * `LEDGER_RULE_SET=<id>@4` though nobody could repair it. Its generation and meter point
 * are those of its inventory record in force at `at` (inventoryAt, as rule sets @3 judge it):
 * `meterPoint` is that MPxN's (meterPointAt).
 */
export function stuckStatus(recorded: DeviceState, meterPoint: MeterPointState | undefined, at: Instant, edition: RuleSet['edition'] = LATEST_EDITION): StuckStatus {
  const device = inventoryAt(recorded, at);
  // The certificate in force at `at`: an accepted future-dated change is pending until its placedAt.
  const held = slotsAt(device, at)['networkOperator.critical'];
  const pending = pendingPlacements(device, at)
    .filter((p) => p.slot === 'networkOperator.critical')
    .map((p) => ({ owner: p.certificate.ownerUserId, serial: p.certificate.serial, placedAt: p.placedAt, via: p.via }));
  const current = held?.DSP ?? held?.S1SP;
  const [dsp, s1sp] = [held?.DSP, held?.S1SP];
  const byName = !!dsp && !!s1sp && sameCertificateByName(dsp.certificate, s1sp.certificate);
  const spelt = byName && device.smetsGeneration === 1 && !sameCertificate(dsp!.certificate, s1sp!.certificate);
  const disagree = !!dsp && !!s1sp && !(edition >= 5 ? byName : sameCertificate(dsp.certificate, s1sp.certificate));
  const registered = device.mpxn ? holderAt(meterPoint, 'networkOperator', at) : undefined;
  const base = {
    deviceId: device.deviceId,
    mpxn: device.mpxn ?? null,
    registeredOperator: registered?.partyUserId ?? null,
    certificateOwner: current?.certificate.ownerUserId ?? null,
    ...(pending.length ? { pending } : {}),
    ...(spelt ? { issuerSpeltTwoWays: true as const } : {}),
  };
  const stuck = device.smetsGeneration === 1 && !!current && !!registered && (disagree || current.certificate.ownerUserId !== registered.partyUserId);
  if (!stuck) return { ...base, stuck: false, since: null };
  const serving = servingSince(device, at);
  // Stuck since both copies were held only where their disagreement is the reason: a device whose
  // DSP copy was another's has been stuck since that copy, whatever the S1SP copy became later.
  const placed = disagree && current!.certificate.ownerUserId === registered!.partyUserId ? [dsp!.placedAt, s1sp!.placedAt] : [current!.placedAt];
  const since = [...placed, registered!.effectiveFrom, ...(serving ? [serving] : [])].sort().pop()!;
  const owners = disagree && dsp!.certificate.ownerUserId !== s1sp!.certificate.ownerUserId ? { copyOwners: { DSP: dsp!.certificate.ownerUserId, S1SP: s1sp!.certificate.ownerUserId } } : {};
  return { ...base, stuck: true, since, ...(disagree ? { copiesDisagree: true as const, ...owners } : {}) };
}

/**
 * The instant from which a device has, without a break up to `at`, served the MPxN of its record in
 * force at `at` as SMETS1: the first of the latest run of its inventory records in force
 * (inventoryRecordsUpTo) with that MPxN and generation 1. Undefined for a device folded
 * before its inventory changes were kept (its history is not known). Until 2026-11-27 `since` left
 * this out, and a device moved to another meter point, or that became SMETS1, was stuck since a
 * placement or a registration dated before it served that meter point as SMETS1.
 */
function servingSince(device: DeviceState, at: Instant): Instant | undefined {
  const changes = inventoryRecordsUpTo(device, at);
  const current = changes[changes.length - 1];
  let since: Instant | undefined;
  for (let k = changes.length - 1; k >= 0 && changes[k].mpxn === current.mpxn && changes[k].smetsGeneration === 1; k--) since = changes[k].changedAt;
  return since;
}

export interface RepairOption {
  who: 'registered operator' | 'certificate owner';
  userId: string;
  /** The role the request states: the NO role of the device's fuel. */
  role: 'ED' | 'GT';
  srv: string;
  /** What the request carries. */
  carrying: string;
  accepted: boolean;
  responseCode: ResponseCode;
  reason: string;
}

/**
 * Who could repair a stuck device under a rule set: each candidate request is judged by evaluate()
 * itself, so the answer never disagrees with the decisions. Candidates: the registered NO sending
 * 6.15.1 (NetworkOperator) with its own certificates, and the certificate owner (the DSP copy's,
 * or where that is the registered NO the S1SP copy's, if another's: none if neither) sending 6.15.1
 * with the registered NO's certificates, each stating the NO role of the device's fuel (ED or GT):
 * until 2026-11-27 the role was derived from those held, so a party holding IS too was judged as a
 * supplier (E4 where it is not the registered supplier; under registered-operator@4, which gives
 * the override to the registered NO's ED or GT role only, E_CERT_OWNER where it is). `users` gives
 * the two parties' roles; a party missing from it is taken to hold that NO role, Active. `status`
 * is the device's stuckStatus at `at` judged by the rule set's edition: a caller that has it
 * already (the stuck report) passes it, and it is not computed again.
 */
export function repairOptions(
  device: DeviceState,
  meterPoint: MeterPointState | undefined,
  users: Record<string, UserState | undefined>,
  ruleSet: RuleSet,
  at: Instant,
  status: StuckStatus = stuckStatus(device, meterPoint, at, ruleSet.edition),
): RepairOption[] {
  if (!status.stuck) return [];
  const registered = status.registeredOperator as UserId;
  // The first copy's owner that is not the registered NO, DSP's first (a device stuck by disagreeing copies may have none).
  const owners = [status.certificateOwner!, ...(status.copyOwners ? [status.copyOwners.S1SP] : [])].filter((o) => o !== registered).slice(0, 1) as UserId[];
  const noRole: RepairOption['role'] = fuelOf(inventoryAt(device, at).deviceType!) === 'gas' ? 'GT' : 'ED';
  const userOf = (id: string): UserState => users[id] ?? { userId: id, roles: { [noRole]: { status: 'Active', marketIds: [], effectiveFrom: at } } };
  const certsOf = (id: UserId): CertificateIdentity[] => [
    { serial: '0', issuer: 'hypothetical', ownerUserId: id, roleCode: NETWORK_OPERATOR_ROLE_CODE, keyUsage: 'digitalSignature' },
    { serial: '0', issuer: 'hypothetical', ownerUserId: id, roleCode: NETWORK_OPERATOR_ROLE_CODE, keyUsage: 'keyAgreement' },
  ];
  const candidates = [
    { who: 'registered operator' as const, sender: registered, carrying: `its own (${registered}) NetworkOperator certificates`, certs: certsOf(registered) },
    ...owners.map((owner) => ({ who: 'certificate owner' as const, sender: owner, carrying: `the registered NO's (${registered}) NetworkOperator certificates`, certs: certsOf(registered) })),
  ];
  return candidates.map((c) => {
    const request: ServiceRequest = {
      requestId: { originator: c.sender, target: device.deviceId as DeviceId, counter: 0n },
      srv: SRV_CATALOGUE['6.15.1'],
      statedRole: noRole,
      remotePartyRole: 'NetworkOperator',
      certificates: c.certs,
      receivedAt: at,
      format: 'json',
    };
    const { decision } = evaluate(request, { sender: userOf(c.sender), device, meterPoint, revisionsRead: {} }, ruleSet, at);
    const failed = decision.data.checks.find((k) => k.outcome === 'fail');
    return {
      who: c.who,
      userId: c.sender,
      role: noRole,
      srv: '6.15.1',
      carrying: c.carrying,
      accepted: decision.data.outcome === 'accepted',
      responseCode: decision.data.responseCode,
      reason: failed ? failed.reason : 'accepted',
    };
  });
}

export interface ProxyDisagreement {
  deviceId: string;
  slot: SlotKey;
  dsp: HeldCertificate | null;
  s1sp: HeldCertificate | null;
  /** The later of the two copies' placements: since when they have disagreed. */
  since: Instant;
  /**
   * Present where the copies are one certificate, its issuer name spelt two ways: a disagreement
   * under rule sets @1 to @4 (which compare issuer text: a critical request needing the slot was
   * refused, `proxy-copies-disagree`), none from @5.
   */
  issuerSpeltTwoWays?: true;
}

/**
 * The notified certificate records of a SMETS1 device whose DSP and S1SP copies do not hold the
 * same certificate (serial and issuer name, compared as an X.500 name: sameCertificateByName), or
 * of which only one copy is held. The copies must agree (domain.md section 3): a disagreement is an
 * audit finding. Where both copies are held and differ, a critical request that needs the slot is
 * refused (E_CERT_OWNER, `proxy-copies-disagree`), under rule sets @1 to @4 comparing the issuers
 * as text. Copies that are one certificate by name but whose issuer texts differ are listed too,
 * flagged `issuerSpeltTwoWays`: a disagreement under @1 to @4 (whose decisions are recorded, and
 * which LEDGER_RULE_SET can still name), none from @5.
 * The copies are those in force at `at` (slotsAt): a future-dated placement counts from its date.
 */
export function proxyDisagreements(device: DeviceState, at: Instant): ProxyDisagreement[] {
  return disagreementsIn(device.deviceId, inventoryAt(device, at).smetsGeneration, slotsAt(device, at));
}

/** proxyDisagreements, given the device's generation and slots as in force (computed once by a caller that needs them too). */
export function disagreementsIn(deviceId: ProxyDisagreement['deviceId'], smetsGeneration: number | undefined, slots: ReturnType<typeof slotsAt>): ProxyDisagreement[] {
  if (smetsGeneration !== 1) return [];
  const out: ProxyDisagreement[] = [];
  for (const slot of SLOT_KEYS) {
    const held = slots[slot];
    const [dsp, s1sp] = [held?.DSP?.certificate, held?.S1SP?.certificate];
    if ((!dsp && !s1sp) || sameCertificate(dsp, s1sp)) continue;
    const placed = [held?.DSP?.placedAt, held?.S1SP?.placedAt].filter((t): t is Instant => !!t).sort();
    const spelt = sameCertificateByName(dsp, s1sp) ? { issuerSpeltTwoWays: true as const } : {};
    out.push({ deviceId, slot, dsp: held?.DSP ?? null, s1sp: held?.S1SP ?? null, since: placed[placed.length - 1], ...spelt });
  }
  return out;
}

/**
 * The first instant after `at` at which a device's stuck status can change by the passing of time
 * alone: a placement that takes effect then (a future-dated credential change), an inventory
 * change that does (its meter point or generation), or a Registration Data change of the network
 * operator effective then. Undefined when none is ahead. A status computed at `at` holds until
 * then (or until a new event for the device or its meter point).
 */
export function stuckStatusValidUntil(device: DeviceState, meterPoint: MeterPointState | undefined, at: Instant): Instant | undefined {
  let next: Instant | undefined;
  const consider = (t: Instant) => {
    if (t > at && (next === undefined || t < next)) next = t;
  };
  for (const p of device.placements ?? []) if (p.slot === 'networkOperator.critical') consider(p.placedAt);
  for (const c of device.inventory ?? []) consider(c.changedAt);
  if (meterPointAt(device, at)) for (const e of meterPoint?.timelines.networkOperator ?? []) consider(e.effectiveFrom);
  return next;
}
