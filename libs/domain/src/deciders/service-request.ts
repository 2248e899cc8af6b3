import type { CertificatePlacedV1, ServiceRequestEvaluatedV1 } from '../events';
import { evaluate } from '../evaluate';
import { formatRequestId } from '../identifiers';
import { recordRequest, requestDifferences, type ServiceRequest } from '../request';
import type { RuleSet } from '../rule-sets';
import { FactReusedError } from './resent';
import type { DeviceState, MeterPointState, UserState } from '../state';

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
 * together. Judged at the time the request was received: the domain never reads a clock.
 */
export function decideServiceRequest(command: SubmitServiceRequest, state: ServiceRequestState): ServiceRequestDecided {
  const { device, sender, meterPoint, revisionsRead } = state;
  const { decision, placed } = evaluate(command.request, { sender, device, meterPoint, revisionsRead }, command.ruleSet, command.request.receivedAt);
  return [decision, ...placed];
}

/** The meter point whose Registration Data a request to `device` is judged on, if it serves one. */
export const meterPointServed = (device: DeviceState): string | undefined => device.mpxn || undefined;

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
