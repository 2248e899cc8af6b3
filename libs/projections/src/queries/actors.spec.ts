import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme, replaceNoCredentials } from '../../../ledger/src/testing/one-esme';
import { openReadModels } from '../processor/projection-writer';
import { Projector } from '../processor/projector';
import { putRebuiltInPlace, rebuildFileBeside } from '../processor/rebuild-files';
import { rebuildInto } from '../processor/rebuild-into';
import { actorOf } from '../projections/actors';
import { queriesOf } from './queries-of';

/**
 * Who recorded each event, in the rows made from it (since 2026-11-28, eighteenth session): the
 * decisions, a device's history and the recorded jobs show their event's actor, and the decisions
 * and the history filter by it. Before, no query showed it: an auditor read the raw events.
 */

const FEED = 'api:intake:893a09117d39:rdp-feed';
const FEED_RENAMED = 'api:intake:893a09117d39:rdp-feed-2';
const OTHER = 'api:intake:24cc0ce83147';

describe('actors in the read models', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;
  const file = () => path.join(dir, 'readmodels.sqlite');

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-actors-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B, { actor: 'demo' });
    await replaceNoCredentials(ledger, NO_A, 1, '2024-03-01T00:00:00Z', NO_A, { actor: FEED });
    await replaceNoCredentials(ledger, NO_B, 2, '2024-03-02T00:00:00Z', NO_B, { actor: OTHER });
    await replaceNoCredentials(ledger, NO_A, 3, '2024-03-03T00:00:00Z', NO_A, { actor: 'cli:submit' });
    await replaceNoCredentials(ledger, NO_A, 4, '2024-03-04T00:00:00Z', NO_A, { actor: FEED_RENAMED });
    await replaceNoCredentials(ledger, NO_A, 5, '2024-03-05T00:00:00Z', NO_A, { actor: 'api:intake' }); // recorded before keys had ids
    await replaceNoCredentials(ledger, NO_A, 6, '2024-03-06T00:00:00Z', NO_A, { actor: undefined as unknown as string }); // metadata without one
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const project = async (batchSize = 1000) => {
    const writer = openReadModels(file());
    await new Projector(store, writer, { batchSize }).catchUp();
    return writer;
  };
  const counter = (requestId: string) => Number(requestId.slice(requestId.lastIndexOf(':') + 1));
  /** The read models projected, and a second connection to their file (a second API on the same file, README "Another API"), for `race` to commit through; awaited, so that an async race ends before both close. */
  const withSecondConnection = async (race: (writer: Awaited<ReturnType<typeof project>>, other: Database.Database) => void | Promise<void>) => {
    const writer = await project();
    const other = new Database(file());
    try {
      await race(writer, other);
    } finally {
      jest.restoreAllMocks();
      other.close();
      writer.db.close();
    }
  };

  it('each decision shows its actor (null when its event names none), and actor= matches it exactly, a key under every name by api:<role>:<id>, or under every role and name by its id alone', async () => {
    const writer = await project();
    try {
      const { decisions } = queriesOf(writer);
      expect(decisions.decisions({}).items.map((d) => [counter(d.requestId), d.actor])).toEqual([
        [1, FEED],
        [2, OTHER],
        [3, 'cli:submit'],
        [4, FEED_RENAMED],
        [5, 'api:intake'],
        [6, null],
      ]);
      expect(decisions.decision(`${NO_B}:${ESME}:2`)).toMatchObject({ actor: OTHER });
      expect(decisions.decision(`${NO_B}:${ESME}:2`)).not.toHaveProperty('actorUnknown');
      const by = (actor: string, more = {}) => decisions.decisions({ actor, ...more }).items.map((d) => counter(d.requestId));
      expect(by(FEED)).toEqual([1]);
      expect(by('api:intake:893a09117d39')).toEqual([1, 4]); // the key under both its names
      expect(by('api:intake')).toEqual([5]); // exact: not a prefix of every intake key
      expect(by('cli:submit')).toEqual([3]);
      expect(by('api:intake:893a09117d39', { limit: 1 })).toEqual([1]);
      expect(by('api:intake:893a09117d39', { after: decisions.decisions({ actor: 'api:intake:893a09117d39', limit: 1 }).next! })).toEqual([4]);
      expect(by('api:admin:0123456789ab')).toEqual([]);
      expect(decisions.decisions({ actor: FEED })).not.toHaveProperty('actorUnknown');
      // The key's id alone: the key under every name and every role it was given (its id is of the key alone).
      expect(by('893a09117d39')).toEqual([1, 4]);
      await replaceNoCredentials(ledger, NO_A, 7, '2024-03-07T00:00:00Z', NO_A, { actor: 'api:admin:893a09117d39' });
      await new Projector(store, writer).catchUp();
      expect(by('893a09117d39')).toEqual([1, 4, 7]);
      expect(by('api:intake:893a09117d39')).toEqual([1, 4]);
      expect(by('24cc0ce83147')).toEqual([2]);
      expect(by('0123456789ab')).toEqual([]);
    } finally {
      writer.db.close();
    }
  });

  it("a key's decisions are read from the actor index, each name's ords alone, merged, then the page's rows by ord (no sort, no row read to be thrown away); a device's or a user's from their index, not by walking every decision of the key", async () => {
    const writer = await project();
    try {
      const plans: string[][] = [];
      beforeReads(writer.db.db, 'FROM decisions d', (sql, args, prepare) => plans.push((prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail)));
      const { decisions } = queriesOf(writer);
      const read = (f: Parameters<typeof decisions.decisions>[0]) => {
        plans.length = 0;
        return [decisions.decisions(f).items.map((d) => counter(d.requestId)), [...plans]];
      };
      const byOrd = ['SEARCH d USING INTEGER PRIMARY KEY (rowid=?)', 'LIST SUBQUERY 1', expect.stringContaining('json_each'), expect.stringContaining('SEARCH a')];
      expect(read({ deviceId: ESME, actor: FEED })).toEqual([[1], [[expect.stringContaining('decisions_device')], byOrd]]);
      expect(read({ userId: NO_A, actor: FEED })).toEqual([[1], [[expect.stringContaining('decisions_originator')], byOrd]]);
      expect(read({ from: '2024-01-01T00:00:00Z', actor: FEED })).toEqual([[1], [[expect.stringContaining('decisions_actor')], byOrd]]); // in order, not the range sorted
      const ords = [expect.stringContaining('COVERING INDEX decisions_actor')];
      expect(read({ actor: FEED })).toEqual([[1], [ords, byOrd]]);
      expect(read({ actor: 'api:intake:893a09117d39' })).toEqual([[1, 4], [ords, ords, byOrd]]); // the key under both its names
      expect(read({ actor: 'api:intake:893a09117d39', after: 1 })).toEqual([[1, 4], [ords, ords, byOrd]]);
    } finally {
      jest.restoreAllMocks();
      writer.db.close();
    }
  });

  it("a key's pages under several names see one moment: a batch another connection commits between two names' reads is in a page whole, or in a later one (until 2026-11-28 the page held one name's rows of it and `next` passed over the other's for good)", async () => {
    // The second connection: another API's projector committing a batch.
    await withSecondConnection((writer, other) => {
      const db = writer.db.db;
      const id = (actor: string) => (db.prepare('SELECT id FROM actors WHERE actor = ?').get(actor) as { id: number }).id;
      const [feed, renamed] = [id(FEED), id(FEED_RENAMED)];
      const ordOf = (requestId: string) => (db.prepare('SELECT ord FROM decisions WHERE request_id = ?').get(requestId) as { ord: number }).ord;
      let after = (db.prepare('SELECT MAX(ord) AS m FROM decisions').get() as { m: number }).m;
      let reads = 0;
      beforeReads(db, 'd.actor', () => {
        // After the first name's read: decisions 101 (the first name's) and 102-104 (the other's).
        if (++reads === 2)
          other.exec(`INSERT INTO decisions (ord, request_id, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data, actor)
            SELECT 1000 + n, substr(request_id, 1, length(request_id) - 1) || (100 + n), device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data, CASE n WHEN 1 THEN ${feed} ELSE ${renamed} END
            FROM (SELECT * FROM decisions WHERE ord = (SELECT MAX(ord) FROM decisions)), (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)`);
      });
      const { decisions } = queriesOf(writer);
      const seen: number[] = [];
      for (let page = 0; page < 4; page++) {
        const p = decisions.decisions({ actor: 'api:intake:893a09117d39', after, limit: 2 });
        seen.push(...p.items.map((d) => counter(d.requestId)));
        if (p.items.length) after = ordOf(p.items.at(-1)!.requestId);
      }
      expect(seen).toEqual([101, 102, 103, 104]);
    });
  });

  it("a device's history by actor sees one moment: an entry another connection commits between the timeline's read and the count of those whose actor is not known is in neither (until 2026-11-28 the count had it)", async () => {
    // The second connection: an earlier build's projector (its rows name no actor: not known).
    await withSecondConnection((writer, other) => {
      let commits = 0;
      const commit = () => {
        if (commits++ === 0)
          other.exec(`INSERT INTO decisions (ord, request_id, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data)
            SELECT 1000, request_id || '0', device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data FROM decisions ORDER BY ord DESC LIMIT 1`);
      };
      beforeReads(writer.db.db, 'AND actor = ?', commit, 'get'); // before the count's read
      const { devices } = queriesOf(writer);
      const history = devices.timelineOf(ESME, FEED)!;
      expect(history.timeline.map((h) => counter(String(h.requestId)))).toEqual([1]);
      expect(history).not.toHaveProperty('actorUnknown');
      expect(devices.timelineOf(ESME, FEED)).toMatchObject({ actorUnknown: { rows: 1 } }); // the next read sees it
    });
  });

  it("a device's history shows each entry's actor, and filters by it; a meter point's Registration Data each entry's", async () => {
    const writer = await project();
    try {
      const { devices, meterPoints } = queriesOf(writer);
      expect(meterPoints.registrations(MPAN, '2020-01-01T00:00:00Z')).toMatchObject({
        timelines: { supplier: [], networkOperator: [{ partyUserId: NO_A, recordId: 'R1', actor: 'demo' }] },
        registered: { supplier: null, networkOperator: { partyUserId: NO_A, actor: 'demo' } },
      });
      expect(devices.timelineOf(ESME)!.timeline.map((h) => [h.kind, h.actor])).toEqual([
        ['inventory', 'demo'],
        ['certificate', 'demo'],
        ...[FEED, OTHER, 'cli:submit', FEED_RENAMED, 'api:intake', null].map((a) => ['decision', a]),
      ]);
      expect(devices.timelineOf(ESME, 'demo')!.timeline.map((h) => h.kind)).toEqual(['inventory', 'certificate']);
      expect(devices.timelineOf(ESME, 'api:intake:893a09117d39')!.timeline.map((h) => h.requestId)).toEqual([`${NO_A}:${ESME}:1`, `${NO_A}:${ESME}:4`]);
      expect(devices.timelineOf(ESME, 'demo')).not.toHaveProperty('actorUnknown');
    } finally {
      writer.db.close();
    }
  });

  it('a rebuild gives every row the actor, and every actor the id, the live projector gave it, whatever the batches', async () => {
    const live = await project(1); // an event a batch: the actors met in store order, one at a time
    const built = path.join(dir, 'rebuilt.sqlite');
    await rebuildInto(store, built);
    const rebuilt = openReadModels(built);
    try {
      const dump = live.dump();
      expect(dump.actors).toEqual([
        { id: 1, actor: 'demo' },
        { id: 2, actor: FEED },
        { id: 3, actor: OTHER },
        { id: 4, actor: 'cli:submit' },
        { id: 5, actor: FEED_RENAMED },
        { id: 6, actor: 'api:intake' },
      ]);
      expect(rebuilt.dump()).toEqual(dump);
    } finally {
      live.db.close();
      rebuilt.db.close();
    }
  });

  it('read models made by an earlier build: the column is added when opened, their rows say their actor is not known, a filter says so, and a rebuild fills them', async () => {
    const writer = await project();
    writer.db.close();
    // As the seventeenth session's build made them: no actors table, no actor column.
    const older = new Database(file());
    older.exec(`DROP INDEX decisions_actor; DROP TABLE actors;
      ALTER TABLE decisions DROP COLUMN actor; ALTER TABLE inventory_history DROP COLUMN actor;
      ALTER TABLE certificate_history DROP COLUMN actor; ALTER TABLE registrations DROP COLUMN actor; ALTER TABLE audit_jobs DROP COLUMN actor;`);
    older.close();
    const upgraded = openReadModels(file());
    try {
      const { decisions, devices, meterPoints } = queriesOf(upgraded);
      expect(decisions.decisions({}).items.map((d) => [d.actor, d.actorUnknown])).toEqual(Array.from({ length: 6 }, () => [null, true]));
      expect(meterPoints.registrations(MPAN)!.timelines.networkOperator).toEqual([{ partyUserId: NO_A, effectiveFrom: expect.any(String), recordId: 'R1', actor: null, actorUnknown: true }]);
      const filtered = decisions.decisions({ actor: FEED });
      expect(filtered.items).toEqual([]);
      expect(filtered.actorUnknown).toMatchObject({ rows: 6 });
      expect(filtered.actorUnknown!.why).toMatch(/6 decisions were projected before the read models kept each event's actor.*rebuild/);
      expect(devices.timelineOf(ESME)!.timeline.every((h) => h.actor === null && h.actorUnknown === true)).toBe(true);
      expect(devices.timelineOf(ESME, 'demo')).toMatchObject({ timeline: [], actorUnknown: { rows: 8 } });
      // A decision recorded since is projected with its actor (and one an earlier build projects, naming no actor column, is not known).
      await replaceNoCredentials(ledger, NO_A, 7, '2024-03-07T00:00:00Z', NO_A, { actor: FEED });
      await new Projector(store, upgraded).catchUp();
      expect(decisions.decisions({ actor: FEED }).items.map((d) => counter(d.requestId))).toEqual([7]);
      upgraded.db.db.exec(`INSERT INTO decisions (ord, request_id, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data)
        SELECT 1000, request_id || '0', device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data FROM decisions ORDER BY ord DESC LIMIT 1`);
      expect(decisions.decisions({ after: 999 }).items.map((d) => [d.actor, d.actorUnknown])).toEqual([[null, true]]);
      // Counted up to 1,000 (each filtered page counts them), then said to be more.
      upgraded.db.db.exec(`INSERT INTO decisions (ord, request_id, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data)
        WITH RECURSIVE n(i) AS (SELECT 2000 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
        SELECT i, request_id || i, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data FROM n, (SELECT * FROM decisions WHERE ord = 1000)`);
      expect(decisions.decisions({ actor: FEED }).actorUnknown).toEqual({ rows: 1000, more: true, why: expect.stringMatching(/^more than 1000 decisions were projected before/) });
      // Rebuilt as `ledger rebuild` does it: a file beside them, put in their place (until 2026-11-28's final read this spec projected a new file instead).
      const built = rebuildFileBeside(file());
      await rebuildInto(store, built);
      await putRebuiltInPlace(new Projector(store, upgraded), built);
      const filled = decisions.decisions({ actor: FEED });
      expect([filled.items.map((d) => [counter(d.requestId), d.actor]), filled.actorUnknown]).toEqual([[[1, FEED], [7, FEED]], undefined]);
      expect(decisions.decisions({}).items.map((d) => [counter(d.requestId), d.actorUnknown])).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => [n, undefined]));
      expect(devices.timelineOf(ESME, 'demo')).not.toHaveProperty('actorUnknown');
      expect(meterPoints.registrations(MPAN)!.timelines.networkOperator).toEqual([{ partyUserId: NO_A, effectiveFrom: expect.any(String), recordId: 'R1', actor: 'demo' }]);
    } finally {
      upgraded.db.close();
    }
  });
});

