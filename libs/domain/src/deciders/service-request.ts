import type { CertificatePlacedV1, ServiceRequestEvaluatedV1 } from '../events';
import { evaluate } from '../evaluate';
import { formatRequestId, type Instant } from '../identifiers';
import { recordRequest, requestDifferences, type ServiceRequest } from '../request';
import type { RuleSet } from '../rule-sets';
import { FactReusedError } from './resent';
import { meterPointAt, type DeviceState, type MeterPointState, type UserState } from '../state';

/** Submit a service request: judged under the ledger's rule set, at the instant it was received. */
export interface SubmitServiceRequest {
  kind: 'SubmitServiceRequest';
  request: ServiceRequest;
  ruleSet: RuleSet;
}

/**
 * What judging a request reads: the device's stream (the one the decision is appended to), the
 * sender's roles and the Registration Data of the meter point the device serves (absent when it
 * serves none), each folded from its decider's initial state, and the revision of each stream read.
 */
export interface ServiceRequestState {
  device: DeviceState;
  sender: UserState;
  meterPoint?: MeterPointState;
  revisionsRead: Record<string, string | null>;
}

export type ServiceRequestDecided = [{ type: 'ServiceRequestEvaluated'; data: ServiceRequestEvaluatedV1 }, ...Array<{ type: 'CertificatePlaced'; data: CertificatePlacedV1 }>];

/**
 * The device stream's biggest command: the decision (every check in order, with its evidence; see
 * evaluate) and, for an accepted credential change, the certificates it places by proxy, appended
 * together. Judged at judgingInstant(): the domain never reads a clock.
 */
export function decideServiceRequest(command: SubmitServiceRequest, state: ServiceRequestState): ServiceRequestDecided {
  const { device, sender, meterPoint, revisionsRead } = state;
  const { decision, placed } = evaluate(command.request, { sender, device, meterPoint, revisionsRead }, command.ruleSet, judgingInstant(command.request.receivedAt, device));
  return [decision, ...placed];
}

/**
 * The instant a request is judged at: when it was received, or, when a decision already recorded
 * on its device was judged later than that (a request stamped before another but judged after it:
 * two processes on one store, a slow body, a request judged again after a conflict), that later
 * instant, so that the decisions of a device are judged, and their placements take effect, in the
 * order they are recorded. The decision keeps `receivedAt` as the request's arrival and records
 * the instant it was judged at as its `evaluatedAt`. Only the device's stream counts: it is the one
 * a decision is appended to; a User's roles and a meter point's Registration Data are read as
 * recorded or as effective at the instant, whenever they were recorded.
 */
export function judgingInstant(receivedAt: Instant, device: DeviceState): Instant {
  const last = device.lastJudgedAt;
  return last !== undefined && last > receivedAt ? last : receivedAt;
}

/**
 * The meter point whose Registration Data a request to `device` is judged on, if it serves one:
 * the MPxN of its inventory record as the command's rule set judges it (from edition 3, the
 * record in force at the instant it is judged at, judgingInstant; before, the last recorded).
 */
export const meterPointServed = (device: DeviceState, command: SubmitServiceRequest): string | undefined =>
  meterPointJudged(device, command.ruleSet, judgingInstant(command.request.receivedAt, device));

/**
 * The meter point a request to `device` judged at `at` under `ruleSet` is judged on: from edition 3
 * the MPxN of the inventory record in force at `at`, before it the last recorded. A what-if or a
 * replay under another rule set can compare a recorded decision only where this is the meter point
 * the decision read.
 */
export const meterPointJudged = (device: DeviceState | undefined, ruleSet: RuleSet, at: Instant): string | undefined =>
  device && ruleSet.edition >= 3 ? meterPointAt(device, at) : device?.mpxn || undefined;

/** A RequestID already decided, sent again with other content: refused, since counters are unique per originator. */
export class RequestIdReusedError extends FactReusedError {
  constructor(readonly requestId: string, differences: string[]) {
    super('requestId', `RequestID ${requestId}`, differences, `${requestId} was already decided for a different request (it differs in ${differences.join(', ')}); a RequestID's counter is used once`);
  }
}

/**
 * A RequestID sent again after it was decided: the recorded decision is the answer when the request
 * is the same (whenever and in whichever format it arrived); other content under it is refused.
 */
export function checkResubmission(command: SubmitServiceRequest, recorded: ServiceRequestEvaluatedV1): void {
  const differences = requestDifferences(recorded.request, recordRequest(command.request));
  if (differences.length > 0) throw new RequestIdReusedError(formatRequestId(command.request.requestId), differences);
}
