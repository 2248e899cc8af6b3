import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore, type EventStore, type ReadAllOptions, type RecordedEvent } from '@ledger/event-store';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { Ledger, runDemo } from '@ledger/ledger';
import { CheckpointMovedBackError, openReadModels, type ProjectionWriter } from './projection-writer';
import { IntegrityQueries } from '../queries/integrity-queries';
import { ReadModelsNotFollowedError } from '../read-model-db';
import { Projector } from './projector';
import { putRebuiltInPlace } from './rebuild-files';

/**
 * One read-model file kept by two processes at once: the API's projector, and a CLI command beside
 * it that catches the read models up before it answers (both on the default paths). Two writers
 * on one file stand for the two processes: each has its own connection, as each process would.
 */
describe('a read-model file kept by two projectors at once', () => {
  let dir: string;
  let store: SqliteEventStore;
  const events: RecordedEvent[] = [];
  const writers: ProjectionWriter[] = [];
  const open = (name = 'readmodels.sqlite') => {
    const w = openReadModels(path.join(dir, name));
    writers.push(w);
    return w;
  };
  /** The tables as one projector alone builds them from the whole log. */
  let alone: Record<string, unknown[]>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-shared-rm-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 40, concurrency: 4 });
    for await (const e of store.readAll()) events.push(e);
    const single = open('alone.sqlite');
    await new Projector(store, single).catchUp();
    alone = single.dump();
  });
  afterEach(() => {
    for (const w of writers.splice(0)) w.db.close();
    for (const f of fs.readdirSync(dir)) if (f.startsWith('readmodels')) fs.rmSync(path.join(dir, f));
  });
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('catching up at the same time, they build exactly what one builds: no event applied twice, no false chain break', async () => {
    const [a, b] = [open(), open()];
    const n = await Promise.all([new Projector(store, a, { batchSize: 7 }).catchUp(), new Projector(store, b, { batchSize: 5 }).catchUp()]);
    expect(n[0] + n[1]).toBeGreaterThanOrEqual(events.length); // each read past what the other applied meanwhile
    expect(a.dump()).toEqual(alone);
    expect(a.checkpoint.get()).toEqual({ position: events[events.length - 1].position, applied: events.length, event: events[events.length - 1].id });
    expect(alone.chain_breaks).toEqual([]);
  });

  it('a batch read before the other applied part of it applies only the rest', () => {
    const [a, b] = [open(), open()];
    a.applyBatch(events.slice(0, 10), { after: undefined });
    expect(a.checkpoint.get().position).toBe(events[9].position); // as a reply asks for it: kept for the next
    b.applyBatch(events.slice(0, 30), { after: undefined }); // 0..9 are a's
    a.applyBatch(events.slice(10, 50), { after: events[9].position }); // 10..29 are b's
    b.applyBatch(events.slice(30, events.length), { after: events[29].position }); // 30..49 are a's
    expect(b.dump()).toEqual(alone);
  });

  it('a batch read after a checkpoint that has since moved back (the other rebuilds in place) applies nothing', () => {
    const [a, b] = [open(), open()];
    a.applyBatch(events.slice(0, 20), { after: undefined });
    b.reset();
    expect(() => a.applyBatch(events.slice(20, 40), { after: events[19].position })).toThrow(CheckpointMovedBackError);
    expect(a.checkpoint.get()).toEqual({ position: undefined, applied: 0 });
    b.applyBatch(events.slice(0, 10), { after: undefined });
    expect(() => a.applyBatch(events.slice(20, 40), { after: events[19].position })).toThrow(CheckpointMovedBackError);
    a.applyBatch(events.slice(10), { after: events[9].position });
    expect(a.dump()).toEqual(alone);
  });

  it('a projector halting at an unreadable event, whose checkpoint the other moved back meanwhile, reads again and halts there', async () => {
    const [a, b] = [open(), open()];
    const bad = events[20];
    let moveBack = true;
    // A log whose 21st event does not read; the first time a read reaches it, the other process has just reset the file.
    const log = {
      async *readAll({ fromPosition }: ReadAllOptions = {}) {
        for (const e of events.slice(0, 20)) if (typeof fromPosition !== 'bigint' || e.position >= fromPosition) yield e;
        if (moveBack) (moveBack = false), b.reset();
        throw new UnreadableEventError(bad.stream, bad.revision, bad.position, 'damaged');
      },
    } as unknown as EventStore;
    a.applyBatch(events.slice(0, 10), { after: undefined });
    const projector = new Projector(log, a);
    await expect(projector.catchUp()).rejects.toThrow(UnreadableEventError);
    expect(projector.halted).toMatchObject({ position: bad.position.toString() });
    expect(a.checkpoint.fresh()).toEqual({ position: events[19].position, applied: 20, event: events[19].id });
  });

  it('a projector following the log, whose checkpoint the other moved back, reads again from it at once, reporting no error (normal traffic)', async () => {
    const [a, b] = [open(), open()];
    const errors: unknown[] = [];
    const projector = new Projector(store, a, { retryDelayMs: 5, onError: (err) => errors.push(err) });
    projector.start();
    try {
      await projector.catchUp();
      b.reset(); // the other rebuilds in place: it has applied nothing yet
      const written = await new Ledger(store, getRuleSet('baseline')).registerUserRole({ userId: '90-B3-D5-1F-30-01-00-99', role: 'IS', effectiveFrom: '2024-01-01' }, { actor: 'test' });
      expect(await projector.waitFor(BigInt(written.position!), 10_000)).toBe(true);
    } finally {
      await projector.stop();
    }
    expect(errors).toEqual([]);
    const single = open('alone-after.sqlite');
    await new Projector(store, single).catchUp();
    expect(a.dump()).toEqual(single.dump());
  });

  it('the other stops rebuilding in place before its end (killed): a live projector goes on from the checkpoint it left, with no event coming', async () => {
    const [a, b] = [open(), open()];
    const head = (await store.headPosition())!;
    const projector = new Projector(store, a, { checkpointWatchMs: 10 });
    const live = new Promise<void>((resolve) => {
      const subscribe = store.subscribeToAll.bind(store);
      jest.spyOn(store, 'subscribeToAll').mockImplementationOnce((options) => (setImmediate(resolve), subscribe(options)));
    });
    projector.start();
    try {
      await live; // following the store live, caught up
      expect(a.checkpoint.fresh().position).toBe(head);
      b.reset(); // the other's rebuild in place: its reset and its first batch committed, then it was killed
      b.applyBatch(events.slice(0, 10), { after: undefined });
      for (let waited = 0; a.checkpoint.fresh().position !== head; waited += 20) {
        if (waited > 10_000) throw new Error(`the read models stayed at ${a.checkpoint.fresh().position} of ${head}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await projector.stop();
    }
    const single = open('alone-now.sqlite');
    await new Projector(store, single).catchUp();
    expect(a.dump()).toEqual(single.dump());
  });

  /**
   * SQLite removes a WAL by its name when the last connection of a database closes, after a
   * checkpoint; the file at that name is now the live one's. It does neither for a database that has
   * moved since it was opened (pager.c's databaseIsUnmoved, the unix VFS comparing the path's inode
   * with the open file's), and this holds the ledger to that: were the live WAL removed, the commits
   * in it would be lost to every later connection.
   */
  it("a rebuild's file put in place under the other's open connection: closing that connection leaves the live file's WAL and commits", () => {
    const [live, cli] = [open(), open()];
    live.applyBatch(events.slice(0, 10), { after: undefined });
    cli.applyBatch(events.slice(10, 20), { after: events[9].position });
    const built = open('readmodels-built.sqlite');
    built.applyBatch(events.slice(0, 30), { after: undefined });
    built.db.closeCheckpointed();
    live.db.replaceWith(path.join(dir, 'readmodels-built.sqlite'));
    live.applyBatch(events.slice(30, 40), { after: events[29].position }); // into the live file's WAL
    cli.applyBatch(events.slice(20, 25), { after: events[19].position }); // into the replaced file: lost with it
    cli.db.close(); // the replaced file's last connection
    expect(fs.existsSync(path.join(dir, 'readmodels.sqlite-wal'))).toBe(true);
    const later = open();
    expect(later.checkpoint.fresh()).toEqual({ position: events[39].position, applied: 40, event: events[39].id });
    expect(later.db.db.pragma('integrity_check', { simple: true })).toBe('ok');
    later.applyBatch(events.slice(40), { after: events[39].position });
    expect(later.dump()).toEqual(alone);
  });

  /** Resolves once the projector follows the store live (caught up, subscribed). */
  const followingLive = () =>
    new Promise<void>((resolve) => {
      const subscribe = store.subscribeToAll.bind(store);
      jest.spyOn(store, 'subscribeToAll').mockImplementationOnce((options) => (setImmediate(resolve), subscribe(options)));
    });
  /** The other's rebuild job, done through the 30th event (the log went on meanwhile): its file built, then put in place by `other`, which then stops. */
  const rebuiltBy = (other: ProjectionWriter) => {
    const built = open('readmodels-built.sqlite');
    built.applyBatch(events.slice(0, 30), { after: undefined });
    built.db.closeCheckpointed();
    return () => {
      other.db.replaceWith(path.join(dir, 'readmodels-built.sqlite'));
      other.db.close();
    };
  };
  /** The file at the path holds what one projector alone builds from the whole log now (those tables returned). */
  const atPathAsAlone = async (name: string) => {
    const single = open(name);
    await new Projector(store, single).catchUp();
    expect(open().dump()).toEqual(single.dump());
    return single.dump();
  };
  const until = async (what: string, done: () => boolean) => {
    for (let waited = 0; !done(); waited += 20) {
      if (waited > 10_000) throw new Error(`not within 10 s: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("the other puts a rebuild's file in place (its rebuild job): a live projector reopens the file at the path and projects into it from that file's checkpoint, nothing twice, nothing skipped", async () => {
    const [a, b] = [open(), open()];
    const replaced: Array<[string, bigint | undefined]> = [];
    const projector = new Projector(store, a, { checkpointWatchMs: 10, onReplaced: (file, at) => replaced.push([file, at]) });
    const live = followingLive();
    projector.start();
    try {
      await live;
      rebuiltBy(b)(); // that API then stops: nobody else projects into the file at the path
      const head = (await store.headPosition())!;
      const atPath = open();
      await until('the file at the path caught up', () => atPath.checkpoint.fresh().position === head);
      expect(replaced).toEqual([[path.join(dir, 'readmodels.sqlite'), events[29].position]]);
      const written = await new Ledger(store, getRuleSet('baseline')).registerUserRole({ userId: '90-B3-D5-1F-30-01-00-98', role: 'IS', effectiveFrom: '2024-01-01' }, { actor: 'test' });
      expect(await projector.waitFor(BigInt(written.position!), 10_000)).toBe(true);
      expect(atPath.checkpoint.fresh().position).toBe(BigInt(written.position!));
    } finally {
      await projector.stop();
    }
    expect(a.dump()).toEqual(await atPathAsAlone('alone-swapped.sqlite')); // and this process answers from it
  });

  it("the other's swap found at this process's own rebuild's end, its projector stopped: followed and kept as a live look's is (/health's readModels.replaced, onReplaced: until 2026-11-27, sixteenth session, putRebuiltInPlace followed it unkept)", async () => {
    const [a, b] = [open(), open()];
    const replaced: Array<[string, bigint | undefined]> = [];
    const projector = new Projector(store, a, { onReplaced: (file, at) => replaced.push([file, at]) });
    a.applyBatch(events.slice(0, 10), { after: undefined });
    rebuiltBy(b)(); // the other's swap, while this process's own rebuild ran
    const mine = open('readmodels-mine.sqlite');
    mine.applyBatch(events, { after: undefined });
    mine.db.closeCheckpointed();
    await putRebuiltInPlace(projector, path.join(dir, 'readmodels-mine.sqlite'));
    expect(projector.replaced).toEqual({ at: expect.any(String), checkpoint: events[29].position.toString() });
    expect(replaced).toEqual([[path.join(dir, 'readmodels.sqlite'), events[29].position]]);
    expect(a.dump()).toEqual(alone); // and its own rebuild is what the path holds
  });

  it("the other's swap lands between a live projector's look and its batch: that batch goes to the replaced file, and is projected again into the new one, once", async () => {
    const [a, b] = [open(), open()];
    const projector = new Projector(store, a, { checkpointWatchMs: 10 });
    const live = followingLive();
    projector.start();
    try {
      await live;
      const swapIn = rebuiltBy(b);
      const applyBatch = a.applyBatch.bind(a);
      let swapped!: () => void;
      const swap = new Promise<void>((resolve) => (swapped = resolve));
      jest.spyOn(a, 'applyBatch').mockImplementationOnce((batch, options) => (swapIn(), swapped(), applyBatch(batch, options)));
      const written = await new Ledger(store, getRuleSet('baseline')).registerUserRole({ userId: '90-B3-D5-1F-30-01-00-97', role: 'IS', effectiveFrom: '2024-01-01' }, { actor: 'test' });
      await swap;
      const atPath = open();
      await until('the file at the path caught up', () => atPath.checkpoint.fresh().position === BigInt(written.position!));
    } finally {
      await projector.stop();
    }
    await atPathAsAlone('alone-mid-batch.sqlite');
  });

  it("a projector halted on read models not of the store (past its head) goes on once the other's rebuild job puts its file in place", async () => {
    const [a, b] = [open(), open()];
    a.checkpoint.set(events[events.length - 1].position + 1000n, 1, 'not-of-this-store');
    const projector = new Projector(store, a, { checkpointWatchMs: 10 });
    projector.start();
    try {
      await until('halted', () => projector.halted !== undefined);
      rebuiltBy(b)();
      const head = (await store.headPosition())!;
      await until('caught up', () => projector.halted === undefined && a.checkpoint.fresh().position === head);
    } finally {
      await projector.stop();
    }
    await atPathAsAlone('alone-halted.sqlite');
  });

  it("a halted projector says, once, that another file put at the path is not followed (until the fifteenth session's review, silent while halted: the halt's old reason the only word)", async () => {
    const a = open();
    a.checkpoint.set(events[events.length - 1].position + 1000n, 1, 'not-of-this-store');
    const errors: unknown[] = [];
    const projector = new Projector(store, a, { checkpointWatchMs: 10, onError: (err) => errors.push(err) });
    projector.start();
    try {
      await until('halted', () => projector.halted !== undefined);
      fs.writeFileSync(path.join(dir, 'other.txt'), 'another program wrote this\n');
      fs.renameSync(path.join(dir, 'other.txt'), path.join(dir, 'readmodels.sqlite')); // its -wal left beside it: not followed
      await until('said', () => errors.some((e) => e instanceof ReadModelsNotFollowedError));
      await new Promise((r) => setTimeout(r, 100)); // ten more looks
      expect(errors.filter((e) => e instanceof ReadModelsNotFollowedError)).toHaveLength(1);
      expect(projector.halted).toBeDefined();
    } finally {
      await projector.stop();
    }
  });

  it("the other puts in read models of another store (projected past this store's head): the live projector halts on them as at start-up, and skips nothing", async () => {
    const [a, b] = [open(), open()];
    const built = open('readmodels-built.sqlite');
    built.applyBatch(events.slice(0, 30), { after: undefined });
    built.checkpoint.set(events[events.length - 1].position + 1000n, 1, 'of-another-store');
    built.db.closeCheckpointed();
    const projector = new Projector(store, a, { checkpointWatchMs: 10 });
    const live = followingLive();
    projector.start();
    try {
      await live;
      b.db.replaceWith(path.join(dir, 'readmodels-built.sqlite'));
      b.db.close();
      await until('halted', () => projector.halted !== undefined);
      expect(projector.halted?.reason).toMatch(/^the read models were projected through position \d+, past the head of the store/);
      const written = await new Ledger(store, getRuleSet('baseline')).registerUserRole({ userId: '90-B3-D5-1F-30-01-00-96', role: 'IS', effectiveFrom: '2024-01-01' }, { actor: 'test' });
      expect(await projector.waitFor(BigInt(written.position!), 1000)).toBe(false); // not projected (until then: skipped, under their checkpoint)
      expect(a.checkpoint.fresh()).toEqual({ position: events[events.length - 1].position + 1000n, applied: 1, event: 'of-another-store' });
    } finally {
      await projector.stop();
    }
  });

  it("another kind of file renamed onto the path (not a rebuild's swap: this connection's -wal left beside it): the live projector fails, naming the -wal, and that file is left as it was", async () => {
    const a = open();
    const file = path.join(dir, 'readmodels.sqlite');
    const projector = new Projector(store, a, { checkpointWatchMs: 10, retryDelayMs: 10 });
    const live = followingLive();
    projector.start();
    const text = 'not read models: some other program wrote this file\n'.repeat(100);
    try {
      await live;
      fs.writeFileSync(path.join(dir, 'readmodels-other.txt'), text);
      fs.renameSync(path.join(dir, 'readmodels-other.txt'), file);
      await until('failing', () => projector.failing !== undefined);
      expect(projector.failing?.reason).toContain(`and is not opened: this connection's write-ahead log ${file}-wal is still beside it`);
      expect(a.checkpoint.fresh().position).toBe(await store.headPosition()); // answering from the replaced file
    } finally {
      await projector.stop();
    }
    a.db.close();
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  it('the file deleted and nothing put in its place: the live projector fails, naming the file, not silently', async () => {
    const a = open();
    const projector = new Projector(store, a, { checkpointWatchMs: 10, retryDelayMs: 10 });
    const live = followingLive();
    projector.start();
    try {
      await live;
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `readmodels.sqlite${suffix}`), { force: true });
      await until('failing', () => projector.failing !== undefined);
      expect(projector.failing?.reason).toBe(`the read-model file ${path.join(dir, 'readmodels.sqlite')} was deleted and nothing put in its place: this process's read models are no longer on disk, and what it projects is lost; restart it (it makes them again from the store)`);
    } finally {
      await projector.stop();
    }
  });

  /**
   * The other process holds the file's write lock (a batch of its own) while a query brings the
   * stuck rows up to date. A transaction that reads first and writes after gets SQLITE_BUSY at once
   * when it comes to write (SQLite calls no busy handler for a transaction that is already reading);
   * one that takes the write lock first waits for the other's commit, as busy_timeout says.
   */
  it('bringing the stuck rows up to date while the other holds the write lock waits for it, rather than fail', async () => {
    const a = open();
    a.applyBatch(events, { after: undefined });
    const due = a.db.db.prepare("UPDATE stuck_status SET valid_until = '2000-01-01T00:00:00.000Z' WHERE rowid IN (SELECT rowid FROM stuck_status LIMIT 3)").run().changes;
    expect(due).toBe(3);
    const other = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const db = new (require('better-sqlite3'))(workerData);
       db.exec('BEGIN IMMEDIATE');
       db.prepare("UPDATE checkpoint SET applied = applied").run();
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: path.join(dir, 'readmodels.sqlite') },
    );
    const ended = new Promise((resolve) => other.once('exit', resolve));
    await new Promise((resolve, reject) => other.once('message', resolve).once('error', reject));
    expect(a.projections.stuck.refreshDue('2025-06-01T00:00:00.000Z')).toBe(3);
    await ended;
    expect(a.db.db.prepare("SELECT count(*) AS n FROM stuck_status WHERE valid_until = '2000-01-01T00:00:00.000Z'").get()).toEqual({ n: 0 });
  });

  it.each([
    ['the projector (/health, metrics)', (w: ProjectionWriter) => new Projector(store, w).position?.toString()],
    ['the incremental verify', (w: ProjectionWriter) => new IntegrityQueries(w.db, w.checkpoint).incrementalVerification().verifiedThrough],
  ])("what %s reports is the file's checkpoint, whoever applied it", (_, reported) => {
    const [a, b] = [open(), open()];
    a.applyBatch(events.slice(0, 10), { after: undefined });
    expect(a.checkpoint.get().position).toBe(events[9].position); // as a reply asks for it: kept until a's next write
    b.applyBatch(events.slice(10), { after: events[9].position });
    expect(reported(a)).toBe(events[events.length - 1].position.toString());
  });
});
