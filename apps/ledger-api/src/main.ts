import 'reflect-metadata';
import { createEventStore } from '@ledger/event-store';
import { createApp } from './bootstrap';
import { configFromEnv } from './config';
import { DEV_API_KEYS } from './http/api-keys';

async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const store = await createEventStore(config.store);
  const app = await createApp(store, config);
  await app.listen(config.port, config.host);
  console.log(`ledger-api listening on http://${config.host}:${config.port} (store: ${store.kind}, rule set: ${config.ruleSet.id}@${config.ruleSet.version}, read models: ${config.readModelPath})`);
  if (config.devKeys) console.log(`using the development API keys (${DEV_API_KEYS}): set LEDGER_API_KEYS for real ones`);
}

main().catch((err: unknown) => {
  console.error(`ledger-api failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
