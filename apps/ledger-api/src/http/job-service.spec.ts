import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { AuditJobs, type AuditJob } from '@ledger/audit';
import { DomainError } from '@ledger/domain';
import type { Ledger } from '@ledger/ledger';
import Database from 'better-sqlite3';
import { ReadModelDb, type Projector } from '@ledger/projections';
import { SqliteEventStore } from '@ledger/event-store';
import { makeDamagedStore } from '@ledger/event-store/testing/damaged-store';
import { jobParams, JobService, refuseDigestPastHead } from './jobs.controller';

/** The API's jobs at shutdown: closed before the HTTP server stops, so what waits on them is answered, not held. */
describe("the API's audit jobs at shutdown", () => {
  it('a synchronous route waiting on a job is answered JobsClosedError (503 SHUTTING_DOWN) once shutdown closes the jobs, and a job asked for after is refused the same way', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-service-'));
    try {
      const never = { file: path.join(dir, 'never-answers.js') };
      fs.writeFileSync(never.file, 'setInterval(() => {}, 1000);\n');
      const service = new JobService(new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: never }));
      const answered = service.run('verify', {}, 'api:auditor').then(
        () => 'succeeded',
        (err: Error) => err,
      );
      await service.beforeApplicationShutdown();
      expect(await answered).toMatchObject({ name: 'JobsClosedError', message: expect.stringMatching(/^the verify job .* was cancelled: the API is shutting down$/) });
      await expect(service.run('verify', {}, 'api:auditor')).rejects.toMatchObject({ name: 'JobsClosedError' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a synchronous route whose job another caller cancels', () => {
  it('is answered JobEndedError (409 JOB_CANCELLED), not an opaque 500', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-service-'));
    const never = { file: path.join(dir, 'never-answers.js') };
    fs.writeFileSync(never.file, 'setInterval(() => {}, 1000);\n');
    const service = new JobService(new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: never }));
    try {
      const answered = service.run('verify', {}, 'api:auditor').catch((err: unknown) => err);
      const [job] = service.jobs.list();
      expect(await service.jobs.cancel(job.id)).toBe(true);
      expect(await answered).toMatchObject({ name: 'JobEndedError', state: 'cancelled', jobId: job.id, message: `the verify job ${job.id} was cancelled (DELETE /jobs/:id) before it ended: ask again` });
    } finally {
      await service.beforeApplicationShutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an end record the store refuses through every try', () => {
  it('is logged once, naming the job (at shutdown too, when nobody reads its error after), and said in its error', async () => {
    jest.useFakeTimers();
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      let tries = 0;
      const ledger = { recordAuditJob: async () => Promise.reject(new Error(`store busy: attempt ${++tries}`)) } as unknown as Ledger;
      const job: AuditJob = {
        ...{ id: 'j-busy', kind: 'verify', params: {}, state: 'cancelled', requestedBy: 'api:auditor', record: true },
        ...{ requestedAt: '2026-11-27T08:00:00.000Z', startedAt: '2026-11-27T08:00:00.000Z', endedAt: '2026-11-27T08:01:00.000Z' },
        ...{ progress: { done: 0, total: null, perSecond: null, expectedEnd: null } },
      };
      const ended = JobService.onEnded(ledger, {} as Projector)(job).catch((err: Error) => err);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(await ended).toMatchObject({ message: 'store busy: attempt 5' });
      expect(tries).toBe(5);
      expect(logged.mock.calls).toEqual([[expect.stringMatching(/^verify job j-busy: its end \(cancelled\) could not be recorded: store busy: attempt 5; /)]]);
    } finally {
      logged.mockRestore();
      jest.useRealTimers();
    }
  });
});

describe('the end record of a job that did not run', () => {
  it('is not tried for a job whose start the ledger refused, its end recorded already (by another API): it would only be refused, and logged as recorded before with other content', async () => {
    const recordAuditJob = jest.fn();
    const job: AuditJob = {
      ...{ id: 'j-ended', kind: 'digest', params: {}, state: 'failed', requestedBy: 'api:auditor', record: true },
      ...{ requestedAt: '2026-11-27T08:00:00.000Z', startedAt: null, endedAt: '2026-11-27T08:01:00.000Z', error: 'not run; its start could not be recorded: jobId: ...' },
      ...{ progress: { done: 0, total: null, perSecond: null, expectedEnd: null } },
    };
    await JobService.onEnded({ recordAuditJob } as unknown as Ledger, {} as Projector)(job, new DomainError('jobId', 'audit job j-ended has its end recorded already (interrupted): it does not start'));
    expect(recordAuditJob).not.toHaveBeenCalled();
  });
});

describe('the end of a rebuild job', () => {
  it('a built file put in place while a ledger command reads the live read models: waited for, not thrown away', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-service-'));
    const readModels = new ReadModelDb(path.join(dir, 'readmodels.sqlite'));
    const file = path.join(dir, 'readmodels.sqlite.rebuild-1');
    const built = new Database(file);
    built.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES ('built')");
    built.close();
    const reader = new Database(readModels.file);
    try {
      readModels.db.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('live')");
      reader.exec('BEGIN');
      reader.prepare('SELECT * FROM t').all(); // a read transaction open on the live file
      setTimeout(() => reader.exec('COMMIT'), 300);
      const ledger = { recordAuditJob: async () => undefined } as unknown as Ledger;
      const projector = { stop: async () => undefined, notOfStore: async () => undefined, followReplaced: () => readModels.followReplaced(), writer: { db: readModels }, start: () => undefined } as unknown as Projector;
      const job: AuditJob = {
        ...{ id: 'j2', kind: 'rebuild', params: { file }, state: 'succeeded', requestedBy: 'api:admin', record: false },
        ...{ requestedAt: '2026-11-27T08:00:00.000Z', startedAt: '2026-11-27T08:00:00.000Z', endedAt: '2026-11-27T08:01:00.000Z' },
        ...{ progress: { done: 1, total: 1, perSecond: null, expectedEnd: null }, result: { file, position: '1', applied: 1 } },
      };
      await JobService.onEnded(ledger, projector)(job);
      expect(job.state).toBe('succeeded');
      expect(readModels.db.prepare('SELECT x FROM t').all()).toEqual([{ x: 'built' }]);
    } finally {
      reader.close();
      readModels.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a built file that cannot be put in place (removed meanwhile): the job is recorded as failed, saying why, and the live read models go on serving', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-service-'));
    const readModels = new ReadModelDb(path.join(dir, 'readmodels.sqlite'));
    try {
      readModels.db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      const recorded: unknown[] = [];
      const ledger = { recordAuditJob: async (job: unknown) => recorded.push(job) } as unknown as Ledger;
      let started = 0;
      const projector = { stop: async () => undefined, notOfStore: async () => undefined, followReplaced: () => readModels.followReplaced(), writer: { db: readModels }, start: () => started++ } as unknown as Projector;
      const file = path.join(dir, 'readmodels.sqlite.rebuild-1');
      const job: AuditJob = {
        ...{ id: 'j1', kind: 'rebuild', params: { file }, state: 'succeeded', requestedBy: 'api:admin', record: true },
        ...{ requestedAt: '2026-11-27T08:00:00.000Z', startedAt: '2026-11-27T08:00:00.000Z', endedAt: '2026-11-27T08:01:00.000Z' },
        ...{ progress: { done: 10, total: 10, perSecond: null, expectedEnd: null }, result: { file, position: '10', applied: 10 } },
      };
      await JobService.onEnded(ledger, projector)(job);
      expect(job).toMatchObject({ state: 'failed', error: expect.stringContaining(`the rebuilt read models could not be put in place of the live ones, which go on serving: ENOENT`) });
      expect(recorded).toEqual([expect.objectContaining({ jobId: 'j1', state: 'failed', error: job.error, findings: {} })]);
      expect(started).toBe(1);
      expect(readModels.db.prepare('SELECT x FROM t').all()).toEqual([{ x: 1 }]);
    } finally {
      readModels.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a rebuild job's file", () => {
  it('is its own however many rebuilds are asked for in one millisecond (two jobs would have built one file at once)', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1795784017120);
    try {
      const files = [0, 1, 2].map(() => jobParams({ kind: 'rebuild' }, '/data/readmodels.sqlite').file);
      expect(new Set(files).size).toBe(3);
      for (const f of files) expect(f).toMatch(new RegExp(`^/data/readmodels\\.sqlite\\.rebuild-${process.pid}-1795784017120-\\d+$`));
    } finally {
      now.mockRestore();
    }
  });
});

