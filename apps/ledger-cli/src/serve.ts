import { createEventStore } from '@ledger/event-store';
import { createApp } from '../../ledger-api/src/bootstrap';
import { configFromEnv } from '../../ledger-api/src/config';

/** `ledger serve`: the HTTP API, exactly as `npm start` runs it. */
export async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = configFromEnv(env);
  const store = await createEventStore(config.store);
  const app = await createApp(store, config);
  await app.listen(config.port, config.host);
  console.log(`ledger-api listening on http://${config.host}:${config.port} (store: ${store.kind}, rule set: ${config.ruleSet.id}@${config.ruleSet.version})`);
  await new Promise<void>((resolve) => app.getHttpServer().on('close', () => resolve()));
}
