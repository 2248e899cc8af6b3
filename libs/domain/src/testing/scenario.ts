import { MATRIX_CATALOGUE, type CertificateIdentity, type DeviceStatus, type DeviceType, type KeyUsage, type SlotKey } from '../catalogue';
import { evaluate, type Evaluation } from '../evaluate';
import { deviceStream, meterPointStream, userStream, type LedgerEvent, type UserStatus } from '../events';
import { parseRequestId, type Instant, type RemotePartyRole, type UserRole } from '../identifiers';
import type { ServiceRequest } from '../request';
import { getRuleSet } from '../rule-sets';
import type { DeviceState, MeterPointState, UserState } from '../state';
import { deviceDecider } from '../deciders/device';
import { meterPointDecider } from '../deciders/meter-point';
import { userDecider } from '../deciders/user';
import { meterPointServed } from '../deciders/service-request';

/** Given-events / when-request helpers for the domain's tables. Everything here is plain data. */

export const ids = {
  supplierA: '90-B3-D5-1F-30-01-00-01',
  supplierB: '90-B3-D5-1F-30-01-00-02',
  noA: '90-B3-D5-1F-30-03-00-0A',
  noB: '90-B3-D5-1F-30-03-00-0B',
  gtA: '90-B3-D5-1F-30-04-00-0A',
  esme: '00-DB-12-34-56-78-90-01',
  esme2: '00-DB-12-34-56-78-90-02',
  gsme: '00-DB-12-34-56-78-90-03',
  gpf: '00-DB-12-34-56-78-90-04',
  chf: '00-DB-12-34-56-78-90-05',
  unknownDevice: '00-DB-12-34-56-78-90-FF',
};
export const mpan = '1412345678901';
export const mprn = '1234567890';

export const userRole = (userId: string, role: UserRole, status: UserStatus = 'Active', effectiveFrom: Instant = '2020-01-01T00:00:00.000Z'): LedgerEvent => ({
  type: 'UserRoleRegistered',
  data: { schemaVersion: 1, userId, role, status, marketIds: [], effectiveFrom },
});

export const inventory = (deviceId: string, deviceType: DeviceType, smetsGeneration: 1 | 2, status: DeviceStatus, mpxn: string | null, changedAt: Instant = '2020-01-01T00:00:00.000Z'): LedgerEvent => ({
  type: 'DeviceInventoryChanged',
  data: { schemaVersion: 1, deviceId, deviceType, smetsGeneration, status, mpxn, changedAt },
});

let record = 0;
export const registration = (mpxn: string, responsibility: 'supplier' | 'networkOperator', partyUserId: string, effectiveFrom: Instant): LedgerEvent => ({
  type: 'RegistrationChanged',
  data: { schemaVersion: 1, mpxn, responsibility, partyUserId, effectiveFrom, source: { recordId: `R${++record}` } },
});

export const cert = (ownerUserId: string, keyUsage: KeyUsage = 'digitalSignature', roleCode = '03', serial = 'A1'): CertificateIdentity => ({
  serial,
  issuer: 'CN=Test SMKI CA',
  ownerUserId: ownerUserId as CertificateIdentity['ownerUserId'],
  roleCode,
  keyUsage,
});

export const placed = (deviceId: string, slot: SlotKey, certificate: CertificateIdentity, heldBy: Array<'DSP' | 'S1SP'> = ['DSP', 'S1SP']): LedgerEvent => ({
  type: 'CertificatePlaced',
  data: { schemaVersion: 1, deviceId, slot, certificate, heldBy, via: { kind: 'migration' }, placedAt: '2020-06-01T00:00:00.000Z' },
});

export interface World {
  users: Map<string, UserState>;
  devices: Map<string, DeviceState>;
  meterPoints: Map<string, MeterPointState>;
}

export function given(events: LedgerEvent[]): World {
  const w: World = { users: new Map(), devices: new Map(), meterPoints: new Map() };
  for (const e of events) apply(w, e);
  return w;
}

/** Applies an event to the stream it belongs to, folded from that stream's initial state (as the ledger's handler folds it). */
export function apply(w: World, e: LedgerEvent): void {
  if (e.type === 'UserRoleRegistered') {
    const id = e.data.userId;
    w.users.set(id, userDecider.evolve(w.users.get(id) ?? userDecider.initialState(id), e));
  }
  if (e.type === 'DeviceInventoryChanged' || e.type === 'CertificatePlaced') {
    const id = e.data.deviceId;
    w.devices.set(id, deviceDecider.evolve(w.devices.get(id) ?? deviceDecider.initialState(id), e));
  }
  if (e.type === 'RegistrationChanged') {
    const id = e.data.mpxn;
    w.meterPoints.set(id, meterPointDecider.evolve(w.meterPoints.get(id) ?? meterPointDecider.initialState(id), e));
  }
}

export interface RequestSpec {
  from: string;
  to: string;
  srv: string;
  counter?: number;
  role?: UserRole;
  signingRoleCode?: string;
  rpr?: RemotePartyRole;
  certificates?: CertificateIdentity[];
  executionDateTime?: Instant;
  dateRange?: { from: Instant; to: Instant };
}

export const NOW = '2024-03-01T12:00:00.000Z';

export function request(spec: RequestSpec): ServiceRequest {
  return {
    requestId: parseRequestId(`${spec.from}:${spec.to}:${spec.counter ?? 1}`),
    srv: MATRIX_CATALOGUE[spec.srv],
    statedRole: spec.role,
    signingRoleCode: spec.signingRoleCode,
    remotePartyRole: spec.rpr,
    certificates: spec.certificates ?? [],
    executionDateTime: spec.executionDateTime,
    dateRange: spec.dateRange,
    receivedAt: NOW,
    format: 'json',
  };
}

/** Evaluates a request against the world, as the ledger's handler would, reading the three streams (the meter point the rule set judges the device to serve: meterPointServed). */
export function when(w: World, req: ServiceRequest, ruleSet = 'baseline', now: Instant = NOW): Evaluation {
  const rs = getRuleSet(ruleSet);
  const device = w.devices.get(req.requestId.target);
  const mpxn = device && meterPointServed(device, { kind: 'SubmitServiceRequest', request: { ...req, receivedAt: now }, ruleSet: rs });
  const meterPoint = mpxn ? w.meterPoints.get(mpxn) : undefined;
  const sender = w.users.get(req.requestId.originator);
  const revisionsRead: Record<string, string | null> = {
    [userStream(req.requestId.originator)]: sender ? '0' : null,
    [deviceStream(req.requestId.target)]: device ? '0' : null,
  };
  if (mpxn) revisionsRead[meterPointStream(mpxn)] = meterPoint ? '0' : null;
  return evaluate(req, { sender, device, meterPoint, revisionsRead }, rs, now);
}

/** Applies an accepted evaluation's placements to the world (as appending them would). */
export function commit(w: World, ev: Evaluation): void {
  for (const p of ev.placed) apply(w, p);
}
