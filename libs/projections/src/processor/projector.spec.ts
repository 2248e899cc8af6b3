import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { PAGE_SIZE, SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { StuckReports } from '@ledger/audit';
import { queriesOf } from '../queries';
import { rebuildInto } from './rebuild-into';
import { openReadModels, type ProjectionWriter } from './projection-writer';
import { LIVE_LOCK_WAIT_MS, Projector, ReadModelsNotOfStoreError } from './projector';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { makeDamagedStore } from '@ledger/event-store/testing/damaged-store';

const ctx = { actor: 'test' };

/** Resolves once `done()` holds, looking every 10 ms; fails after 10 s. */
const until = async (done: () => boolean, what: string) => {
  for (let waited = 0; !done(); waited += 10) {
    if (waited > 10_000) throw new Error(`not within 10 s: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('projections', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;
  let projector: Projector;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-proj-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    projector = new Projector(store, openReadModels(path.join(dir, 'readmodels.sqlite')), { batchSize: 3 });
    await recordOneEsme(ledger, NO_B);
  });
  afterEach(async () => {
    await projector.stop();
    projector.writer.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const submit = (counter: number, sender: string) =>
    ledger.submit(
      parseServiceRequest({ requestId: `${sender}:${ESME}:${counter}`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [{ serial: `C${counter}`, issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }], receivedAt: '2024-03-01T00:00:00Z', format: 'json' }),
      ctx,
    );

  it('a live projector waits on another connection\'s lock at most LIVE_LOCK_WAIT_MS, not busy_timeout\'s 5 s on the event loop, and reports failing while the lock is held (until 2026-11-27 a `ledger rebuild` in place froze an API beside it 5 s at a time)', async () => {
    const waited: number[] = [];
    const applyBatch = projector.writer.applyBatch.bind(projector.writer);
    jest.spyOn(projector.writer, 'applyBatch').mockImplementation((events, options) => {
      waited.push(projector.writer.db.db.pragma('busy_timeout', { simple: true }) as number);
      return applyBatch(events, options);
    });
    await projector.catchUp(); // not started (the CLI's): waits as long as any connection does
    expect(new Set(waited)).toEqual(new Set([5000]));
    const caughtUp = waited.length;
    let head = 0n;
    const other = new Database(path.join(dir, 'readmodels.sqlite'));
    other.exec('BEGIN IMMEDIATE'); // a rebuild in place in another process
    try {
      projector.start();
      head = BigInt((await submit(1, NO_A)).position);
      await until(() => projector.failing !== undefined, 'reported failing while the lock is held');
      expect(projector.failing?.reason).toMatch(/database is locked/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await projector.waitFor(head)).toBe(true); // caught up once the lock is let go
    expect(new Set(waited.slice(caughtUp))).toEqual(new Set([LIVE_LOCK_WAIT_MS]));
    expect(projector.writer.db.db.pragma('busy_timeout', { simple: true })).toBe(5000); // as it was, for the rest
  });

  it('follows the store live, and answers the stuck device, its history and the decisions', async () => {
    projector.start();
    await submit(1, NO_A);
    const last = await submit(2, NO_B);
    expect(await projector.waitFor(BigInt(last.position))).toBe(true);
    const queries = queriesOf(projector.writer);
    const { devices, meterPoints: registrations, decisions } = queries;
    const stuck = new StuckReports(queries);
    expect(stuck.asOf('2024-03-02T00:00:00.000Z')).toEqual([
      { stuck: true, deviceId: ESME, mpxn: MPAN, registeredOperator: NO_A, certificateOwner: NO_B, since: '2019-06-01T00:00:00.000Z' },
    ]);
    const withRemedy = stuck.asOf('2024-03-02T00:00:00.000Z', getRuleSet('registered-operator'))[0];
    expect(withRemedy.repairs!.filter((r) => r.accepted).map((r) => r.who)).toEqual(['registered operator']);
    expect(devices.timelineOf(ESME)!.timeline.map((h) => [h.kind, h.responseCode ?? h.status ?? h.owner])).toEqual([
      ['inventory', 'Commissioned'],
      ['certificate', NO_B],
      ['decision', 'E_CERT_OWNER'],
      ['decision', 'E4'],
    ]);
    expect(decisions.decisions({ code: 'E4' }).items.map((d) => d.requestId)).toEqual([`${NO_B}:${ESME}:2`]);
    const page1 = decisions.decisions({ limit: 1 });
    expect(page1.items).toHaveLength(1);
    expect(decisions.decisions({ limit: 1, after: page1.next! }).items[0].requestId).toBe(`${NO_B}:${ESME}:2`);
    expect(devices.device(ESME, '2019-01-01T00:00:00.000Z')).toMatchObject({ inInventory: false, slots: {} });
    // as of an instant, certificates and inventory are taken as they were then
    expect(stuck.asOf('2019-05-31T00:00:00.000Z')).toEqual([]);
    await ledger.placeCertificate(
      { deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'A9', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'operatorCorrection', reference: 'OPS-1' }, placedAt: '2024-06-01' },
      ctx,
    );
    await projector.waitFor((await store.headPosition())!);
    expect(stuck.asOf('2024-07-01T00:00:00.000Z')).toEqual([]);
    expect(stuck.asOf('2024-03-02T00:00:00.000Z')).toMatchObject([{ deviceId: ESME, certificateOwner: NO_B, since: '2019-06-01T00:00:00.000Z' }]);
    expect(registrations.registrations(MPAN, '2024-01-01T00:00:00.000Z')).toMatchObject({ registered: { networkOperator: { partyUserId: NO_A }, supplier: null } });
  });

  it('a rebuild from the start equals the incrementally maintained read models', async () => {
    projector.start();
    for (let i = 1; i <= 7; i++) await submit(i, i % 2 ? NO_A : NO_B);
    const last = await submit(8, NO_A);
    await projector.waitFor(BigInt(last.position));
    const live = projector.writer.dump();
    const applied = await projector.rebuild();
    expect(applied).toBe(Number(await store.headPosition()));
    await projector.waitFor(BigInt(last.position));
    expect(projector.writer.dump()).toEqual(live);
    // the rebuild ran without fsyncs; afterwards the read models are back to synchronous = NORMAL (1)
    expect(projector.writer.db.db.pragma('synchronous', { simple: true })).toBe(1);
    expect(projector.writer.db.db.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
  });

  it('a rebuild into a file of its own (a job) makes the indexes only queries read by at its end, from the finished tables; one in place keeps them throughout; a file without them gets them when opened', async () => {
    const indexesOf = (db: Database.Database) => db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all().map((r) => r.name);
    for (let i = 1; i <= 3; i++) await submit(i, NO_A);
    await projector.catchUp();
    const all = indexesOf(projector.writer.db.db);
    expect(all).toEqual(expect.arrayContaining(['decisions_device', 'decisions_received', 'stuck_status_due', 'registrations_mpxn', 'devices_mpxn']));
    const live = projector.writer.dump();

    let during: string[] = [];
    await projector.rebuild(() => (during = indexesOf(projector.writer.db.db))); // in place: others may be reading it
    expect(during).toEqual(all);

    const file = path.join(dir, 'built.sqlite');
    const read = <T>(f: (db: Database.Database) => T) => {
      const db = new Database(file, { readonly: true });
      try {
        return f(db);
      } finally {
        db.close();
      }
    };
    await rebuildInto(store, file, () => (during = read(indexesOf)));
    expect(during).toEqual([]); // devices_mpxn too: the stuck-device projection, which reads by it, makes its rows at the end here
    expect(read(indexesOf)).toEqual(all);
    expect(read((db) => db.prepare("EXPLAIN QUERY PLAN SELECT ord FROM decisions WHERE device_id = ? ORDER BY ord").all('x'))).toEqual([expect.objectContaining({ detail: expect.stringContaining('decisions_device') })]);
    const built = openReadModels(file);
    expect(built.dump()).toEqual(live);
    built.db.close();

    projector.writer.db.db.exec('DROP INDEX decisions_received'); // as a file written before the indexes were a set's own
    const again = openReadModels(path.join(dir, 'readmodels.sqlite'));
    expect(again.db.db.prepare("SELECT name FROM sqlite_master WHERE name = 'decisions_received'").get()).toBeDefined();
    again.db.close();
  });

  it('a stream whose link broke in an earlier batch stays broken in the later ones: its break kept, its head not moved on', async () => {
    for (let i = 1; i <= 6; i++) await submit(i, NO_A); // batches of 3: the device's stream spans several
    const raw = new Database(path.join(dir, 'ledger.sqlite'));
    const first = raw.prepare<[string], { position: number; revision: number }>("SELECT position, revision FROM events WHERE stream = ? AND type = 'ServiceRequestEvaluated' ORDER BY revision LIMIT 1").get(`device-${ESME}`)!;
    raw.prepare("UPDATE events SET data = json_set(data, '$.srv', '6.15.2') WHERE position = ?").run(first.position);
    expect(raw.prepare<[string], { last: number }>('SELECT max(revision) AS last FROM events WHERE stream = ?').get(`device-${ESME}`)!.last).toBeGreaterThan(first.revision + 3); // and events after it, batches later
    raw.close();
    await projector.rebuild();
    const db = projector.writer.db.db;
    expect(db.prepare('SELECT stream, kind, revision FROM chain_breaks').all()).toEqual([{ stream: `device-${ESME}`, kind: 'hash-mismatch', revision: String(first.revision) }]);
    const head = db.prepare<[string], { revision: string }>('SELECT revision FROM chain_heads WHERE stream = ?').get(`device-${ESME}`);
    expect(Number(head?.revision ?? -1)).toBeLessThan(first.revision);
  });

  it("a broken stream's head is its last good link, whatever batches its events came in (and when a rebuild holds it across batches)", async () => {
    for (let i = 1; i <= 6; i++) await submit(i, NO_A);
    const raw = new Database(path.join(dir, 'ledger.sqlite'));
    const broken = raw.prepare<[string], { position: number; revision: number }>("SELECT position, revision FROM events WHERE stream = ? AND type = 'ServiceRequestEvaluated' ORDER BY revision LIMIT 1 OFFSET 3").get(`device-${ESME}`)!;
    const good = raw.prepare<[string, number], { metadata: string }>('SELECT metadata FROM events WHERE stream = ? AND revision = ?').get(`device-${ESME}`, broken.revision - 1)!;
    raw.prepare("UPDATE events SET data = json_set(data, '$.srv', '6.15.2') WHERE position = ?").run(broken.position);
    raw.close();
    const lastGood = { revision: String(broken.revision - 1), hash: (JSON.parse(good.metadata) as { $hash: string }).$hash };
    for (const [batchSize, held] of [[1, 0], [2, 0], [3, 0], [1000, 0], [2, 1], [3, 2]]) {
      const file = path.join(dir, `heads-${batchSize}-${held}.sqlite`);
      const writer = openReadModels(file);
      if (held) writer.hold(held);
      await new Projector(store, writer, { batchSize }).catchUp();
      if (held) writer.finish();
      const head = writer.db.db.prepare<[string], { revision: string; hash: string }>('SELECT revision, hash FROM chain_heads WHERE stream = ?').get(`device-${ESME}`);
      writer.db.close();
      expect({ batchSize, held, head }).toEqual({ batchSize, held, head: lastGood });
    }
  });

  it("reads a SQLite store's log a page at a time (rows as arrays, one await a page), not event by event", async () => {
    const pages = jest.spyOn(store, 'readAllPages');
    const events = jest.spyOn(store, 'readAll');
    expect(await projector.catchUp()).toBeGreaterThan(3);
    expect(pages).toHaveBeenCalled();
    expect(events).not.toHaveBeenCalled();
  });

  it('the checkpoint moves with the batch: a restarted projector neither repeats nor skips', async () => {
    await projector.catchUp();
    const before = projector.writer.checkpoint.get();
    await submit(1, NO_A);
    const second = new Projector(store, projector.writer);
    expect(await second.catchUp()).toBe(1);
    expect(await second.catchUp()).toBe(0);
    expect(projector.writer.checkpoint.get().applied).toBe(before.applied + 1);
  });

  it('halts on read models projected past the head of the store (a store restored from an older backup), until a rebuild', async () => {
    await submit(1, NO_A);
    await submit(2, NO_B);
    await projector.catchUp();
    const checkpoint = projector.position!;
    // The operator restores the store from a backup taken before the last two decisions, and keeps the read models.
    await store.dispose();
    const file = path.join(dir, 'ledger.sqlite');
    const db = new Database(file);
    db.prepare('DELETE FROM events WHERE position > ?').run(checkpoint - 2n);
    db.prepare('UPDATE log_head SET last = ?').run(checkpoint - 2n); // as the backup held it
    db.close();
    store = new SqliteEventStore(file);
    ledger = new Ledger(store, getRuleSet('baseline'));
    const restarted = new Projector(store, projector.writer);
    const next = await submit(3, NO_A); // written at a position the read models hold another event at
    expect(BigInt(next.position)).toBeLessThanOrEqual(checkpoint);
    const found = `the read models were projected through position ${checkpoint}, past the head of the store when checked (position ${checkpoint - 1n})`;
    await expect(restarted.catchUp()).rejects.toThrow(found);
    expect(restarted.halted).toMatchObject({ position: checkpoint.toString(), reason: expect.stringContaining('rebuild the read models') });
    expect(await restarted.waitFor(BigInt(next.position), 50)).toBe(false);
    // The restored store grows past the checkpoint: another event there than the one the read models applied.
    await submit(4, NO_B);
    expect(await store.headPosition()).toBe(checkpoint);
    const again = new Projector(store, projector.writer);
    await expect(again.catchUp()).rejects.toThrow(`the read models were projected through position ${checkpoint}, where they applied event `);
    expect(await again.waitFor(checkpoint, 50)).toBe(false);
    expect(await again.rebuild()).toBe(Number(checkpoint));
    expect(again.halted).toBeUndefined();
    expect(queriesOf(projector.writer).decisions.decisions({}).items.map((d) => d.requestId)).toEqual([`${NO_A}:${ESME}:3`, `${NO_B}:${ESME}:4`]);
    expect(await new Projector(store, projector.writer).catchUp()).toBe(0); // the rebuilt read models are this store's
  });

  it.each`
    case                                                  | again
    ${'written again past the checkpoint'}                | ${3}
    ${'written again short of it (the log ends before)'}  | ${1}
  `('a live projector halts on the rows it projected removed from the store under it and $case (no restart, no catch-up between)', async ({ again }) => {
    const errors: unknown[] = [];
    const live = new Projector(store, projector.writer, { checkpointWatchMs: 10, retryDelayMs: 10, onError: (err) => errors.push(err) });
    live.start();
    try {
      await submit(1, NO_A);
      const last = await submit(2, NO_B);
      expect(await live.waitFor(BigInt(last.position), 10_000)).toBe(true);
      const checkpoint = live.position!;
      const applied = projector.writer.checkpoint.fresh().applied;
      // Under the running projector, the store's last two events are removed (a restore in place, a hand edit) and others written at their positions.
      const db = new Database(path.join(dir, 'ledger.sqlite'));
      db.prepare('DELETE FROM events WHERE position > ?').run(checkpoint - 2n);
      db.prepare('UPDATE log_head SET last = ?').run(checkpoint - 2n); // the store's head put back with its rows, as a restore in place does
      db.close();
      const ledger2 = new Ledger(store, getRuleSet('baseline'));
      for (let i = 0; i < again; i++) await ledger2.registerUserRole({ userId: NO_B, role: ['GT', 'ED', 'IS'][i], status: 'Active', effectiveFrom: '2020-01-01T00:00:00.000Z' }, ctx);
      await until(() => live.halted !== undefined, 'halted');
      expect(live.halted).toMatchObject({ position: checkpoint.toString(), reason: expect.stringMatching(/made from another log .*rebuild the read models/) });
      expect(errors.at(-1)).toBeInstanceOf(ReadModelsNotOfStoreError);
      expect(projector.writer.checkpoint.fresh()).toMatchObject({ position: checkpoint, applied }); // nothing applied on top
    } finally {
      await live.stop();
    }
  });

  it.each`
    case                                          | again
    ${'one written again at a removed position'}   | ${1}
    ${'two written again, the checkpoint\'s position too'} | ${2}
  `('waitFor answers false, not true, for a write at a position up to the checkpoint after the log was rewritten under it ($case), before the projector halts', async ({ again }) => {
    await submit(1, NO_A);
    await submit(2, NO_B);
    await projector.catchUp();
    const checkpoint = projector.position!;
    expect(await projector.waitFor(checkpoint)).toBe(true);
    const db = new Database(path.join(dir, 'ledger.sqlite'));
    db.prepare('DELETE FROM events WHERE position > ?').run(checkpoint - 2n);
    db.prepare('UPDATE log_head SET last = ?').run(checkpoint - 2n); // the store's head put back with its rows, as a restore in place does
    db.close();
    let written = 0n;
    for (let i = 0; i < again; i++) written = BigInt((await ledger.registerUserRole({ userId: NO_B, role: ['GT', 'ED'][i], status: 'Active', effectiveFrom: '2020-01-01T00:00:00.000Z' }, ctx)).position!);
    expect(written).toBeLessThanOrEqual(checkpoint);
    expect(await projector.waitFor(written, 50)).toBe(false);
    expect(projector.halted).toBeUndefined(); // not halted yet: the answer did not wait for it
    await expect(projector.catchUp()).rejects.toBeInstanceOf(ReadModelsNotOfStoreError);
  });

  it('waitFor answers true for a checkpoint at an event another process appended and projected after this turn\'s read snapshot began (looked at again in a new one)', async () => {
    await submit(1, NO_A);
    await projector.catchUp();
    const head = (await store.headPosition())!;
    const { applied } = projector.writer.checkpoint.fresh();
    // In one turn: this store's read snapshot begins; another process appends an event and projects it, moving the checkpoint to it; a reply asks.
    expect(store.eventIdAt(head)).toBeDefined();
    const db = new Database(path.join(dir, 'ledger.sqlite'));
    db.prepare('INSERT INTO events SELECT position + 1, stream, revision + 1, ?, type, data, metadata, created FROM events WHERE position = ?').run('appended-elsewhere', head);
    db.close();
    projector.writer.checkpoint.set(head + 1n, applied + 1, 'appended-elsewhere');
    expect(store.eventIdAt(head + 1n)).toBeUndefined(); // this turn's snapshot predates it
    expect(await projector.waitFor(head + 1n, 50)).toBe(true);
  });

  const registerRole = (role: string) => ledger.registerUserRole({ userId: NO_B, role, status: 'Active', effectiveFrom: '2020-01-01T00:00:00.000Z' }, ctx);
  /** Another connection to the read-model file (another process: code of before, a ledger command) writes the checkpoint row. */
  const behindItsBack = (sql: string, ...params: unknown[]) => {
    const other = new Database(projector.writer.db.file);
    other.prepare(sql).run(...params);
    other.close();
  };

  it('a checkpoint moved on by code of before the event column (a rollback and roll-forward, an older ledger command) is checked by its position: no false halt', async () => {
    await projector.catchUp();
    const written = await registerRole('ED');
    // Code of before applies it: its upsert moves position and applied, and leaves the event column as it was.
    behindItsBack('UPDATE checkpoint SET position = ?, applied = applied + 1 WHERE id = 1', String(written.position));
    const next = new Projector(store, projector.writer);
    expect(await next.catchUp()).toBe(0);
    expect(next.halted).toBeUndefined();
  });

  it('halted on read models of another log, a live projector goes on once another process rebuilt them in place (ledger rebuild beside the API)', async () => {
    await projector.catchUp();
    const head = (await store.headPosition())!;
    behindItsBack('UPDATE checkpoint SET position = ?, event = ?, event_position = ? WHERE id = 1', String(head + 5n), 'an-event-of-another-log', String(head + 5n));
    const errors: unknown[] = [];
    const live = new Projector(store, projector.writer, { checkpointWatchMs: 10, retryDelayMs: 10, onError: (err) => errors.push(err) });
    live.start();
    try {
      await until(() => live.halted !== undefined, 'halted');
      expect(errors).toEqual([expect.any(ReadModelsNotOfStoreError)]);
      const cli = new Projector(store, openReadModels(projector.writer.db.file));
      await cli.rebuild();
      cli.writer.db.close();
      await until(() => live.halted === undefined, 'the halt lifted');
      const written = await registerRole('GT');
      expect(await live.waitFor(BigInt(written.position!), 10_000)).toBe(true);
      expect(errors).toHaveLength(1);
    } finally {
      await live.stop();
    }
  });

  it("a live projector's look at the checkpoint that fails (the file locked, or closed) goes to its loop, which reports it and goes on: no uncaught exception", async () => {
    const errors: unknown[] = [];
    const live = new Projector(store, projector.writer, { checkpointWatchMs: 10, retryDelayMs: 10, onError: (err) => errors.push(err) });
    const following = new Promise<void>((resolve) => {
      const subscribe = store.subscribeToAll.bind(store);
      jest.spyOn(store, 'subscribeToAll').mockImplementationOnce((options) => (setImmediate(resolve), subscribe(options)));
    });
    live.start();
    try {
      await following; // caught up, no event coming: the next look at the checkpoint is the watch's
      jest.spyOn(projector.writer.checkpoint, 'fresh').mockImplementationOnce(() => {
        throw new Error('SQLITE_BUSY: database is locked');
      });
      await until(() => errors.length > 0, 'the failure reported');
      expect(errors).toEqual([expect.objectContaining({ message: 'SQLITE_BUSY: database is locked' })]);
      const written = await registerRole('GT');
      expect(await live.waitFor(BigInt(written.position!), 10_000)).toBe(true);
    } finally {
      await live.stop();
    }
  });
});

describe('a live projector whose subscription fails every time, while each catch-up between succeeds', () => {
  let dir: string;
  let store: SqliteEventStore;
  let writer: ProjectionWriter;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-proj-sub-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    writer = openReadModels(path.join(dir, 'readmodels.sqlite'));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    writer.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const registerRole = (ledger: Ledger, n: number) => ledger.registerUserRole({ userId: NO_A, role: ['GT', 'ED', 'IS', 'ES', 'GS'][n % 5], status: 'Active', effectiveFrom: '2020-01-01T00:00:00.000Z' }, ctx);

  // Two ways the live part fails where a catch-up does not: its look at the checkpoint, which never
  // waits on a lock (a catch-up reads with the busy timeout), and the store's subscription itself.
  it.each`
    case                                                    | fail
    ${"its look at the checkpoint (the file locked)"}       | ${(w: ProjectionWriter) => jest.spyOn(w.db, 'noWait').mockImplementation(() => { throw new Error('SQLITE_BUSY: database is locked'); })}
    ${'the store dropping it (EventStoreDB, say)'}          | ${(_w: ProjectionWriter, s: SqliteEventStore) => jest.spyOn(s, 'subscribeToAll').mockImplementation(() => ({ lastPosition: 'start', unsubscribe: async () => undefined, [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('the subscription was dropped')) }) }))}
  `('$case: counted as failing, saying it is the subscription, while the catch-ups keep the read models up; cleared once it holds', async ({ fail }) => {
    const ledger = new Ledger(store, getRuleSet('baseline'));
    const subscribed = jest.spyOn(store, 'subscribeToAll');
    const live = new Projector(store, writer, { checkpointWatchMs: 10, retryDelayMs: 10 });
    const failed = fail(writer, store) as jest.SpyInstance;
    live.start();
    try {
      for (let n = 0; n < 3; n++) {
        const written = await registerRole(ledger, n);
        expect(await live.waitFor(BigInt(written.position!), 10_000)).toBe(true); // a catch-up projected it
      }
      await until(() => subscribed.mock.calls.length >= 4, 'subscribed again and again');
      // until 2026-11-27 (thirteenth session): undefined, each catch-up's success clearing the subscription's failure
      expect(live.failing).toEqual({ since: expect.any(String), reason: expect.stringMatching(/database is locked|was dropped/), during: 'subscription' });
      failed.mockRestore();
      await until(() => live.failing === undefined, 'cleared');
      const written = await registerRole(ledger, 3);
      expect(await live.waitFor(BigInt(written.position!), 10_000)).toBe(true);
    } finally {
      await live.stop();
    }
  });

  it('one failure of its look at the checkpoint is not a failing projector', async () => {
    const errors: unknown[] = [];
    const live = new Projector(store, writer, { checkpointWatchMs: 10, retryDelayMs: 10, onError: (err) => errors.push(err) });
    const look = writer.db.noWait.bind(writer.db);
    let looks = 0;
    jest.spyOn(writer.db, 'noWait').mockImplementation((work) => {
      if (++looks === 1) throw new Error('SQLITE_BUSY: database is locked');
      return look(work);
    });
    live.start();
    try {
      const seen = new Set<unknown>();
      for (let waited = 0; looks < 6 && waited < 10_000; waited += 2) {
        seen.add(live.failing);
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(errors).toEqual([expect.objectContaining({ message: 'SQLITE_BUSY: database is locked' })]);
      expect([...seen]).toEqual([undefined]);
    } finally {
      await live.stop();
    }
  });
});

describe('a read-model file written before a projection existed', () => {
  it('gets that projection filled once from the other read models when it is opened', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-proj-late-'));
    const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    try {
      const ledger = new Ledger(store, getRuleSet('baseline'));
      await recordOneEsme(ledger, NO_B);
      const file = path.join(dir, 'readmodels.sqlite');
      const first = openReadModels(file);
      await new Projector(store, first).catchUp();
      const rows = first.dump().stuck_status;
      expect(rows).toHaveLength(1);
      first.db.db.exec('DROP TABLE stuck_status');
      first.db.close();
      const again = openReadModels(file);
      expect(again.dump().stuck_status).toEqual(rows);
      again.db.close();
    } finally {
      await store.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a store appended to and projected by another process within the turn this one read the store in', () => {
  it("catching up, it looks again in a new snapshot before it halts: the checkpoint is past the head only in the turn's snapshot", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-proj-snap-'));
    fs.symlinkSync(dir, `${dir}-alias`); // another path to the same file: as another process, no commit heard within this one
    const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'), { writer: 'inline', groupCommit: false });
    const theirs = new SqliteEventStore(path.join(`${dir}-alias`, 'ledger.sqlite'), { writer: 'inline', groupCommit: false });
    const mine = new Projector(store, openReadModels(path.join(dir, 'readmodels.sqlite')));
    try {
      await recordOneEsme(new Ledger(store, getRuleSet('baseline')), NO_B, ctx);
      await mine.catchUp();
      await new Promise((r) => setImmediate(r));
      // One turn: this process reads the store, the other appends and projects, this one catches up.
      const head = await store.headPosition();
      await new Ledger(theirs, getRuleSet('baseline')).registerUserRole({ userId: NO_B, role: 'GT', status: 'Active', effectiveFrom: '2020-01-01T00:00:00.000Z' }, ctx);
      expect((store as unknown as { snapshot: boolean }).snapshot).toBe(true); // this turn's reads still see the store before it
      // What the other's projector commits once it applied that event:
      const log = new Database(path.join(dir, 'ledger.sqlite'));
      const last = log.prepare('SELECT position, event_id FROM events ORDER BY position DESC LIMIT 1').get() as { position: number; event_id: string };
      log.close();
      expect(BigInt(last.position)).toBeGreaterThan(head!);
      const other = new Database(mine.writer.db.file);
      other.prepare('UPDATE checkpoint SET position = ?, applied = applied + 1, event = ?, event_position = ? WHERE id = 1').run(String(last.position), last.event_id, String(last.position));
      other.close();
      expect(await mine.catchUp()).toBe(0);
      expect(mine.halted).toBeUndefined();
    } finally {
      mine.writer.db.close();
      await store.dispose();
      await theirs.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(`${dir}-alias`, { force: true });
    }
  });
});

describe('a rebuild in place on a store whose file has a damaged page', () => {
  it('fails saying the store is damaged and how far it read, and leaves the read models as they were (another connection read them so meanwhile)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-proj-damaged-'));
    const writer = openReadModels(path.join(dir, 'readmodels.sqlite'));
    const file = path.join(dir, 'ledger.sqlite');
    await makeDamagedStore(file, async (whole) => void (await new Projector(whole, writer).catchUp())); // projected through 3,000 while whole
    const store = new SqliteEventStore(file);
    const other = new Database(writer.db.file, { readonly: true });
    try {
      const before = writer.dump();
      expect(before.checkpoint).toEqual([expect.objectContaining({ position: '3000', applied: 3000 })]);
      const projector = new Projector(store, writer);
      let seen: unknown;
      const rebuilt = projector.rebuild(() => (seen ??= other.prepare('SELECT position FROM checkpoint').all()));
      // until 2026-11-27: SQLite's "database disk image is malformed" alone, the read models left as far as it had read
      await expect(rebuilt).rejects.toThrow(/^the store's file is damaged: the log could not be read past position [1-9]\d* \(SQLite: database disk image is malformed\)/);
      expect(seen).toEqual([{ position: '3000' }]);
      expect(writer.dump()).toEqual(before);
      expect(writer.checkpoint.get().position).toBe(3000n);
    } finally {
      other.close();
      writer.db.close();
      await store.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
