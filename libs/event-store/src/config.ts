import type { EventStore } from './event-store.port';
import type { SqliteWriterMode } from './sqlite-event-store';

export type StoreConfig =
  | { kind: 'sqlite'; path: string; writer?: SqliteWriterMode; /** Opened to be read only: nothing written to the file (see openStoreReadOnly). */ readOnly?: boolean }
  | { kind: 'esdb'; connectionString: string; timeoutMs: number };

/**
 * Whether a SQLite store at `path` is a file that another connection (a job's second thread: a
 * what-if's shares, a rebuild's check thread) can open again; a store in memory is not (another
 * connection opens another, empty one). The one rule the jobs' thread budget and the jobs follow.
 */
export function opensAgain(path: string): boolean {
  return path !== ':memory:';
}

/**
 * Builds the configured adapter. The code that uses the store never chooses it. Each adapter is
 * loaded only when chosen: a job's worker thread that imports this (not the index) loads neither
 * the EventStoreDB client for a SQLite store nor Nest.
 */
export async function createEventStore(config: StoreConfig): Promise<EventStore> {
  // require, not import(): tsx (the tests' workers) would keep an import() as ESM's, which finds no .ts
  if (config.kind === 'sqlite') {
    const { SqliteEventStore } = require('./sqlite-event-store') as typeof import('./sqlite-event-store');
    return new SqliteEventStore(config.path, { writer: config.writer, readOnly: config.readOnly });
  }
  const { EsdbEventStore } = require('./esdb-event-store') as typeof import('./esdb-event-store');
  return new EsdbEventStore(config.connectionString, { timeoutMs: config.timeoutMs });
}
