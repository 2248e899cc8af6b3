import { verifyStore } from '@ledger/audit';
import { ledgerEventOf } from '@ledger/domain';
import { EsdbEventStore, type RecordedEvent } from '@ledger/event-store';
import { EsdbProtocolServer } from '../../../libs/event-store/src/testing/esdb-protocol-server';
import { startTestApp, useTestStore } from './test-app';

/**
 * Several API instances on one EventStoreDB (the protocol-level test server): each app has its
 * own EsdbEventStore connection, its own read-model file and its own projector fed by its own
 * subscription, as two processes would.
 */
const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';

type App = Awaited<ReturnType<typeof startTestApp>>;

let server: EsdbProtocolServer;
let a: App;
let b: App;

beforeAll(async () => {
  // Appends held 20 ms at the server: writers through both instances meet in the commit check.
  server = await new EsdbProtocolServer({ appendDelayMs: 20 }).start();
  useTestStore(async () => ({ store: new EsdbEventStore(server.connectionString, { timeoutMs: 10_000 }), release: async () => undefined }));
  a = await startTestApp();
  b = await startTestApp();
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
});

/** Polls an instance's /health until its read models hold `position` (bounded: fails after 10 s). */
async function caughtUp(t: App, position: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const health = await t.http().get('/health').expect(200);
    const at = health.body.readModels.position as string | null;
    if (at !== null && BigInt(at) >= BigInt(position)) return;
    if (Date.now() > deadline) throw new Error(`read models at ${at}, not at ${position} after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readStream(stream: string): Promise<RecordedEvent[]> {
  const store = new EsdbEventStore(server.connectionString);
  try {
    const out: RecordedEvent[] = [];
    for await (const e of store.readStream(stream)) out.push(e);
    return out;
  } finally {
    await store.dispose();
  }
}

describe('two API instances on one EventStoreDB', () => {
  it('a write through one is answered once its own read models hold it, and is visible through the other once that one has caught up', async () => {
    await a.as('intake').post('/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await b.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
    const device = await a.as('intake').post('/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
    // A's reply came after A's read models held it.
    const atA = await a.as('auditor').get(`/devices/${ESME}`).expect(200);
    expect(JSON.stringify(atA.body)).toContain(MPAN);
    await caughtUp(b, device.body.position);
    const atB = await b.as('auditor').get(`/devices/${ESME}`).expect(200);
    expect(atB.body).toEqual(atA.body);
    // And the other way round: B decides on the user A wrote and the registration B wrote.
    const decided = await b.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1' }).expect(200);
    expect(decided.body).toMatchObject({ outcome: 'accepted', responseCode: 'I0', projected: true });
    await caughtUp(a, decided.body.position);
    await a.as('auditor').get(`/decisions/${SUPPLIER}:${ESME}:1`).expect(200);
  });

  it('concurrent writes to one device through both end in one consistent stream with no lost decision', async () => {
    const distinct = Array.from({ length: 24 }, (_, i) => `${SUPPLIER}:${ESME}:${100 + i}`);
    const twice = Array.from({ length: 4 }, (_, i) => `${SUPPLIER}:${ESME}:${200 + i}`); // each sent to both at once
    const sends = [
      ...distinct.map((requestId, i) => ({ app: i % 2 ? a : b, requestId })),
      ...twice.flatMap((requestId) => [{ app: a, requestId }, { app: b, requestId }]),
    ];
    const burst = await Promise.all(sends.map(({ app, requestId }) => app.as('intake').post('/service-requests', { requestId, srv: '4.1.1' })));
    // Then one more through each: each instance appends after what it holds of the stream (its hash chain included).
    const after = [`${SUPPLIER}:${ESME}:300`, `${SUPPLIER}:${ESME}:301`];
    const replies = [...burst];
    for (const [i, requestId] of after.entries()) replies.push(await [a, b][i].as('intake').post('/service-requests', { requestId, srv: '4.1.1' }));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    // The instances did meet: appends refused for a wrong expected revision, and retried.
    expect(server.outcomes.wrongExpectedVersion).toBeGreaterThan(0);

    const events = await readStream(`device-${ESME}`);
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));
    const decisions = events.filter((e) => e.type === 'ServiceRequestEvaluated');
    const byRequest = new Map<string, Array<{ outcome: string; responseCode: string; checks: unknown }>>();
    for (const e of decisions) {
      const d = ledgerEventOf(e.stream, e.type, e.data)!.data as { request: { requestId: string }; outcome: string; responseCode: string; checks: unknown };
      byRequest.set(d.request.requestId, [...(byRequest.get(d.request.requestId) ?? []), d]);
    }
    // One decision per RequestID, and every reply's decision is the one in the stream.
    for (const id of [...distinct, ...twice, ...after]) expect(byRequest.get(id)).toHaveLength(1);
    for (const reply of replies) {
      const [recorded] = byRequest.get(reply.body.requestId)!;
      expect({ outcome: reply.body.outcome, responseCode: reply.body.responseCode, checks: reply.body.checks }).toEqual({
        outcome: recorded.outcome,
        responseCode: recorded.responseCode,
        checks: recorded.checks,
      });
    }
    // Each RequestID sent twice: one reply recorded it, the other answered with the record (or both, if byte-identical).
    for (const id of twice) {
      const pair = replies.filter((r) => r.body.requestId === id).map((r) => r.body.recorded as string);
      expect(pair).toContain('now');
    }
    // The hash chain of the whole store holds.
    const store = new EsdbEventStore(server.connectionString);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, breaks: [] });
    } finally {
      await store.dispose();
    }
    // And both instances' read models end up holding every decision.
    const head = replies.map((r) => BigInt(r.body.position)).reduce((x, y) => (y > x ? y : x));
    for (const t of [a, b]) {
      await caughtUp(t, head.toString());
      const list = await t.as('auditor').get(`/decisions?device=${ESME}&limit=1000`).expect(200);
      const ids = new Set(list.body.items.map((d: { requestId: string }) => d.requestId));
      for (const id of [...distinct, ...twice, ...after]) expect(ids.has(id)).toBe(true);
    }
  }, 60_000);
});
