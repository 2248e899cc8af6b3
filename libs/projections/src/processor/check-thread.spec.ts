import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, ledgerEventOf, parseServiceRequest, type LedgerEvent } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import * as entries from '@ledger/event-store/worker-entry';
import { Ledger } from '@ledger/ledger';
import { ESME, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';
import { ChainCheck, DecisionProjection } from '../projections';
import { decisionRowData } from '../decision-rows';
import { CheckThread, readEvent } from './check-thread';
import { openReadModels, ProjectionWriter } from './projection-writer';
import { Projector } from './projector';
import { rebuildInto } from './rebuild-into';

/**
 * A rebuild's events read and checked on a second thread too (rebuildInto's `threads`: 2): the read
 * models come out as one thread builds them, broken links and halts included; what the thread has
 * got through is not checked again on the rebuilding thread; the thread ends with the rebuild.
 */
describe("a rebuild's check thread", () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;
  let ledger: Ledger;

  const submit = (i: number) => {
    const sender = i % 2 ? NO_A : NO_B;
    return ledger.submit(
      parseServiceRequest({ requestId: `${sender}:${ESME}:${i}`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates: [{ serial: `C${i}`, issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }], receivedAt: '2024-03-01T00:00:00Z', format: 'json' }),
      { actor: 'test' },
    );
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-check-thread-'));
    file = path.join(dir, 'ledger.sqlite');
    store = new SqliteEventStore(file);
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B);
    for (let i = 1; i <= 8; i++) await submit(i);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Edits stored events behind the store's back (seen by its reads from the next turn of the event loop). */
  const edit = async (sql: string, ...params: unknown[]) => {
    const raw = new Database(file);
    raw.prepare(sql).run(...params);
    raw.close();
    await new Promise((resolve) => setImmediate(resolve));
  };
  it("reads a decision, whole or not, with the columns and data of the decision read in full (its revisionsRead, which no projection reads, left out)", async () => {
    for await (const recorded of store.readAll()) {
      if (recorded.type !== 'ServiceRequestEvaluated') continue;
      const full = ledgerEventOf(recorded.stream, recorded.type, recorded.data) as Extract<LedgerEvent, { type: 'ServiceRequestEvaluated' }>;
      for (const whole of [true, false]) {
        const read = readEvent(recorded, whole) as typeof full;
        const { checks: _c, revisionsRead: _r, ...rest } = full.data;
        expect(read.data).toMatchObject(rest);
        expect(decisionRowData(recorded, read)).toBe(decisionRowData(recorded, full));
        expect(read.data.revisionsRead).toEqual({}); // not made (REVISIONS_LEFT_OUT)
      }
    }
  });

  /** Counts the links the ChainCheck checks on this thread. */
  const checkedHere = () => jest.spyOn(ChainCheck.prototype as unknown as { check(): void }, 'check');
  /** The device's decisions' positions, in order. */
  const decisions = () => {
    const raw = new Database(file, { readonly: true });
    const rows = raw.prepare<[], { position: number }>("SELECT position FROM events WHERE type = 'ServiceRequestEvaluated' ORDER BY position").all();
    raw.close();
    return rows.map((r) => r.position);
  };
  const dumpOf = (f: string) => {
    const w = openReadModels(f);
    const d = w.dump();
    w.db.close();
    return d;
  };
  /** A check thread on `log`, once it has got through `position`. */
  const threadThrough = async (log: string, position: bigint) => {
    const thread = new CheckThread(log);
    while (!thread.checked(position)) await new Promise((r) => setTimeout(r, 5));
    return thread;
  };
  /** rebuildInto of `on` (the store) on two threads into `f`, its projector starting once `ready(thread)` (or after 10 s); and the thread it had. */
  const rebuildWaiting = async (f: string, ready: (thread: CheckThread) => boolean, on: SqliteEventStore = store) => {
    let thread: CheckThread | undefined;
    const wire = ProjectionWriter.prototype.checkedBy;
    jest.spyOn(ProjectionWriter.prototype, 'checkedBy').mockImplementation(function (this: ProjectionWriter, t) {
      thread = t;
      wire.call(this, t);
    });
    const catchUp = Projector.prototype.catchUp;
    jest.spyOn(Projector.prototype, 'catchUp').mockImplementation(async function (this: Projector, ...args) {
      for (let i = 0; thread && i < 2000 && !ready(thread); i++) await new Promise((r) => setTimeout(r, 5));
      return catchUp.apply(this, args);
    });
    const result = await rebuildInto(on, f, undefined, { threads: 2 });
    return { result, thread };
  };
  /** The Projector's work of a rebuild into `f` in batches of 3, with `thread` reading and checking ahead if given, holding `held` states across batches if given (as rebuildInto does). */
  const project = async (f: string, thread?: CheckThread, held?: number) => {
    const writer = openReadModels(f);
    writer.checkedBy(thread);
    if (held) writer.hold(held);
    const projector = new Projector(store, writer, { batchSize: 3 });
    const error = await projector.catchUp().then(
      () => undefined,
      (err: Error) => err.message,
    );
    if (held) writer.finish();
    await thread?.stop();
    const result = { error, halted: projector.halted, dump: writer.dump() };
    writer.db.close();
    return result;
  };

  it('the same read models as one thread builds, broken links included; a batch the thread has got through is not checked again here, its decisions read without their checks', async () => {
    const [first] = decisions();
    await edit("UPDATE events SET data = json_set(data, '$.srv', '6.15.2') WHERE position = ?", first); // its hash no longer holds
    await edit("UPDATE events SET metadata = json_set(metadata, '$.$prevHash', '00') WHERE stream LIKE 'meterpoint-%' AND revision = 0"); // a link to nothing
    const alone = await project(path.join(dir, 'alone.sqlite'));
    expect(alone.dump.chain_breaks).toEqual([expect.objectContaining({ stream: `device-${ESME}`, kind: 'hash-mismatch', position: String(first) }), expect.objectContaining({ kind: 'prev-hash-mismatch' })]);
    const here = checkedHere();
    const decisionsRead = jest.spyOn(DecisionProjection.prototype, 'applyBatch');
    expect(await project(path.join(dir, 'beside.sqlite'), await threadThrough(file, (await store.headPosition())!))).toEqual(alone);
    expect(here).not.toHaveBeenCalled();
    // read without their checks (the thread decoded them whole), which no projection reads
    expect(decisionsRead.mock.calls.flatMap(([batch]) => batch.map((e) => (e.event.type === 'ServiceRequestEvaluated' ? e.event.data.checks.length : -1)))).toEqual(decisions().map(() => 0));
    // And holding states across batches, as rebuildInto does: a break reads the stream's last good head from what is held or written out.
    for (const held of [1, 2]) expect(await project(path.join(dir, `held-${held}.sqlite`), await threadThrough(file, (await store.headPosition())!), held)).toEqual(alone);

    const one = await rebuildInto(store, path.join(dir, 'one.sqlite'));
    const two = await rebuildInto(store, path.join(dir, 'two.sqlite'), undefined, { threads: 2 }); // the thread takes the batches it has checked once it is running
    expect(two).toEqual({ ...one, file: path.join(dir, 'two.sqlite') });
    expect(dumpOf(path.join(dir, 'two.sqlite'))).toEqual(dumpOf(path.join(dir, 'one.sqlite')));
  }, 60_000);

  it('on a store opened read only (a copy in rollback-journal mode) opens it read only too: the same read models, and the file byte-identical and so still', async () => {
    const copy = path.join(dir, 'copy.sqlite');
    const raw = new Database(file, { readonly: true });
    raw.exec(`VACUUM INTO '${copy}'`);
    raw.close();
    const bytes = fs.readFileSync(copy);
    expect([...bytes.subarray(18, 20)]).toEqual([1, 1]); // rollback-journal mode
    const readOnly = new SqliteEventStore(copy, { readOnly: true });
    try {
      const one = await rebuildInto(store, path.join(dir, 'one.sqlite'));
      // The rebuild waiting for its thread to read the whole log; until 2026-11-28 (eighteenth session) the thread opened the file to write, and set it to WAL mode.
      const head = (await readOnly.headPosition())!;
      const { result: two } = await rebuildWaiting(path.join(dir, 'two.sqlite'), (t) => t.checked(head), readOnly);
      expect(two).toEqual({ ...one, file: path.join(dir, 'two.sqlite') });
      expect(dumpOf(two.file)).toEqual(dumpOf(one.file));
    } finally {
      await readOnly.dispose();
    }
    expect(fs.readFileSync(copy).equals(bytes)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('copy.sqlite'))).toEqual(['copy.sqlite']);
  }, 60_000);

  it('halts where one thread halts (a decision whose checks do not decode, an event whose JSON does not parse): the same halt, the same read models before it; rebuildInto leaves no file', async () => {
    const [first, , third, , fifth] = decisions();
    await edit("UPDATE events SET data = json_set(data, '$.srv', '6.15.2') WHERE position = ?", first);
    await edit(`UPDATE events SET data = json_set(data, '$.checks[4]', json('["pass", "x"]')) WHERE position = ?`, fifth); // only read whole does it fail to decode
    const alone = await project(path.join(dir, 'alone.sqlite'));
    expect(alone.halted).toMatchObject({ position: String(fifth), reason: expect.stringMatching(/not an instant/) });
    expect(await project(path.join(dir, 'beside.sqlite'), await threadThrough(file, BigInt(fifth - 1)))).toEqual(alone);
    const into = path.join(dir, 'into.sqlite');
    await expect(rebuildInto(store, into, undefined, { threads: 2 })).rejects.toThrow(alone.error!);
    expect(fs.existsSync(into)).toBe(false);

    await edit('UPDATE events SET data = substr(data, 1, 10) WHERE position = ?', third);
    const unparsed = await project(path.join(dir, 'alone-json.sqlite'));
    expect(unparsed.halted).toMatchObject({ position: String(third), reason: expect.stringMatching(/JSON does not parse/) });
    expect(await project(path.join(dir, 'beside-json.sqlite'), await threadThrough(file, BigInt(third - 1)))).toEqual(unparsed);
  }, 60_000);

  it('an event whose link check throws (metadata nested deeper than the hash can walk) is not claimed by the thread: the rebuild fails there as on one thread', async () => {
    const last = Number((await store.headPosition())!); // the last batch ends with it: a thread that claimed it would be taken at its word for that batch
    const raw = new Database(file);
    const { metadata } = raw.prepare<[number], { metadata: string }>('SELECT metadata FROM events WHERE position = ?').get(last)!;
    raw.close();
    const deep = `${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`;
    await edit('UPDATE events SET metadata = ? WHERE position = ?', `${metadata.slice(0, -1)},"deep":${deep}}`, last);
    const alone = await project(path.join(dir, 'alone.sqlite'));
    expect(alone.error).toMatch(/Maximum call stack size exceeded/);
    const thread = await threadThrough(file, BigInt(last - 1));
    expect(await project(path.join(dir, 'beside.sqlite'), thread)).toEqual(alone);
    expect(thread.stopped).toMatch(new RegExp(`^the check thread stopped \\(it failed after position ${last - 1}: Maximum call stack size exceeded\\)`));
  }, 60_000);

  describe('a thread that fails, dies or cannot start', () => {
    /** rebuildInto on two threads with the check thread's worker running `code` (or from `file`), the rebuild waiting until the thread has stopped. */
    const rebuildBeside = async (name: string, worker: { code: string } | { file: string }) => {
      const file = 'file' in worker ? worker.file : path.join(dir, `${name}-worker.js`);
      if ('code' in worker) fs.writeFileSync(file, worker.code);
      jest.spyOn(entries, 'workerEntry').mockReturnValue({ file });
      return (await rebuildWaiting(path.join(dir, `${name}.sqlite`), (t) => t.stopped !== undefined)).result;
    };

    it.each`
      how                                    | worker                                                                                                  | why
      ${'throws'}                            | ${{ code: "throw new Error('disk on fire');\n" }}                                                      | ${/^the check thread stopped \(it failed after position 0: disk on fire\): the rebuilding thread checked the rest$/}
      ${'exits'}                             | ${{ code: 'process.exit(3);\n' }}                                                                      | ${/^the check thread stopped \(it exited \(code 3\) after position 0\)/}
      ${'posts a failure after some events'} | ${{ code: "require('node:worker_threads').parentPort.postMessage({ through: '4', breaks: [], texts: [], failed: 'SQLITE_IOERR' });\n" }} | ${/^the check thread stopped \(it failed after position 4: SQLITE_IOERR\)/}
      ${'cannot start'}                      | ${{ file: 'no-such-worker.js' }}                                                                        | ${/^the check thread stopped \(it could not start: The worker script or module filename must be an absolute path/}
    `('a thread that $how: the rebuild completes, with the read models one thread builds, and its result says why the thread stopped', async ({ how, worker, why }) => {
      const one = await rebuildInto(store, path.join(dir, 'one.sqlite'));
      const two = await rebuildBeside(how.replace(/ /g, '-'), worker);
      expect(two).toEqual({ ...one, file: two.file, checkThread: expect.stringMatching(why) });
      expect(dumpOf(two.file)).toEqual(dumpOf(one.file));
    }, 60_000);

    it('a thread that cannot start: the rebuild says it takes one thread, so the jobs give the other back', async () => {
      jest.spyOn(entries, 'workerEntry').mockReturnValue({ file: 'no-such-worker.js' });
      const told: number[] = [];
      await rebuildInto(store, path.join(dir, 'unstarted.sqlite'), undefined, { threads: 2, onThreads: (n) => told.push(n) });
      expect(told).toEqual([1]);
    });
  });

  it('a thread that ended early (here: it read a copy of the log taken before its last events) leaves the rest to the rebuilding thread, which reads and checks it as it does alone', async () => {
    const [first] = decisions();
    await edit("UPDATE events SET data = json_set(data, '$.srv', '6.15.2') WHERE position = ?", first);
    const copy = path.join(dir, 'early.sqlite');
    const raw = new Database(file);
    raw.exec(`VACUUM INTO '${copy}'`);
    const copyHead = raw.prepare<[], { head: number }>('SELECT max(position) AS head FROM events').get()!.head;
    raw.close();
    for (let i = 9; i <= 12; i++) await submit(i); // events the thread does not see
    const alone = await project(path.join(dir, 'alone.sqlite'));
    const thread = await threadThrough(copy, BigInt(copyHead));
    const here = checkedHere();
    expect(await project(path.join(dir, 'beside.sqlite'), thread)).toEqual(alone);
    expect(here).toHaveBeenCalled();
  }, 60_000);

  it('ends with the rebuild, whether it succeeds or fails', async () => {
    const stop = jest.spyOn(CheckThread.prototype, 'stop');
    await rebuildInto(store, path.join(dir, 'ok.sqlite'), undefined, { threads: 2 });
    expect(stop).toHaveBeenCalledTimes(1);
    await expect(stop.mock.results[0].value).resolves.toBeUndefined();
    await edit("UPDATE events SET data = json_set(data, '$.schemaVersion', 99) WHERE position = ?", decisions()[0]);
    await expect(rebuildInto(store, path.join(dir, 'failed.sqlite'), undefined, { threads: 2 })).rejects.toThrow(/cannot be read/);
    expect(stop).toHaveBeenCalledTimes(2);
  }, 60_000);

  it("rebuildInto on two threads takes its thread's word: a rebuild that waits for the thread to get through the log checks no link on the rebuilding thread", async () => {
    const head = (await store.headPosition())!;
    const here = checkedHere();
    const one = await rebuildInto(store, path.join(dir, 'wired-one.sqlite'));
    expect(here).toHaveBeenCalled();
    here.mockClear();
    const { thread } = await rebuildWaiting(path.join(dir, 'wired-two.sqlite'), (t) => t.checked(head));
    expect(thread?.checked(head)).toBe(true);
    expect(here).not.toHaveBeenCalled();
    expect(dumpOf(path.join(dir, 'wired-two.sqlite'))).toEqual(dumpOf(one.file));
  }, 60_000);

  it('says how many threads it takes: two on its SQLite file, one on a store in memory (a job gives the other back)', async () => {
    const told: number[] = [];
    await rebuildInto(store, path.join(dir, 'told.sqlite'), undefined, { threads: 2, onThreads: (n) => told.push(n) });
    const memory = new SqliteEventStore(':memory:');
    try {
      await rebuildInto(memory, path.join(dir, 'told-memory.sqlite'), undefined, { threads: 2, onThreads: (n) => told.push(n) });
    } finally {
      await memory.dispose();
    }
    expect(told).toEqual([2, 1]);
  }, 60_000);
});
