import { getRuleSet } from '@ledger/domain';
import { EsdbEventStore, type EventStore, type RecordedEvent } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector } from '@ledger/projections';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EsdbProtocolServer } from '../libs/event-store/src/testing/esdb-protocol-server';
import { demoEstate, requestStream, targets } from './estate';
import { pool, rate, timed, tmpDir } from './util';

export interface EsdbCase {
  estateDevices: number;
  estateEvents: number;
  requests: number;
  /** Decisions end to end through the EventStoreDB adapter, by requests in flight. */
  decisionsPerSecond: Record<string, number>;
  /** Rebuild of the read models from the same estate, per store. */
  rebuildEventsPerSecond: { sqlite: number; esdbProtocolServer: number };
}

const AT = '2025-06-01T00:00:00.000Z';

/**
 * Case 2b: the decisions and the rebuild of cases 2 and 4 through the EventStoreDB adapter, against
 * the in-process protocol-level test server (real gRPC and protobuf over 127.0.0.1, the store in
 * memory): what the adapter costs (six calls per decision: three stream loads, the read after the expected revision, the append and its read-back; the client's encoding), not what an
 * EventStoreDB node costs. The estate is the demo estate, copied event by event (same ids,
 * revisions and content) from SQLite into the server.
 */
export async function esdbCase(devices: number, requests: number): Promise<EsdbCase> {
  const dir = tmpDir('esdb');
  const estate = await demoEstate(dir, devices);
  const ts = targets(estate.readModels, AT);
  estate.readModels.close();
  const server = await new EsdbProtocolServer().start();
  const store = new EsdbEventStore(server.connectionString, { timeoutMs: 60_000 });
  try {
    const estateEvents = await copy(estate.store, store);
    const sqliteRebuild = await rebuild(estate.store, path.join(dir, 'rebuild-sqlite.sqlite'));
    const esdbRebuild = await rebuild(store, path.join(dir, 'rebuild-esdb.sqlite'));
    await estate.store.dispose();
    const decisionsPerSecond: Record<string, number> = {};
    for (const [k, concurrency] of [1, 8].entries()) {
      const ledger = new Ledger(store, getRuleSet('baseline'));
      const reqs = requestStream(ts, requests, AT, 2_000_000 + k * requests);
      const t = await timed(() => pool(reqs.length, concurrency, async (i) => void (await ledger.submit(reqs[i], { actor: 'bench' }))));
      decisionsPerSecond[`${concurrency} in flight`] = rate(reqs.length, t.seconds);
    }
    return { estateDevices: devices, estateEvents, requests, decisionsPerSecond, rebuildEventsPerSecond: { sqlite: sqliteRebuild, esdbProtocolServer: esdbRebuild } };
  } finally {
    await store.dispose();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies every event, in commit order, one append per run of events of one stream, at its own revisions. */
async function copy(from: EventStore, to: EventStore): Promise<number> {
  let run: RecordedEvent[] = [];
  let n = 0;
  const flush = async () => {
    if (run.length === 0) return;
    const first = run[0].revision;
    await to.appendToStream(run[0].stream, run.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })), { expectedRevision: first === 0n ? 'no_stream' : first - 1n });
    n += run.length;
    run = [];
  };
  for await (const e of from.readAll()) {
    if (run.length > 0 && (run[run.length - 1].stream !== e.stream || run.length >= 100)) await flush();
    run.push(e);
  }
  await flush();
  return n;
}

async function rebuild(store: EventStore, readModelFile: string): Promise<number> {
  const writer = openReadModels(readModelFile);
  try {
    const t = await timed(() => new Projector(store, writer, { batchSize: 1000 }).rebuild());
    return rate(t.value, t.seconds);
  } finally {
    writer.db.close();
  }
}
