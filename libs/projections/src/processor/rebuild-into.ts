import type { EventStore } from '@ledger/event-store';
import { opensAgain } from '@ledger/event-store/config';
import { SqliteEventStore } from '@ledger/event-store/sqlite-event-store';
import { CheckThread } from './check-thread';
import { Projector } from './projector';
import { removeRebuildFile } from './rebuild-files';
import { openReadModels } from './projection-writer';

/**
 * Events per transaction of a rebuild into a file of its own: the live projector's 1,000. Batches
 * of 4,000 gave no gain at 10^6 events (process CPU 0.78-1.28 of 1,000's over five alternating
 * rounds on a quiet machine, median 1.14) and cost the one-row-per-event ceiling twice its CPU
 * (the batch's events outlive more scavenges); see docs/performance-log.md, "The rebuild holding
 * its states".
 */
export const REBUILD_BATCH = 1000;

/**
 * Events per commit of a rebuild into a file of its own: its batches share a transaction
 * (ProjectionWriter.hold), with the file's journal in memory meanwhile (ReadModelDb.bulk's
 * `memoryJournal`): a commit per batch in WAL wrote random pages of the keys' indexes that the
 * next batches wrote again, each twice (the WAL, then the file). At 10^6 events on one thread,
 * 11% less of the rebuilding thread's CPU and 1.5 s less of the kernel's (three paired rounds;
 * ~1.5 points of it the keys' sort by insertion, which main has too); 64,000 gained nothing
 * more, nor did a page cache of 64 MB; see docs/performance-log.md, "The rebuild's commits shared,
 * its journal in memory".
 */
export const REBUILD_COMMIT = 16_000;

/**
 * Builds the read models from the start of the store into a file of their own (a rebuild job, on
 * a worker thread): the live read models go on serving meanwhile, and `ReadModelDb.replaceWith`
 * puts the built file in their place when it is done. The file is left closed and checkpointed.
 * Nobody reads the file meanwhile, so the projections hold what they write across batches
 * (ProjectionWriter.hold) and write it all after the last (`finish`), before the query indexes
 * are made, the batches commit REBUILD_COMMIT events at a time, with the journal in memory; if
 * the rebuild fails, the file is removed.
 * With `threads` 2 and a SQLite file, a second thread reads the log too and checks each event (its
 * hash-chain link, that it decodes) ahead of this one (CheckThread); it ends with the rebuild,
 * whether that succeeds or not; if it stopped early (it failed or died), the result says why in
 * `checkThread` (the rebuilding thread checked the rest). `onThreads` is told the threads the
 * rebuild takes (1 where it cannot have a second: EventStoreDB, a store in memory). `signal`
 * aborted (`ledger rebuild` stopped by SIGINT or SIGTERM): the file's connection is closed at once,
 * and the rebuild fails at its next read of the store or write of the file (a batch's rows may be held up to a commit, 16,000 events, before they are written), with the signal's reason; aborted before it began, it
 * fails so at once, making no file.
 */
export async function rebuildInto(
  store: EventStore,
  file: string,
  onProgress?: (applied: number) => void,
  { threads = 1, onThreads, signal }: { threads?: number; onThreads?: (threads: number) => void; signal?: AbortSignal } = {},
): Promise<{ events: number; file: string; position: string | null; checkThread?: string }> {
  signal?.throwIfAborted(); // a listener added to a signal already aborted is never called: stopped before it began, no file is made
  removeRebuildFile(file);
  const writer = openReadModels(file);
  const closeNow = () => writer.db.close();
  const thread = threads > 1 && store instanceof SqliteEventStore && opensAgain(store.file) ? new CheckThread(store.file, store.readOnly) : undefined;
  writer.checkedBy(thread);
  onThreads?.(thread && thread.stopped === undefined ? 2 : 1); // 1 too when the thread could not start
  let built: { events: number; file: string; position: string | null };
  try {
    signal?.addEventListener('abort', closeNow, { once: true });
    writer.hold(undefined, REBUILD_COMMIT);
    const events = await writer.db.bulk(
      async () => {
        const n = await new Projector(store, writer, { batchSize: REBUILD_BATCH }).catchUp(onProgress);
        writer.finish();
        return n;
      },
      { indexesAtEnd: true, memoryJournal: true },
    );
    const position = writer.checkpoint.get().position?.toString() ?? null;
    writer.checkpoint.markRebuiltBy(file); // once swapped in, the read models say which rebuild built them
    writer.db.closeCheckpointed();
    built = { events, file, position };
  } catch (err) {
    writer.db.close();
    removeRebuildFile(file);
    throw signal?.aborted ? signal.reason : err; // stopped: why, not the closed connection's "The database connection is not open"
  } finally {
    signal?.removeEventListener('abort', closeNow);
    await thread?.stop();
  }
  return thread?.stopped ? { ...built, checkThread: thread.stopped } : built;
}
