import { parentPort, workerData } from 'node:worker_threads';
import { SqliteEventStore } from '@ledger/event-store/sqlite-event-store'; // not the index: no Nest, no EventStoreDB client to load
import { scanShare } from './what-if';

/** A worker thread that judges one share of a what-if (see whatIf's `workers`) on a connection of its own, and posts what it found. */
const { input, share } = workerData as { input: Parameters<typeof scanShare>[1]; share: Parameters<typeof scanShare>[2] };

void (async () => {
  if (input.store.kind !== 'sqlite') throw new Error('a what-if is judged in shares on a SQLite file only');
  const store = new SqliteEventStore(input.store.path, { readOnly: input.store.readOnly });
  try {
    parentPort!.postMessage(await scanShare(store, input, share));
  } finally {
    await store.dispose();
  }
})();
