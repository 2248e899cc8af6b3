import { scryptSync } from 'node:crypto';
import { DomainError } from '@ledger/domain';
import { ConfigError } from './config';

/**
 * The API's keys as LEDGER_API_KEYS lists them (read by the API, and by `ledger key-ids`). Each key
 * maps to one role: `intake` may write (submit requests, import Registration Data), `auditor` may
 * read, `admin` may do both and run administrative work (rebuild, verify).
 */
export type ApiRole = 'intake' | 'auditor' | 'admin';
export const API_ROLES: readonly ApiRole[] = ['intake', 'auditor', 'admin'];

/** The development keys `npm start` uses when LEDGER_API_KEYS is not set. Never use them in production. */
export const DEV_API_KEYS = 'dev-intake-key:intake,dev-auditor-key:auditor,dev-admin-key:admin';

/**
 * A configured key as the ledger records it, never the key itself: its role, its id (see apiKeyId,
 * made once at start-up), and the name the operator gave it, if any.
 */
export interface ApiKeyHolder {
  role: ApiRole;
  id: string;
  name?: string;
  /** The entry of LEDGER_API_KEYS it is listed in (first), from 1. */
  entry: number;
  /** Who did it, in events' metadata, audit jobs' `requestedBy` and the request log: `api:<role>:<id>`, then `:<name>` when named. */
  actor: string;
}

/**
 * A key's id: 6 bytes (12 hex digits) of scrypt (N 2^14, r 8, p 1) over its UTF-8 bytes, salted
 * `ledger-api-key-id`, as `openssl kdf -keylen 6 -kdfopt pass:KEY -kdfopt salt:ledger-api-key-id
 * -kdfopt n:16384 -kdfopt r:8 -kdfopt p:1 SCRYPT` gives it. The id is in every record the key
 * writes, which every auditor reads: a fast unsalted hash (SHA-256) of a short key would give the
 * key up to a GPU in minutes; scrypt makes each guess cost ~50 ms and 16 MB. Made once
 * per key and process (the API and the tests start many apps on the same keys).
 */
export function apiKeyId(key: string): string {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = scryptSync(key, KEY_ID_SALT, 6, { N: 2 ** 14, r: 8, p: 1 }).toString('hex');
    keyIds.set(key, id);
  }
  return id;
}

const KEY_ID_SALT = 'ledger-api-key-id';
/** What apiKeyId gives: 12 lowercase hex digits. */
const KEY_ID = /^[0-9a-f]{12}$/;
const keyIds = new Map<string, string>();

/** A key's name, after its role (`key:role@name`): it ends the actor, so no ':' or ',' (the list's own separators). */
const KEY_NAME = /^[A-Za-z0-9._-]{1,40}$/;

/**
 * An actor to filter the read models by (`actor=`, `ledger history --actor`), as recorded: one to
 * four segments of letters, digits, '.', '_' or '-' (KEY_NAME) joined by ':'
 * (`api:intake:893a09117d39:rdp-feed`, `api:intake`, `cli:submit`, `demo`, a key's id alone); one
 * naming an API key (`api:<role>:<id>...`) with one of API_ROLES and an id as apiKeyId gives it.
 * Anything else is refused naming the field. (What it matches: actorIds, @ledger/projections.)
 */
export function parseActor(raw: string, field = 'actor'): string {
  const parts = raw.split(':');
  if (parts.length > 4 || !parts.every((p) => KEY_NAME.test(p))) {
    throw new DomainError(field, "must be an actor as recorded: 1 to 4 parts of letters, digits, '.', '_' or '-' joined by ':' (e.g. api:intake:893a09117d39:rdp-feed, cli:submit)");
  }
  if (parts[0] === 'api' && parts.length >= 3 && (!API_ROLES.includes(parts[1] as ApiRole) || !KEY_ID.test(parts[2]))) {
    throw new DomainError(field, `must name an API key as recorded, api:<role>:<id>[:<name>], its role one of ${API_ROLES.join(', ')} and its id 12 lowercase hex digits (ledger key-ids prints them)`);
  }
  return raw;
}

