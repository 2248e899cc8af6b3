import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { INTERRUPTED } from '../src/http/jobs.controller';
import { freePort, killHard, startServer } from './server-process';

/**
 * kill -9 of an API while its job runs (the real worker, no hand-made start): the restarted API,
 * once the killed one's lease is stale, records the job as interrupted. The API runs from the
 * sources (ts-node, transpile only) in a child process of its own, on a temporary SQLite store and
 * read models, as `npm start` runs it.
 */

const AUDITOR = { 'x-api-key': 'dev-auditor-key' };

describe('kill -9 of an API while its job runs', () => {
  const children: ChildProcess[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-killed-job-'));
  afterAll(async () => {
    for (const c of children) await killHard(c);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the job answered running is recorded interrupted by the API started again on its read models, once the killed one\'s lease is stale', async () => {
    const port = await freePort();
    const env = { LEDGER_READMODEL_PATH: path.join(dir, 'readmodels.sqlite') };
    const first = await startServer(dir, port, env);
    children.push(first);
    const http = () => request(`http://127.0.0.1:${port}`);
    const job = (await http().post('/jobs').set(AUDITOR).send({ kind: 'verify' }).expect(202)).body as { id: string; state: string };
    await killHard(first); // its worker (the process's first, loading its code) has not answered
    expect(job.state).toBe('running');

    // The API started again sees the killed one's lease as stale once IT has seen it unchanged for a
    // minute (LEASE_STALE_MS of its own monotonic time: InstanceLeases' spec); not waited for here,
    // its heartbeat set to a closed lease's, stale at once.
    const leases = new Database(path.join(dir, 'readmodels.sqlite.instances'));
    leases.prepare('UPDATE leases SET heartbeat = 0').run();
    leases.close();
    const second = await startServer(dir, port, env);
    children.push(second);
    let seen = await http().get(`/jobs/${job.id}`).set(AUDITOR);
    for (let i = 0; i < 200 && seen.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await http().get(`/jobs/${job.id}`).set(AUDITOR);
    }
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: job.id, kind: 'verify', state: 'interrupted', error: INTERRUPTED });
    let recorded = (await http().get('/jobs/recorded').set(AUDITOR).expect(200)).body.items;
    for (let i = 0; i < 200 && recorded.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      recorded = (await http().get('/jobs/recorded').set(AUDITOR).expect(200)).body.items;
    }
    expect(recorded).toMatchObject([{ jobId: job.id, state: 'interrupted', error: INTERRUPTED }]);
  }, 120_000);
});
