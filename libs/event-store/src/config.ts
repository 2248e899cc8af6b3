import { EsdbEventStore } from './esdb-event-store';
import type { EventStore } from './event-store.port';
import { SqliteEventStore, type SqliteWriterMode } from './sqlite-event-store';

export type StoreConfig =
  | { kind: 'sqlite'; path: string; writer?: SqliteWriterMode }
  | { kind: 'esdb'; connectionString: string; timeoutMs: number };

/** Builds the configured adapter. The code that uses the store never chooses it. */
export async function createEventStore(config: StoreConfig): Promise<EventStore> {
  if (config.kind === 'sqlite') return new SqliteEventStore(config.path, { writer: config.writer });
  return new EsdbEventStore(config.connectionString, { timeoutMs: config.timeoutMs });
}
