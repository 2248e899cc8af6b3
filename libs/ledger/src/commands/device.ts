import { checkPlacementResent, deviceDecider, deviceStream, type CertificatePlacedV1, type ChangeInventory, type DeviceState, type PlaceCertificate } from '@ledger/domain';
import { writtenState, type CommandWiring } from './handler';

const onDevice = { stream: (c: { deviceId: string }) => ({ name: deviceStream(c.deviceId), id: c.deviceId }), fold: deviceDecider, read: writtenState };

/** An inventory change, on the device's stream. */
export const changeInventory: CommandWiring<ChangeInventory, DeviceState> = {
  ...onDevice,
  decide: (c, state) => deviceDecider.decide(c, state),
  eventName: (c) => `inventory:${c.deviceId}:${c.changedAt}:${c.status}:${c.mpxn}:${c.deviceType}:${c.smetsGeneration}`,
};

/** A certificate placed by proxy at migration or by an operator's correction, on the device's stream. */
export const placeCertificate: CommandWiring<PlaceCertificate, DeviceState> = {
  ...onDevice,
  decide: (c, state) => deviceDecider.decide(c, state),
  eventName: (c) => `placed:${c.deviceId}:${c.slot}:${c.certificate.issuer}:${c.certificate.serial}:${c.heldBy.join('+')}:${c.placedAt}`,
  resent: (c, recorded) => checkPlacementResent(c, recorded.data as CertificatePlacedV1),
};
