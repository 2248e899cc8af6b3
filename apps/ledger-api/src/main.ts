import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '@ledger/runtime';
import { createApp } from './bootstrap';
import { DEV_API_KEYS } from './http/api-keys';

/** `npm start`: the configuration is read and validated first; an invalid variable stops here, named. */
export async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = loadConfig(env);
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const log = new Logger('ledger-api');
  log.log(`ledger-api listening on http://${config.host}:${config.port} (store: ${config.store.kind}, rule set: ${config.ruleSet.id}@${config.ruleSet.version}, read models: ${config.readModelPath})`);
  if (!config.apiKeys) log.warn(`using the development API keys (${DEV_API_KEYS}): set LEDGER_API_KEYS for real ones`);
}

if (require.main === module) {
  serve(process.env).catch((err: unknown) => {
    process.stderr.write(`ledger-api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
