import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { EventStore } from '@ledger/event-store';
import { isFull, StoreFullError } from '@ledger/event-store/errors';
import { createEventStore, type StoreConfig } from '@ledger/event-store/config'; // not the index: no Nest, no EventStoreDB client unless configured
import type { VerifyReport } from '../tamper';
import type { AuditJobParams } from './work';

/** One job as its worker gets it: the first in workerData, each next one by message. */
export interface JobData {
  kind: string;
  store: StoreConfig;
  params: AuditJobParams;
  /** The threads the job may take (its own included): a what-if judges on them, a rebuild reads and checks its events ahead on its second. */
  threads: number;
  /** How much nicer than the process's main thread the worker makes its own thread (and so the threads it starts: a what-if's shares, a rebuild's check thread) before the job. */
  nice: number;
}

/**
 * What a job's worker posts to the thread that started it; `reusable`: it takes a next job by
 * message; `threads`: the job runs on fewer threads than it was given (a what-if judged in one
 * pass), so the rest go back to the jobs' budget.
 */
export type WorkerMessage =
  | { type: 'progress'; done: number; total?: number }
  | { type: 'threads'; threads: number }
  | { type: 'result'; result: unknown; reusable?: boolean }
  | { type: 'failed'; error: string; outOfSpace?: true; result?: unknown };

/** How long a job's connection may take to close before the job is answered without it (and its thread is not reused). */
export const DISPOSE_TIMEOUT_MS = 10_000;

/**
 * Runs jobs on this worker thread, one at a time, each on a connection of its own to the store
 * (opened for the job, disposed after), posting progress and the result (or failure: a result
 * with `damaged`, a verification that met damage, is a failure that keeps its result). Once it has
 * answered, the thread that started it may send it a next job: its code is loaded already.
 */
export function serveJobs(
  work: (job: JobData, store: EventStore, progress: (done: number, total?: number) => void, threads: (taken: number) => void) => Promise<unknown>,
  { disposeTimeoutMs = DISPOSE_TIMEOUT_MS } = {},
): void {
  const post = (m: WorkerMessage) => parentPort!.postMessage(m);
  const run = async (job: JobData) => {
    niceThisThread(job.nice);
    let store: EventStore;
    try {
      store = await createEventStore(job.store);
    } catch (err) {
      return post({ type: 'failed', error: `the job's store could not be opened: ${err instanceof Error ? err.message : String(err)}` });
    }
    let last = 0;
    let answer: WorkerMessage;
    try {
      const result = await work(
        job,
        store,
        (done, total) => {
          const now = Date.now();
          if (now - last >= 100) {
            last = now;
            post({ type: 'progress', done, total });
          }
        },
        (taken) => {
          if (taken < job.threads) post({ type: 'threads', threads: taken });
        },
      );
      // A verification that met damage to the store's file (`damaged`) fails with it, what it found before it kept as its result.
      const damaged = job.kind === 'verify' ? (result as VerifyReport).damaged : undefined;
      answer = damaged ? { type: 'failed', error: damaged.message, result } : { type: 'result', result, reusable: true };
    } catch (err) {
      answer = { type: 'failed', error: err instanceof Error ? err.message : String(err), ...(outOfSpace(err) ? { outOfSpace: true as const } : {}) };
    }
    // The connection is closed before the answer, so a next job never runs beside it; a thread
    // whose connection did not close cleanly, or not within disposeTimeoutMs, answers, but takes
    // no next job (the thread that started it terminates it, and the connection with it).
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([store.dispose(), new Promise((_, reject) => (timer = setTimeout(reject, disposeTimeoutMs)))]);
    } catch {
      if (answer.type === 'result') answer = { ...answer, reusable: false };
    } finally {
      clearTimeout(timer);
    }
    post(answer);
  };
  void run(workerData as JobData);
  parentPort!.on('message', (job: JobData) => void run(job));
}

/** Whether a job failed for want of space: SQLite's SQLITE_FULL (a full disk, a file a rebuild writes), or a store's append refused so (StoreFullError). */
function outOfSpace(err: unknown): boolean {
  return err instanceof StoreFullError || isFull(err);
}

/**
 * Makes the calling thread alone `nice` nicer than the process's main thread (at most 19): Linux,
 * where a thread's id is a pid to setpriority, and threads started from it inherit it; elsewhere,
 * and for 0, does nothing. Raising it needs no privilege, lowering it back would: it is only ever
 * raised (a reused thread is not raised again). A scheduling preference, not the job's business:
 * where it cannot be set (no /proc), the job runs as it is.
 */
function niceThisThread(nice: number): void {
  if (!nice || process.platform !== 'linux') return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    const target = Math.min(19, os.getPriority(process.pid) + nice); // the main thread's id is the process's
    if (os.getPriority(tid) < target) os.setPriority(tid, target);
  } catch {
    // runs at the niceness it has
  }
}
