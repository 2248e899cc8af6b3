import { EsdbEventStore } from './esdb-event-store';
import type { EventStore } from './event-store.port';
import { SqliteEventStore } from './sqlite-event-store';

export type StoreConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'esdb'; connectionString: string; timeoutMs: number };

export const DEFAULT_SQLITE_PATH = './data/ledger.sqlite';

/** Reads LEDGER_STORE, LEDGER_SQLITE_PATH, EVENTSTORE_CONNECTION_STRING and LEDGER_STORE_TIMEOUT_MS. */
export function storeConfigFromEnv(env: Record<string, string | undefined>): StoreConfig {
  const kind = env.LEDGER_STORE || 'sqlite';
  if (kind === 'sqlite') return { kind, path: env.LEDGER_SQLITE_PATH || DEFAULT_SQLITE_PATH };
  if (kind === 'esdb') {
    const connectionString = env.EVENTSTORE_CONNECTION_STRING;
    if (!connectionString) throw new Error('LEDGER_STORE=esdb needs EVENTSTORE_CONNECTION_STRING (e.g. esdb://127.0.0.1:2113?tls=false)');
    const timeoutMs = env.LEDGER_STORE_TIMEOUT_MS ? Number(env.LEDGER_STORE_TIMEOUT_MS) : 10_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`LEDGER_STORE_TIMEOUT_MS must be a positive integer, got '${env.LEDGER_STORE_TIMEOUT_MS}'`);
    return { kind, connectionString, timeoutMs };
  }
  throw new Error(`LEDGER_STORE must be 'sqlite' or 'esdb', got '${kind}'`);
}

/** Builds the configured adapter. The code that uses the store never chooses it. */
export async function createEventStore(config: StoreConfig): Promise<EventStore> {
  if (config.kind === 'sqlite') return new SqliteEventStore(config.path);
  return new EsdbEventStore(config.connectionString, { timeoutMs: config.timeoutMs });
}
