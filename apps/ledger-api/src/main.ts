import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, openError, type LedgerConfig } from '@ledger/runtime';
import { createApp } from './bootstrap';
import { DEV_API_KEYS } from './http/api-keys';

/** `npm start`: the configuration is read and validated first; an invalid variable stops here, named. */
export async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = loadConfig(env);
  const app = await createApp(config).catch((err: unknown) => {
    heldLines(config);
    throw openError(err, config);
  });
  try {
    await app.listen(config.port, config.host);
  } catch (err) {
    await app.close();
    throw listenError(err, config.host, config.port);
  }
  const log = new Logger('ledger-api');
  log.log(`ledger-api listening on http://${config.host}:${config.port} (store: ${config.store.kind}, rule set: ${config.ruleSet.id}@${config.ruleSet.version}, read models: ${config.readModelPath})`);
  if (!config.apiKeys) log.warn(`using the development API keys (${DEV_API_KEYS}): set LEDGER_API_KEYS for real ones`);
}

/**
 * Nest's lines from a build of the application that failed (its steps, and the error with its
 * stack), which createApp holds: written before the one line saying what is wrong when
 * LEDGER_LOG_LEVEL is debug or trace, dropped otherwise. Until 2026-11-28 they were always written,
 * so the one line came last, after a screen of them.
 */
function heldLines(config: LedgerConfig): void {
  if (config.logLevel !== 'debug' && config.logLevel !== 'trace') Logger.overrideLogger(false); // to no logger: Nest has no call that drops them
  Logger.flush();
}

/**
 * A listen that failed, as a ConfigError naming the variable at fault and its value: an address that
 * does not resolve or is not this machine's is HOST's, a port taken or not allowed PORT's (Node's
 * own message, `getaddrinfo ENOTFOUND 999.1.1.1`, named neither).
 */
export function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = `could not be listened on (${(err as Error | undefined)?.message ?? String(err)})`;
  if (code === 'EADDRINUSE' || code === 'EACCES') return new ConfigError('PORT', `${reason} on HOST '${host}'`, String(port));
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL' || code === 'EAI_NONAME') return new ConfigError('HOST', reason, host);
  return err as Error;
}

if (require.main === module) {
  serve(process.env).catch((err: unknown) => {
    process.stderr.write(`ledger-api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
