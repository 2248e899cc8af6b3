import type Database from 'better-sqlite3';
import { effectiveAt, type CertificatePlacedV1, type DatedEvent, type DeviceInventoryChangedV1, type LedgerEvent } from '@ledger/domain';

/**
 * A device's history as the device projection keeps it in rows (`inventory_history`,
 * `certificate_history`, and for a placement made by a request its decision's SRV and time), read
 * back as the events of its stream, each with its effective time (the domain's `effectiveAt`), for
 * the domain's own fold (`deviceAsOf`). A test holds the fold of these equal to the fold of the
 * stream itself (libs/projections/src/queries/device-as-of.spec.ts).
 */

interface InventoryRow {
  ord: number;
  device_id: string;
  changed_at: string;
  device_type: string;
  smets_generation: number;
  status: string;
  mpxn: string | null;
}

interface CertificateRow {
  ord: number;
  device_id: string;
  slot: string;
  held_by: string;
  serial: string;
  issuer: string;
  owner: string;
  role_code: string;
  key_usage: string;
  via_kind: string;
  via_ref: string | null;
  placed_at: string;
  /** The decision of the request that made the placement (none for a migration or a correction). */
  request_srv: string | null;
  decided_at: string | null;
}

const INVENTORY = 'SELECT ord, device_id, changed_at, device_type, smets_generation, status, mpxn FROM inventory_history';
const CERTIFICATES = `SELECT c.ord, c.device_id, c.slot, c.held_by, c.serial, c.issuer, c.owner, c.role_code, c.key_usage, c.via_kind, c.via_ref, c.placed_at,
    d.srv AS request_srv, d.evaluated_at AS decided_at
  FROM certificate_history c LEFT JOIN decisions d ON c.via_kind = 'request' AND d.request_id = c.via_ref`;
/** Rows of the devices given (a JSON array) with an inventory change or a placement dated after the instant given (twice). */
const changedAfter = (column: string) => `${column} IN (SELECT value FROM json_each(?))
  AND (EXISTS (SELECT 1 FROM inventory_history i WHERE i.device_id = ${column} AND i.changed_at > ?)
    OR EXISTS (SELECT 1 FROM certificate_history h WHERE h.device_id = ${column} AND h.placed_at > ?))`;

/** One device's history, dated, in stream order. */
export function deviceHistory(db: Database.Database, deviceId: string): DatedEvent[] {
  const inventory = db.prepare<[string], InventoryRow>(`${INVENTORY} WHERE device_id = ? ORDER BY ord`).all(deviceId);
  const certificates = db.prepare<[string], CertificateRow>(`${CERTIFICATES} WHERE c.device_id = ? ORDER BY c.ord`).all(deviceId);
  return merge(inventory, certificates).get(deviceId) ?? [];
}

/** The histories of those of `deviceIds` with anything dated after `at`, by device, in two queries (a chunk of devices at a time: never the whole estate's history at once). */
export function historiesChangedAfter(db: Database.Database, deviceIds: string[], at: string): Map<string, DatedEvent[]> {
  const ids = JSON.stringify(deviceIds);
  const inventory = db.prepare<[string, string, string], InventoryRow>(`${INVENTORY} WHERE ${changedAfter('inventory_history.device_id')} ORDER BY ord`).all(ids, at, at);
  const certificates = db.prepare<[string, string, string], CertificateRow>(`${CERTIFICATES} WHERE ${changedAfter('c.device_id')} ORDER BY c.ord`).all(ids, at, at);
  return merge(inventory, certificates);
}

/** Both kinds of row, by device, in store order (`ord`). */
function merge(inventory: InventoryRow[], certificates: CertificateRow[]): Map<string, DatedEvent[]> {
  const rows = [...inventory.map((r) => ({ ord: r.ord, deviceId: r.device_id, dated: inventoryEvent(r) })), ...certificates.map((r) => ({ ord: r.ord, deviceId: r.device_id, dated: placementEvent(r) }))];
  rows.sort((a, b) => a.ord - b.ord);
  const out = new Map<string, DatedEvent[]>();
  for (const r of rows) {
    const list = out.get(r.deviceId) ?? [];
    if (list.length === 0) out.set(r.deviceId, list);
    list.push(r.dated);
  }
  return out;
}

function dated(event: LedgerEvent, decidedAt: string | null): DatedEvent {
  return { event, at: effectiveAt(event, () => decidedAt ?? undefined)! };
}

function inventoryEvent(r: InventoryRow): DatedEvent {
  const data = { schemaVersion: 1, deviceId: r.device_id, deviceType: r.device_type, smetsGeneration: r.smets_generation, status: r.status, mpxn: r.mpxn, changedAt: r.changed_at } as DeviceInventoryChangedV1;
  return dated({ type: 'DeviceInventoryChanged', data }, null);
}

function placementEvent(r: CertificateRow): DatedEvent {
  const via =
    r.via_kind === 'request'
      ? { kind: 'request', requestId: r.via_ref, ...(r.request_srv === null ? {} : { srv: r.request_srv }) }
      : { kind: r.via_kind, ...(r.via_ref === null ? {} : { reference: r.via_ref }) };
  const data = {
    schemaVersion: 1,
    deviceId: r.device_id,
    slot: r.slot,
    certificate: { serial: r.serial, issuer: r.issuer, ownerUserId: r.owner, roleCode: r.role_code, keyUsage: r.key_usage },
    heldBy: r.held_by.split(','),
    via,
    placedAt: r.placed_at,
  } as CertificatePlacedV1;
  return dated({ type: 'CertificatePlaced', data }, r.decided_at);
}
