import { checkInventoryChangedSince, checkPlacementChangedSince, checkPlacementResent, deviceDecider, deviceStream, type CertificatePlacedV1, type ChangeInventory, type DeviceState, type PlaceCertificate } from '@ledger/domain';
import { writtenState, type CommandWiring } from './handler';

const onDevice = { stream: (c: { deviceId: string }) => ({ name: deviceStream(c.deviceId), id: c.deviceId }), fold: deviceDecider, read: writtenState };

/** An inventory change, on the device's stream. */
export const changeInventory: CommandWiring<ChangeInventory, DeviceState> = {
  ...onDevice,
  decide: (c, state) => deviceDecider.decide(c, state),
  eventName: (c) => `inventory:${c.deviceId}:${c.changedAt}:${c.status}:${c.mpxn}:${c.deviceType}:${c.smetsGeneration}`,
  changedSince: checkInventoryChangedSince,
};

/** A certificate placed by proxy at migration or by an operator's correction, on the device's stream. */
export const placeCertificate: CommandWiring<PlaceCertificate, DeviceState> = {
  ...onDevice,
  decide: (c, state) => deviceDecider.decide(c, state),
  eventName: (c) => placedName(c, c.heldBy),
  // Both copies were named in the order sent until 2026-11-27: a retry of one sent S1SP first finds it by that name.
  formerNames: (c) => (c.heldBy.length === 2 ? [placedName(c, ['S1SP', 'DSP'])] : []),
  resent: (c, recorded) => checkPlacementResent(c, recorded.data as CertificatePlacedV1),
  changedSince: checkPlacementChangedSince,
};

function placedName(c: PlaceCertificate, heldBy: readonly string[]): string {
  return `placed:${c.deviceId}:${c.slot}:${c.certificate.issuer}:${c.certificate.serial}:${heldBy.join('+')}:${c.placedAt}`;
}
