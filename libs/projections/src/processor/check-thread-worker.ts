import { parentPort, workerData } from 'node:worker_threads';
import { isLedgerStream } from '@ledger/domain';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { SqliteEventStore } from '@ledger/event-store/sqlite-event-store'; // not the index: no Nest, no EventStoreDB client to load
import { decisionRowsInto } from '../projections/decision-projection';
import { linkOf, readEvent, type ChainBreakRow, type ChainHead, type CheckProgress } from './check-thread';

/**
 * A rebuild's second thread (CheckThread): reads the SQLite log from its start on a connection of
 * its own and, for each event, reads it as the projector does (its JSON parsed, a decision decoded
 * whole) and checks its hash-chain link against its stream's head (held in memory: a rebuild
 * starts with none); posts after each page how far it has got and the first break of each stream
 * met on the way. It stops before the first event it cannot read, having posted what precedes it:
 * the rebuild halts there, on its own reading; any other failure it posts too, as why it stopped.
 * Given a `decisions` file, it writes there the rows of the decisions it has checked (see
 * CheckThread), committed before it posts that it has got through them.
 */
const { file, decisions, rebuilt, lead } = workerData as { file: string; decisions?: string; rebuilt: BigInt64Array; lead: bigint };

void (async () => {
  const store = new SqliteEventStore(file);
  let rows: ReturnType<typeof decisionRowsInto> | undefined;
  const heads = new Map<string, ChainHead | 'broken'>();
  let ord = 0; // the rebuild's: every event read from the start of the log
  let checked: bigint | undefined;
  let through: bigint | undefined;
  let breaks: ChainBreakRow[] = [];
  let decidingFrom: bigint | undefined; // where the run of pages whose decisions' rows it writes began, if it writes this page's
  const post = (failed?: string) => {
    const decided = decidingFrom !== undefined && through === checked ? { decided: decidingFrom.toString() } : {};
    if (through !== undefined || failed !== undefined) parentPort!.postMessage({ through: (through ?? 0n).toString(), breaks, ...decided, ...(failed === undefined ? {} : { failed }) } satisfies CheckProgress);
    breaks = [];
  };
  /** The decisions' rows of what it has checked committed, before it says it has checked it. */
  const commit = () => {
    rows?.commit();
    through = checked;
  };
  try {
    rows = decisions === undefined ? undefined : decisionRowsInto(decisions);
    for await (const page of store.readAllPages()) {
      let first = true;
      for (const e of page) {
        if (first) {
          // A page's decisions' rows are written here only while it is far enough ahead; else the rebuilding thread writes them.
          first = false;
          decidingFrom = rows && e.position - Atomics.load(rebuilt, 0) >= lead ? (decidingFrom ?? e.position) : undefined;
        }
        const event = readEvent(e, true);
        const prev = isLedgerStream(e.stream) ? heads.get(e.stream) : 'broken';
        if (prev !== 'broken') {
          const link = linkOf(prev, e);
          if ('broken' in link) breaks.push(link.broken);
          heads.set(e.stream, 'broken' in link ? 'broken' : link.head);
        }
        ++ord;
        if (decidingFrom !== undefined && event?.type === 'ServiceRequestEvaluated') rows!.add({ event, recorded: e, ord, position: e.position.toString() });
        checked = e.position; // only once its link is checked: an event whose check throws is left to the rebuilding thread
      }
      commit();
      post();
    }
  } catch (err) {
    // What precedes an event it cannot read (or a failure, and why): the rebuilding thread reads from there on its own.
    let failed = err instanceof UnreadableEventError ? undefined : err instanceof Error ? err.message : String(err);
    try {
      commit();
    } catch (e) {
      failed ??= e instanceof Error ? e.message : String(e);
    }
    post(failed);
  } finally {
    await store.dispose();
  }
})();
