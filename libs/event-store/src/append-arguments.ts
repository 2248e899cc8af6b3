import { InvalidStoreArgumentError } from './errors';
import type { NewEvent } from './event-store.port';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The arguments of an append, checked the same by both adapters before anything is sent: a stream
 * name, at least one event, each with a UUID (none twice in the batch, in any case: until
 * 2026-11-27 SQLite refused that with its own constraint error and EventStoreDB wrote both), a
 * type, and metadata that is an object when given (SQLite wrote any JSON there, then could not
 * read the event back).
 */
export function checkAppend(stream: string, events: readonly NewEvent[]): void {
  if (!stream) throw new InvalidStoreArgumentError('stream name must not be empty');
  if (events.length === 0) throw new InvalidStoreArgumentError(`append to '${stream}' holds no event`);
  const seen = events.length > 1 ? new Map<string, number>() : undefined;
  for (const [i, e] of events.entries()) {
    const at = `event ${i} of the append to '${stream}'`;
    if (!UUID.test(e.id)) throw new InvalidStoreArgumentError(`${at}: id '${e.id}' is not a UUID`);
    const first = seen?.get(e.id.toLowerCase());
    if (first !== undefined) throw new InvalidStoreArgumentError(`${at}: id '${e.id}' is event ${first}'s`);
    seen?.set(e.id.toLowerCase(), i);
    if (!e.type) throw new InvalidStoreArgumentError(`${at} has no type`);
    if (e.metadata !== undefined && (typeof e.metadata !== 'object' || e.metadata === null || Array.isArray(e.metadata))) throw new InvalidStoreArgumentError(`${at}: its metadata is not an object`);
  }
}
