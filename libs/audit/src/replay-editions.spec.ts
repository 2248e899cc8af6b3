import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeDecision, encodeDecision, getRuleSet, parseServiceRequest, type LedgerEvent, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { replayDecision } from './replay';
import { whatIf } from './what-if';

/**
 * Decisions recorded BEFORE rule sets @2 existed: `testing/decisions-recorded-under-edition-1.json`
 * holds the events of each stream as libs/domain at commit 14fefba produced them (its evaluate()
 * under baseline@1, ownership-only@1 and registered-operator@1, each decision appended to its
 * device stream with its placements, revisions as read). Among them the cases edition 2 judges
 * differently: a 7.1 after an accepted future-dated 6.23 (edition 1: the new supplier's
 * certificate already decides ownership), 6.15.1 LoadController (edition 1: "the DCC's"), 4.1.1 to
 * a GPF (edition 1: E11).
 */
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'testing', 'decisions-recorded-under-edition-1.json'), 'utf8')) as {
  streams: Record<string, LedgerEvent[]>;
};
const recorded = Object.values(fixture.streams)
  .flat()
  .filter((e): e is { type: 'ServiceRequestEvaluated'; data: ServiceRequestEvaluatedV1 } => e.type === 'ServiceRequestEvaluated')
  .map((e) => e.data);

describe('decisions recorded under rule sets @1 before @2 existed', () => {
  let dir: string;
  let store: SqliteEventStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-editions-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    for (const [stream, events] of Object.entries(fixture.streams)) {
      await store.appendToStream(stream, events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, metadata: { actor: 'fixture' } })), { expectedRevision: 'no_stream' });
    }
  });
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the fixture holds six decisions, each under a rule set @1', () => {
    expect(recorded.map((d) => `${d.request.srv} ${d.ruleSet.id}@${d.ruleSet.version} ${d.responseCode}`)).toEqual([
      '6.15.1 baseline@1 E_CERT_OWNER',
      '6.23 baseline@1 I99',
      '7.1 baseline@1 E_CERT_OWNER',
      '6.15.1 ownership-only@1 I0',
      '6.15.1 registered-operator@1 E2',
      '4.1.1 baseline@1 E11',
    ]);
  });

  it.each(recorded.map((d) => [d.request.requestId, d.request.srv, d] as const))('%s (%s) replays identically under the rule set it records', async (_id, _srv, d) => {
    const r = await replayDecision(store, d);
    expect(r.differences).toEqual([]);
    expect(r).toMatchObject({ identical: true, ruleSet: d.ruleSet });
  });

  it.each(recorded.map((d) => [d.request.requestId, d] as const))('%s in its stored form (schema version 3) reads back exactly, nothing kept as recorded, and replays identically', async (_id, d) => {
    const record = encodeDecision(d)!;
    expect(record.checks.filter((c) => typeof c !== 'string' && !Array.isArray(c))).toEqual([]);
    const back = decodeDecision(JSON.parse(JSON.stringify(record)), d.request.target);
    expect(JSON.stringify(back)).toBe(JSON.stringify(d));
    expect((await replayDecision(store, back)).identical).toBe(true);
  });

  it.each`
    srv         | requestId                                                   | version2       | code
    ${'7.1'}    | ${'90-B3-D5-1F-30-01-00-01:00-DB-12-34-56-78-90-01:1'}      | ${'baseline'}            | ${'I0'}
    ${'6.15.1'} | ${'90-B3-D5-1F-30-01-00-01:00-DB-12-34-56-78-90-01:2'}      | ${'registered-operator'} | ${'E11'}
    ${'4.1.1'}  | ${'90-B3-D5-1F-30-04-00-0A:00-DB-12-34-56-78-90-04:1'}      | ${'baseline'}            | ${'I0'}
    ${'6.15.1'} | ${'90-B3-D5-1F-30-03-00-0A:00-DB-12-34-56-78-90-01:1'}      | ${'baseline'}            | ${'E_CERT_OWNER'}
  `('as a what-if under $version2@2, $srv $requestId would be $code', async ({ requestId, version2, code }) => {
    const d = recorded.find((x) => x.request.requestId === requestId)!;
    const r = await replayDecision(store, d, getRuleSet(version2, 2));
    expect(r.replayed).toMatchObject({ responseCode: code, ruleSet: { id: version2, version: 2 } });
    expect(r.recorded.responseCode).toBe(d.responseCode);
  });

  it('after a decision @2 of an SRV catalogue@1 lacks, every decision reproduces under its own rule set, and a what-if under @1 counts it as not judgeable', async () => {
    const ledger = new Ledger(store, getRuleSet('baseline', 2));
    const r = await ledger.submit(
      parseServiceRequest({ requestId: '90-B3-D5-1F-30-01-00-01:00-DB-12-34-56-78-90-01:3', srv: '7.4', receivedAt: '2024-03-02T00:00:00Z', format: 'json' }),
      { actor: 'test' },
    );
    expect(r.decision).toMatchObject({ responseCode: 'I0', ruleSet: { id: 'baseline', version: 2 } });
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 7, notReproduced: 0, notJudgeable: 0 });
    expect(await whatIf(store, getRuleSet('baseline', 1))).toMatchObject({ judged: 6, notJudgeable: 1 });
  });
});
