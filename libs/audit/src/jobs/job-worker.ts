import { parentPort, workerData } from 'node:worker_threads';
import { createEventStore, type StoreConfig } from '@ledger/event-store/config'; // not the index: no Nest, no EventStoreDB client unless configured
import { runAuditWork, type AuditJobKind, type AuditJobParams } from './work';

/**
 * A worker thread that runs one audit job on a connection of its own to the store, and posts its
 * progress and its result (or failure) to the thread that started it.
 */
export type WorkerMessage = { type: 'progress'; done: number; total?: number } | { type: 'result'; result: unknown } | { type: 'failed'; error: string };

const { kind, store: config, params, whatIfThreads } = workerData as { kind: AuditJobKind; store: StoreConfig; params: AuditJobParams; whatIfThreads?: number };
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

void (async () => {
  const store = await createEventStore(config);
  let last = 0;
  try {
    const result = await runAuditWork(kind, store, params, (done, total) => {
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        post({ type: 'progress', done, total });
      }
    }, { whatIf: { threads: whatIfThreads ?? 1, store: config } });
    post({ type: 'result', result });
  } catch (err) {
    post({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  } finally {
    await store.dispose();
  }
})();
