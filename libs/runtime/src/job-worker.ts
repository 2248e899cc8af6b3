import { parentPort, workerData } from 'node:worker_threads';
// Deep imports, not the libraries' indexes: a job's start is mostly loading code, so the worker
// loads what its job needs only (no Nest, no EventStoreDB client unless configured, the
// projections for a rebuild only).
import { runAuditWork, type AuditJobKind, type AuditJobParams } from '@ledger/audit/jobs/work';
import { createEventStore, type StoreConfig } from '@ledger/event-store/config';

/**
 * The application's job worker: the audit kinds (verify, digest, what-if) and the rebuild of the
 * read models into a new file. One job per worker thread, on a connection of its own to the store;
 * it posts progress and its result (or failure) to the thread that started it.
 */
const { kind, store: config, params, whatIfThreads } = workerData as { kind: AuditJobKind | 'rebuild'; store: StoreConfig; params: AuditJobParams; whatIfThreads?: number };
const post = (m: unknown) => parentPort!.postMessage(m);

void (async () => {
  const store = await createEventStore(config);
  let last = 0;
  const progress = (done: number, total?: number) => {
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      post({ type: 'progress', done, total });
    }
  };
  try {
    const started = Date.now();
    const head = store.kind === 'sqlite' ? Number((await store.headPosition()) ?? 0n) : undefined;
    let result: unknown;
    if (kind === 'rebuild') {
      const { rebuildInto } = require('@ledger/projections/processor/rebuild-into') as typeof import('@ledger/projections/processor/rebuild-into');
      result = { ...(await rebuildInto(store, params.file!, (n) => progress(n, head))), seconds: (Date.now() - started) / 1000 };
    } else result = await runAuditWork(kind, store, params, progress, { whatIf: { threads: whatIfThreads ?? 1, store: config } });
    post({ type: 'result', result });
  } catch (err) {
    post({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  } finally {
    await store.dispose();
  }
})();
