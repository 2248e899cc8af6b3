import type Database from 'better-sqlite3';
import { ACTOR_NOT_KEPT } from '../projections/actors';

/**
 * The ids (in `actors`) of the actors `actor` (as parseActor of @ledger/runtime takes it) matches:
 * itself, exactly; a key's identity without its name (`api:<role>:<id>`) matches that key under
 * every name it was given too (`api:<role>:<id>:<name>`); and an actor of one part, as a key's id
 * alone (as `ledger key-ids` prints it), that key under every role and name it was recorded with
 * (`api:<any role>:<id>[:<name>]`: its id is of the key alone, so a key given another role keeps it).
 * Nothing else matches: not a prefix (`api:intake` is the actor of events recorded before keys had
 * ids, no more).
 */
export function actorIds(db: Database.Database, actor: string): number[] {
  const parts = actor.split(':');
  const anyName = parts[0] === 'api' && parts.length === 3 ? 1 : 0;
  const rows = db.prepare("SELECT id FROM actors WHERE actor = @actor OR (@anyName AND substr(actor, 1, length(@actor) + 1) = @actor || ':') ORDER BY id").all({ actor, anyName }) as Array<{ id: number }>;
  if (parts.length !== 1) return rows.map((r) => r.id);
  const ofKey = (db.prepare("SELECT id, actor FROM actors WHERE actor LIKE 'api:%'").all() as Array<{ id: number; actor: string }>).filter((r) => r.actor.split(':')[2] === actor);
  return [...new Set([...rows, ...ofKey].map((r) => r.id))].sort((a, b) => a - b);
}

/** A row's actor as the queries show it: the text; null when its event names none; and, for a row made before the read models kept actors, `actorUnknown`. */
export function shownActor(id: number | null, text: string | null): { actor: string | null; actorUnknown?: true } {
  return id === ACTOR_NOT_KEPT ? { actor: null, actorUnknown: true } : { actor: text };
}

/** Rows whose actor is not kept are counted up to this many (each filtered page counts them: at most this many index entries read). */
export const ACTOR_UNKNOWN_COUNTED = 1000;

/**
 * Said with the rows filtered by actor when the read models hold rows whose actor they did not keep
 * (made by an earlier build): those may be the actor's too. `rows` as counted, with `more` when the
 * count stopped at ACTOR_UNKNOWN_COUNTED.
 */
export function actorUnknown(rows: number, what: string): { rows: number; more?: true; why: string } | undefined {
  if (rows === 0) return undefined;
  const more = rows > ACTOR_UNKNOWN_COUNTED;
  const n = Math.min(rows, ACTOR_UNKNOWN_COUNTED);
  return {
    rows: n,
    ...(more ? { more: true as const } : {}),
    why: `${more ? `more than ${n}` : n} ${what} were projected before the read models kept each event's actor (by an earlier build), so this filter cannot match them: rebuild the read models (ledger rebuild, POST /admin/rebuild) to know them`,
  };
}
