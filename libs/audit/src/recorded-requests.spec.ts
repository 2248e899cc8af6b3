import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, ledgerEventOf, type RuleSet, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore, UnreadableEventError } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { replayDecision } from './replay';
import { whatIf } from './what-if';

/**
 * A recorded request read back by a what-if: an instant the intake now refuses (30 February) is
 * read as it always was; a request that does not validate fails the run as an unreadable event
 * (its stream, revision and position said), the same on one thread and on two (a what-if job fails with its message).
 */
describe('a recorded request read back', () => {
  let dir: string;
  let file: string;
  /** The position of a decision the edits below change. */
  let decision: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-recorded-requests-'));
    file = path.join(dir, 'ledger.sqlite');
    const store = new SqliteEventStore(file);
    await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 20, wrongNoShare: 0.3, seed: 11 });
    await store.dispose();
    const db = new Database(file, { readonly: true });
    decision = (db.prepare("SELECT position FROM events WHERE type = 'ServiceRequestEvaluated' ORDER BY position LIMIT 1 OFFSET 20").get() as { position: number }).position;
    db.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A copy of the store with the decision's stored data at `at` (a json_set path) set to `value`. */
  const edited = (name: string, at: string, value: unknown) => {
    const copy = path.join(dir, `${name}.sqlite`);
    fs.copyFileSync(file, copy);
    const db = new Database(copy);
    db.prepare('UPDATE events SET data = json_set(data, ?, json(?)) WHERE position = ?').run(at, JSON.stringify(value), decision);
    db.close();
    return copy;
  };
  const run = async (on: string, threads: number, ruleSet?: RuleSet) => {
    const store = new SqliteEventStore(on);
    try {
      return await whatIf(store, ruleSet, {}, {}, undefined, { threads, eventsPerThread: 1, store: { kind: 'sqlite', path: on } });
    } finally {
      await store.dispose();
    }
  };

  it('an instant that names no real time (an edited record: the ledger wrote none) is read as a Date reads it, as before the intake refused them: the run ends, the decision not reproduced', async () => {
    const copy = edited('feb-30', '$.receivedAt', '2024-02-30T13:30:35Z');
    const before = await run(file, 1);
    for (const threads of [1, 2]) {
      expect(await run(copy, threads)).toEqual({ ...before, notReproduced: before.notReproduced + 1 });
    }
  }, 60_000);

  it.each`
    field                | value       | message
    ${'commandVariant'}  | ${9}        | ${"commandVariant: '9' is not a command variant (1-8)"}
    ${'statedRole'}      | ${'XX'}     | ${/^role: 'XX' is not a User Role/}
    ${'remotePartyRole'} | ${'Nobody'} | ${/^remotePartyRole: 'Nobody' is not a RemotePartyRole/}
  `('one that does not validate ($field $value) fails the run as an unreadable event, where it is, on one thread and on two', async ({ field, value, message }) => {
    const copy = edited(`invalid-${field}`, `$.${field}`, value);
    for (const ruleSet of [undefined, getRuleSet('ownership-only')]) {
      const failures = await Promise.all([1, 2].map((threads) => run(copy, threads, ruleSet).catch((e: unknown) => e as Error)));
      for (const e of failures) {
        expect(e).toBeInstanceOf(UnreadableEventError);
        expect((e as UnreadableEventError).reason).toMatch(/^its recorded request does not validate: /);
        expect((e as UnreadableEventError).reason.replace('its recorded request does not validate: ', '')).toMatch(message);
        expect((e as UnreadableEventError).position).toBe(BigInt(decision));
      }
      expect({ ...failures[1] }).toEqual({ ...failures[0] }); // stream, revision, position and reason
    }
  }, 60_000);

  it("and a single decision's replay, given its position, says the same of the store's edited record (the API's and the CLI's replay)", async () => {
    const copy = edited('replay-commandVariant', '$.commandVariant', 9);
    const store = new SqliteEventStore(copy);
    try {
      let recorded: ServiceRequestEvaluatedV1 | undefined;
      for await (const e of store.readAll({ fromPosition: BigInt(decision), maxCount: 1 })) recorded = (ledgerEventOf(e.stream, e.type, e.data) as { data: ServiceRequestEvaluatedV1 }).data;
      const failure = await replayDecision(store, recorded!, undefined, String(decision)).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UnreadableEventError);
      expect(failure).toMatchObject({ position: BigInt(decision), reason: "its recorded request does not validate: commandVariant: '9' is not a command variant (1-8)" });
    } finally {
      await store.dispose();
    }
  });
});
