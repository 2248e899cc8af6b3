import Database from 'better-sqlite3';

/**
 * Bytes on disk per decision, from a store and read models just written (issue #13): what a
 * ServiceRequestEvaluated event holds as stored (data + metadata, the measure of the target), the
 * share of the store file its rows take, and the read models' `decisions` table with its indexes.
 */
export interface StoreBytes {
  events: number;
  decisions: number;
  /** Mean bytes of a decision event's data and of its metadata, as stored. */
  dataPerDecision: number;
  metadataPerDecision: number;
  /** data + metadata. */
  perDecision: number;
  /** The events table and its indexes, apportioned to the decisions by the bytes of their rows (every column). */
  filePerDecision: number;
  filePerEvent: number;
  fileMB: number;
}

export interface ReadModelBytes {
  /** The `decisions` table and its indexes, per decision. */
  perDecision: number;
  filePerEvent: number;
  fileMB: number;
  /** Folded state kept as JSON (devices, meter points, users), bytes per row with its index: measured, not changed. */
  statePerRow: Record<string, number>;
}

const mean = (n: number, d: number) => (d === 0 ? 0 : Math.round(n / d));

function pages(db: Database.Database, table: string): number {
  const names = (db.prepare("SELECT name FROM sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index')").all(table) as Array<{ name: string }>).map((r) => r.name);
  const size = db.prepare('SELECT COALESCE(SUM(pgsize), 0) AS n FROM dbstat WHERE name = ?');
  return names.reduce((n, name) => n + Number((size.get(name) as { n: number | bigint }).n), 0);
}

const fileBytes = (db: Database.Database) => Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true }));

export function storeBytes(file: string): StoreBytes {
  const db = new Database(file, { readonly: true });
  try {
    const rowBytes = 'length(CAST(data AS BLOB)) + length(CAST(metadata AS BLOB)) + length(stream) + length(event_id) + length(type) + length(created) + 16';
    const all = db.prepare(`SELECT COUNT(*) AS n, SUM(${rowBytes}) AS bytes FROM events`).get() as { n: number; bytes: number };
    const dec = db
      .prepare(`SELECT COUNT(*) AS n, SUM(length(CAST(data AS BLOB))) AS data, SUM(length(CAST(metadata AS BLOB))) AS metadata, SUM(${rowBytes}) AS bytes FROM events WHERE type = 'ServiceRequestEvaluated'`)
      .get() as { n: number; data: number; metadata: number; bytes: number };
    const table = pages(db, 'events');
    const file = fileBytes(db);
    return {
      events: all.n,
      decisions: dec.n,
      dataPerDecision: mean(dec.data, dec.n),
      metadataPerDecision: mean(dec.metadata, dec.n),
      perDecision: mean(dec.data + dec.metadata, dec.n),
      filePerDecision: mean((table * dec.bytes) / all.bytes, dec.n),
      filePerEvent: mean(file, all.n),
      fileMB: +(file / 2 ** 20).toFixed(1),
    };
  } finally {
    db.close();
  }
}

export function readModelBytes(file: string, events: number): ReadModelBytes {
  const db = new Database(file, { readonly: true });
  try {
    const count = (t: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
    const file_ = fileBytes(db);
    return {
      perDecision: mean(pages(db, 'decisions'), count('decisions')),
      filePerEvent: mean(file_, events),
      fileMB: +(file_ / 2 ** 20).toFixed(1),
      statePerRow: Object.fromEntries(['devices', 'meter_points', 'users'].map((t) => [t, mean(pages(db, t), count(t))])),
    };
  } finally {
    db.close();
  }
}
