import * as path from 'node:path';

/** Everything the API reads from its environment, read once at start-up. */
export interface ApiConfig {
  host: string;
  port: number;
}

export function apiConfigFromEnv(env: NodeJS.ProcessEnv): ApiConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer from 0 to 65535, got '${env.PORT}'`);
  }
  return { host: env.HOST || '127.0.0.1', port };
}

export const projectRoot = path.resolve(__dirname, '..', '..', '..');
