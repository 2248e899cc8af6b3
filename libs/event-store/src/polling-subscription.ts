import { LogRewrittenError } from './errors';
import type { RecordedEvent, Subscription } from './event-store.port';

export interface PollingSource {
  /** Exclusive start, as in EventStoreDB. */
  fromPosition: bigint | 'start';
  /** Reads a page of events after `after` (exclusive), in commit order. */
  readAfter(after: bigint | 'start'): AsyncIterable<RecordedEvent>;
  /** Registers a callback fired on every local commit; returns the unregister function. */
  onCommit(wake: () => void): () => void;
  /** How long to wait for a commit before looking again (commits from other processes). */
  pollIntervalMs: number;
  /** The id of the event at fromPosition, if known (see holds). */
  fromEvent?: string;
  /** Whether the log still holds the event last delivered (`id`; by position only when undefined) at `position`: when it does not, the subscription ends with LogRewrittenError. */
  holds?(position: bigint, id: string | undefined): boolean;
}

/**
 * A catch-up-then-live subscription over a store that can be read by position: it reads page
 * after page from its last delivered position, and when a page comes back empty it waits for a
 * local commit or the poll interval. Delivery is strictly after the last delivered position, so
 * there are no gaps and no duplicates; an error (a closed store) ends the iteration with it, and so
 * does the log no longer holding the event last delivered at its position (`holds`).
 */
export function pollingSubscription(source: PollingSource): Subscription {
  let lastPosition: bigint | 'start' = source.fromPosition;
  let lastId = source.fromEvent;
  let stopped = false;
  let wake: (() => void) | undefined;
  const unregister = source.onCommit(() => wake?.());

  async function* iterate(): AsyncGenerator<RecordedEvent> {
    try {
      while (!stopped) {
        let delivered = 0;
        if (lastPosition !== 'start' && source.holds && !source.holds(lastPosition, lastId)) throw new LogRewrittenError(lastPosition, lastId);
        for await (const event of source.readAfter(lastPosition)) {
          if (stopped) return;
          lastPosition = event.position;
          lastId = event.id;
          delivered++;
          yield event;
        }
        if (delivered === 0 && !stopped) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, source.pollIntervalMs);
            function done(): void {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
      }
    } finally {
      stopped = true;
      unregister();
    }
  }

  const iterator = iterate();
  return {
    get lastPosition() {
      return lastPosition;
    },
    [Symbol.asyncIterator]: () => iterator,
    async unsubscribe() {
      stopped = true;
      wake?.();
      unregister();
    },
  };
}
