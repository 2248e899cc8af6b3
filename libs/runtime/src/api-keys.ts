import { createHash } from 'node:crypto';
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
 * A configured key as the ledger records it, never the key itself: its role, its id (the first 12
 * hex digits of the key's SHA-256, made once at start-up), and the name the operator gave it, if any.
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

/** A key's id: the first 12 hex digits of its SHA-256 (of its UTF-8 bytes), as `printf %s "$KEY" | sha256sum | cut -c1-12` gives it. */
export function apiKeyId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12);
}

/** A key's name, after its role (`key:role@name`): it ends the actor, so no ':' or ',' (the list's own separators). */
const KEY_NAME = /^[A-Za-z0-9._-]{1,40}$/;

/**
 * Parses `key:role,key:role@name,...` (the LEDGER_API_KEYS format). The role is what follows a
 * key's last ':', so a key may hold ':' (and '@'); `@name` after the role was refused before it
 * had a meaning, so a list that started the API before reads as it did. A list it refuses is a
 * ConfigError naming the entry, never its key.
 */
export function parseApiKeys(spec: string): Map<string, ApiKeyHolder> {
  const keys = new Map<string, ApiKeyHolder>();
  for (const [i, entry] of spec.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    const sep = entry.lastIndexOf(':');
    const key = entry.slice(0, sep);
    const [role, name] = splitOnce(entry.slice(sep + 1), '@') as [ApiRole, string | undefined];
    if (sep <= 0 || !API_ROLES.includes(role)) {
      throw refused(`entry ${i + 1} must be 'key:role' or 'key:role@name' with role one of ${API_ROLES.join(', ')}`);
    }
    if (name !== undefined && !KEY_NAME.test(name)) throw refused(`entry ${i + 1}: a key's name must be 1 to 40 letters, digits, '.', '_' or '-', got '${name}'`);
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

const refused = (reason: string) => new ConfigError('LEDGER_API_KEYS', reason, undefined);

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const at = s.indexOf(sep);
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
}
