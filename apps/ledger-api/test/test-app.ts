import type { INestApplication } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { Writable } from 'node:stream';
import { SqliteEventStore, type EventStore } from '@ledger/event-store';
import { loadConfig } from '@ledger/runtime';
import type { AppOptions } from '../src/app.module';
import { createApp } from '../src/bootstrap';

export const KEYS = { intake: 'dev-intake-key', auditor: 'dev-auditor-key', admin: 'dev-admin-key' };
/** Who each development key is recorded as: `api:<role>:` and the key's id (apiKeyId: 12 hex digits of its scrypt). */
export const ACTORS = { intake: 'api:intake:b6dba7868170', auditor: 'api:auditor:ff06eff0a56e', admin: 'api:admin:0a6ac6cae4c1' };

/** A fresh, empty store for one test app, and how to release what it holds once the app (which disposes the store) is closed. */
export interface TestStore {
  store: EventStore;
  release(): Promise<void>;
}
let makeStore: (() => Promise<TestStore>) | undefined;

/** Apps started after this call, in this test file, get their store from `factory` instead of a temporary SQLite file. */
export function useTestStore(factory: () => Promise<TestStore>): void {
  makeStore = factory;
}

/**
 * The real Nest app on a temporary SQLite store (or the one `useTestStore` gives), as `npm start`
 * builds it (the configuration read from `env` over the defaults). Its JSON log lines are kept in `logs`.
 */
export async function startTestApp(ruleSet = 'baseline', env: Record<string, string> = {}, options: Pick<AppOptions, 'jobWorker'> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-e2e-'));
  const storeFile = path.join(dir, 'ledger.sqlite');
  const made: TestStore = makeStore ? await makeStore() : { store: new SqliteEventStore(storeFile), release: async () => undefined };
  const store = made.store;
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({ LEDGER_SQLITE_PATH: storeFile, LEDGER_RULE_SET: ruleSet, ...env });
  const app: INestApplication = await createApp(config, { store, logStream, ...options });
  app.flushLogs(); // Nest's lines held while it was built, to `logs`; and those after, as they come
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const http = () => request(url.replace('[::1]', '127.0.0.1'));
  const as = (role: keyof typeof KEYS) => ({
    get: (url: string) => http().get(url).set('x-api-key', KEYS[role]),
    post: (url: string, body?: string | object, type = 'application/json') => {
      const r = http().post(url).set('x-api-key', KEYS[role]).set('content-type', type);
      return body === undefined ? r : r.send(typeof body === 'string' ? body : JSON.stringify(body));
    },
  });
  return {
    app,
    store,
    logs,
    dir,
    storeFile,
    http,
    as,
    async close() {
      try {
        await app.close();
        await made.release();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