// The ledger writes a string (CommandContext.actor), but the store's metadata is any JSON (an event another writer appended to
// EventStoreDB): one that is not a string is kept as its JSON text, as the actors table holds it.
it.each([
  [{ actor: 'cli:submit' }, 'cli:submit'],
  [{ actor: 7 }, '7'],
  [{ actor: { key: 'x' } }, '{"key":"x"}'],
  [{ actor: null }, undefined],
  [{}, undefined],
  [undefined, undefined],
])('the actor of metadata %j is %j', (metadata, actor) => expect(actorOf(metadata)).toBe(actor));

/** Calls `before` (given the statement's SQL, its arguments and an unwatched prepare) before each read (`all`, or `get`) of a statement whose SQL includes `match`. */
function beforeReads(db: Database.Database, match: string, before: (sql: string, args: unknown[], prepare: Database.Database['prepare']) => void, read: 'all' | 'get' = 'all'): void {
  const prepare = db.prepare.bind(db) as Database.Database['prepare'];
  jest.spyOn(db, 'prepare').mockImplementation(((sql: string) => {
    const st = prepare(sql);
    if (!sql.includes(match)) return st;
    const run = st[read].bind(st);
    return Object.assign(st, { [read]: (...args: unknown[]) => (before(sql, args, prepare), run(...args)) });
  }) as typeof db.prepare);
}
