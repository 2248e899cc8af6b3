import { foldStream, type Decider } from '../deciders/decider';
import type { LedgerEvent } from '../events';
import { DomainError } from '../identifiers';

/**
 * One row of a decider's given/when/then table: the stream of entity `id` holds the `given`
 * events; `when` a command is decided on the state folded from them, `then` either the events it
 * decides, or the refusal (`field: reason`) it answers with.
 */
export function decide<C, S>(decider: Decider<C, S>, id: string, given: LedgerEvent[], when: C): { then: LedgerEvent[] } | { refused: string } {
  const state = foldStream(decider, id, given);
  try {
    return { then: decider.decide(when, state) };
  } catch (err) {
    if (err instanceof DomainError) return { refused: `${err.field}: ${err.reason}` };
    throw err;
  }
}

/** What a parse function answers: the typed command, or its refusal (`field: reason`). */
export function parsed<I, C>(parse: (input: I) => C, input: I): { command: C } | { refused: string } {
  try {
    return { command: parse(input) };
  } catch (err) {
    if (err instanceof DomainError) return { refused: `${err.field}: ${err.reason}` };
    throw err;
  }
}
