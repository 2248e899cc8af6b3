import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { apiKeysOf, ConfigError, loadConfig, openError, shortKeysWarning, type LedgerConfig } from '@ledger/runtime';
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
    heldLines(config);
    await app.close();
    const named = listenError(err, config.host, config.port);
    // At debug or trace, the stack of an error that names no variable (a start hook's that threw; a
    // build's comes in Nest's held lines): until 2026-11-28 none was written at any level.
    if (verbose(config.logLevel) && !(named instanceof ConfigError) && named instanceof Error) process.stderr.write(`${named.stack}\n`);
    throw named;
  }
  app.flushLogs(); // Nest's lines held since the build, through pino
  const log = new Logger('ledger-api');
  log.log(`ledger-api listening on http://${config.host}:${config.port} (store: ${config.store.kind}, rule set: ${config.ruleSet.id}@${config.ruleSet.version}, read models: ${config.readModelPath})`);
  if (!config.apiKeys) log.warn(`using the development API keys (${DEV_API_KEYS}): set LEDGER_API_KEYS for real ones`);
  // Here, after the listen, as the development keys' warning: a start that fails writes its one line alone (until the seventeenth
  // session's final read this one was written as the module was made, before a failed start's line).
  const short = config.apiKeys === undefined ? undefined : shortKeysWarning(apiKeysOf(config.apiKeys));
  if (short) log.warn(short);
}

/**
 * Nest's lines from a start that failed (its steps; from a build that failed, the error with its
 * stack too), which createApp holds: written before the one line saying what is wrong when
 * LEDGER_LOG_LEVEL is debug or trace, dropped otherwise. Until 2026-11-28 a failed build's were
 * always written, so the one line came last, after a screen of them.
 */
function heldLines(config: LedgerConfig): void {
  // Flushed with no logger set, the held lines go nowhere: Nest's only public way to drop them (its
  // Logger has no call that clears its buffer). It leaves Nest no logger for what follows, which is
  // nothing: both calls are on a start that failed, and the process then exits (main's catch below).
  if (!verbose(config.logLevel)) Logger.overrideLogger(false);
  Logger.flush();
}

function verbose(level: LedgerConfig['logLevel']): boolean {
  return level === 'debug' || level === 'trace';
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
