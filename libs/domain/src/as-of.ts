import type { SlotKey } from './catalogue';
import type { LedgerEvent } from './events';
import type { Instant } from './identifiers';
import { evolveDevice, inventoryAt, pendingPlacements, slotsAt, type DeviceState, type Placement } from './state';
import { disagreementsIn } from './stuck';

/**
 * A device as of an instant: what its history held at that time, folded by the domain's own
 * evolveDevice. An event of a device stream takes its place in the history at its **effective
 * time**:
 *  - an inventory change (DeviceInventoryChanged) at its `changedAt`;
 *  - a placement made by a request (CertificatePlaced via a request) when that request was judged:
 *    the `evaluatedAt` of its decision, which the same append put just before it in the stream (a
 *    future-dated request is accepted then and is in force only from its `placedAt`: pending
 *    meanwhile); with no decision in the stream, at its `placedAt`;
 *  - any other placement (a migration, an operator correction) at its `placedAt`;
 *  - a decision (ServiceRequestEvaluated) at its `evaluatedAt` (it does not change the device).
 * The device as of `t` is evolveDevice folded, in stream order, over the events whose effective
 * time is at or before `t` (undefined when there is none); its view at `t` holds the inventory
 * record in force at `t` (inventoryAt: of the changes effective by then, the latest changedAt, as
 * rule sets @3 judge it), the slots in force at `t` (slotsAt) and, under `pending`, the accepted
 * placements that take effect after `t` (pendingPlacements).
 */
export interface DatedEvent {
  event: LedgerEvent;
  /** The event's effective time. */
  at: Instant;
}

/**
 * A device as the API shows it. `copiesDisagree`: the slots whose DSP and S1SP copies do not hold the
 * same certificate (proxyDisagreements: serial and issuer name), where there are any;
 * `issuerSpeltTwoWays`: the slots whose copies are one certificate, its issuer name spelt two ways
 * (a disagreement under rule sets @1 to @4, none from @5), where there are any.
 */
export type DeviceView = DeviceState & { pending?: Placement[]; copiesDisagree?: SlotKey[]; issuerSpeltTwoWays?: SlotKey[] };

/**
 * The effective time of an event of a device stream (see DatedEvent); `decidedAt` answers when the
 * request that made a placement was judged. Undefined for events a device stream does not hold.
 */
export function effectiveAt(event: LedgerEvent, decidedAt: (requestId: string) => Instant | undefined): Instant | undefined {
  switch (event.type) {
    case 'DeviceInventoryChanged':
      return event.data.changedAt;
    case 'CertificatePlaced': {
      const via = event.data.via;
      return (via.kind === 'request' ? decidedAt(via.requestId) : undefined) ?? event.data.placedAt;
    }
    case 'ServiceRequestEvaluated':
      return event.data.evaluatedAt;
    default:
      return undefined;
  }
}

/** A device stream's events, in stream order, each with its effective time. */
export function datedDeviceEvents(events: Iterable<LedgerEvent>): DatedEvent[] {
  const decided = new Map<string, Instant>();
  const out: DatedEvent[] = [];
  for (const event of events) {
    if (event.type === 'ServiceRequestEvaluated') decided.set(event.data.request.requestId, event.data.evaluatedAt);
    const at = effectiveAt(event, (requestId) => decided.get(requestId));
    if (at !== undefined) out.push({ event, at });
  }
  return out;
}

/** evolveDevice folded, in stream order, over the events effective at or before `at`. */
export function deviceAsOf(history: Iterable<DatedEvent>, at: Instant): DeviceState | undefined {
  let state: DeviceState | undefined;
  for (const e of history) if (e.at <= at) state = evolveDevice(state, e.event);
  return state;
}

/**
 * A device's view at `at`: its inventory record and slots as in force then, its pending placements
 * and the slots whose proxy copies disagree, or are one certificate whose issuer is spelt two ways,
 * when there are any (the console shows them, so it compares issuer names as the server does: it
 * does not parse names itself); the slots are computed once for both. Not its list of inventory changes: the view of a device now would
 * hold those dated later, which its view as of now (folded from the changes effective by then)
 * does not (a device's history lists them all).
 */
export function deviceView(device: DeviceState, at: Instant): DeviceView {
  const pending = pendingPlacements(device, at);
  const { inventory: _changes, ...inForce } = inventoryAt(device, at);
  const slots = slotsAt(device, at);
  const found = disagreementsIn(device.deviceId, inForce.smetsGeneration, slots);
  const disagree = found.filter((d) => !d.issuerSpeltTwoWays).map((d) => d.slot);
  const spelt = found.filter((d) => d.issuerSpeltTwoWays).map((d) => d.slot);
  return { ...inForce, slots, ...(pending.length ? { pending } : {}), ...(disagree.length ? { copiesDisagree: disagree } : {}), ...(spelt.length ? { issuerSpeltTwoWays: spelt } : {}) };
}
