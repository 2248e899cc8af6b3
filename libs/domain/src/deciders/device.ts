import { DEVICE_STATUSES, DEVICE_TYPES, parseCertificateIdentity, SLOT_KEYS, type CertificateIdentity, type DeviceStatus, type DeviceType, type KeyUsage, type SlotKey, type SmetsGeneration } from '../catalogue';
import type { CertificatePlacedV1, DeviceInventoryChangedV1, PlacedVia } from '../events';
import { DomainError, parseDeviceId, parseInstant, parseInventoryMpxn, type DeviceId, type Instant, type Mpxn } from '../identifiers';
import { evolveDevice, evolveJudgedDevice, type DeviceState } from '../state';
import { parseOneOf, type Decider } from './decider';
import { checkChangedSince, checkResent, lastAtSameInstant, sameInstant } from './resent';

/** Record a change to a device's Smart Metering Inventory record. */
export interface ChangeInventory {
  kind: 'ChangeInventory';
  deviceId: DeviceId;
  deviceType: DeviceType;
  smetsGeneration: SmetsGeneration;
  status: DeviceStatus;
  /** The MPxN the device serves (a DCC test MPAN failing its check digit is kept); null for none. */
  mpxn: Mpxn | null;
  changedAt: Instant;
}

export interface ChangeInventoryInput {
  deviceId: unknown;
  deviceType: unknown;
  smetsGeneration: unknown;
  status: unknown;
  mpxn?: unknown;
  changedAt: unknown;
}

/** Checks an inventory change; the first problem is a DomainError naming its field. */
export function parseChangeInventory(input: ChangeInventoryInput): ChangeInventory {
  const deviceId = parseDeviceId(input.deviceId, 'deviceId');
  const deviceType = parseOneOf(DEVICE_TYPES, input.deviceType, 'deviceType');
  if (input.smetsGeneration !== 1 && input.smetsGeneration !== 2) throw new DomainError('smetsGeneration', 'must be 1 or 2');
  const status = parseOneOf(DEVICE_STATUSES, input.status, 'status');
  const mpxn = input.mpxn === undefined || input.mpxn === null ? null : parseInventoryMpxn(input.mpxn, 'mpxn');
  const changedAt = parseInstant(input.changedAt, 'changedAt');
  return { kind: 'ChangeInventory', deviceId, deviceType, smetsGeneration: input.smetsGeneration, status, mpxn, changedAt };
}

/** Record a certificate placed by proxy outside a service request: at migration, or by an operator's correction. */
export interface PlaceCertificate {
  kind: 'PlaceCertificate';
  deviceId: DeviceId;
  slot: SlotKey;
  certificate: CertificateIdentity;
  /** The proxy copies written: both unless said otherwise. */
  heldBy: Array<'DSP' | 'S1SP'>;
  via: Extract<PlacedVia, { kind: 'migration' | 'operatorCorrection' }>;
  placedAt: Instant;
}

export interface PlaceCertificateInput {
  deviceId: unknown;
  slot: unknown;
  certificate: unknown;
  heldBy?: unknown;
  via: { kind: unknown; reference?: unknown };
  placedAt: unknown;
}

/** Checks a placement's fields; the first problem is a DomainError naming its field. Whether the certificate fits the slot is the device decider's rule. */
export function parsePlaceCertificate(input: PlaceCertificateInput): PlaceCertificate {
  const deviceId = parseDeviceId(input.deviceId, 'deviceId');
  const slot = parseOneOf(SLOT_KEYS, input.slot, 'slot');
  const certificate = parseCertificateIdentity(input.certificate, 'certificate');
  const listed = input.heldBy ?? ['DSP', 'S1SP'];
  if (!Array.isArray(listed) || listed.length === 0 || !listed.every((h) => h === 'DSP' || h === 'S1SP')) throw new DomainError('heldBy', "must list 'DSP' and/or 'S1SP'");
  if (new Set(listed).size !== listed.length) throw new DomainError('heldBy', 'lists a copy twice');
  const heldBy = (['DSP', 'S1SP'] as const).filter((h) => listed.includes(h)); // one order, so that the same copies are the same placement
  const kind = parseOneOf(['migration', 'operatorCorrection'] as const, input.via?.kind, 'via.kind');
  const reference = input.via.reference;
  if (reference !== undefined && (typeof reference !== 'string' || reference.trim() === '')) throw new DomainError('via.reference', 'must be a non-empty string');
  if (kind === 'operatorCorrection' && !reference) throw new DomainError('via.reference', 'an operator correction must name its reference');
  const via: PlaceCertificate['via'] = kind === 'migration' ? { kind: 'migration', ...(reference ? { reference } : {}) } : { kind: 'operatorCorrection', reference: reference as string };
  const placedAt = parseInstant(input.placedAt, 'placedAt');
  return { kind: 'PlaceCertificate', deviceId, slot, certificate, heldBy, via, placedAt };
}