describe('a digest asked for past the head', () => {
  it("is refused (400 naming at) on a sound store, and left to its job, which names the damage, on a store whose table lost its last cell (until 2026-11-28 refused there too, saying events had been removed)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digest-past-head-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: -1, lastCellLost: true }); // position 3000 lost: the head reads 2999
      const store = new SqliteEventStore(file);
      try {
        await expect(refuseDigestPastHead(store, { at: '3000' })).resolves.toEqual({ at: '3000' });
        await expect(refuseDigestPastHead(store, { at: '2999' })).resolves.toEqual({ at: '2999' });
      } finally {
        await store.dispose();
      }
      // The same store as an older build left it (no log_head: no writer of this build has appended since): not known, so counted
      // (until the seventeenth session's final read, the 400 saying events had been removed).
      const older = path.join(dir, 'older.sqlite');
      fs.copyFileSync(file, older);
      const o = new Database(older);
      o.exec('DROP TABLE log_head');
      o.close();
      const olderStore = new SqliteEventStore(older);
      try {
        await expect(refuseDigestPastHead(olderStore, { at: '3000' })).resolves.toEqual({ at: '3000' });
      } finally {
        await olderStore.dispose();
      }
      const db = new Database(file);
      db.exec('REINDEX'); // the index as the table is: 3000 no event's, the log ending at 2999
      db.close();
      const sound = new SqliteEventStore(file);
      try {
        await expect(refuseDigestPastHead(sound, { at: '3000' })).rejects.toBeInstanceOf(DomainError);
      } finally {
        await sound.dispose();
      }
      // A store whose writers' head is its table's last (no tail lost or deleted): refused without counting the table and its index,
      // a scan of each on the API's event loop (until the seventeenth session's final read, at every such request after an append).
      const db2 = new Database(file);
      db2.exec('UPDATE log_head SET last = (SELECT max(position) FROM events)');
      db2.close();
      const whole = new SqliteEventStore(file);
      const counts = jest.spyOn(whole, 'indexDisagreement');
      try {
        await expect(refuseDigestPastHead(whole, { at: '3000' })).rejects.toBeInstanceOf(DomainError);
        expect(counts).not.toHaveBeenCalled();
      } finally {
        counts.mockRestore();
        await whole.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
