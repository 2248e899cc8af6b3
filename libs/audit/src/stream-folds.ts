/** The folds replay and what-if share: which evolve a stream takes, a stored event read as a ledger event, a stream folded up to a revision. */
import { evolveDevice, evolveMeterPoint, evolveUser, ledgerEventOf, meterPointJudged, readsOf, type DeviceState, type LedgerEvent, type ReadOptions, type RuleSet, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { UnreadableEventError } from '@ledger/event-store/errors'; // not the index: a what-if's worker thread loads this (see what-if.ts)

const FOLDS_READ: ReadOptions = { checks: false, revisionsRead: false };

export type Evolve<S> = (s: S | undefined, e: LedgerEvent) => S | undefined;

/** Which fold a stream takes, by its name (`device-`, `meterpoint-`, `user-`). */
export function evolveFor(stream: string): Evolve<unknown> | undefined {
  if (stream.startsWith('device-')) return evolveDevice as Evolve<unknown>;
  if (stream.startsWith('meterpoint-')) return evolveMeterPoint as Evolve<unknown>;
  if (stream.startsWith('user-')) return evolveUser as Evolve<unknown>;
  return undefined;
}

/**
 * A stored event as a ledger event (undefined for another application's); one this code cannot read
 * is an UnreadableEventError. By default a stored decision is read without its checks and without
 * its revisionsRead's dictionary (the folds never read a decision: ReadOptions); `options` {} reads it whole.
 */
export function readEvent(e: RecordedEvent, options: ReadOptions = FOLDS_READ): LedgerEvent | undefined {
  try {
    return ledgerEventOf(e.stream, e.type, e.data, options);
  } catch (err) {
    throw new UnreadableEventError(e.stream, e.revision, e.position, (err as Error).message);
  }
}

/**
 * A stream's state as of a revision (null: before its first event), folded with the domain's own
 * evolve, which never reads an event's metadata. `metadata: false`: read without it (a what-if, whose
 * reads of the log leave it out too, so a metadata that does not parse fails none of its reads);
 * by default with it, so a replay stops at one that does not parse, as it always has.
 */
export async function stateAt(store: EventStore, stream: string, evolve: Evolve<unknown>, toRevision: bigint | null, options: { metadata?: boolean } = {}): Promise<unknown> {
  let state: unknown;
  if (toRevision === null) return state;
  for await (const e of store.readStream(stream, { maxCount: Number(toRevision) + 1, ...(options.metadata === false ? { metadata: false } : {}) })) state = evolve(state, readEvent(e)!);
  return state;
}

/**
 * Whether judging `d` under `rs` reads the meter point the decision read (meterPointJudged): where the
 * device's MPxN in force at the decision's instant and its last recorded differ, rule sets of edition 3
 * and of editions before it read different meter points, and the decision recorded only its own.
 */
export function readsMeterPointJudged(d: ServiceRequestEvaluatedV1, device: DeviceState | undefined, rs: RuleSet): boolean {
  const read = readsOf(d).meterPoint;
  return meterPointJudged(device, rs, d.evaluatedAt) === (read === undefined ? undefined : read.slice('meterpoint-'.length));
}
