import { serve as serveApi } from '../../ledger-api/src/main';

/** `ledger serve`: the HTTP API, exactly as `npm start` runs it; resolves when the server closes. */
export async function serve(env: Record<string, string | undefined>): Promise<void> {
  await serveApi(env);
  await new Promise<void>(() => undefined); // runs until the process is stopped
}
