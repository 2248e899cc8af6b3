import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditJobs } from '@ledger/audit';
import { SqliteEventStore } from '@ledger/event-store';
import Database from 'better-sqlite3';
import { ESME, NO_A } from '../../../libs/ledger/src/testing/one-esme';
import { startTestApp, useTestStore } from './test-app';

/**
 * The SQLite store locked by another connection (a backup, an `sqlite3` shell holding a
 * transaction) past the writer's wait: a command's append and a job's start are answered 503
 * STORE_BUSY, nothing written, and taken again once the lock is let go. Until the fourteenth session
 * of 2026-11-27 both were a 500 "internal error" (SQLite's bare "database is locked").
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-busy-'));
const storeFile = path.join(dir, 'ledger.sqlite');
// The writer waits 200 ms for another connection's lock (5 s by default), so that the test does not wait 5 s a request.
useTestStore(async () => ({ store: new SqliteEventStore(storeFile, { busyTimeoutMs: 200 }), release: async () => undefined }));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the store locked by another connection', () => {
  it('answers a command and POST /jobs 503 STORE_BUSY, writes nothing, and takes both once the lock is let go', async () => {
    const t = await startTestApp();
    const lock = new Database(storeFile);
    try {
      const before = await t.store.headPosition();
      lock.exec('BEGIN EXCLUSIVE');
      const command = await t.as('intake').post('/service-requests', { requestId: `${NO_A}:${ESME}:1`, srv: '4.1.1' });
      expect([command.status, command.body.code]).toEqual([503, 'STORE_BUSY']);
      expect(command.body.message).toMatch(/^store busy: .*database is locked/);
      const job = await t.as('auditor').post('/jobs', { kind: 'verify' });
      expect([job.status, job.body.code]).toEqual([503, 'STORE_BUSY']);
      // The job has a record of its own (below): the answer names it, and does not say "nothing was written, try again" (until the fourteenth session's last review it did).
      expect(job.body.message).toMatch(new RegExp(`^the verify job ${job.body.jobId} was not run: store busy: .*database is locked \\(another connection holds its lock\\); a request sent again is another job$`));
      expect(job.body.message).not.toMatch(/nothing was written|try again/);
      await new Promise((r) => setTimeout(r, 600)); // the lock held past the job's first try to record its end: it tries again (until the final read of the fourteenth session it tried once, and stored nothing)
      expect(await t.store.headPosition()).toBe(before);
      lock.exec('COMMIT');
      // The job never ran; its end, recorded once the lock is let go, says it never started (startedAt null).
      const [notRun] = t.app.get(AuditJobs).list();
      expect(notRun.id).toBe(job.body.jobId);
      const ended = await t.app.get(AuditJobs).done(notRun.id);
      expect(ended).toMatchObject({ kind: 'verify', state: 'failed', startedAt: null, error: expect.stringMatching(/^not run; its start could not be recorded: store busy: /) });
      let recorded: unknown[] = [];
      for (let i = 0; i < 500 && recorded.length === 0; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 20)); // the read models catching up
        recorded = (await t.as('auditor').get('/jobs/recorded?kind=verify').expect(200)).body.items;
      }
      expect(recorded).toEqual([expect.objectContaining({ jobId: notRun.id, state: 'failed', startedAt: null })]);
      await t.as('intake').post('/service-requests', { requestId: `${NO_A}:${ESME}:1`, srv: '4.1.1' }).expect(200);
      await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202);
    } finally {
      if (lock.inTransaction) lock.exec('ROLLBACK');
      lock.close();
      await t.close();
    }
  }, 60_000);
});
