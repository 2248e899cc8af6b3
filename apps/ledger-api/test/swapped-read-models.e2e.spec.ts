import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteEventStore } from '@ledger/event-store';
import { openReadModels, ReadModelDb } from '@ledger/projections';
import { startTestApp, useTestStore } from './test-app';

/**
 * Two APIs on one store and ONE read-model file (two on one volume, a rolling restart): one of them
 * rebuilds the read models (a rebuild job, whose file takes the live one's place by a rename). The
 * other notices that its file was replaced, reopens the file at the path and projects into it.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-swapped-'));
const storeFile = path.join(dir, 'ledger.sqlite');
const readModelFile = path.join(dir, 'shared.sqlite');
useTestStore(async () => ({ store: new SqliteEventStore(storeFile), release: async () => undefined }));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';

it("another API's rebuild job swaps the shared read-model file: this API reopens the file at the path (logged, and said by /health) and what it projects after goes there", async () => {
  const a = await startTestApp('baseline', { LEDGER_READMODEL_PATH: readModelFile });
  const b = await startTestApp('baseline', { LEDGER_READMODEL_PATH: readModelFile });
  try {
    try {
      await b.as('intake').post('/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
      expect((await b.as('auditor').get('/health').expect(200)).body.readModels.replaced).toBeNull();
      const inode = fs.statSync(readModelFile).ino;
      await a.as('admin').post('/admin/rebuild').expect(200);
      expect(fs.statSync(readModelFile).ino).not.toBe(inode);
      const said = `read models replaced by another process at ${readModelFile}; reopened at checkpoint `;
      // Nest's loggers in one process write to the first app's log (A's): two processes would each have their own.
      const logs = () => [...a.logs, ...b.logs];
      for (let i = 0; i < 250 && !logs().some((l) => l.includes(said)); i++) await new Promise((r) => setTimeout(r, 20)); // B looks every second
      const lines = logs().map((l) => JSON.parse(l) as { level: number; context?: string; msg: string }).filter((l) => l.msg.includes(said));
      expect(lines).toEqual([{ level: 30, context: 'projector', msg: expect.any(String), time: expect.any(Number), pid: expect.any(Number), hostname: expect.any(String) }]); // once, at info
      const line = lines[0];
      const health = (await b.as('auditor').get('/health').expect(200)).body;
      expect(health.readModels.replaced).toEqual({ at: expect.any(String), checkpoint: line.msg.slice(said.length) });
      expect((await a.as('auditor').get('/health').expect(200)).body.readModels.replaced).toBeNull(); // its own swap: nothing to notice
    } finally {
      await a.close();
    }
    // B alone projects now: what it takes is in the file at the path, not in the one A's rebuild replaced.
    const written = await b.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-02', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    expect(written.body).toMatchObject({ projected: true });
    const atPath = new Database(readModelFile, { readonly: true });
    try {
      expect(atPath.prepare('SELECT position FROM checkpoint').get()).toEqual({ position: String(await b.store.headPosition()) });
    } finally {
      atPath.close();
    }
    expect((await b.as('auditor').get('/health').expect(200)).body).toMatchObject({ status: 'ok', readModels: { lag: 0 } });
  } finally {
    await b.close();
  }
}, 60_000);

it("another process puts in read models of another store (projected past this store's head): this API's projector halts on them (/health 503), and a write replies projected: false", async () => {
  const file = path.join(dir, 'other-store.sqlite');
  const b = await startTestApp('baseline', { LEDGER_READMODEL_PATH: file });
  try {
    await b.as('intake').post('/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    const built = openReadModels(path.join(dir, 'other-store-built.sqlite'));
    built.checkpoint.set((await b.store.headPosition())! + 178n, 302, 'of-another-store');
    built.db.closeCheckpointed();
    const other = new ReadModelDb(file);
    other.replaceWith(path.join(dir, 'other-store-built.sqlite'));
    other.close();
    let health = await b.as('auditor').get('/health');
    for (let i = 0; i < 250 && health.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 20)); // B looks every second
      health = await b.as('auditor').get('/health');
    }
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'projector-halted', readModels: { halted: { reason: expect.stringMatching(/past the head of the store/) } } });
    const written = await b.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-03', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    expect(written.body).toMatchObject({ projected: false });
  } finally {
    await b.close();
  }
}, 60_000);
