import { getRuleSet, type RuleSet } from '@ledger/domain';
import { storeConfigFromEnv, type StoreConfig } from '@ledger/event-store';
import { readModelPathFromEnv } from '@ledger/projections';
import { DEV_API_KEYS, parseApiKeys, type ApiRole } from './http/api-keys';

/** Everything the service reads from its environment, read once at start-up. */
export interface LedgerConfig {
  host: string;
  port: number;
  store: StoreConfig;
  readModelPath: string;
  ruleSet: RuleSet;
  apiKeys: Map<string, ApiRole>;
  /** True when LEDGER_API_KEYS was not set and the development keys are in force. */
  devKeys: boolean;
}

export function configFromEnv(env: Record<string, string | undefined>): LedgerConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be an integer from 0 to 65535, got '${env.PORT}'`);
  const store = storeConfigFromEnv(env);
  return {
    host: env.HOST || '127.0.0.1',
    port,
    store,
    readModelPath: readModelPathFromEnv(env),
    ruleSet: getRuleSet(env.LEDGER_RULE_SET || 'baseline'),
    apiKeys: parseApiKeys(env.LEDGER_API_KEYS || DEV_API_KEYS),
    devKeys: !env.LEDGER_API_KEYS,
  };
}
