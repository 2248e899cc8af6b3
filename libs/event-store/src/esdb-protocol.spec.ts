import { randomUUID } from 'node:crypto';
import { binaryEvent, EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { EventIdConflictError, StoreUnavailableError } from './errors';
import { EsdbEventStore } from './esdb-event-store';
import { describeEventStoreContract } from './event-store.contract';
import type { NewEvent, RecordedEvent } from './event-store.port';
import { EsdbProtocolServer } from './testing/esdb-protocol-server';

/**
 * The EventStoreDB adapter over real gRPC, against the in-process protocol server (always, in CI):
 * the same contract as SQLite and a real EventStoreDB, then what only this leg can show cheaply.
 */
let server: EsdbProtocolServer;
const stores: EsdbEventStore[] = [];
const open = (options: ConstructorParameters<typeof EsdbEventStore>[1] = {}) => {
  const store = new EsdbEventStore(server.connectionString, { timeoutMs: 10_000, ...options });
  stores.push(store);
  return store;
};

beforeAll(async () => {
  server = await new EsdbProtocolServer().start();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.dispose().catch(() => undefined)));
  await server.stop();
});

describeEventStoreContract('esdb (protocol test server over gRPC)', {
  makeStore: async () => open(),
  makeSecondStore: async () => open(),
});

const ev = (n: number, extra: Partial<NewEvent> = {}): NewEvent => ({ id: randomUUID(), type: 'TestEvent', data: { n }, ...extra });
const evs = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ev(from + i));

async function take(sub: AsyncIterable<RecordedEvent>, count: number, keep: (e: RecordedEvent) => boolean): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of sub) {
    if (keep(e)) out.push(e);
    if (out.length >= count) break;
  }
  return out;
}

describe('EsdbEventStore over the protocol server', () => {
  it('the write path reads a constant number of events, however long the stream (10,000 events)', async () => {
    const store = open();
    const s = `long-${randomUUID()}`;
    // Filled straight through the client (the adapter's own appends are what is measured below).
    const filler = EventStoreDBClient.connectionString(server.connectionString);
    try {
      for (let i = 0; i < 10_000; i += 1_000) {
        await filler.appendToStream(s, evs(1_000, i).map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data as never, metadata: {} })));
      }
    } finally {
      await filler.dispose();
    }
    expect(await store.streamRevision(s)).toBe(9_999n);

    const sentBy = async (append: () => Promise<unknown>) => {
      const from = server.calls.length;
      await append();
      const calls = server.calls.slice(from);
      return { events: server.eventsSentSince(from), reads: calls.filter((c) => c.method === 'read-stream').length };
    };
    // A new decision: nothing after the expected revision before, its own event after.
    const one = await sentBy(() => store.appendToStream(s, [ev(10_000)], { expectedRevision: 9_999n }));
    expect(one).toEqual({ events: 1, reads: 2 });
    // Three events at once: three read back, whatever the length.
    const three = evs(3, 10_001);
    expect(await sentBy(() => store.appendToStream(s, three, { expectedRevision: 10_000n }))).toEqual({ events: 3, reads: 2 });
    // A retry of the last batch: the three found after the expected revision, nothing sent to the server.
    const retry = await sentBy(async () => expect((await store.appendToStream(s, three, { expectedRevision: 10_000n })).written).toBe(false));
    expect(retry).toEqual({ events: 3, reads: 1 });
    // expectedRevision 'any': the last n events (here 1) before, the n written after.
    expect(await sentBy(() => store.appendToStream(s, [ev(10_004)]))).toEqual({ events: 2, reads: 2 });
    expect(await store.streamRevision(s)).toBe(10_004n);
  }, 60_000);

  it('a batch with the ids of one another process wrote meanwhile, with other content, is a conflict, not a success', async () => {
    // The server's idempotency looks at ids only: this is the adapter's read-back at work.
    const store = open();
    const s = `race-${randomUUID()}`;
    const batch = evs(2);
    const other = EventStoreDBClient.connectionString(server.connectionString);
    try {
      // "Another process" writes the same ids with other data at the revision this one expects.
      await other.appendToStream(s, batch.map((e) => jsonEvent({ id: e.id, type: e.type, data: { n: 99 }, metadata: {} })), { expectedRevision: 'no_stream' });
      // The adapter's pre-read would find them; skip it to reproduce the race: go straight to the server.
      const answer = await other.appendToStream(s, batch.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data as never, metadata: {} })), { expectedRevision: 'no_stream' });
      expect(answer.success).toBe(true); // EventStoreDB: same ids at the expected position = idempotent, whatever the content
      const err = await store.appendToStream(s, batch, { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventIdConflictError);
      expect((err as EventIdConflictError).conflictingIds).toEqual(batch.map((e) => e.id));
    } finally {
      await other.dispose();
    }
  });

  it('ids that are in the stream before the expected revision are not looked for: EventStoreDB writes the batch again (a documented limit)', async () => {
    const store = open();
    const s = `dup-${randomUUID()}`;
    const batch = evs(1);
    await store.appendToStream(s, batch, { expectedRevision: 'no_stream' });
    await store.appendToStream(s, evs(1, 1), { expectedRevision: 0n });
    const again = await store.appendToStream(s, batch, { expectedRevision: 1n });
    expect(again).toMatchObject({ written: true, nextExpectedRevision: 2n });
    const ids: string[] = [];
    for await (const e of store.readStream(s)) ids.push(e.id);
    expect(ids).toEqual([batch[0].id, expect.any(String), batch[0].id]);
  });

  it('system events are written by the server and never delivered: the subscription filters them server side', async () => {
    const store = open();
    const s = `sys-${randomUUID()}`;
    const start = (await store.headPosition()) ?? 'start';
    const from = server.calls.length;
    const sub = store.subscribeToAll({ fromPosition: start });
    await store.appendToStream(s, evs(1, 0));
    server.collectStats();
    await store.appendToStream(s, evs(1, 1));
    server.collectStats();
    await store.appendToStream(s, evs(1, 2));
    const got = await take(sub, 3, (e) => e.stream === s);
    await sub.unsubscribe();
    expect(got.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2]);
    expect(server.storedStream('$stats-127.0.0.1:2113').length).toBeGreaterThanOrEqual(2);
    // The server sent the subscription only the user events: the $statsCollected ones were filtered out there.
    const subscription = server.calls.slice(from).find((c) => c.method === 'subscribe-all')!;
    expect(subscription.eventsSent).toBe(3);
    // readAll (no server-side filter in client 6) skips them in the adapter.
    const all: RecordedEvent[] = [];
    for await (const e of store.readAll()) all.push(e);
    expect(all.some((e) => e.type.startsWith('$') || e.stream.startsWith('$'))).toBe(false);
  });

  it('a subscription the server drops resumes by itself from its last position: no gap, no duplicate', async () => {
    const store = open({ resubscribeDelayMs: 10 });
    const s = `drop-${randomUUID()}`;
    const start = (await store.headPosition()) ?? 'start';
    await store.appendToStream(s, evs(3, 0));
    const sub = store.subscribeToAll({ fromPosition: start });
    const mine = (e: RecordedEvent) => e.stream === s;
    const it = sub[Symbol.asyncIterator]();
    const got: RecordedEvent[] = [];
    while (got.length < 2) {
      const next = await it.next();
      if (mine(next.value)) got.push(next.value);
    }
    expect(server.dropSubscriptions()).toBeGreaterThanOrEqual(1);
    await store.appendToStream(s, evs(2, 3));
    while (got.length < 5) {
      const next = await it.next();
      if (mine(next.value)) got.push(next.value);
    }
    await sub.unsubscribe();
    expect(got.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    expect(server.calls.filter((c) => c.method === 'subscribe-all').length).toBeGreaterThanOrEqual(2);
  });

  it('a subscription whose server is gone for good ends with StoreUnavailableError after its attempts', async () => {
    const lonely = await new EsdbProtocolServer().start();
    const store = new EsdbEventStore(lonely.connectionString, { timeoutMs: 2_000, resubscribeDelayMs: 10 });
    try {
      const sub = store.subscribeToAll();
      const it = sub[Symbol.asyncIterator]();
      await store.appendToStream(`gone-${randomUUID()}`, evs(1));
      await it.next();
      await lonely.stop();
      lonely.dropSubscriptions();
      await expect((async () => {
        for (;;) await it.next();
      })()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.dispose();
      await lonely.stop();
    }
  });
});

