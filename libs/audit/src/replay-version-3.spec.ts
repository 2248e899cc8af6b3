import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeDecision, getRuleSet, ledgerEventOf, parseServiceRequest, type LedgerEvent, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore, type EventMetadata } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector, queriesOf, rowDamaged, type ProjectionWriter } from '@ledger/projections';
import { replayDecision } from './replay';
import { whatIf } from './what-if';
import { verifyStore } from './tamper';

/**
 * Decisions written by the ledger BEFORE decisions were stored as schema version 3:
 * `testing/decisions-recorded-before-version-3.json` holds every event of a demo estate as main's
 * code wrote it, id, data and metadata (runDemo, 20 devices, seed 7: 48 decisions of 18
 * SRV/response-code pairs under baseline@2, one of version 2). Loaded into a store as written, they
 * must read, verify, replay and project exactly as they did; decisions written after them, in the
 * stored form, as well.
 */
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'testing', 'decisions-recorded-before-version-3.json'), 'utf8')) as {
  streams: Record<string, Array<LedgerEvent & { id: string; metadata: EventMetadata }>>;
};
const recorded = Object.values(fixture.streams)
  .flat()
  .filter((e) => e.type === 'ServiceRequestEvaluated')
  .map((e) => e.data as ServiceRequestEvaluatedV1);

describe('decisions recorded before schema version 3, read by the code that writes it', () => {
  let dir: string;
  let store: SqliteEventStore;
  let readModels: ProjectionWriter;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-v3-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    // Each event as main wrote it: its id, data and metadata (with its hash-chain links).
    for (const [stream, events] of Object.entries(fixture.streams)) await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });
    readModels = openReadModels(path.join(dir, 'readmodels.sqlite'));
  });
  afterAll(async () => {
    readModels.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the fixture holds decisions of versions 1 and 2 only, as main wrote them, and the chain verifies', async () => {
    expect(recorded).toHaveLength(48);
    expect(recorded.filter((d) => d.schemaVersion === 2)).toHaveLength(1);
    expect(recorded.every((d) => d.schemaVersion === 1 || d.schemaVersion === 2)).toBe(true);
    expect(await verifyStore(store)).toMatchObject({ ok: true, breaks: [], unreadable: [] });
  });

  it('each reads back exactly as recorded, and its stored form would give it back exactly, with nothing kept as recorded', async () => {
    const read: ServiceRequestEvaluatedV1[] = [];
    for await (const e of store.readAll()) if (e.type === 'ServiceRequestEvaluated') read.push(ledgerEventOf(e.stream, e.type, e.data)!.data as ServiceRequestEvaluatedV1);
    expect(read).toEqual(recorded);
    for (const d of recorded) {
      const record = encodeDecision(d);
      expect(record?.checks.filter((c) => typeof c !== 'string' && !Array.isArray(c))).toEqual([]);
    }
  });

  it.each(recorded.map((d) => [d.request.requestId, d.request.srv, d.responseCode, d] as const))('%s (%s %s) replays identically', async (_id, _srv, _code, d) => {
    const r = await replayDecision(store, d);
    expect(r.differences).toEqual([]);
    expect(r.identical).toBe(true);
  });

  it('then decisions written in the stored form sit beside them: a resubmission answers with the recorded decision, every decision replays, verifies and projects as read', async () => {
    const ledger = new Ledger(store, getRuleSet('baseline'));
    const first = recorded[0];
    const again = await ledger.submit(
      parseServiceRequest({
        requestId: first.request.requestId,
        srv: first.request.srv,
        remotePartyRole: first.request.remotePartyRole,
        certificates: first.request.certificates,
        receivedAt: '2025-01-01T00:00:00Z',
        format: 'json',
      }),
      { actor: 'test' },
    );
    expect(again.written).toBe(false);
    expect(again.decision).toEqual(first);

    // New decisions on the same devices, by the same senders: written as version 3.
    const fresh = recorded.slice(0, 10).map((d, i) => ({ ...d.request, counter: String(1000 + i) }));
    const replies = [];
    for (const r of fresh) {
      replies.push(
        await ledger.submit(
          parseServiceRequest({ requestId: `${r.originator}:${r.target}:${r.counter}`, srv: r.srv, remotePartyRole: r.remotePartyRoles ?? r.remotePartyRole, certificates: r.certificates, receivedAt: '2025-01-02T00:00:00Z', format: 'json' }),
          { actor: 'test' },
        ),
      );
    }
    const stored: Array<{ version: unknown; decision: ServiceRequestEvaluatedV1 }> = [];
    for await (const e of store.readAll()) {
      if (e.type === 'ServiceRequestEvaluated') stored.push({ version: (e.data as { schemaVersion: unknown }).schemaVersion, decision: ledgerEventOf(e.stream, e.type, e.data)!.data as ServiceRequestEvaluatedV1 });
    }
    expect(stored.map((s) => s.version)).toEqual([...recorded.map((d) => d.schemaVersion), ...fresh.map(() => 3)]);
    expect(stored.slice(recorded.length).map((s) => s.decision)).toEqual(replies.map((r) => r.decision));
    for (const s of stored.slice(recorded.length)) expect((await replayDecision(store, s.decision)).identical).toBe(true);
    expect(await whatIf(store, undefined)).toMatchObject({ judged: stored.length, notReproduced: 0 });
    expect(await verifyStore(store)).toMatchObject({ ok: true, breaks: [], unreadable: [] });

    await new Projector(store, readModels).catchUp();
    const decisions = queriesOf(readModels).decisions;
    for (const s of stored) expect(decisions.decision(s.decision.request.requestId)?.decision).toEqual(s.decision);
    // Replayed from its row, as the API and the CLI do (the row checked against the store's event at its position): old and new alike.
    for (const s of stored) {
      const row = decisions.decision(s.decision.request.requestId)!;
      expect((await replayDecision(store, row.decision, undefined, row.position, rowDamaged(row))).identical).toBe(true);
    }
    // The read model holds each decision, old ones too, as its stored form less the row's columns: never whole.
    const rows = readModels.db.db.prepare('SELECT data FROM decisions').all() as Array<{ data: string }>;
    expect(rows).toHaveLength(stored.length);
    expect(rows.filter((r) => 'schemaVersion' in JSON.parse(r.data) || r.data.includes('reason'))).toEqual([]);
  });
});
