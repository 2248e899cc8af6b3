import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, RULE_SETS } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { openReadModels, Projector, queriesOf, type ProjectionWriter } from '@ledger/projections';
import { StuckReports } from './reports';
import { replayDecision } from './replay';
import { whatIf } from './what-if';
import { DigestPastHeadError, digestAt, verifyStore } from './tamper';

describe('replay and audit of a demo estate', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ProjectionWriter;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-audit-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 300, wrongNoShare: 0.3, seed: 7 });
    readModels = openReadModels(path.join(dir, 'readmodels.sqlite'));
    await new Projector(store, readModels).catchUp();
  });
  afterAll(async () => {
    readModels.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const allDecisions = () => queriesOf(readModels).decisions.decisions({ limit: 1000 }).items;
  const stuckReports = () => new StuckReports(queriesOf(readModels));

  it('replay reproduces every recorded decision exactly', async () => {
    const decisions = allDecisions();
    expect(decisions.length).toBeGreaterThan(300);
    const asRecorded = await whatIf(store, undefined);
    expect(asRecorded).toMatchObject({ judged: decisions.length, unchanged: decisions.length, notReproduced: 0 });
    for (const d of decisions.filter((_, i) => i % 25 === 0)) {
      const r = await replayDecision(store, d.decision);
      expect({ requestId: r.requestId, identical: r.identical, differences: r.differences }).toEqual({ requestId: d.requestId, identical: true, differences: [] });
    }
  });

  it.each(RULE_SETS.map((r) => [r.id]))('what-if under %s counts what a direct re-evaluation of each decision finds', async (name) => {
    const ruleSet = getRuleSet(name);
    const report = await whatIf(store, ruleSet, {}, { limit: 1000 });
    let flipsUp = 0;
    let flipsDown = 0;
    const changed: string[] = [];
    for (const d of allDecisions()) {
      const r = await replayDecision(store, d.decision, ruleSet);
      if (r.replayed.responseCode !== d.responseCode) changed.push(d.requestId);
      if (d.outcome === 'rejected' && r.replayed.outcome === 'accepted') flipsUp++;
      if (d.outcome === 'accepted' && r.replayed.outcome === 'rejected') flipsDown++;
    }
    expect(report.changed.rejectedToAccepted).toBe(flipsUp);
    expect(report.changed.acceptedToRejected).toBe(flipsDown);
    expect(report.changes.items.map((c) => c.requestId).sort()).toEqual(changed.sort());
    if (name !== 'baseline') expect(flipsUp).toBeGreaterThan(0);
    else expect(changed).toEqual([]);
  });

  it('with room for only a few folds in memory, a what-if reads evicted streams back and counts the same', async () => {
    const roomy = await whatIf(store, getRuleSet('ownership-only'));
    const tight = await whatIf(store, getRuleSet('ownership-only'), {}, {}, undefined, { maxFolds: 5 });
    expect(tight).toEqual(roomy);
    expect(await whatIf(store, undefined, {}, {}, undefined, { maxFolds: 5 })).toMatchObject({ notReproduced: 0, unchanged: roomy.judged });
  });

  it('a what-if can be narrowed to one SRV and a time range', async () => {
    const all = await whatIf(store, getRuleSet('registered-operator'));
    const only = await whatIf(store, getRuleSet('registered-operator'), { srv: '6.15.1', from: '2024-01-01T00:00:00.000Z', to: '2025-12-31T00:00:00.000Z' });
    expect(only.judged).toBe(all.bySrv['6.15.1'].judged);
    expect(only.changed).toEqual(all.changed);
  });

  it('the stuck-device report under each rule set agrees with the what-if: baseline repairs none', () => {
    const at = '2025-06-01T00:00:00.000Z';
    const baseline = stuckReports().asOf(at, getRuleSet('baseline'));
    expect(baseline.length).toBeGreaterThan(0);
    expect(baseline.filter((d) => d.repairable)).toEqual([]);
    expect(stuckReports().asOf(at, getRuleSet('ownership-only')).filter((d) => d.repairable).length).toBeGreaterThan(0);
  });
});

