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
