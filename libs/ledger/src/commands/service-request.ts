import {
  byName,
  checkResubmission,
  decideServiceRequest,
  deviceDecider,
  deviceStream,
  formatRequestId,
  meterPointDecider,
  meterPointServed,
  meterPointStream,
  userDecider,
  userStream,
  type CertificatePlacedV1,
  type DeviceState,
  type ServiceRequestDecided,
  type ServiceRequestEvaluatedV1,
  type ServiceRequestState,
  type SubmitServiceRequest,
} from '@ledger/domain';
import type { FoldedStream } from '../stream-cache';
import { toLedgerEvent } from '../streams';
import type { CommandWiring, Handled } from './handler';

export interface SubmitResult {
  decision: ServiceRequestEvaluatedV1;
  placed: CertificatePlacedV1[];
  /** False when the RequestID had been decided before: the recorded decision is returned, nothing is written. */
  written: boolean;
  position: string;
  stream: string;
}

const requestIdOf = (c: SubmitServiceRequest) => formatRequestId(c.request.requestId);
const revisionOf = (folded: FoldedStream<unknown>): string | null => (folded.revision === undefined ? null : folded.revision.toString());

/**
 * A service request, judged on the device's stream with the sender's roles and the Registration
 * Data of the meter point the device serves read alongside (each stream's revision recorded in the
 * decision), and appended with its placements atomically. The decision's id derives from the
 * RequestID, so a RequestID sent again finds its decision. Unless the caller names them, the
 * decision's id is the correlation and causation id of everything appended with it.
 */
export const submitServiceRequest: CommandWiring<SubmitServiceRequest, DeviceState, ServiceRequestState> = {
  stream: (c) => ({ name: deviceStream(c.request.requestId.target), id: c.request.requestId.target }),
  fold: deviceDecider,
  async read(c, device, load) {
    const originator = c.request.requestId.originator;
    const mpxn = meterPointServed(device.state, c);
    const [sender, meterPoint] = await Promise.all([
      load(userStream(originator), userDecider.initialState(originator), userDecider.evolve),
      mpxn ? load(meterPointStream(mpxn), meterPointDecider.initialState(mpxn), meterPointDecider.evolve) : Promise.resolve(undefined),
    ]);
    // Keyed by the streams' names: built as a dictionary (byName), not a hidden class per device.
    const revisionsRead = byName<string | null>([[sender.stream, revisionOf(sender)], [device.stream, revisionOf(device)], ...(meterPoint ? [[meterPoint.stream, revisionOf(meterPoint)] as const] : [])]);
    return { device: device.state, sender: sender.state, meterPoint: meterPoint?.state, revisionsRead };
  },
  decide: decideServiceRequest,
  eventName: (c, i) => (i === 0 ? `decision:${requestIdOf(c)}` : `placed:${requestIdOf(c)}:${i - 1}`),
  resent: (c, recorded) => checkResubmission(c, recorded.data as ServiceRequestEvaluatedV1),
  // Object.assign onto a new object, not a spread that gains keys (~4 us on Node 20: state.ts, withKey).
  context: (ctx, decisionId) => Object.assign({}, ctx, { correlationId: ctx.correlationId ?? decisionId, causationId: ctx.causationId ?? decisionId }),
};

/**
 * The answer to a submission: the decision and placements just appended, or those recorded before
 * for the same RequestID (the placements are the CertificatePlaced events appended with the
 * decision, and the position that of the append's last event, as the first reply gave it). A
 * recorded RequestID sent with other content was refused by the handler (`resent`:
 * RequestIdReusedError).
 */
export function submitResult(handled: Handled): SubmitResult {
  if (handled.written) {
    const [decision, ...placed] = handled.events as ServiceRequestDecided;
    return { decision: decision.data, placed: placed.map((p) => p.data), written: true, position: handled.position.toString(), stream: handled.stream };
  }
  const { recorded, stream } = handled;
  const placements = recorded.slice(1);
  const decision = handled.fact.data as ServiceRequestEvaluatedV1;
  const placed = placements.map((e) => toLedgerEvent(e).data as CertificatePlacedV1);
  const last = recorded[recorded.length - 1];
  return { decision, placed, written: false, position: last.position.toString(), stream };
}
