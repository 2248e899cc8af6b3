import { EsdbEventStore } from '@ledger/event-store';
import { EsdbProtocolServer } from '../../../libs/event-store/src/testing/esdb-protocol-server';
import { useTestStore } from './test-app';

/**
 * The whole HTTP walk-through of ledger.e2e.spec.ts once more, with LEDGER_STORE=esdb's adapter
 * talking gRPC to the protocol-level EventStoreDB test server: each app gets a server of its own,
 * empty but for the server's own system events.
 */
useTestStore(async () => {
  const server = await new EsdbProtocolServer().start();
  return { store: new EsdbEventStore(server.connectionString, { timeoutMs: 10_000 }), release: () => server.stop() };
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./ledger.e2e.spec');
