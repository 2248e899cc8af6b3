import { deviceAsOf, deviceView, inventoryAt, issuerNameKey, type DatedEvent, type DeviceState, type DeviceView } from '@ledger/domain';
import { ACTOR_NOT_KEPT } from '../projections/actors';
import { loadState, type ReadModelDb } from '../read-model-db';
import { actorIds, actorUnknown, shownActor } from './actor-filter';
import { deviceHistory, historiesChangedAfter } from './device-history';
import { loadStates } from './states';

/** The devices `devicesOn` looks at for one page, at most. */
export const DEVICES_ON_SCAN = 2_000;

/** Devices: now or as of an instant, their timeline, the devices on a meter point. */
export class DeviceQueries {
  private readonly stmts = this.rm.statements((db) => ({
    device: db.prepare<[string], { state: string }>('SELECT state FROM devices WHERE device_id = ?'),
    // Each side read in device id order from its (mpxn, device_id) index and cut at the page's scan, so a page costs the same however many devices were linked.
    on: db.prepare<[string, string, number, string, string, number, number], { device_id: string; state: string }>(
      `SELECT device_id, state FROM devices WHERE device_id IN (
         SELECT device_id FROM (SELECT device_id FROM devices WHERE mpxn = ? AND device_id > ? ORDER BY device_id LIMIT ?)
         UNION SELECT device_id FROM (SELECT DISTINCT device_id FROM inventory_history WHERE mpxn = ? AND device_id > ? ORDER BY device_id LIMIT ?)
       ) ORDER BY device_id LIMIT ?`,
    ),
  }));

