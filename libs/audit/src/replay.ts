import { DomainError, evaluate, getRuleSet, meterPointJudged, readsOf, requestFromRecord, type DeviceState, type ServiceRequest, type MeterPointState, type RuleSet, type ServiceRequestEvaluatedV1, type UserState } from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { eventHash } from '@ledger/event-store/hash-chain';
import { evolveFor, readEvent, readsMeterPointJudged, stateAt } from './stream-folds';

export interface Difference {
  path: string;
  recorded: unknown;
  replayed: unknown;
}

/** Where two JSON values differ, path by path. */
export function differences(recorded: unknown, replayed: unknown, path = ''): Difference[] {
  if (JSON.stringify(recorded) === JSON.stringify(replayed)) return [];
  if (recorded && replayed && typeof recorded === 'object' && typeof replayed === 'object') {
    const keys = new Set([...Object.keys(recorded), ...Object.keys(replayed)]);
    return [...keys].flatMap((k) => differences((recorded as Record<string, unknown>)[k], (replayed as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [{ path: path || '(root)', recorded, replayed }];
}

export interface ReplayResult {
  requestId: string;
  ruleSet: { id: string; version: number };
  /** Under the recorded rule set: whether the decision is reproduced exactly. Under another: whether it is unchanged. */
  identical: boolean;
  recorded: ServiceRequestEvaluatedV1;
  replayed: ServiceRequestEvaluatedV1;
  differences: Difference[];
}

/**
 * Whether a replay under `ruleSet` is a reproduction: under the rule set the decision was recorded
 * with (named or not), where any difference is a finding; under another, it is a what-if of one
 * decision. The one test of it (replayDecision, `ledger replay`'s exit code).
 */
export function isReproduction(recorded: Pick<ServiceRequestEvaluatedV1, 'ruleSet'>, ruleSet: { id: string; version: number }): boolean {
  return ruleSet.id === recorded.ruleSet.id && ruleSet.version === recorded.ruleSet.version;
}

/** The state a decision read (the sender's, the device's and the meter point's streams: readsOf), rebuilt from each up to the revision it recorded. */
async function stateAsRecorded(store: EventStore, d: ServiceRequestEvaluatedV1) {
  const reads = readsOf(d);
  const at = (stream: string, revision: string | null) => stateAt(store, stream, evolveFor(stream)!, revision === null ? null : BigInt(revision));
  const [sender, device, meterPoint] = await Promise.all([
    at(`user-${d.request.originator}`, reads.user),
    at(`device-${d.request.target}`, reads.device),
    reads.meterPoint === undefined ? undefined : at(reads.meterPoint, reads.meterPointRevision),
  ]);
  return { sender: sender as UserState | undefined, device: device as DeviceState | undefined, meterPoint: meterPoint as MeterPointState | undefined };
}

/**
 * Replays one recorded decision: the state exactly as of the stream revisions it recorded, the
 * request as recorded, the time of the check as recorded, under the recorded rule set (or
 * `ruleSet`, for a what-if of that one decision).
 * With `position`, the decision's place in the log: a recorded request that does not validate, and
 * does not in the store's own event there either (an edited record), is damage to the log, an
 * UnreadableEventError naming its stream, revision and position, as the what-if says it. Where the
 * store's event there validates, the copy given was edited where it was read from (a read-model
 * row): `copyDamaged` makes the error that says so (the store is not blamed for a copy, nor the
 * caller's input); without it, or without a position, the DomainError itself.
 */
export async function replayDecision(store: EventStore, recorded: ServiceRequestEvaluatedV1, ruleSet?: RuleSet, position?: bigint | string, copyDamaged?: (reason: string) => Error): Promise<ReplayResult> {
  if (position !== undefined && copyDamaged) await checkCopy(store, recorded, BigInt(position), copyDamaged);
  const rs = ruleSet ?? getRuleSet(recorded.ruleSet.id, recorded.ruleSet.version);
  const state = await stateAsRecorded(store, recorded);
  let request: ServiceRequest;
  try {
    request = requestFromRecord(recorded.request);
  } catch (err) {
    if (!(err instanceof DomainError) || position === undefined) throw err;
    for await (const e of store.readAll({ fromPosition: BigInt(position), maxCount: 1 })) {
      const stored = e.position === BigInt(position) ? readEvent(e) : undefined;
      if (stored?.type !== 'ServiceRequestEvaluated') break;
      try {
        requestFromRecord(stored.data.request);
      } catch (again) {
        if (again instanceof DomainError) throw new UnreadableEventError(e.stream, e.revision, e.position, `its recorded request does not validate: ${again.message}`);
        throw again;
      }
      if (copyDamaged) throw copyDamaged(err.message);
    }
    throw err;
  }
  if (ruleSet && !readsMeterPointJudged(recorded, state.device, rs)) {
    const would = meterPointJudged(state.device, rs, recorded.evaluatedAt);
    const read = readsOf(recorded).meterPoint;
    throw new DomainError('ruleSet', `${rs.id}@${rs.version} would judge ${recorded.request.requestId} on ${would ? `meter point ${would}` : 'no meter point'}, where the decision read ${read ?? 'none'} (the device's MPxN in force then is not its last recorded): it cannot be compared from the streams the decision read`);
  }
  const { decision } = evaluate(request, { ...state, revisionsRead: recorded.revisionsRead }, rs, recorded.evaluatedAt);
  const replayed = decision.data;
  // Under another rule set the rule set itself differs by design: compare what was decided.
  const diffs = isReproduction(recorded, rs)
    ? differences(recorded, replayed)
    : differences({ outcome: recorded.outcome, responseCode: recorded.responseCode, checks: recorded.checks }, { outcome: replayed.outcome, responseCode: replayed.responseCode, checks: replayed.checks });
  return { requestId: recorded.request.requestId, ruleSet: { id: rs.id, version: rs.version }, identical: diffs.length === 0, recorded, replayed, differences: diffs };
}

/**
 * A decision given as a copy (a read-model row) is the store's decision at its position, or the
 * copy is damaged (`copyDamaged`: an edited or stale read-model file), not a decision that no longer
 * reproduces: until 2026-11-27 a row edited to another outcome was replayed as recorded so, and the
 * report said the decision did not reproduce. One event read, at the position. Where the store's
 * event there no longer matches its own hash, the store was edited after the row was projected: an
 * UnreadableEventError naming it, not the row (until 2026-11-27 the row was blamed and a rebuild
 * advised, which takes the edit into the read models; found by the red-team probe of the audit side).
 */
async function checkCopy(store: EventStore, copy: ServiceRequestEvaluatedV1, position: bigint, copyDamaged: (reason: string) => Error): Promise<void> {
  let stored: ReturnType<typeof readEvent>;
  let event: RecordedEvent | undefined;
  for await (const e of store.readAll({ fromPosition: position, maxCount: 1 })) {
    if (e.position === position) [event, stored] = [e, readEvent(e, {})];
    break;
  }
  if (stored?.type !== 'ServiceRequestEvaluated' || stored.data.request.requestId !== copy.request.requestId) throw copyDamaged(`the store holds no decision of ${copy.request.requestId} at position ${position}`);
  const diffs = differences(stored.data, copy);
  if (!diffs.length) return;
  const paths = diffs.map((d) => d.path).join(', ');
  const { $hash, $prevHash } = event!.metadata;
  if (typeof $hash === 'string' && typeof $prevHash === 'string' && eventHash($prevHash, event!) !== $hash) {
    throw new UnreadableEventError(event!.stream, event!.revision, event!.position, `its content no longer matches its hash: it was changed in the store after it was recorded (the read models' copy, projected before, differs at ${paths}); verify the store (ledger verify) and do not rebuild the read models from it until the change is explained`);
  }
  throw copyDamaged(`it differs from the store's decision at position ${position} (${paths})`);
}

export type { RecordedEvent };
