import type { INestApplication } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { createApp } from '../src/bootstrap';
import { DEV_API_KEYS, parseApiKeys } from '../src/http/api-keys';

export const KEYS = { intake: 'dev-intake-key', auditor: 'dev-auditor-key', admin: 'dev-admin-key' };

/** The real Nest app on a temporary SQLite store, as `npm start` builds it. */
export async function startTestApp(ruleSet = 'baseline') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-e2e-'));
  const storeFile = path.join(dir, 'ledger.sqlite');
  const store = new SqliteEventStore(storeFile);
  const app: INestApplication = await createApp(store, { readModelPath: path.join(dir, 'readmodels.sqlite'), ruleSet: getRuleSet(ruleSet), apiKeys: parseApiKeys(DEV_API_KEYS) }, false);
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
    dir,
    storeFile,
    http,
    as,
    async close() {
      try {
        await app.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