export type DeviceCommand = ChangeInventory | PlaceCertificate;
type DeviceEvent = { type: 'DeviceInventoryChanged'; data: DeviceInventoryChangedV1 } | { type: 'CertificatePlaced'; data: CertificatePlacedV1 };

/**
 * A device's stream (`device-<Device ID>`): its inventory record, its notified certificate slots
 * and every decision on a request to it. An inventory change is recorded as the inventory says it.
 * A placement must fit its slot: a critical slot holds the party's digital-signing certificate, a
 * non-critical one its key-agreement certificate (domain.md section 3). Judging a service request
 * is this stream's biggest command: see decideServiceRequest, which reads the sender and the
 * meter point too.
 */
export const deviceDecider: Decider<DeviceCommand, DeviceState, DeviceEvent> = {
  initialState: (deviceId) => ({ deviceId, inInventory: false, slots: {} }),
  evolve: evolveJudgedDevice,
  decide(c) {
    if (c.kind === 'ChangeInventory') {
      return [{ type: 'DeviceInventoryChanged', data: { schemaVersion: 1, deviceId: c.deviceId, deviceType: c.deviceType, smetsGeneration: c.smetsGeneration, status: c.status, mpxn: c.mpxn, changedAt: c.changedAt } }];
    }
    const expected: KeyUsage = c.slot.endsWith('.critical') ? 'digitalSignature' : 'keyAgreement';
    if (c.certificate.keyUsage !== expected) throw new DomainError('certificate.keyUsage', `the ${c.slot} slot holds a ${expected} certificate, not ${c.certificate.keyUsage}`);
    return [{ type: 'CertificatePlaced', data: { schemaVersion: 1, deviceId: c.deviceId, slot: c.slot, certificate: c.certificate, heldBy: c.heldBy, via: c.via, placedAt: c.placedAt } }];
  },
};

/**
 * A placement sent again: the same placement is a retry (nothing written); under the same identity
 * (device, slot, certificate issuer and serial, copies, instant) another owner, role code, key
 * usage or way of placing is refused (FactReusedError naming `certificate`), and a placement its
 * slot would refuse is refused as when it was first sent. The copies are compared as a set (a
 * record written before they were put in one order may list them otherwise), and a migration's
 * reference, which names the batch that carried it (as a Registration Data file does a record),
 * is not compared when both are migrations.
 */
export function checkPlacementResent(c: PlaceCertificate, recorded: CertificatePlacedV1): void {
  const again = deviceDecider.decide(c, deviceDecider.initialState(c.deviceId))[0].data as CertificatePlacedV1;
  const asRecorded = { ...recorded, heldBy: (['DSP', 'S1SP'] as const).filter((h) => recorded.heldBy.includes(h)) };
  const migrations = recorded.via.kind === 'migration' && again.via.kind === 'migration';
  checkResent('certificate', `the placement of certificate ${c.certificate.serial} (issuer ${c.certificate.issuer}) in the ${c.slot} slot of ${c.deviceId} at ${c.placedAt}`, asRecorded, again, { ignore: migrations ? ['via.reference'] : [] });
}

/**
 * An inventory change found recorded (its retry), against the device as folded now: a retry while
 * the last change of the device at the same `changedAt` (its fold's inventory timeline, in the order
 * recorded) is this one; else refused (FactChangedSinceError naming `changedAt`), since the record
 * holds that one and this, sent again, may be a change back to it at the same instant. Read from
 * the fold, not the stream: a retry costs the same however long the device's history.
 */
export function checkInventoryChangedSince(c: ChangeInventory, device: DeviceState): void {
  const last = lastAtSameInstant(device.inventory, (e) => sameInstant(e.changedAt, c.changedAt));
  const again = evolveDevice(deviceDecider.initialState(c.deviceId), deviceDecider.decide(c, deviceDecider.initialState(c.deviceId))[0]).inventory![0];
  checkChangedSince('changedAt', `the inventory change of ${c.deviceId} to ${c.status} at ${c.changedAt}`, last, again, { instants: ['changedAt'] });
}

/**
 * A placement found recorded (its retry), against the device as folded now: a retry while, for
 * each copy it is held in, the last placement in the same slot and that copy at the same
 * `placedAt` (its fold's placements, in the order recorded) is of this certificate; else refused
 * (FactChangedSinceError naming `placedAt`): at that instant that copy holds the later one.
 */
export function checkPlacementChangedSince(c: PlaceCertificate, device: DeviceState): void {
  const fact = `the placement of certificate ${c.certificate.serial} (issuer ${c.certificate.issuer}) in the ${c.slot} slot of ${c.deviceId} at ${c.placedAt}`;
  for (const copy of c.heldBy) {
    const last = lastAtSameInstant(device.placements, (p) => p.slot === c.slot && sameInstant(p.placedAt, c.placedAt) && p.heldBy.includes(copy));
    checkChangedSince('placedAt', fact, last && { certificate: last.certificate }, { certificate: c.certificate });
  }
}