  constructor(
    private readonly rm: ReadModelDb,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {}

  /**
   * The device now (at `now`, default the clock), or as of an instant: the domain's view
   * (`deviceView`) of its state, so with the inventory record and the certificates in force then
   * and, under `pending`, the accepted future-dated placements that take effect later (an
   * inventory change dated later is in its history, `pending`). As of an instant, the state is the
   * domain's fold of its history up to then (`deviceAsOf`: see libs/domain/src/as-of.ts for what
   * counts); a device known now but with nothing in its history by then is `inInventory: false`
   * with no slots. Undefined for a device the ledger does not know.
   */
  device(deviceId: string, asOf?: string, now: string = this.clock()): DeviceView | undefined {
    const current = loadState<DeviceState>(this.stmts().device, deviceId);
    if (!current) return undefined;
    if (!asOf) return deviceView(current, now);
    const then = deviceAsOf(deviceHistory(this.rm.db, deviceId), asOf);
    return then ? deviceView(then, asOf) : { deviceId, inInventory: false, slots: {} };
  }

  /**
   * A page of the devices whose inventory record in force now (`inventoryAt`; default: the clock)
   * links them to a meter point, with type, generation and status, by device id after `after`: of
   * the devices linked to it as last recorded or at any time in its history, at most
   * `DEVICES_ON_SCAN` looked at a page, so a meter point that thousands of devices were ever linked
   * to costs each request a bounded time. `next` (the last device id looked at) is given while more
   * are left to look at, even on a page with fewer than `limit` devices (those looked at were not on
   * it now). Until 2026-11-27 the first 1,000 by id were taken before the filter (one in force could
   * be left out silently), then, that day, all of them on one page.
   */
  devicesOn(mpxn: string, page: { after?: string; limit?: number } = {}, now: string = this.clock()): { devices: Array<Pick<DeviceState, 'deviceId' | 'deviceType' | 'smetsGeneration' | 'status'>>; next: string | null } {
    const limit = page.limit ?? 1000;
    const after = page.after ?? '';
    const devices: Array<Pick<DeviceState, 'deviceId' | 'deviceType' | 'smetsGeneration' | 'status'>> = [];
    const rows = this.stmts().on.all(mpxn, after, DEVICES_ON_SCAN + 1, mpxn, after, DEVICES_ON_SCAN + 1, DEVICES_ON_SCAN + 1);
    const looked = Math.min(rows.length, DEVICES_ON_SCAN);
    for (let i = 0; i < looked; i++) {
      const d = inventoryAt(JSON.parse(rows[i].state) as DeviceState, now);
      if (d.mpxn !== mpxn) continue;
      devices.push({ deviceId: d.deviceId, deviceType: d.deviceType, smetsGeneration: d.smetsGeneration, status: d.status });
      if (devices.length === limit) return { devices, next: i + 1 < rows.length ? rows[i].device_id : null };
    }
    return { devices, next: rows.length > DEVICES_ON_SCAN ? rows[looked - 1].device_id : null };
  }

  /**
   * Inventory changes, certificates and decisions of a device as one timeline, in the order they
   * were recorded, each with its event's actor (shownActor). A certificate's `identity` is its
   * serial and issuer name as the domain compares them (issuerNameKey): two placements are of the
   * same certificate when their identities are equal (the console's timeline reads it). A placement or an inventory change that
   * takes effect after `now` says `pending: true`. With `actor` (parseActor), the entries of that
   * actor only (actorIds; historyActorUnknown says those it cannot match).
   */
  private history(deviceId: string, now: string, actor?: string): Array<{ kind: string } & Record<string, unknown>> {
    const ids = actor === undefined ? undefined : JSON.stringify(actorIds(this.rm.db, actor));
    const of = (t: string) => `FROM ${t} x LEFT JOIN actors a ON a.id = x.actor WHERE x.device_id = @deviceId AND (@ids IS NULL OR x.actor IN (SELECT value FROM json_each(@ids)))`;
    const rows = this.rm.db
      .prepare<[{ deviceId: string; ids: string | null }], { ord: number; kind: string; actor: number | null; actor_text: string | null; data: string }>(
        `SELECT x.ord, 'inventory' AS kind, x.actor, a.actor AS actor_text, json_object('changedAt', changed_at, 'deviceType', device_type, 'smetsGeneration', smets_generation, 'status', status, 'mpxn', mpxn, 'position', position) AS data ${of('inventory_history')}
         UNION ALL
         SELECT x.ord, 'certificate' AS kind, x.actor, a.actor AS actor_text, json_object('slot', slot, 'heldBy', held_by, 'serial', serial, 'issuer', issuer, 'owner', owner, 'keyUsage', key_usage, 'via', via_kind, 'reference', via_ref, 'placedAt', placed_at, 'position', position) AS data ${of('certificate_history')}
         UNION ALL
         SELECT x.ord, 'decision' AS kind, x.actor, a.actor AS actor_text, json_object('requestId', request_id, 'srv', srv, 'originator', originator, 'outcome', outcome, 'responseCode', response_code, 'ruleSet', rule_set, 'receivedAt', received_at, 'position', position) AS data ${of('decisions')}
         ORDER BY ord`,
      )
      .all({ deviceId, ids: ids ?? null });
    // An issuer's key parsed once a history: a device's placements repeat a few issuers, each up to 4,096 characters.
    const keys = new Map<string, string>();
    const keyOf = (issuer: string) => keys.get(issuer) ?? keys.set(issuer, issuerNameKey(issuer)).get(issuer)!;
    return rows.map((r): { kind: string } & Record<string, unknown> => {
      const data = JSON.parse(r.data) as Record<string, unknown>;
      if (r.kind === 'certificate') {
        data.heldBy = String(data.heldBy).split(',');
        data.identity = `${String(data.serial)}|${keyOf(String(data.issuer))}`;
        if (String(data.placedAt) > now) data.pending = true;
      } else if (r.kind === 'inventory' && String(data.changedAt) > now) data.pending = true;
      return { kind: r.kind, ...data, ...shownActor(r.actor, r.actor_text) };
    });
  }

  /**
   * A device's history as GET /devices/:id/history and `ledger history` give it (history: pending
   * after `now`, default the clock), undefined when the read models hold no entry of the device
   * (not known to the ledger). With `actor`, that
   * actor's entries, and `actorUnknown` (historyActorUnknown); a device with none of them is looked
   * up by one indexed row of each table, not by its whole history again.
   */
  timelineOf(deviceId: string, actor?: string, now: string = this.clock()) {
    // Without an actor, one statement. With one, one read transaction, as decisions(): read one by one, another process's
    // projector committing between the timeline's read and the count's made `actorUnknown` count entries the timeline did not show.
    if (actor === undefined) {
      const timeline = this.history(deviceId, now);
      return timeline.length ? { deviceId, timeline } : undefined;
    }
    return this.rm.db.transaction(() => this.timelineByActor(deviceId, actor, now))();
  }

  private timelineByActor(deviceId: string, actor: string, now: string) {
    const timeline = this.history(deviceId, now, actor);
    if (timeline.length === 0 && !this.known(deviceId)) return undefined;
    const unknown = this.historyActorUnknown(deviceId);
    return { deviceId, actor, timeline, ...(unknown ? { actorUnknown: unknown } : {}) };
  }

  /** The read models hold an entry of the device's history (an inventory change, a placement or a decision). */
  private known(deviceId: string): boolean {
    const tables = ['inventory_history', 'certificate_history', 'decisions'];
    return this.rm.db.prepare(tables.map((t) => `SELECT 1 FROM ${t} WHERE device_id = @deviceId`).join(' UNION ALL ') + ' LIMIT 1').get({ deviceId }) !== undefined;
  }

  /** With a history filtered by actor: the device's entries whose actor the read models did not keep (made by an earlier build), which no actor matches. */
  private historyActorUnknown(deviceId: string): { rows: number; why: string } | undefined {
    const unknown = this.rm.db
      .prepare<[string, number, string, number, string, number], { n: number }>(
        `SELECT (SELECT COUNT(*) FROM inventory_history WHERE device_id = ? AND actor = ?) + (SELECT COUNT(*) FROM certificate_history WHERE device_id = ? AND actor = ?)
           + (SELECT COUNT(*) FROM decisions WHERE device_id = ? AND actor = ?) AS n`,
      )
      .get(deviceId, ACTOR_NOT_KEPT, deviceId, ACTOR_NOT_KEPT, deviceId, ACTOR_NOT_KEPT)!.n;
    return actorUnknown(unknown, 'entries of its history');
  }

  // ---- for the audit reports: many devices in few queries ------------------------------------

  /**
   * Every device SMETS1 at some time, now, in device-id order (read as it is iterated): those SMETS1
   * as last recorded, and those with a SMETS1 record in their history (SMETS1 in force before a
   * change, or in force now or later where a change dated otherwise was recorded after).
   */
  *smets1Ever(): IterableIterator<DeviceState> {
    const rows = this.rm.db
      .prepare<[], { state: string }>(
        'SELECT state FROM devices WHERE device_id IN (SELECT device_id FROM devices WHERE smets_generation = 1 UNION SELECT device_id FROM inventory_history WHERE smets_generation = 1) ORDER BY device_id',
      )
      .iterate();
    for (const r of rows) yield JSON.parse(r.state) as DeviceState;
  }

  /** Many devices now, by id (those known). */
  states(deviceIds: Iterable<string>): Map<string, DeviceState> {
    return loadStates<DeviceState>(this.rm.db, 'devices', 'device_id', deviceIds);
  }

  /** The histories (dated, for `deviceAsOf`) of the SMETS1 devices whose state as of `at` may differ from their state now. */
  historiesChangedAfter(deviceIds: string[], at: string): Map<string, DatedEvent[]> {
    return historiesChangedAfter(this.rm.db, deviceIds, at);
  }
}