/** The keys the API grants (LEDGER_API_KEYS as loadConfig read it: undefined when unset or empty), or the development keys. */
export function apiKeysOf(given: string | undefined): Map<string, ApiKeyHolder> {
  return parseApiKeys(given ?? DEV_API_KEYS);
}

/** Keys shorter than this are warned of at start-up: their ids in the record let them be guessed offline. */
export const SHORT_KEY_LENGTH = 32;

/** A warning naming the entries (never the keys) of LEDGER_API_KEYS whose key is shorter than SHORT_KEY_LENGTH, or undefined. */
export function shortKeysWarning(keys: Map<string, ApiKeyHolder>): string | undefined {
  const entries = [...keys].filter(([key]) => key.length < SHORT_KEY_LENGTH).map(([, holder]) => holder.entry);
  if (entries.length === 0) return undefined;
  return `LEDGER_API_KEYS ${entries.length === 1 ? 'entry' : 'entries'} ${entries.join(', ')}: ${entries.length === 1 ? 'a key' : 'keys'} shorter than ${SHORT_KEY_LENGTH} characters; every key's id is in the record, and a short key can be guessed from it offline: use long random keys (openssl rand -hex 32)`;
}

/**
 * Parses `key:role,key:role@name,...` (the LEDGER_API_KEYS format). The role is what follows a
 * key's last ':', so a key may hold ':' (and '@'); `@name` after the role was refused before it
 * had a meaning, so a list that started the API before reads as it did. A list it refuses is a
 * ConfigError naming the entry, never its key.
 */
export function parseApiKeys(spec: string): Map<string, ApiKeyHolder> {
  const keys = new Map<string, ApiKeyHolder>();
  // Entries numbered as the operator wrote them: an empty one (`a:intake,,b:auditor`, a trailing ',') is skipped, not
  // left out of the count (until 2026-11-28, eighteenth session, the entries after it were named one less).
  for (const [i, written] of spec.split(',').entries()) {
    const entry = written.trim();
    if (entry === '') continue;
    const sep = entry.lastIndexOf(':');
    const key = entry.slice(0, sep);
    const [role, name] = splitOnce(entry.slice(sep + 1), '@') as [ApiRole, string | undefined];
    if (sep <= 0 || !API_ROLES.includes(role)) {
      throw refused(`entry ${i + 1} must be 'key:role' or 'key:role@name' with role one of ${API_ROLES.join(', ')}`);
    }
    if (name !== undefined && !KEY_NAME.test(name)) throw refused(`entry ${i + 1}: a key's name must be 1 to 40 letters, digits, '.', '_' or '-'`, name);
    if (key.length < 8) throw refused(`entry ${i + 1}: a key must be at least 8 characters`);
    const listed = keys.get(key);
    // The same key, role and name twice is harmless; one key for two roles would grant whichever came last, unnoticed, and two names would record it.
    if (listed !== undefined && listed.role !== role) throw refused(`entry ${i + 1}: its key is listed before with role ${listed.role}; give each key one role`);
    if (listed !== undefined && listed.name !== name) throw refused(`entry ${i + 1}: its key is listed before ${listed.name === undefined ? 'without a name' : `named ${listed.name}`}; give each key one name`);
    if (listed === undefined) {
      const id = apiKeyId(key);
      keys.set(key, { role, id, ...(name === undefined ? {} : { name }), entry: i + 1, actor: `api:${role}:${id}${name === undefined ? '' : `:${name}`}` });
    }
  }
  if (keys.size === 0) throw refused('holds no key');
  return keys;
}

const refused = (reason: string, given?: string) => new ConfigError('LEDGER_API_KEYS', reason, given);

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const at = s.indexOf(sep);
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
}
