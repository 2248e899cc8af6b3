import type Database from 'better-sqlite3';
import { DomainError } from '@ledger/domain';
import { ACTOR_NOT_KEPT } from '../projections/actors';

/** A segment of an actor: an API key's role, id or name (1 to 40 letters, digits, '.', '_', '-'), `cli`, `submit`, `demo`, ... */
const SEGMENT = /^[A-Za-z0-9._-]{1,40}$/;
const KEY_ID = /^[0-9a-f]{12}$/;
const ROLES = ['intake', 'auditor', 'admin'];

/**
 * An actor to filter by (`actor=`), as recorded: one to four segments of letters, digits, '.', '_'
 * or '-' joined by ':' (`api:intake:893a09117d39:rdp-feed`, `api:intake`, `cli:submit`, `demo`);
 * one naming an API key (`api:<role>:<id>...`) with a role of the API's and an id of 12 lowercase
 * hex digits, as `ledger key-ids` prints it. Anything else is refused naming the field.
 */
export function parseActor(raw: string, field = 'actor'): string {
  const parts = raw.split(':');
  if (parts.length > 4 || !parts.every((p) => SEGMENT.test(p))) {
    throw new DomainError(field, "must be an actor as recorded: 1 to 4 parts of letters, digits, '.', '_' or '-' joined by ':' (e.g. api:intake:893a09117d39:rdp-feed, cli:submit)");
  }
  if (parts[0] === 'api' && parts.length >= 3 && (!ROLES.includes(parts[1]) || !KEY_ID.test(parts[2]))) {
    throw new DomainError(field, `must name an API key as recorded, api:<role>:<id>[:<name>], its role one of ${ROLES.join(', ')} and its id 12 lowercase hex digits (ledger key-ids prints them)`);
  }
  return raw;
}

/**
 * The ids (in `actors`) of the actors `actor` matches: itself, exactly; a key's identity without its
 * name (`api:<role>:<id>`) matches that key under every name it was given too (`api:<role>:<id>:<name>`);
 * and a key's id alone (12 lowercase hex digits, as `ledger key-ids` prints it) that key under every
 * role and name it was recorded with (`api:<any role>:<id>[:<name>]`: its id is of the key alone, so a
 * key given another role keeps it). Nothing else matches: not a prefix (`api:intake` is the actor of
 * events recorded before keys had ids, no more).
 */
export function actorIds(db: Database.Database, actor: string): number[] {
  const parts = actor.split(':');
  const anyName = parts[0] === 'api' && parts.length === 3 ? 1 : 0;
  const rows = db.prepare("SELECT id FROM actors WHERE actor = @actor OR (@anyName AND substr(actor, 1, length(@actor) + 1) = @actor || ':') ORDER BY id").all({ actor, anyName }) as Array<{ id: number }>;
  if (!KEY_ID.test(actor)) return rows.map((r) => r.id);
  const ofKey = (db.prepare("SELECT id, actor FROM actors WHERE actor LIKE 'api:%'").all() as Array<{ id: number; actor: string }>).filter((r) => r.actor.split(':')[2] === actor);
  return [...new Set([...rows, ...ofKey].map((r) => r.id))].sort((a, b) => a - b);
}

/** A row's actor as the queries show it: the text; null when its event names none; and, for a row made before the read models kept actors, `actorUnknown`. */
export function shownActor(id: number | null, text: string | null): { actor: string | null; actorUnknown?: true } {
  return id === ACTOR_NOT_KEPT ? { actor: null, actorUnknown: true } : { actor: text };
}

/** Said with the rows filtered by actor when the read models hold rows whose actor they did not keep (made by an earlier build): those may be the actor's too. */
export function actorUnknown(rows: number, what: string): { rows: number; why: string } | undefined {
  if (rows === 0) return undefined;
  return {
    rows,
    why: `${rows} ${what} were projected before the read models kept each event's actor (by an earlier build), so this filter cannot match them: rebuild the read models (ledger rebuild, POST /admin/rebuild) to know them`,
  };
}
