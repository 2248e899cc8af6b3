import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createEventStore, storeConfigFromEnv } from '@ledger/event-store';
import { AppModule } from './app.module';
import { apiConfigFromEnv } from './config';

async function main(): Promise<void> {
  const config = apiConfigFromEnv(process.env);
  const store = await createEventStore(storeConfigFromEnv(process.env));
  const app = await NestFactory.create(AppModule.forStore(store));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  console.log(`ledger-api listening on http://${config.host}:${config.port} (store: ${store.kind})`);
}

main().catch((err: unknown) => {
  console.error(`ledger-api failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
