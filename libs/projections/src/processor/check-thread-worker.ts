import { parentPort, workerData } from 'node:worker_threads';
import { isLedgerStream } from '@ledger/domain';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { SqliteEventStore } from '@ledger/event-store/sqlite-event-store'; // not the index: no Nest, no EventStoreDB client to load
import { linkOf, readEvent, textMismatchOf, type ChainBreakRow, type ChainHead, type CheckProgress, type TextMismatchRow } from './check-thread';

/**
 * A rebuild's second thread (CheckThread): reads the SQLite log from its start on a connection of
 * its own and, for each event, reads it as the projector does (its JSON parsed, a decision decoded
 * whole) and its stored text (a key written twice) and checks its hash-chain link against its stream's head (held in memory: a rebuild
 * starts with none); posts after each page how far it has got and the first break of each stream
 * met on the way. It stops before the first event it cannot read, having posted what precedes it:
 * the rebuild halts there, on its own reading; any other failure it posts too, as why it stopped.
 */
const { file, readOnly } = workerData as { file: string; readOnly: boolean };

void (async () => {
  const store = new SqliteEventStore(file, { readOnly }); // as the rebuild's own store was opened: read only from `ledger rebuild`
  const heads = new Map<string, ChainHead | 'broken'>();
  let through: bigint | undefined;
  let breaks: ChainBreakRow[] = [];
  let texts: TextMismatchRow[] = [];
  const post = (failed?: string) => {
    if (through !== undefined || failed !== undefined) parentPort!.postMessage({ through: (through ?? 0n).toString(), breaks, texts, ...(failed === undefined ? {} : { failed }) } satisfies CheckProgress);
    breaks = [];
    texts = [];
  };
  try {
    for await (const page of store.readAllPages({ stored: 'checked' })) {
      for (const e of page) {
        readEvent(e, true);
        const text = textMismatchOf(e);
        if (text) texts.push(text);
        const prev = isLedgerStream(e.stream) ? heads.get(e.stream) : 'broken';
        if (prev !== 'broken') {
          const link = linkOf(prev, e);
          if ('broken' in link) breaks.push(link.broken);
          heads.set(e.stream, 'broken' in link ? 'broken' : link.head);
        }
        through = e.position; // only once its link is checked: an event whose check throws is left to the rebuilding thread
      }
      post();
    }
  } catch (err) {
    // What precedes an event it cannot read (or a failure, and why): the rebuilding thread reads from there on its own.
    post(err instanceof UnreadableEventError ? undefined : err instanceof Error ? err.message : String(err));
  } finally {
    await store.dispose();
  }
})();