describe('the demo estate', () => {
  it('depends on its seed only: run one at a time or 16 at once, the store digests the same', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-demo-'));
    try {
      const digests = [];
      for (const concurrency of [1, 16]) {
        const store = new SqliteEventStore(path.join(dir, `c${concurrency}.sqlite`));
        try {
          await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 60, seed: 11, concurrency });
          digests.push((await digestAt(store)).digest);
        } finally {
          await store.dispose();
        }
      }
      expect(digests[0]).toBe(digests[1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tamper evidence', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-tamper-'));
    file = path.join(dir, 'ledger.sqlite');
    const store = new SqliteEventStore(file);
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 20, seed: 3, concurrency: 1 });
    } finally {
      await store.dispose();
    }
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Changes the file behind the store's back, as an attacker with the file would. */
  const tamper = (sql: string) => {
    const db = new Database(file);
    let changes: number;
    try {
      changes = db.prepare(sql).run().changes;
    } finally {
      db.close();
    }
    expect(changes).toBe(1);
  };
  const withStore = async <T>(fn: (s: SqliteEventStore) => Promise<T>) => {
    const s = new SqliteEventStore(file);
    try {
      return await fn(s);
    } finally {
      await s.dispose();
    }
  };

  it('an untouched store verifies', async () => {
    expect(await withStore(verifyStore)).toMatchObject({ ok: true, breaks: [] });
  });

  it('an edited event (the owner of a placed certificate rewritten) is detected at that event', async () => {
    tamper(`UPDATE events SET data = json_set(data, '$.certificate.ownerUserId', '90-B3-D5-1F-30-03-00-99') WHERE stream = 'device-00-DB-00-00-00-05-00-01' AND revision = 1`);
    const r = await withStore(verifyStore);
    expect(r.ok).toBe(false);
    expect(r.breaks).toEqual([expect.objectContaining({ stream: 'device-00-DB-00-00-00-05-00-01', kind: 'hash-mismatch', revision: '1' })]);
  });

  it('a deleted event is detected at its successor', async () => {
    tamper(`DELETE FROM events WHERE stream = 'device-00-DB-00-00-00-05-00-01' AND revision = 1`);
    const r = await withStore(verifyStore);
    expect(r.breaks).toEqual([expect.objectContaining({ stream: 'device-00-DB-00-00-00-05-00-01', kind: 'revision-gap', revision: '2', expectedRevision: '1' })]);
  });

  it("a stream's deleted last event escapes the chain, but not the log's positions nor a kept digest", async () => {
    const kept = await withStore((s) => digestAt(s));
    let last = '';
    await withStore(async (s) => {
      for await (const e of s.readStream('device-00-DB-00-00-00-05-00-01')) last = e.position.toString();
    });
    tamper(`DELETE FROM events WHERE position = (SELECT MAX(position) FROM events WHERE stream = 'device-00-DB-00-00-00-05-00-01')`);
    expect(await withStore(verifyStore)).toMatchObject({ ok: false, breaks: [], missing: [{ from: last, to: last }] });
    const now = await withStore((s) => digestAt(s, BigInt(kept.position)));
    expect(now.digest).not.toBe(kept.digest);
  });

  it('the last events of the log deleted: a digest kept at the old head is refused past the new one, saying events were removed', async () => {
    const kept = await withStore((s) => digestAt(s));
    tamper(`DELETE FROM events WHERE position = (SELECT MAX(position) FROM events)`);
    await expect(withStore((s) => digestAt(s, BigInt(kept.position)))).rejects.toThrow(/past the log's head .*have been removed since/);
  });

  it('a digest past the head is refused, so that no digest kept changes with the next append (a false alarm)', async () => {
    const head = (await withStore((s) => digestAt(s))).position;
    await expect(withStore((s) => digestAt(s, BigInt(head) + 1n))).rejects.toThrow(new DigestPastHeadError(BigInt(head) + 1n, BigInt(head)));
    const kept = await withStore((s) => digestAt(s, BigInt(head)));
    await withStore((s) => new Ledger(s, getRuleSet('baseline')).registerUserRole({ userId: '90-B3-D5-1F-30-03-00-77', role: 'ED', effectiveFrom: '2019-01-01' }, { actor: 'test' }));
    expect(await withStore((s) => digestAt(s, BigInt(head)))).toEqual(kept);
    const empty = new SqliteEventStore(':memory:');
    await expect(digestAt(empty, 1n)).rejects.toThrow("position 1 is past the log's head (the log is empty)");
    expect(await digestAt(empty, 0n)).toMatchObject({ position: '0', events: 0 });
    await empty.dispose();
  });
});
