import type Database from 'better-sqlite3';
import { evolveDevice, type DeviceState, type LedgerEventType } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { ACTOR_COLUMN, addActorColumn } from './actors';
import { FoldCache } from './fold-cache';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/** The meter-point indexes as they are since they held the device id (DeviceProjection.upgrade makes them in place of older ones). */
const MPXN_INDEXES = {
  devices_mpxn: 'CREATE INDEX IF NOT EXISTS devices_mpxn ON devices (mpxn, device_id)',
  inventory_history_mpxn: 'CREATE INDEX IF NOT EXISTS inventory_history_mpxn ON inventory_history (mpxn, device_id)',
};

/**
 * Devices: each device's state as the domain folds it (`devices.state`, JSON, with its generation
 * and meter point as columns to select by), and its history as rows: every inventory change
 * (`inventory_history`) and every certificate placement (`certificate_history`), in store order
 * (`ord`). The as-of view folds those rows again with the domain's own evolveDevice.
 */
export class DeviceProjection implements Projection {
  readonly name = 'devices';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['DeviceInventoryChanged', 'CertificatePlaced'] as const);
  readonly tables = ['devices', 'inventory_history', 'certificate_history'];
  readonly schema = `
    CREATE TABLE IF NOT EXISTS devices (
      device_id TEXT PRIMARY KEY, smets_generation INTEGER, mpxn TEXT, state TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS inventory_history (
      ord INTEGER PRIMARY KEY, device_id TEXT NOT NULL, changed_at TEXT NOT NULL, device_type TEXT, smets_generation INTEGER,
      status TEXT, mpxn TEXT, position TEXT NOT NULL, ${ACTOR_COLUMN});
    CREATE TABLE IF NOT EXISTS certificate_history (
      ord INTEGER PRIMARY KEY, device_id TEXT NOT NULL, slot TEXT NOT NULL, held_by TEXT NOT NULL, serial TEXT, issuer TEXT,
      owner TEXT, role_code TEXT, key_usage TEXT, via_kind TEXT, via_ref TEXT, placed_at TEXT NOT NULL, position TEXT NOT NULL, ${ACTOR_COLUMN});
  `;
  /** devices_mpxn too: the stuck-device projection reads the devices on a meter point by it, but not in a rebuild into a file of its own, which makes the stuck rows at its end. */
  readonly queryIndexes = `
    ${MPXN_INDEXES.devices_mpxn};
    CREATE INDEX IF NOT EXISTS devices_gen ON devices (smets_generation);
    CREATE INDEX IF NOT EXISTS inventory_history_device ON inventory_history (device_id, changed_at);
    ${MPXN_INDEXES.inventory_history_mpxn};
    CREATE INDEX IF NOT EXISTS certificate_history_device ON certificate_history (device_id, placed_at);
  `;

  /**
   * The meter-point indexes of files made before they held the device id (a page of the devices on a
   * meter point reads by both): dropped and made again, in one transaction (until the seventeenth
   * session the drop was alone, the index made by queryIndexes after it, and a lock taken between
   * left the file without it until a later open). Not while another connection holds the write lock
   * (unlessBusy): the file opens with the old index, and a later open makes the new one (until
   * 2026-11-27, sixteenth session, such an open failed with SQLITE_BUSY after 5 s). And the history's
   * actor column (since the eighteenth session: see actors.ts).
   */
  upgrade(db: Database.Database): void {
    addActorColumn(db, 'inventory_history');
    addActorColumn(db, 'certificate_history');
    for (const [name, sql] of Object.entries(MPXN_INDEXES)) {
      const index = db.prepare<[string], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").get(name);
      if (index && !index.sql.includes('device_id')) this.rm.unlessBusy(() => db.transaction(() => db.exec(`DROP INDEX ${name}; ${sql}`)).immediate());
    }
  }

  private readonly stmts = this.rm.statements((db) => ({
    device: db.prepare<[string], { state: string }>('SELECT state FROM devices WHERE device_id = ?'),
    putDevice: db.prepare<[string, number | null, string | null, string]>(
      'INSERT INTO devices (device_id, smets_generation, mpxn, state) VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET smets_generation = excluded.smets_generation, mpxn = excluded.mpxn, state = excluded.state',
    ),
    addInventory: db.prepare('INSERT INTO inventory_history (ord, device_id, changed_at, device_type, smets_generation, status, mpxn, position, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    addCertificate: db.prepare(
      'INSERT INTO certificate_history (ord, device_id, slot, held_by, serial, issuer, owner, role_code, key_usage, via_kind, via_ref, placed_at, position, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  }));

  private readonly devices = new FoldCache<DeviceState>(
    (k) => loadState<DeviceState>(this.stmts().device, k),
    (k, state) => this.stmts().putDevice.run(k, state.smetsGeneration ?? null, state.mpxn ?? null, JSON.stringify(state)),
  );
  readonly folds = [this.devices];

  constructor(private readonly rm: ReadModelDb) {}

  applyBatch(batch: readonly ProjectedEvent[]): void {
    const s = this.stmts();
    const devices = this.devices;
    for (const { event, ord, position, actor } of batch) {
      if (event.type === 'DeviceInventoryChanged') {
        const d = event.data;
        devices.update(d.deviceId, (state) => evolveDevice(state, event)!);
        s.addInventory.run(ord, d.deviceId, d.changedAt, d.deviceType, d.smetsGeneration, d.status, d.mpxn, position, actor);
      } else if (event.type === 'CertificatePlaced') {
        const d = event.data;
        devices.update(d.deviceId, (state) => evolveDevice(state, event)!);
        const ref = d.via.kind === 'request' ? d.via.requestId : (d.via.reference ?? null);
        const c = d.certificate;
        s.addCertificate.run(ord, d.deviceId, d.slot, d.heldBy.join(','), c.serial, c.issuer, c.ownerUserId, c.roleCode, c.keyUsage, d.via.kind, ref, d.placedAt, position, actor);
      }
    }
    devices.flush();
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
