import { DomainError } from '../identifiers';
import type { LedgerEvent } from '../events';

/**
 * A decider, the shape Emmett calls one: the state a stream starts from, how each of its events
 * changes that state, and what a command decides on it. All three are pure (no I/O, no clock: a
 * time is always in the command). `decide` answers the events to append, or refuses the command
 * with a DomainError naming the field. There is one per stream kind: a device, a meter point, a
 * User, an audit job. The application layer (libs/ledger/src/commands) folds the stream, decides
 * and appends, whatever the command.
 */
export interface Decider<Command, State, Event extends LedgerEvent = LedgerEvent> {
  /** The state of the stream of the entity `id` (a device id, an MPxN, a User ID, a job id) before any event. */
  initialState(id: string): State;
  evolve(state: State, event: LedgerEvent): State;
  decide(command: Command, state: State): Event[];
}

/** A stream's state after `events`, folded from its initial state. */
export function foldStream<S>(decider: Pick<Decider<never, S>, 'initialState' | 'evolve'>, id: string, events: Iterable<LedgerEvent>): S {
  let state = decider.initialState(id);
  for (const e of events) state = decider.evolve(state, e);
  return state;
}

/** A value that must be one of a fixed list (a status, a device type, a slot). */
export function parseOneOf<T>(list: readonly T[], value: unknown, field: string): T {
  if (!(list as readonly unknown[]).includes(value)) throw new DomainError(field, `'${String(value)}' is not one of ${list.join(', ')}`);
  return value as T;
}
