import * as fs from 'node:fs';
import type { EventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store/sqlite-event-store';
import { CheckThread } from './check-thread';
import { Projector } from './projector';
import { openReadModels } from './projection-writer';

/**
 * Builds the read models from the start of the store into a file of their own (a rebuild job, on
 * a worker thread): the live read models go on serving meanwhile, and `ReadModelDb.replaceWith`
 * puts the built file in their place when it is done. The file is left closed and checkpointed.
 * With `threads` 2 and a SQLite file, a second thread reads the log too and checks each event (its
 * hash-chain link, that it decodes) ahead of this one (CheckThread); it ends with the rebuild,
 * whether that succeeds or not; if it stopped early (it failed or died), the result says why in
 * `checkThread` (the rebuilding thread checked the rest). `onThreads` is told the threads the
 * rebuild takes (1 where it cannot have a second: EventStoreDB, a store in memory).
 */
export async function rebuildInto(store: EventStore, file: string, onProgress?: (applied: number) => void, { threads = 1, onThreads }: { threads?: number; onThreads?: (threads: number) => void } = {}): Promise<{ events: number; file: string; position: string | null; checkThread?: string }> {
  const remove = () => {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  };
  remove();
  const writer = openReadModels(file);
  const thread = threads > 1 && store instanceof SqliteEventStore && store.file !== ':memory:' ? new CheckThread(store.file) : undefined;
  writer.checkedBy(thread);
  onThreads?.(thread && thread.stopped === undefined ? 2 : 1); // 1 too when the thread could not start
  let built: { events: number; file: string; position: string | null };
  try {
    const events = await writer.db.bulk(() => new Projector(store, writer).catchUp(onProgress), { indexesAtEnd: true });
    const position = writer.checkpoint.get().position?.toString() ?? null;
    writer.db.closeCheckpointed();
    built = { events, file, position };
  } catch (err) {
    writer.db.close();
    remove();
    throw err;
  } finally {
    await thread?.stop();
  }
  return thread?.stopped ? { ...built, checkThread: thread.stopped } : built;
}
