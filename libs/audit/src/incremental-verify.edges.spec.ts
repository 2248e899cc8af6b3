import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { openReadModels, Projector, queriesOf, type ProjectionWriter } from '@ledger/projections';
import { CheckThread } from '@ledger/projections/processor/check-thread';
import { ESME, NO_A, NO_B, recordOneEsme, replaceNoCredentials } from '../../ledger/src/testing/one-esme';
import { verifyStore } from './tamper';

/**
 * The incremental verification (the chain check run as the projector applies each batch) reports a
 * stored text that gives a key twice in one object, as `ledger verify` does: a `stored-text-mismatch`
 * naming the event and the key, beside its stream's first broken link. Whatever way the projector
 * meets the event: catching up, live, rebuilding, or a rebuild's check thread having read it first.
 */
describe('the incremental verification of a stored text that gives a key twice', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-incremental-'));
    file = path.join(dir, 'ledger.sqlite');
    const store = new SqliteEventStore(file);
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B);
    for (let i = 1; i <= 3; i++) await replaceNoCredentials(ledger, NO_A, i, `2024-03-0${i}T00:00:00Z`);
    await store.dispose();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const until = async (done: () => boolean) => {
    for (let waited = 0; !done(); waited += 10) {
      if (waited > 10_000) throw new Error('not within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** The ways the projector meets the log's events, each into read models of its own. */
  const ways: Record<string, (store: SqliteEventStore, writer: ProjectionWriter) => Promise<void>> = {
    'catching up': async (store, writer) => void (await new Projector(store, writer, { batchSize: 2 }).catchUp()),
    live: async (store, writer) => {
      const projector = new Projector(store, writer, { batchSize: 2 });
      const head = await store.headPosition();
      projector.start();
      try {
        await until(() => projector.position === head);
      } finally {
        await projector.stop();
      }
    },
    rebuilding: async (store, writer) => void (await new Projector(store, writer).rebuild()),
    "taking a rebuild's check thread's word": async (store, writer) => {
      const thread = new CheckThread(file);
      const head = (await store.headPosition())!;
      try {
        await until(() => thread.checked(head));
        writer.checkedBy(thread);
        await new Projector(store, writer, { batchSize: 2 }).catchUp();
      } finally {
        await thread.stop();
      }
    },
  };

  it.each`
    case                                               | statement                                                                                                                             | where             | link
    ${'a data key written again before the original'}  | ${`UPDATE events SET data = '{"role":"IS",' || substr(data, 2) WHERE stream = 'user-${NO_A}' AND revision = 0`}                        | ${'data.role'}    | ${undefined}
    ${'a metadata key written again before it'}        | ${`UPDATE events SET metadata = '{"actor":"mallory",' || substr(metadata, 2) WHERE stream = 'device-${ESME}' AND revision = 2`}       | ${'metadata.actor'} | ${undefined}
    ${'a nested key twice, one of them an escape'}     | ${`UPDATE events SET data = json_set(data, '$.x', json('[{"a":1},{"b":1,"\\u0062":2}]')) WHERE stream = 'device-${ESME}' AND revision = 1`} | ${'data.x[1].b'} | ${'hash-mismatch'}
  `('$case: named as verify names it, however the projector meets it', async ({ statement, where, link }) => {
    const db = new Database(file);
    expect(db.prepare(statement).run().changes).toBe(1);
    db.close();
    const store = new SqliteEventStore(file);
    try {
      const full = await verifyStore(store);
      const twice = full.breaks.filter((b) => b.kind === 'stored-text-mismatch');
      expect(twice).toEqual([expect.objectContaining({ reason: expect.stringContaining(`gives key '${where}' twice in one object`) })]);
      expect(full.breaks.filter((b) => b.kind !== 'stored-text-mismatch').map((b) => b.kind)).toEqual(link ? [link] : []);
      for (const [way, project] of Object.entries(ways)) {
        const writer = openReadModels(path.join(dir, `${way}.sqlite`));
        try {
          await project(store, writer);
          const incremental = queriesOf(writer).integrity.incrementalVerification();
          expect({ way, ok: incremental.ok, breaks: incremental.breaks }).toEqual({ way, ok: false, breaks: full.breaks });
        } finally {
          writer.db.close();
        }
      }
    } finally {
      await store.dispose();
    }
  });

  it.each`
    case                                                   | runs | statement
    ${"a stream's last event, in the middle of the log"}   | ${1} | ${`DELETE FROM events WHERE position = (SELECT max(position) FROM events WHERE stream = 'user-${NO_A}')`}
    ${'a whole stream'}                                    | ${1} | ${`DELETE FROM events WHERE stream = 'user-${NO_B}'`}
    ${'two runs: the first event and one in the middle'}   | ${2} | ${'DELETE FROM events WHERE position IN (1, (SELECT max(position) FROM events) - 2)'}
    ${'nothing (no false alarm)'}                          | ${0} | ${'DELETE FROM events WHERE 0'}
  `('events deleted from the log, $case: their positions named as verify names them (missing), however the projector meets them', async ({ runs, statement }) => {
    const db = new Database(file);
    db.prepare(statement).run();
    const head = (db.prepare('SELECT max(position) AS p FROM events').get() as { p: number }).p;
    db.close();
    const store = new SqliteEventStore(file);
    try {
      const full = await verifyStore(store);
      expect(full.missing).toHaveLength(runs);
      expect(BigInt(full.missing.at(-1)?.to ?? 0) < head).toBe(true); // none at the log's end, which no position shows
      for (const [way, project] of Object.entries(ways)) {
        const writer = openReadModels(path.join(dir, `${way}.sqlite`));
        try {
          await project(store, writer);
          const incremental = queriesOf(writer).integrity.incrementalVerification();
          // until 2026-11-27 afternoon: ok, with no word of them
          expect({ way, ok: incremental.ok, missing: incremental.missing }).toEqual({ way, ok: full.ok, missing: full.missing });
        } finally {
          writer.db.close();
        }
      }
    } finally {
      await store.dispose();
    }
  });

  it('a hostile edit that leaves many findings (every other event deleted, texts giving a key twice): the first 20 breaks and runs in log order, as the verify job records them, with the counts of all (until 2026-11-27 every row, sorted in JS, in one reply)', async () => {
    const estate = path.join(dir, 'estate.sqlite');
    const made = new SqliteEventStore(estate);
    await runDemo(new Ledger(made, getRuleSet('baseline')), { devices: 30, seed: 7 });
    await made.dispose();
    const db = new Database(estate);
    db.prepare(`UPDATE events SET metadata = '{"actor":"mallory",' || substr(metadata, 2) WHERE position % 6 = 1 AND position > 1`).run();
    db.prepare('DELETE FROM events WHERE position % 2 = 0').run();
    db.close();
    const store = new SqliteEventStore(estate);
    try {
      let texts = 0;
      const full = await verifyStore(store, undefined, undefined, (f) => void ('break' in f && f.break.kind === 'stored-text-mismatch' && texts++));
      expect(full.missingCount).toBeGreaterThan(40);
      expect(texts).toBeGreaterThan(20);
      expect(full.breakCount).toBeGreaterThan(40);
      // The log's last event deleted too: the full verify names it from the writers' log_head (since the seventeenth session); the
      // incremental one reads the read models alone, which end where the log does (a projector catching up stops at its head).
      const tail = store.positionsMissingAtEnd();
      expect(tail).toBeDefined();
      for (const way of ['catching up', 'rebuilding']) {
        const writer = openReadModels(path.join(dir, `${way}-estate.sqlite`));
        try {
          await ways[way](store, writer);
          const incremental = queriesOf(writer).integrity.incrementalVerification();
          expect({ way, ok: incremental.ok, breaks: incremental.breaks, breakCount: incremental.breakCount, missing: incremental.missing, missingCount: incremental.missingCount }).toEqual({
            way,
            ok: false,
            breaks: full.breaks,
            breakCount: full.breakCount,
            missing: full.missing,
            missingCount: full.missingCount - 1,
          });
        } finally {
          writer.db.close();
        }
      }
    } finally {
      await store.dispose();
    }
  }, 60_000);
});
