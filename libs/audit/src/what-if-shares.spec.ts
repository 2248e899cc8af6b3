import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getRuleSet, parseServiceRequest, type RuleSet, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore, UnreadableEventError, type EventStore, type ReadAllOptions, type RecordedEvent } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { replayDecision } from './replay';
import { readEvent } from './stream-folds';
import { watched } from './testing/watched-worker';
import { verifyStore } from './tamper';
import { inShares, MAX_SHARED_OFFSET, scanShare, threadsFor, whatIf, type WhatIfFilter, type WhatIfPage } from './what-if';

/**
 * A what-if judged in shares (the device streams split between threads) gives the report one pass
 * gives, to the byte: counts, the order of bySrv and byCode, the changed decisions listed and their
 * paging, windows, filters, and the failure met first. Most cases run the shares on this thread
 * (inShares, as whatIf does with worker threads); the last ones on real worker threads.
 */
const ctx = { actor: 'test' };

describe('a what-if in shares reports what one pass reports', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;
  let head: bigint;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-whatif-shares-'));
    file = path.join(dir, 'ledger.sqlite');
    store = new SqliteEventStore(file);
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await runDemo(ledger, { devices: 120, wrongNoShare: 0.3, seed: 11 });
    // Late changes: the network operator of the meter point of some refused renewals changes to
    // their sender (a registration change), and they are sent again; a correction of a device's
    // certificate; a user suspended; so later decisions read later states of shared streams.
    const refused: ServiceRequestEvaluatedV1[] = [];
    for await (const e of store.readAll()) {
      const d = e.type === 'ServiceRequestEvaluated' ? (readEvent(e, {})!.data as ServiceRequestEvaluatedV1) : undefined;
      if (d && d.request.srv === '6.15.1' && d.responseCode !== 'I0') refused.push(d);
    }
    expect(refused.length).toBeGreaterThan(4);
    for (const [i, d] of refused.slice(0, 6).entries()) {
      const mp = Object.keys(d.revisionsRead).find((s) => s.startsWith('meterpoint-'))!.slice('meterpoint-'.length);
      await ledger.recordRegistration({ mpxn: mp, responsibility: 'networkOperator', partyUserId: d.request.originator, effectiveFrom: '2024-06-01', recordId: `late-${i}` }, ctx);
      const cert = d.request.certificates[0];
      if (i === 0) await ledger.placeCertificate({ deviceId: d.request.target, slot: 'networkOperator.critical', certificate: { ...cert, serial: 'C0AA01' }, via: { kind: 'operatorCorrection', reference: 'OPS-1' }, placedAt: '2024-06-02' }, ctx);
      await ledger.submit(parseServiceRequest({ srv: '6.15.1', requestId: `${d.request.originator}:${d.request.target}:9${i}`, remotePartyRole: 'NetworkOperator', certificates: d.request.certificates, receivedAt: '2024-07-01T00:00:00Z', format: 'json' }), ctx);
    }
    await ledger.registerUserRole({ userId: refused[0].request.originator, role: 'ED', status: 'Suspended', effectiveFrom: '2024-08-01' }, ctx);
    await ledger.submit(parseServiceRequest({ srv: '6.15.1', requestId: `${refused[0].request.originator}:${refused[0].request.target}:99`, remotePartyRole: 'NetworkOperator', certificates: refused[0].request.certificates, receivedAt: '2024-09-01T00:00:00Z', format: 'json' }), ctx);
    head = (await store.headPosition())!;
  });
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The report of `count` shares run on this thread, on connections of their own. */
  const shared = async (on: EventStore, storeFile: string, count: number, ruleSet: RuleSet | undefined, filter: WhatIfFilter = {}, page: WhatIfPage = {}, onProgress?: (n: number) => void, lastRead?: bigint[]) => {
    const input = { store: { kind: 'sqlite' as const, path: storeFile }, ruleSet, filter, page };
    const others: SqliteEventStore[] = [];
    try {
      return await inShares(on, input, count, onProgress, async (share, marked) => {
        const other = new SqliteEventStore(storeFile);
        others.push(other);
        if (lastRead) {
          // The last position each other share's read gave it, a page of one event at a time (so the shares on this thread take turns by rows).
          const readAllPages = other.readAllPages.bind(other);
          other.readAllPages = async function* (options) {
            for await (const page of readAllPages(options)) {
              for (const e of page) {
                lastRead[share.index] = e.position;
                yield [e];
              }
            }
          };
        }
        return scanShare(other, marked, share);
      });
    } finally {
      for (const o of others) await o.dispose();
    }
  };
  /** The report as JSON, key order included. */
  const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  const same = async (ruleSet: RuleSet | undefined, filter: WhatIfFilter = {}, page: WhatIfPage = {}) => {
    const one = json(await whatIf(store, ruleSet, filter, page));
    for (const count of [2, 3, 5]) expect({ count, report: json(await shared(store, file, count, ruleSet, filter, page)) }).toEqual({ count, report: one });
    return JSON.parse(one) as { judged: number; changes: { total: number; items: unknown[] }; bySrv: Record<string, unknown>; byCode: Record<string, number> };
  };

  it.each([['as recorded'], ['baseline'], ['ownership-only'], ['registered-operator'], ['baseline@1']])('under %s, every change listed in log order', async (name) => {
    const r = await same(name === 'as recorded' ? undefined : getRuleSet(name), {}, { limit: 10_000 });
    expect(r.judged).toBeGreaterThan(100);
    expect(Object.keys(r.bySrv).length).toBeGreaterThan(1);
  });

  it('pages of the changed decisions, the default page and one past the end', async () => {
    const all = await same(getRuleSet('ownership-only'), {}, { limit: 10_000 });
    expect(all.changes.total).toBeGreaterThan(10);
    for (const page of [{}, { offset: 0, limit: 1 }, { offset: 3, limit: 4 }, { offset: all.changes.total - 2, limit: 5 }, { offset: all.changes.total + 1, limit: 3 }]) await same(getRuleSet('ownership-only'), {}, page);
  });

  it('filters: SRV, time of receipt, device, user', async () => {
    const d = JSON.parse(JSON.stringify(await whatIf(store, getRuleSet('registered-operator'), {}, { limit: 1 }))) as { changes: { items: Array<{ requestId: string }> } };
    const [originator, target] = d.changes.items[0].requestId.split(':');
    for (const filter of [{ srv: '6.15.1' }, { from: '2024-01-01T00:00:00.000Z', to: '2024-08-01T00:00:00.000Z' }, { userId: originator }, { deviceId: target }, { srv: '4.1.1', to: '2023-01-01T00:00:00.000Z' }]) {
      await same(getRuleSet('registered-operator'), filter, { limit: 50 });
    }
  });

  it('windows by position and by count of events: the same counts, the same window', async () => {
    const third = head / 3n;
    for (const page of [{ fromPosition: 1n }, { fromPosition: third, toPosition: 2n * third }, { fromPosition: third, maxEvents: 500 }, { maxEvents: 1 }, { fromPosition: 2n * third, toPosition: 2n * third + 10n, maxEvents: 5 }, { fromPosition: head + 10n }]) {
      await same(getRuleSet('ownership-only'), {}, { ...page, limit: 1000 });
      await same(undefined, {}, page);
    }
  });

  it('on a log that grows while the shares run, every share ends at the head the run began at', async () => {
    // A copy of the store, so the decisions appended here do not reach the other cases.
    const copyFile = path.join(dir, 'growing.sqlite');
    const source = new Database(file, { readonly: true });
    await source.backup(copyFile);
    source.close();
    const growing = new SqliteEventStore(copyFile);
    const others: SqliteEventStore[] = [];
    try {
      const before = json(await whatIf(growing, getRuleSet('ownership-only'), {}, { limit: 10_000 }));
      const through = (await growing.headPosition())!;
      const input = { store: { kind: 'sqlite' as const, path: copyFile }, ruleSet: getRuleSet('ownership-only'), filter: {}, page: { limit: 10_000 }, through };
      const d = JSON.parse(before) as { changes: { items: Array<{ requestId: string }> } };
      const [originator, target] = d.changes.items[0].requestId.split(':');
      const report = await inShares(growing, input, 3, undefined, async (share, marked) => {
        // Share 0 has read the whole log by now; more decisions land before the others start.
        const ledger = new Ledger(growing, getRuleSet('baseline'));
        for (let i = 0; i < 5; i++) await ledger.submit(parseServiceRequest({ srv: '4.1.1', requestId: `${originator}:${target}:7${share.index}${i}`, receivedAt: '2024-10-01T00:00:00Z', format: 'json' }), ctx);
        const other = new SqliteEventStore(copyFile);
        others.push(other);
        return scanShare(other, marked, share);
      });
      expect((await growing.headPosition())! > through).toBe(true);
      expect(json(report)).toEqual(before);
    } finally {
      for (const o of others) await o.dispose();
      await growing.dispose();
    }
  });

  it('progress: the events read, as one pass reports them', async () => {
    const one: number[] = [];
    const many: number[] = [];
    await whatIf(store, undefined, {}, {}, (n) => one.push(n));
    await shared(store, file, 3, undefined, {}, {}, (n) => many.push(n));
    expect(many).toEqual(one);
  });

  it("a share on SQLite is given only its own devices' events (and the other streams'), without their metadata: the others' rows are not fetched", async () => {
    const devicesOf: Array<Set<string>> = [];
    let given = 0;
    for (let index = 0; index < 3; index++) {
      const other = new SqliteEventStore(file);
      const readAllPages = other.readAllPages.bind(other);
      const devices = new Set<string>();
      other.readAllPages = async function* (options?: ReadAllOptions): AsyncIterable<RecordedEvent[]> {
        for await (const page of readAllPages(options)) {
          const events = [...page];
          given += events.length;
          for (const e of events) {
            expect(e.metadata).toEqual({});
            if (e.stream.startsWith('device-')) devices.add(e.stream);
          }
          yield events;
        }
      };
      await scanShare(other, { store: { kind: 'sqlite', path: file }, ruleSet: getRuleSet('ownership-only'), filter: {}, page: {} }, { count: 3, index });
      await other.dispose();
      devicesOf.push(devices);
    }
    const all = new Set<string>();
    for await (const e of store.readAll()) if (e.stream.startsWith('device-')) all.add(e.stream);
    expect(devicesOf.reduce((n, d) => n + d.size, 0)).toBe(all.size); // each device in one share only
    expect(new Set(devicesOf.flatMap((d) => [...d]))).toEqual(all);
    expect(given).toBeLessThan(3 * Number(head));
  });

  describe('an unreadable event stops the run where one pass stops, with the same error', () => {
    let copy: string;
    let broken: SqliteEventStore | undefined;
    let copies = 0;
    const positions = () => {
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT position, stream FROM events WHERE type IN ('ServiceRequestEvaluated', 'RegistrationChanged') ORDER BY position").all() as Array<{ position: number; stream: string }>;
      db.close();
      return rows;
    };
    /** The positions of the first `n` device events in a row that follow a row of another stream kind, of more than one device, after position 150. */
    const deviceRunAfterCommonRow = (n: number) => {
      const db = new Database(file, { readonly: true });
      const rows = db.prepare('SELECT position, stream FROM events WHERE position > 150 ORDER BY position').all() as Array<{ position: number; stream: string }>;
      db.close();
      const i = rows.findIndex((r, k) => !r.stream.startsWith('device-') && rows.slice(k + 1, k + 1 + n).every((x) => x.stream.startsWith('device-')) && new Set(rows.slice(k + 1, k + 1 + n).map((x) => x.stream)).size > 1);
      expect(i).toBeGreaterThanOrEqual(0);
      return rows.slice(i + 1, i + 1 + n).map((r) => r.position);
    };
    const breakAt = (at: number[], how: 'json' | 'version') => {
      copy = path.join(dir, `broken-${++copies}.sqlite`);
      fs.copyFileSync(file, copy);
      const db = new Database(copy);
      for (const p of at) db.prepare(how === 'json' ? "UPDATE events SET data = '{broken' WHERE position = ?" : "UPDATE events SET data = json_set(data, '$.schemaVersion', 99) WHERE position = ?").run(p);
      db.close();
      broken = new SqliteEventStore(copy);
      return broken;
    };
    afterEach(async () => {
      await broken?.dispose();
      broken = undefined;
    });

    it.each([
      ['a decision that does not parse', 'json', (rows: Array<{ position: number; stream: string }>) => [rows.find((r) => r.stream.startsWith('device-') && r.position > 200)!.position]],
      ['a decision of an unknown schema version', 'version', (rows: Array<{ position: number; stream: string }>) => [rows.find((r) => r.stream.startsWith('device-') && r.position > 300)!.position]],
      ['a registration change (every share reads it)', 'json', (rows: Array<{ position: number; stream: string }>) => [rows.find((r) => r.stream.startsWith('meterpoint-') && r.position > 250)!.position]],
      ['many broken decisions, in every share: the first in the log counts', 'json', (rows: Array<{ position: number; stream: string }>) => rows.filter((r) => r.stream.startsWith('device-') && r.position > 100).filter((_, i) => i % 7 === 3).map((r) => r.position).reverse()],
      // After a row every share reads, a run of device events, each broken: each share's last row
      // read is that common one, so only the broken row's own position says which is first.
      ['broken events one after the other, of devices in different shares, after a row every share reads', 'json', () => deviceRunAfterCommonRow(6)],
    ] as const)('%s', async (_case, how, pick) => {
      const s = breakAt(pick(positions()), how);
      for (const ruleSet of [undefined, getRuleSet('ownership-only')]) {
        const one = await whatIf(s, ruleSet).catch((e: unknown) => e as Error);
        expect(one).toBeInstanceOf(Error);
        for (const count of [2, 3]) {
          const many = await shared(s, copy, count, ruleSet).catch((e: unknown) => e as Error);
          expect({ count, kind: (many as Error).constructor.name, message: (many as Error).message }).toEqual({ count, kind: (one as Error).constructor.name, message: (one as Error).message });
        }
      }
    });
  });

  it('a decision of an unknown version before an event that does not parse, in the same page of the read: the run fails at the first of them, one pass and shares', async () => {
    const db = new Database(file, { readonly: true });
    const [first, second] = db.prepare("SELECT position FROM events WHERE type = 'ServiceRequestEvaluated' AND position > 100 ORDER BY position LIMIT 2 OFFSET 3").all() as Array<{ position: number }>;
    db.close();
    const copy = path.join(dir, 'broken-in-one-page.sqlite');
    fs.copyFileSync(file, copy);
    const raw = new Database(copy);
    raw.prepare("UPDATE events SET data = json_set(data, '$.schemaVersion', 99) WHERE position = ?").run(first.position);
    raw.prepare("UPDATE events SET data = '{broken' WHERE position = ?").run(second.position);
    raw.close();
    expect(Math.floor((first.position - 1) / 500)).toBe(Math.floor((second.position - 1) / 500));
    const s = new SqliteEventStore(copy);
    try {
      for (const ruleSet of [undefined, getRuleSet('ownership-only')]) {
        const one = (await whatIf(s, ruleSet).catch((e: unknown) => e)) as UnreadableEventError;
        expect(one).toBeInstanceOf(UnreadableEventError);
        expect(one.position).toBe(BigInt(first.position));
        for (const count of [2, 3]) expect(((await shared(s, copy, count, ruleSet).catch((e: unknown) => e)) as Error).message).toBe(one.message);
      }
    } finally {
      await s.dispose();
    }
  });

  it('a metadata that does not parse fails no what-if, whatever folds are kept (maxFolds, shares); verify reports it and a replay reading it still stops', async () => {
    // The first event of a sender's stream: a what-if keeping two folds reads it back for each of the sender's decisions.
    let decision: ServiceRequestEvaluatedV1 | undefined;
    for await (const e of store.readAll()) if (e.type === 'ServiceRequestEvaluated' && !decision) decision = readEvent(e, {})!.data as ServiceRequestEvaluatedV1;
    const copy = path.join(dir, 'broken-metadata.sqlite');
    const source = new Database(file, { readonly: true });
    await source.backup(copy); // with what is still in the WAL
    source.close();
    const db = new Database(copy);
    db.prepare("UPDATE events SET metadata = '{broken' WHERE stream = ? AND revision = 0").run(`user-${decision!.request.originator}`);
    // And the first event of every device stream: a fold dropped (maxFolds) is read back when its stream's next event comes.
    db.prepare("UPDATE events SET metadata = '{broken' WHERE revision = 0 AND stream LIKE 'device-%'").run();
    db.close();
    const broken = new SqliteEventStore(copy);
    const others: SqliteEventStore[] = [];
    try {
      for (const ruleSet of [undefined, getRuleSet('ownership-only')]) {
        const one = json(await whatIf(broken, ruleSet));
        expect(one).toBe(json(await whatIf(store, ruleSet))); // as on the intact store
        expect(json(await whatIf(broken, ruleSet, {}, {}, undefined, { maxFolds: 2 }))).toBe(one);
        for (const count of [2, 3]) {
          const input = { store: { kind: 'sqlite' as const, path: copy }, ruleSet, filter: {}, page: {}, maxFolds: 2 };
          const report = await inShares(broken, input, count, undefined, async (share, marked) => {
            const other = new SqliteEventStore(copy);
            others.push(other);
            return scanShare(other, marked, share);
          });
          expect({ count, report: json(report) }).toEqual({ count, report: one });
        }
      }
      expect((await verifyStore(broken)).unreadable).toContainEqual(expect.objectContaining({ stream: `user-${decision!.request.originator}`, revision: '0' }));
      await expect(replayDecision(broken, decision!)).rejects.toThrow(UnreadableEventError);
    } finally {
      for (const o of others) await o.dispose();
      await broken.dispose();
    }
  });

  it("a window's shares read no event past the window: one that cannot be read there is no failure of the window, as in one pass", async () => {
    // The window ends at a device's decision; the next event (another device's) is whole, all after it broken.
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT position, stream FROM events WHERE position > 100 ORDER BY position').all() as Array<{ position: number; stream: string }>;
    db.close();
    const k = rows.findIndex((r, i) => r.stream.startsWith('device-') && rows[i + 1]?.stream.startsWith('device-') && rows[i + 1].stream !== r.stream);
    const last = rows[k].position;
    const copy = path.join(dir, 'broken-past-window.sqlite');
    fs.copyFileSync(file, copy);
    const w = new Database(copy);
    w.prepare("UPDATE events SET data = '{broken' WHERE position > ? AND position <= ?").run(last + 1, last + 40);
    w.close();
    const broken = new SqliteEventStore(copy);
    try {
      const page = { maxEvents: last };
      const one = json(await whatIf(broken, undefined, {}, page));
      expect(JSON.parse(one).window).toMatchObject({ eventsRead: last, lastPosition: String(last), nextPosition: String(last + 1) });
      for (const count of [2, 3]) expect({ count, report: json(await shared(broken, copy, count, undefined, {}, page)) }).toEqual({ count, report: one });
    } finally {
      await broken.dispose();
    }
  });

  it('a share that failed stops the others once they are past where it failed (nothing they meet later can be the failure met first)', async () => {
    const broken = path.join(dir, 'broken-early.sqlite');
    fs.copyFileSync(file, broken);
    const db = new Database(broken);
    const early = (db.prepare("SELECT position FROM events WHERE stream LIKE 'device-%' AND position > 60 ORDER BY position LIMIT 1").get() as { position: number }).position;
    db.prepare("UPDATE events SET data = '{broken' WHERE position = ?").run(early);
    db.close();
    const s = new SqliteEventStore(broken);
    try {
      const one = (await whatIf(s, undefined).catch((e: unknown) => e)) as Error;
      for (const count of [2, 3]) {
        const lastRead: bigint[] = [];
        const many = (await shared(s, broken, count, undefined, {}, {}, undefined, lastRead).catch((e: unknown) => e)) as Error;
        expect(many.message).toBe(one.message);
        // Every share runs on this thread here, a row at a time each, so the others stop within a few rows of it.
        for (let i = 1; i < count; i++) expect({ count, share: i, stoppedNear: lastRead[i] !== undefined && lastRead[i] < BigInt(early) + 40n }).toEqual({ count, share: i, stoppedNear: true });
      }
      expect(head).toBeGreaterThan(BigInt(early) + 400n);
    } finally {
      await s.dispose();
    }
  });

  describe('on worker threads', () => {
    it('whatIf on threads: the same report; with a broken event, the same error', async () => {
      const told: number[] = [];
      const options = { threads: 2, eventsPerThread: 1, store: { kind: 'sqlite' as const, path: file }, onThreads: (n: number) => told.push(n) };
      expect(await whatIf(store, getRuleSet('ownership-only'), {}, { offset: 2, limit: 7 }, undefined, options)).toEqual(await whatIf(store, getRuleSet('ownership-only'), {}, { offset: 2, limit: 7 }));
      expect(told).toEqual([2]);
      const copy = path.join(dir, 'broken-on-workers.sqlite');
      fs.copyFileSync(file, copy);
      const db = new Database(copy);
      const rows = db.prepare("SELECT position FROM events WHERE stream LIKE 'device-%' ORDER BY position").all() as Array<{ position: number }>;
      for (const r of rows.filter((_, i) => i % 40 === 39)) db.prepare("UPDATE events SET data = '{broken' WHERE position = ?").run(r.position);
      db.close();
      const broken = new SqliteEventStore(copy);
      try {
        const one = await whatIf(broken, undefined).catch((e: unknown) => e as Error);
        const many = await whatIf(broken, undefined, {}, {}, undefined, { threads: 3, eventsPerThread: 1, store: { kind: 'sqlite', path: copy } }).catch((e: unknown) => e as Error);
        expect(one).toBeInstanceOf(UnreadableEventError);
        expect(many).toBeInstanceOf(UnreadableEventError);
        expect((many as Error).message).toBe((one as Error).message);
      } finally {
        await broken.dispose();
      }
    });

    it('a log shorter than eventsPerThread a thread is judged on fewer threads: none is started for a short one', () => {
      expect(threadsFor(4, head, {})).toBe(1); // the default: 100,000 events a thread
      expect(threadsFor(4, head, { maxEvents: 50 }, 100)).toBe(1);
      expect(threadsFor(4, head, { fromPosition: head - 50n }, 100)).toBe(1);
      expect(threadsFor(4, head, { toPosition: 150n }, 100)).toBe(2);
      expect(threadsFor(2, head, {}, Number(head) / 2)).toBe(2);
      expect(threadsFor(4, head, {}, 1)).toBe(4);
    });

    it('a page of changed decisions past MAX_SHARED_OFFSET gets one thread (threadsFor), so what a share keeps (every change up to offset + limit) stays bounded; such a page is answered as one pass answers it', async () => {
      expect(threadsFor(4, head, { offset: MAX_SHARED_OFFSET }, 1)).toBe(4);
      expect(threadsFor(4, head, { offset: MAX_SHARED_OFFSET + 1, limit: 5 }, 1)).toBe(1);
      expect(threadsFor(4, head, { offset: 10 ** 9 }, 1)).toBe(1);
      const ownership = getRuleSet('ownership-only');
      const all = await whatIf(store, ownership, {}, { limit: 1000 });
      const deep = { offset: MAX_SHARED_OFFSET + 1, limit: 5 };
      expect(await whatIf(store, ownership, {}, deep, undefined, { threads: 3, eventsPerThread: 1, store: { kind: 'sqlite', path: file } })).toEqual({ ...all, changes: { total: all.changes.total, offset: deep.offset, items: [] } });
    });

    it("a share's worker thread, having judged its share, has loaded neither Nest nor the EventStoreDB client (the event store library's index): its start is mostly loading code", async () => {
      const w = watched(path.join(__dirname, 'what-if-worker.ts'));
      let worker: Worker | undefined;
      try {
        const started = (worker = new Worker(w.entry.file, { execArgv: w.entry.execArgv, workerData: { input: { store: { kind: 'sqlite', path: file }, ruleSet: getRuleSet('ownership-only'), filter: {}, page: {} }, share: { count: 2, index: 1 } } }));
        const scan = await new Promise<{ report: { judged: number } }>((resolve, reject) => started.once('message', resolve).once('error', reject));
        expect(scan.report.judged).toBeGreaterThan(0);
        const { loaded } = await w.told(1);
        expect(loaded.some((f) => f.endsWith(path.join('audit', 'src', 'what-if.ts')))).toBe(true);
        expect(loaded.some((f) => f.endsWith(path.join('event-store', 'src', 'sqlite-event-store.ts')))).toBe(true);
        expect(loaded.filter((f) => /@nestjs|@eventstore|event-store[\\/]src[\\/](index|esdb-event-store|event-store\.module)\.ts$/.test(f))).toEqual([]);
      } finally {
        await worker?.terminate();
        w.close();
      }
    });

    it('a store in memory is judged on one thread, and the run says so (onThreads: a job gives the rest back)', async () => {
      const memory = new SqliteEventStore(':memory:');
      await runDemo(new Ledger(memory, getRuleSet('baseline')), { devices: 10, seed: 3 });
      const told: number[] = [];
      const r = await whatIf(memory, undefined, {}, {}, undefined, { threads: 4, eventsPerThread: 1, store: { kind: 'sqlite', path: ':memory:' }, onThreads: (n) => told.push(n) });
      expect(told).toEqual([1]);
      expect(r).toMatchObject({ notReproduced: 0 });
      expect(r.judged).toBeGreaterThan(5);
      await memory.dispose();
    });

    it("threads are given the store's own file only: another path is judged as one pass over the store, and no file is made there", async () => {
      const elsewhere = path.join(dir, 'typo', 'ledger.sqlite');
      const one = json(await whatIf(store, undefined));
      expect(json(await whatIf(store, undefined, {}, {}, undefined, { threads: 3, eventsPerThread: 1, store: { kind: 'sqlite', path: elsewhere } }))).toBe(one);
      expect(fs.existsSync(elsewhere)).toBe(false);
    });

    it('a log with a row deleted (a gap in its positions) is judged as one pass: the shares count windows by positions', async () => {
      const gap = path.join(dir, 'gap.sqlite');
      fs.copyFileSync(file, gap);
      const db = new Database(gap);
      db.prepare('DELETE FROM events WHERE position IN (20, 21)').run();
      db.close();
      const s = new SqliteEventStore(gap);
      try {
        expect(s.positionsGapless()).toBe(false);
        expect(store.positionsGapless()).toBe(true);
        const page = { maxEvents: 60 };
        const one = json(await whatIf(s, undefined, {}, page));
        expect(json(await whatIf(s, undefined, {}, page, undefined, { threads: 3, eventsPerThread: 1, store: { kind: 'sqlite', path: gap } }))).toBe(one);
      } finally {
        await s.dispose();
      }
    });
  });
});
