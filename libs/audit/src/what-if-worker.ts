import { parentPort, workerData } from 'node:worker_threads';
import { createEventStore } from '@ledger/event-store';
import { scanShare } from './what-if';

/** A worker thread that judges one share of a what-if (see whatIf's `workers`) on a connection of its own, and posts what it found. */
const { input, share } = workerData as { input: Parameters<typeof scanShare>[1]; share: Parameters<typeof scanShare>[2] };

void (async () => {
  const store = await createEventStore(input.store);
  try {
    parentPort!.postMessage(await scanShare(store, input, share));
  } finally {
    await store.dispose();
  }
})();
