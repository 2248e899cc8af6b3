import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { NO_A, NO_B, recordOneEsme, ESME, MPAN } from '../../../ledger/src/testing/one-esme';
import { createProjections } from '../projections';
import { ReadModelDb } from '../read-model-db';
import { openReadModels, ProjectionWriter } from './projection-writer';
import { Projector } from './projector';
import { rebuildInto } from './rebuild-into';

const ctx = { actor: 'test' };
const MPAN2 = '1523456789010';
const device = (n: number) => `00-DB-12-34-56-78-90-1${n}`;

/**
 * A rebuild into a file of its own (rebuildInto) holds the device and meter-point states and the
 * streams' chain heads across batches (a few at a time, the least recently updated written out)
 * and makes the stuck rows once at its end: the read models it leaves are those the projector
 * builds batch by batch.
 */
describe('a rebuild holding its states across batches', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-held-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B); // ESME on MPAN, NO-A registered, NO-B's certificate: stuck
    await ledger.recordRegistration({ mpxn: MPAN2, responsibility: 'networkOperator', partyUserId: NO_B, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx);
    for (let n = 1; n <= 4; n++) {
      await ledger.changeInventory({ deviceId: device(n), deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: n % 2 ? MPAN : MPAN2, changedAt: '2019-06-01' }, ctx);
      await ledger.placeCertificate(
        { deviceId: device(n), slot: 'networkOperator.critical', certificate: { serial: `C${n}`, issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' },
        ctx,
      );
    }
    // later, in later batches: a device stops being SMETS1, one comes back to states written out long before, and a registration change reaches the devices on MPAN
    await ledger.changeInventory({ deviceId: device(2), deviceType: 'ESME', smetsGeneration: 2, status: 'Commissioned', mpxn: MPAN2, changedAt: '2020-01-01' }, ctx);
    await ledger.placeCertificate(
      { deviceId: ESME, slot: 'networkOperator.nonCritical', certificate: { serial: 'B2', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'keyAgreement' }, via: { kind: 'migration' }, placedAt: '2020-01-01' },
      ctx,
    );
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_B, effectiveFrom: '2021-01-01', recordId: 'R3' }, ctx);
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The projector's catch-up into `file` in batches of `batchSize`, holding `held` states if given; what it halted on, and every table. */
  const project = async (file: string, held?: number, batchSize = 2, commitEvery = 0) => {
    const writer = openReadModels(path.join(dir, file));
    if (held) writer.hold(held, commitEvery);
    const projector = new Projector(store, writer, { batchSize });
    const error = await projector.catchUp().then(
      () => undefined,
      (err: Error) => err.message,
    );
    const before = writer.dump();
    if (held) writer.finish();
    const result = { error, halted: projector.halted, before, dump: writer.dump() };
    writer.db.close();
    return result;
  };
  const edit = (sql: string, ...params: unknown[]) => {
    const raw = new Database(path.join(dir, 'ledger.sqlite'));
    raw.prepare(sql).run(...params);
    raw.close();
  };

  it('the same read models as batch by batch: states written out and read back, a device no longer SMETS1, a registration change reaching devices written batches before', async () => {
    const live = await project('live.sqlite');
    expect(live.dump.stuck_status.map((r) => (r as { device_id: string; stuck: number }).device_id)).toEqual([ESME, device(1), device(3), device(4)].sort());
    expect(live.dump.stuck_status.filter((r) => (r as { stuck: number }).stuck)).toEqual([]); // NO-B registered on MPAN at last: the ESME's and devices 1 and 3's NO-B certificates are theirs
    for (const [held, commitEvery] of [[1, 0], [3, 0], [100, 0], [1, 3], [3, 5], [100, 1000]]) {
      const built = await project(`held-${held}-${commitEvery}.sqlite`, held, 2, commitEvery);
      expect(built.dump).toEqual(live.dump);
      expect(built.before.stuck_status).toEqual([]); // made at the end only
      expect(built.before.devices).not.toEqual(live.dump.devices); // those held written by finish
    }
  });

  it('holding with commitEvery, the batches share a transaction committed once it holds that many events, and by finish', async () => {
    const file = path.join(dir, 'shared.sqlite');
    const writer = openReadModels(file);
    writer.hold(100, 5);
    const other = new Database(file, { readonly: true });
    const committed = () => other.prepare<[], { applied: number }>('SELECT applied FROM checkpoint').get()?.applied ?? 0;
    const events: RecordedEvent[] = [];
    for await (const e of store.readAll()) events.push(e);
    const seen: Array<[number, number, boolean]> = [];
    for (let at = 0; at < 12; at += 2) {
      writer.applyBatch(events.slice(at, at + 2), { after: at ? events[at - 1].position : undefined });
      seen.push([at + 2, committed(), writer.db.db.inTransaction]);
    }
    expect(seen).toEqual([
      [2, 0, true],
      [4, 0, true],
      [6, 6, false], // 6 events >= 5: committed
      [8, 6, true],
      [10, 6, true],
      [12, 12, false],
    ]);
    writer.applyBatch(events.slice(12, 14), { after: events[11].position });
    writer.finish();
    expect([committed(), writer.db.db.inTransaction]).toEqual([14, false]);
    other.close();
    writer.db.close();
  });

  it('the stuck rows made at the end read every held state written first, whatever order the projections come in', async () => {
    const live = await project('live.sqlite');
    const db = new ReadModelDb(path.join(dir, 'reordered.sqlite'));
    const projections = createProjections(db);
    const writer = new ProjectionWriter(db, { ...projections, all: [projections.stuck, ...projections.all.filter((p) => p !== projections.stuck)] });
    writer.hold(100);
    await new Projector(store, writer, { batchSize: 2 }).catchUp();
    writer.finish();
    expect(writer.dump().stuck_status).toEqual(live.dump.stuck_status);
    db.close();
  });

  it('a broken link held across batches stays broken, its head not moved on; rebuildInto leaves the same read models', async () => {
    const raw = new Database(path.join(dir, 'ledger.sqlite'));
    const first = raw.prepare<[string], { position: number }>('SELECT position FROM events WHERE stream = ? ORDER BY revision LIMIT 1 OFFSET 1').get(`device-${ESME}`)!;
    raw.close();
    edit("UPDATE events SET data = json_set(data, '$.placedAt', '2019-06-02') WHERE position = ?", first.position);
    const live = await project('live.sqlite');
    expect(live.dump.chain_breaks).toEqual([expect.objectContaining({ stream: `device-${ESME}`, kind: 'hash-mismatch' })]);
    expect((await project('held.sqlite', 1)).dump).toEqual(live.dump);
    await rebuildInto(store, path.join(dir, 'into.sqlite')); // in one batch here: the broken stream's head is its last good link all the same
    const into = openReadModels(path.join(dir, 'into.sqlite'));
    expect(into.dump()).toEqual(live.dump);
    into.db.close();
  });

  it('the file rebuildInto leaves names the rebuild that built it (rebuilt_by: its file), which a rebuild in place clears; its dump is the same without it', async () => {
    const into = path.join(dir, 'into.sqlite');
    await rebuildInto(store, into);
    const writer = openReadModels(into);
    const rebuiltBy = () => (writer.db.db.prepare('SELECT file FROM rebuilt_by').get() as { file: string } | undefined)?.file;
    expect(rebuiltBy()).toBe(into);
    expect(writer.dump()).toEqual((await project('live.sqlite')).dump);
    await new Projector(store, writer).rebuild();
    expect(rebuiltBy()).toBeUndefined();
    writer.db.close();
  });

  it('halts where batch by batch halts (an event whose JSON does not parse), with what precedes it written by finish; rebuildInto fails and leaves no file', async () => {
    const raw = new Database(path.join(dir, 'ledger.sqlite'));
    const { position } = raw.prepare<[], { position: number }>("SELECT position FROM events WHERE type = 'RegistrationChanged' ORDER BY position DESC LIMIT 1").get()!;
    raw.close();
    edit('UPDATE events SET data = substr(data, 1, 10) WHERE position = ?', position);
    const live = await project('live.sqlite');
    expect(live.halted).toMatchObject({ position: String(position), reason: expect.stringMatching(/JSON does not parse/) });
    for (const commitEvery of [0, 3, 1000]) {
      const held = await project(`held-${commitEvery}.sqlite`, 1, 2, commitEvery); // the batch it halts in rolled back alone, what precedes it kept
      expect({ ...held, before: undefined }).toEqual({ ...live, before: undefined });
    }
    const into = path.join(dir, 'into.sqlite');
    await expect(rebuildInto(store, into)).rejects.toThrow(live.error!);
    expect(fs.existsSync(into)).toBe(false);
  });

  it('rebuildInto stopped (its signal aborted) fails with the signal\'s reason and leaves no file: aborted before it began, it makes none (until 2026-11-28 it made it and rebuilt, the abort unheard)', async () => {
    const into = path.join(dir, 'into.sqlite');
    const stop = new AbortController();
    stop.abort(new Error('stopped before'));
    await expect(rebuildInto(store, into, undefined, { signal: stop.signal })).rejects.toThrow('stopped before');
    expect(fs.existsSync(into)).toBe(false);
    const midway = new AbortController();
    await expect(rebuildInto(store, into, () => midway.abort(new Error('stopped midway')), { signal: midway.signal })).rejects.toThrow('stopped midway');
    expect(fs.existsSync(into)).toBe(false);
  });
});
