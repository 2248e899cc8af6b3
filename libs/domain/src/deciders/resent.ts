import { DomainError } from '../identifiers';

/**
 * A fact's name sent again with other content: an RDP record id, or a placement's identity (device,
 * slot, certificate, copies, instant). The name says the fact is recorded; what was recorded under
 * it is not what was sent, so neither "recorded before" nor a second record would be true.
 */
export class FactReusedError extends DomainError {
  constructor(field: string, readonly fact: string, readonly differences: string[], reason = `${fact} was recorded before with other content (it differs in ${differences.join(', ')}): a fact is recorded once; send a new ${field} for another`) {
    super(field, reason);
  }
}

/**
 * A fact keyed by an instant (an inventory change, a role registration, a placement) sent again
 * after another fact for the same thing at the same instant was recorded after it: the record
 * holds the later one, so "recorded before" would not be true, and sent again it may be a change
 * back to it at that instant, which cannot be told from a late retry. Refused: the change needs an
 * instant of its own.
 */
export class FactChangedSinceError extends FactReusedError {
  constructor(field: string, fact: string, readonly since: string, differences: string[]) {
    super(
      field,
      fact,
      differences,
      `${fact} was recorded before, but since then ${since} was recorded at that instant, and it is what the record holds; a change back at the same instant cannot be told from a retry: send the change with its own, later ${field}`,
    );
  }
}

/**
 * Refuses a fact keyed by an instant when `later`, the last fact for the same thing at that
 * instant recorded after it (undefined: none), says otherwise (FactChangedSinceError naming
 * `field` and, of what the record holds, each path at which it differs); a plain retry when none
 * was, or when it says the same.
 */
export function checkChangedSince(field: string, fact: string, later: unknown, again: unknown, fields: ResentFields = {}): void {
  if (later === undefined) return;
  const differences = resentDifferences(later, again, fields);
  if (differences.length === 0) return;
  const held = differences.map((path) => `${path} ${JSON.stringify(valueAt(later, path))}`).join(', ');
  throw new FactChangedSinceError(field, fact, `another with ${held}`, differences);
}

/**
 * Of a timeline in the order recorded (a device's inventory changes or placements, a User's role
 * registrations, as its fold keeps them), the last entry that `sameThing` says is for the same thing
 * at the same instant: the one the record holds at that instant (undefined: none).
 */
export function lastAtSameInstant<T>(timeline: readonly T[] | undefined, sameThing: (e: T) => boolean): T | undefined {
  for (let i = (timeline?.length ?? 0) - 1; i >= 0; i--) if (sameThing(timeline![i])) return timeline![i];
  return undefined;
}

/** Two recorded instants name the same time (their text may differ: an offset, milliseconds). */
export const sameInstant = (a: string, b: string): boolean => Date.parse(a) === Date.parse(b);

function valueAt(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), value);
}

/** What of a fact is not its content: where it came from (compared never), and its instants (compared as instants). */
export interface ResentFields {
  ignore?: readonly string[];
  instants?: readonly string[];
}

/**
 * The paths at which a fact as sent again differs from the one recorded under its name, `[]` when
 * it is the same fact (a retry). Objects are compared key by key, whatever their order; anything
 * else as its JSON.
 */
export function resentDifferences(recorded: unknown, again: unknown, fields: ResentFields = {}, path = ''): string[] {
  if (fields.ignore?.includes(path)) return [];
  if (fields.instants?.includes(path) && typeof recorded === 'string' && typeof again === 'string') return Date.parse(recorded) === Date.parse(again) ? [] : [path];
  if (isRecord(recorded) && isRecord(again)) {
    const keys = [...new Set([...Object.keys(recorded), ...Object.keys(again)])].sort();
    return keys.flatMap((k) => resentDifferences(recorded[k], again[k], fields, path ? `${path}.${k}` : k));
  }
  return JSON.stringify(recorded) === JSON.stringify(again) ? [] : [path];
}

/** Refuses a fact sent again that differs from the one recorded under its name (FactReusedError, naming `field`). */
export function checkResent(field: string, fact: string, recorded: unknown, again: unknown, fields: ResentFields = {}): void {
  const differences = resentDifferences(recorded, again, fields);
  if (differences.length > 0) throw new FactReusedError(field, fact, differences);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
