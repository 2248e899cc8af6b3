import type Database from 'better-sqlite3';

/** The folded states (JSON) of many keys of a state table, in one query (not one per key). */
export function loadStates<S>(db: Database.Database, table: 'devices' | 'meter_points' | 'users', keyColumn: string, keys: Iterable<string>): Map<string, S> {
  const wanted = [...new Set(keys)];
  const out = new Map<string, S>();
  if (wanted.length === 0) return out;
  const rows = db.prepare<[string], { k: string; state: string }>(`SELECT ${keyColumn} AS k, state FROM ${table} WHERE ${keyColumn} IN (SELECT value FROM json_each(?))`).all(JSON.stringify(wanted));
  for (const r of rows) out.set(r.k, JSON.parse(r.state) as S);
  return out;
}
