import type { CertificateIdentity, DeviceStatus, DeviceType, Responsibility, SlotKey, SmetsGeneration } from './catalogue';
import type { CertificatePlacedV1, LedgerEvent, PlacedVia, UserStatus } from './events';
import type { Instant, UserRole } from './identifiers';

/** The roles a User holds, folded from its stream. */
export interface UserState {
  userId: string;
  roles: Partial<Record<UserRole, { status: UserStatus; marketIds: string[]; effectiveFrom: Instant }>>;
}

export function evolveUser(state: UserState | undefined, event: LedgerEvent): UserState | undefined {
  if (event.type !== 'UserRoleRegistered') return state;
  const d = event.data;
  const base = state ?? { userId: d.userId, roles: {} };
  return { ...base, roles: { ...base.roles, [d.role]: { status: d.status, marketIds: d.marketIds, effectiveFrom: d.effectiveFrom } } };
}

/** One proxy copy of a notified certificate record. */
export interface HeldCertificate {
  certificate: CertificateIdentity;
  via: PlacedVia;
  placedAt: Instant;
}

/** A notified certificate record as held by proxy: the DSP's copy and the S1SP's. */
export interface SlotState {
  DSP?: HeldCertificate;
  S1SP?: HeldCertificate;
}

/** A device: its inventory record and its four notified certificate slots. */
export interface DeviceState {
  deviceId: string;
  deviceType?: DeviceType;
  smetsGeneration?: SmetsGeneration;
  status?: DeviceStatus;
  mpxn?: string | null;
  /** False while only certificates (no inventory record) have been seen. */
  inInventory: boolean;
  slots: Partial<Record<SlotKey, SlotState>>;
}

export function evolveDevice(state: DeviceState | undefined, event: LedgerEvent): DeviceState | undefined {
  switch (event.type) {
    case 'DeviceInventoryChanged': {
      const d = event.data;
      const base = state ?? { deviceId: d.deviceId, inInventory: true, slots: {} };
      return { ...base, inInventory: true, deviceType: d.deviceType, smetsGeneration: d.smetsGeneration, status: d.status, mpxn: d.mpxn };
    }
    case 'CertificatePlaced':
      return placeCertificate(state ?? { deviceId: event.data.deviceId, inInventory: false, slots: {} }, event.data);
    default:
      return state;
  }
}

function placeCertificate(state: DeviceState, d: CertificatePlacedV1): DeviceState {
  const held: HeldCertificate = { certificate: d.certificate, via: d.via, placedAt: d.placedAt };
  const slot: SlotState = { ...state.slots[d.slot] };
  for (const copy of d.heldBy) slot[copy] = held;
  return { ...state, slots: { ...state.slots, [d.slot]: slot } };
}

/** One entry of a meter point's Registration Data: a party responsible from an instant on. */
export interface RegistrationEntry {
  partyUserId: string;
  effectiveFrom: Instant;
  recordId: string;
}

/** A meter point's effective-dated responsibilities, each timeline sorted by effectiveFrom. */
export interface MeterPointState {
  mpxn: string;
  timelines: Record<Responsibility, RegistrationEntry[]>;
}

/**
 * Registration changes are kept in effective-date order whatever order they arrive in. A change
 * with the same effective date as an earlier one for the same responsibility replaces it (an RDP
 * correction); a record id already applied is ignored (a re-sent file).
 */
export function evolveMeterPoint(state: MeterPointState | undefined, event: LedgerEvent): MeterPointState | undefined {
  if (event.type !== 'RegistrationChanged') return state;
  const d = event.data;
  const base = state ?? { mpxn: d.mpxn, timelines: { supplier: [], networkOperator: [] } };
  const timeline = base.timelines[d.responsibility];
  if (timeline.some((e) => e.recordId === d.source.recordId)) return base;
  const entry: RegistrationEntry = { partyUserId: d.partyUserId, effectiveFrom: d.effectiveFrom, recordId: d.source.recordId };
  const next = timeline.filter((e) => e.effectiveFrom !== d.effectiveFrom);
  next.push(entry);
  next.sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : 0));
  return { ...base, timelines: { ...base.timelines, [d.responsibility]: next } };
}

/** Who held a responsibility at instant `at` (the latest entry effective at or before it). */
export function holderAt(state: MeterPointState | undefined, responsibility: Responsibility, at: Instant): RegistrationEntry | undefined {
  if (!state) return undefined;
  let holder: RegistrationEntry | undefined;
  for (const e of state.timelines[responsibility]) {
    if (e.effectiveFrom <= at) holder = e;
    else break;
  }
  return holder;
}

/**
 * Whether one party held a responsibility for the whole range [from, to]: it held it at `from`
 * and no entry effective inside (from, to] names another party. A re-statement of the same party
 * inside the range is not a change.
 */
export function heldThroughout(
  state: MeterPointState | undefined,
  responsibility: Responsibility,
  party: string,
  from: Instant,
  to: Instant,
): { held: boolean; holderAtStart?: RegistrationEntry; changes: RegistrationEntry[] } {
  const holderAtStart = holderAt(state, responsibility, from);
  const changes = (state?.timelines[responsibility] ?? []).filter((e) => e.effectiveFrom > from && e.effectiveFrom <= to && e.partyUserId !== party);
  return { held: holderAtStart?.partyUserId === party && changes.length === 0, holderAtStart, changes };
}

/** Instants compare as strings because they are normalised ISO-8601 UTC (see parseInstant). */
export function fold<S>(evolve: (s: S | undefined, e: LedgerEvent) => S | undefined, events: Iterable<LedgerEvent>, initial?: S): S | undefined {
  let state = initial;
  for (const e of events) state = evolve(state, e);
  return state;
}