describe('EsdbEventStore reads of $all past system events', () => {
  it('the head position is the last user event, however many system events follow it', async () => {
    const store = open();
    const s = `head-${randomUUID()}`;
    await store.appendToStream(s, evs(2));
    const [last] = await (async () => {
      const out: RecordedEvent[] = [];
      for await (const e of store.readStream(s, { direction: 'backwards', maxCount: 1 })) out.push(e);
      return out;
    })();
    for (let i = 0; i < 40; i++) server.collectStats();
    const from = server.calls.length;
    expect(await store.headPosition()).toBe(last.position);
    // Pages that double: 1, 2, 4, ... events, not one call per system event.
    expect(server.calls.slice(from).filter((c) => c.method === 'read-all').length).toBeLessThanOrEqual(7);
  });
});

describe('EsdbEventStore and an event not stored as JSON', () => {
  it('delivers it in its place without data, in its stream and in $all, instead of skipping it', async () => {
    const client = EventStoreDBClient.connectionString(server.connectionString);
    const stream = `device-binary-${randomUUID()}`;
    const store = open();
    try {
      await store.appendToStream(stream, evs(1));
      await client.appendToStream(stream, [binaryEvent({ type: 'CertificatePlaced', data: Buffer.from('{"schemaVersion":1}') })]);
      await store.appendToStream(stream, evs(1, 1), { expectedRevision: 1n });
      const events: RecordedEvent[] = [];
      for await (const e of store.readStream(stream)) events.push(e);
      expect(events.map((e) => [e.revision, e.type, e.data])).toEqual([
        [0n, 'TestEvent', { n: 0 }],
        [1n, 'CertificatePlaced', undefined],
        [2n, 'TestEvent', { n: 1 }],
      ]);
      const inAll: RecordedEvent[] = [];
      for await (const e of store.readAll()) if (e.stream === stream) inAll.push(e);
      expect(inAll.map((e) => [e.revision, e.position, e.data])).toEqual(events.map((e) => [e.revision, e.position, e.data]));
    } finally {
      await client.dispose();
    }
  });
});

describe('EsdbEventStore.dispose', () => {
  it('ends the iterations of its open subscriptions, and refuses calls afterwards as unreachable', async () => {
    const store = new EsdbEventStore(server.connectionString);
    const sub = store.subscribeToAll({ fromPosition: (await store.headPosition()) ?? 'start' });
    const iterating = (async () => {
      for await (const _ of sub) void _;
      return 'ended';
    })();
    await store.dispose();
    await expect(iterating).resolves.toBe('ended');
    await expect(store.appendToStream('s', evs(1))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.health()).toMatchObject({ kind: 'esdb', reachable: false });
  });
});
