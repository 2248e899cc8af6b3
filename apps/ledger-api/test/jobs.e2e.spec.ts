import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ORPHANED_AFTER_MS, Projector } from '@ledger/projections';
import { JobService } from '../src/http/jobs.controller';
import { ACTORS, startTestApp } from './test-app';
import { writeFullDiskScript } from './full-disk';

/** Audit jobs on worker threads: start, progress, result, cancel, failure, and the record of each in the store. */

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const MPAN = '1412345678901';
const devices = Array.from({ length: 4 }, (_, i) => `00-DB-12-34-56-78-90-${String(i + 10).padStart(2, '0')}`);

type App = Awaited<ReturnType<typeof startTestApp>>;

async function estate(t: App) {
  await t.as('intake').post('/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
  await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
  for (const deviceId of devices) await t.as('intake').post('/devices', { deviceId, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
  for (let i = 0; i < 20; i++) await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${devices[i % 4]}:${i}`, srv: '4.1.1' }).expect(200);
}

async function ended(t: App, id: string) {
  for (let i = 0; i < 600; i++) {
    const job = (await t.as('auditor').get(`/jobs/${id}`).expect(200)).body;
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not end`);
}

describe('audit jobs', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await estate(t);
  });
  afterAll(() => t.close());

  it('a verify job answers 202 at once, runs on a worker, ends with its result, and is recorded in the store', async () => {
    // Its start is recorded before it runs (since 2026-11-27): it covers the event of its own start.
    const head = ((await t.store.headPosition())! + 1n).toString();
    const started = await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202);
    expect(started.body).toMatchObject({ id: expect.any(String), kind: 'verify', state: expect.stringMatching(/queued|running/), requestedBy: ACTORS.auditor });
    const job = await ended(t, started.body.id);
    expect(job).toMatchObject({ state: 'succeeded', progress: { done: Number(head), total: Number(head) }, result: { ok: true, eventsChecked: Number(head), breaks: [], breakCount: 0, position: head } });
    let recorded = (await t.as('auditor').get('/jobs/recorded?kind=verify').expect(200)).body;
    for (let i = 0; i < 100 && recorded.items.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      recorded = (await t.as('auditor').get('/jobs/recorded?kind=verify').expect(200)).body;
    }
    expect(recorded.items[0]).toMatchObject({ jobId: job.id, kind: 'verify', state: 'succeeded', requestedBy: ACTORS.auditor, positionThrough: head, findings: { ok: true, eventsChecked: Number(head), breaks: 0, unreadable: 0 }, error: null });
    // the record is an event like any other: hash-chained, and counted by the next verification (with its own start)
    const again = await ended(t, (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id);
    expect(again.result).toMatchObject({ ok: true, eventsChecked: Number(head) + 2 });
  }, 120_000);

  it('a what-if job and a digest job answer what the synchronous routes answer', async () => {
    const whatIf = await ended(t, (await t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'ownership-only', limit: 5 }).expect(202)).body.id);
    expect(whatIf).toMatchObject({ state: 'succeeded', result: { judged: 20, unchanged: 20 } });
    const sync = await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', limit: 5 }).expect(200);
    expect(sync.body).toMatchObject({ judged: 20, unchanged: 20 });
    // an SRV as typed with spaces selects what the SRV does (it was checked trimmed and compared as sent: judged 0)
    const bySrv = (await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', srv: '4.1.1' }).expect(200)).body.judged;
    expect(bySrv).toBeGreaterThan(0);
    expect((await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', srv: ' 4.1.1 ' }).expect(200)).body.judged).toBe(bySrv);
    const digest = await ended(t, (await t.as('auditor').post('/jobs', { kind: 'digest', at: '10' }).expect(202)).body.id);
    expect(digest.result).toEqual((await t.as('auditor').get('/audit/digest?at=10').expect(200)).body);
    // Past the head a digest would change with the next append (a false alarm when checked): refused, as a job or not.
    const past = (await t.as('auditor').get('/audit/digest?at=100000000').expect(400)).body;
    expect(past).toMatchObject({ field: 'at', message: expect.stringMatching(/^at: position 100000000 is past the log's head \(position \d+\)/) });
    expect((await t.as('auditor').post('/jobs', { kind: 'digest', at: '100000000' }).expect(400)).body).toMatchObject({ field: 'at' });
  }, 120_000);

  it('a what-if over the whole log is recorded; one window of a what-if run window by window is not', async () => {
    const count = async () => {
      let n = 0; // read from the store itself: a job's record is appended before its reply is sent
      for await (const e of t.store.readAll()) if (e.type === 'AuditJobRecorded' && (e.data as { kind: string }).kind === 'what-if') n++;
      return n;
    };
    const before = await count();
    await t.as('auditor').post('/replays', { ruleSet: 'baseline', fromPosition: '1', maxEvents: 5 }).expect(200);
    expect(await count()).toBe(before);
    await t.as('auditor').post('/replays', { ruleSet: 'baseline' }).expect(200);
    expect(await count()).toBe(before + 1);
  }, 120_000);

  it('a what-if job over a window of the log is answered, listed and recorded with its window (its positions were BigInts: a 500, and GET /jobs a 500 for everyone); its record counts what could not be judged', async () => {
    const started = await t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'baseline@1', fromPosition: '1', toPosition: '500' }).expect(202);
    expect(started.body.params.page).toMatchObject({ fromPosition: '1', toPosition: '500' });
    const job = await ended(t, started.body.id);
    expect(job).toMatchObject({ state: 'succeeded' });
    expect((await t.as('auditor').get('/jobs').expect(200)).body.items.map((j: { id: string }) => j.id)).toContain(job.id);
    const recorded = (await t.as('auditor').get('/jobs/recorded?kind=what-if&limit=1').expect(200)).body.items[0];
    expect(recorded).toMatchObject({ jobId: job.id, params: { page: { fromPosition: '1', toPosition: '500' } }, findings: { judged: job.result.judged, notJudgeable: job.result.notJudgeable } });
  }, 120_000);

  it('a queued job and a running one can be cancelled; each cancellation is recorded', async () => {
    const first = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body;
    // One job runs at once (LEDGER_JOBS_MAX_RUNNING=1), and one on a waiting worker may take a few
    // ms: of several asked at once, some are queued when they are answered.
    const more = await Promise.all(Array.from({ length: 24 }, () => t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'baseline' }).expect(202)));
    // Every one answered queued is cancelled at once (one at a time, the queue could drain first:
    // a job on a waiting worker takes a few ms); one still queued then is the one followed below.
    const queued = more.map((r) => r.body).filter((j: { state: string }) => j.state === 'queued');
    const cancelled = await Promise.all(queued.map((j: { id: string }) => t.http().delete(`/jobs/${j.id}`).set('x-api-key', 'dev-auditor-key')));
    const i = cancelled.findIndex((r) => r.status === 200 && r.body.startedAt === null);
    const second: { id: string } | undefined = queued[i];
    if (second) expect(cancelled[i].body).toMatchObject({ state: 'cancelled', startedAt: null });
    if (!second) throw new Error('no job was still queued when cancelled');
    // The first may have answered already (a job on a waiting worker takes a few ms): then the
    // cancellation is refused while its end is handled (409) and it ends as succeeded.
    const refusedOrDone = await t.http().delete(`/jobs/${first.id}`).set('x-api-key', 'dev-auditor-key');
    expect([200, 409]).toContain(refusedOrDone.status);
    let firstNow = (await t.as('auditor').get(`/jobs/${first.id}`).expect(200)).body;
    for (let i = 0; i < 100 && firstNow.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      firstNow = (await t.as('auditor').get(`/jobs/${first.id}`).expect(200)).body;
    }
    expect(['cancelled', 'succeeded']).toContain(firstNow.state);
    await t.http().delete(`/jobs/${second.id}`).set('x-api-key', 'dev-auditor-key').expect(409);
    const recorded = (await t.as('auditor').get('/jobs/recorded').expect(200)).body.items;
    expect(recorded.find((j: { jobId: string }) => j.jobId === second.id)).toMatchObject({ state: 'cancelled', startedAt: null });
  });

  it('a rebuild job (admin only) builds the read models on a worker and swaps them in; what was written meanwhile is there after it', async () => {
    await t.as('auditor').post('/jobs', { kind: 'rebuild' }).expect(403);
    const before = (await t.as('auditor').get(`/decisions?device=${devices[0]}&limit=100`).expect(200)).body.items.length;
    const file = path.join(t.dir, 'readmodels.sqlite');
    const inode = fs.statSync(file).ino;
    const started = (await t.as('admin').post('/jobs', { kind: 'rebuild' }).expect(202)).body;
    // intake goes on while the rebuild runs
    await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${devices[0]}:900`, srv: '4.1.1' }).expect(200);
    const job = await ended(t, started.id);
    expect(job).toMatchObject({ state: 'succeeded', result: { events: expect.any(Number) } });
    expect(fs.statSync(file).ino).not.toBe(inode); // the built file took the live one's place
    expect(fs.readdirSync(t.dir).filter((f) => f.includes('.rebuild-'))).toEqual([]);
    let after = (await t.as('auditor').get(`/decisions?device=${devices[0]}&limit=100`).expect(200)).body.items;
    for (let i = 0; i < 100 && after.length < before + 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = (await t.as('auditor').get(`/decisions?device=${devices[0]}&limit=100`).expect(200)).body.items;
    }
    expect(after.map((d: { requestId: string }) => d.requestId)).toContain(`${SUPPLIER}:${devices[0]}:900`);
    expect(after).toHaveLength(before + 1);
    expect((await t.as('auditor').get('/audit/verify/incremental').expect(200)).body.ok).toBe(true);
    const recorded = (await t.as('auditor').get('/jobs/recorded?kind=rebuild').expect(200)).body.items;
    expect(recorded[0]).toMatchObject({ jobId: job.id, state: 'succeeded', requestedBy: ACTORS.admin, findings: { events: job.result.events } });
  }, 120_000);

  it.each`
    asked                                                              | field
    ${{ srv: '99.9' }}                                                 | ${'srv'}
    ${{ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }}    | ${'to'}
    ${{ fromPosition: '20', toPosition: '10' }}                        | ${'toPosition'}
    ${{ fromPosition: '99999999999999999999' }}                        | ${'fromPosition'}
  `('a what-if that could match nothing, or past any position ($field), is a 400 naming it, not "judged 0" or a failed job', async ({ asked, field }) => {
    expect((await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', ...asked }).expect(400)).body).toMatchObject({ field });
    expect((await t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'ownership-only', ...asked }).expect(400)).body).toMatchObject({ field });
  });

  it.each(['from', 'to', 'srv', 'device', 'user'])('a what-if whose %s is empty is a 400 naming it, not a what-if over every decision (until 2026-11-28, eighteenth session, read as left out)', async (field) => {
    const refusal = { statusCode: 400, field, message: `${field}: is empty: give it a value, or leave it out` };
    expect((await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', [field]: '' }).expect(400)).body).toMatchObject(refusal);
    expect((await t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'ownership-only', [field]: '' }).expect(400)).body).toMatchObject(refusal);
  });

  it.each(['from', 'to', 'srv', 'device', 'user', 'offset', 'limit', 'fromPosition', 'toPosition', 'maxEvents'])('a what-if whose %s is null is a 400 naming it, not read as left out (until 2026-11-28, eighteenth session, a what-if over every decision)', async (field) => {
    const refusal = { statusCode: 400, field, message: `${field}: is null: give it a value, or leave it out` };
    expect((await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', [field]: null }).expect(400)).body).toMatchObject(refusal);
    expect((await t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'ownership-only', [field]: null }).expect(400)).body).toMatchObject(refusal);
  });

  it.each(['0', '501', '999', 'x'])('/jobs/recorded?limit=%s is a 400: a whole number from 1 to 500', async (limit) => {
    expect((await t.as('auditor').get(`/jobs/recorded?limit=${limit}`).expect(400)).body).toMatchObject({ field: 'limit', message: 'limit: must be a whole number from 1 to 500' });
  });

  it('twenty verifications asked for at once wait for a few jobs, not twenty in a row', async () => {
    const before = (await t.as('auditor').get('/jobs/recorded?kind=verify&limit=500').expect(200)).body.items.length;
    const replies = await Promise.all(Array.from({ length: 20 }, () => t.as('auditor').get('/audit/verify')));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(replies.every((r) => r.body.ok === true)).toBe(true);
    let after = (await t.as('auditor').get('/jobs/recorded?kind=verify&limit=500').expect(200)).body.items.length;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = (await t.as('auditor').get('/jobs/recorded?kind=verify&limit=500').expect(200)).body.items.length;
    }
    // The first starts at once; those asked meanwhile join the one queued behind it. A job on a
    // waiting worker takes a few ms, so the twenty requests may span a few jobs end to end (5 seen
    // under load): a few, far from twenty, whichever way the requests and the jobs interleave.
    expect(after - before).toBeGreaterThanOrEqual(1);
    expect(after - before).toBeLessThanOrEqual(10);
  }, 120_000);

  it('a rebuild that is cancelled leaves no half-built file behind', async () => {
    const started = (await t.as('admin').post('/jobs', { kind: 'rebuild' }).expect(202)).body;
    // an auditor may not cancel it, as it may not start one (it could, until 2026-11-27)
    expect((await t.http().delete(`/jobs/${started.id}`).set('x-api-key', 'dev-auditor-key').expect(403)).body.message).toMatch(/may not cancel a rebuild of the read models \(needs admin\)/);
    const cancel = await t.http().delete(`/jobs/${started.id}`).set('x-api-key', 'dev-admin-key');
    expect([200, 409]).toContain(cancel.status); // 409: it had finished (and been swapped in) already
    await ended(t, started.id);
    expect(fs.readdirSync(t.dir).filter((f) => f.includes('.rebuild-'))).toEqual([]);
  }, 120_000);

  it('refuses a bad job with 400, and keeps jobs for auditor and admin keys', async () => {
    expect((await t.as('auditor').get('/jobs/recorded?limit=lots')).body).toMatchObject({ statusCode: 400, field: 'limit' });
    expect((await t.as('auditor').post('/jobs', { kind: 'rebalance' })).status).toBe(400);
    expect((await t.as('auditor').post('/jobs', { kind: 'what-if' })).body).toMatchObject({ statusCode: 400, field: 'ruleSet' });
    expect((await t.as('auditor').post('/jobs', { kind: 'digest', at: 'head' })).body).toMatchObject({ statusCode: 400, field: 'at' });
    await t.as('intake').post('/jobs', { kind: 'verify' }).expect(403);
    await t.as('admin').post('/jobs', { kind: 'verify' }).expect(202);
    await t.as('auditor').get('/jobs/no-such-job').expect(404);
  });
});

describe('a job that fails', () => {
  it('ends as failed with the reason, and the failure is recorded', async () => {
    const t = await startTestApp();
    const raw = new Database(t.storeFile);
    try {
      await estate(t);
      raw.prepare('INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)').run(`device-${devices[0]}`, 99, '00000000-0000-4000-8000-000000000042', 'CertificatePlaced', '{"schemaVersion":7}', '{}', new Date().toISOString());
      const job = await ended(t, (await t.as('auditor').post('/jobs', { kind: 'what-if', ruleSet: 'baseline' }).expect(202)).body.id);
      expect(job).toMatchObject({ state: 'failed', error: expect.stringMatching(/cannot be read: .*version 7 is not known/) });
      const res = await t.as('auditor').post('/replays', { ruleSet: 'baseline' });
      expect(res.status).toBe(500);
      // the job's own reason and a code, not an opaque "internal error" (until 2026-11-27)
      expect(res.body).toMatchObject({ code: 'JOB_FAILED', jobId: expect.any(String), message: expect.stringMatching(/^the what-if job .* failed: .*cannot be read: .*version 7 is not known/) });
    } finally {
      raw.close();
      await t.close();
    }
  }, 120_000);
});

describe('a verification that meets damage', () => {
  it("fails as before, its result, its answer and its record holding what it found before the damage (a row deleted) with the damage (until 2026-11-28 the damage alone), recorded as covering the log through the last position it checked, and answered as the last verification (until 2026-11-28, seventeenth session, the head it started from, and an older verification that passed)", async () => {
    const t = await startTestApp();
    const raw = new Database(t.storeFile);
    try {
      await estate(t);
      await t.as('auditor').get('/audit/verify').expect(200); // one that passes, before the edits
      raw.prepare('DELETE FROM events WHERE position = 3').run(); // an edit: a position missing
      expect(raw.pragma('wal_checkpoint(TRUNCATE)')).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
      // Then the disk: the second leaf of the log's table loses its last cell (its count of cells one less), with no error.
      const { pageno, ncell } = raw.prepare("SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 1").get() as { pageno: number; ncell: number };
      const pageSize = raw.pragma('page_size', { simple: true }) as number;
      const fd = fs.openSync(t.storeFile, 'r+');
      fs.writeSync(fd, Buffer.from([(ncell - 1) >> 8, (ncell - 1) & 0xff]), 0, 2, pageSize * (pageno - 1) + 3);
      fs.closeSync(fd);
      const fresh = new Database(t.storeFile, { readonly: true }); // not `raw`, whose cache holds the page as it was
      const lost = fresh.prepare('SELECT position FROM events INDEXED BY sqlite_autoindex_events_1 EXCEPT SELECT position FROM events NOT INDEXED').pluck().get() as number;
      fresh.close();
      const damage = expect.stringContaining(`the store's file is damaged: the log could not be read past position ${lost - 1} `);
      const found = { ok: false, missingCount: 1, missing: [{ from: '3', to: '3' }], damaged: { message: damage, after: String(lost - 1), checkedThrough: String(lost - 1) } };

      const res = await t.as('auditor').get('/audit/verify');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'JOB_FAILED', jobId: expect.any(String), message: expect.stringMatching(/^the verify job .* failed: the store's file is damaged/), result: found });
      expect((await t.as('auditor').get(`/jobs/${res.body.jobId}`).expect(200)).body).toMatchObject({ state: 'failed', error: damage, result: found });
      const recorded = (await t.as('auditor').get('/jobs/recorded?kind=verify').expect(200)).body.items;
      expect(recorded).toMatchObject([{ jobId: res.body.jobId, state: 'failed', error: damage, positionThrough: String(lost - 1), findings: { ok: false, missing: 1, firstMissing: [{ from: '3', to: '3' }], damaged: found.damaged } }, { state: 'succeeded' }]);
      expect(Number(res.body.result.position)).toBeGreaterThan(lost); // the head it started from
      await t.app.get(Projector).waitFor((await t.store.headPosition())!, 10_000);
      expect((await t.as('auditor').get('/audit/verify/last').expect(200)).body).toMatchObject({ ok: false, missingCount: 1, missing: [{ from: '3', to: '3' }], positionThrough: String(lost - 1), damaged: found.damaged });
    } finally {
      raw.close();
      await t.close();
    }
  }, 120_000);
});

describe('a rebuild on a full disk', () => {
  it('answers 507 JOB_OUT_OF_SPACE, as a full store does, and its record says what happened', async () => {
    // The application's job worker, whose rebuilds find their file's disk full once its tables are made (no page more than it then has): SQLite's own SQLITE_FULL, as on a full disk.
    const worker = path.join(os.tmpdir(), `full-disk-worker-${process.pid}-${Date.now()}.js`);
    const src = path.resolve(__dirname, '../../../libs');
    writeFullDiskScript(worker, path.join(src, 'projections/src/read-model-db.ts'), { after: `require(${JSON.stringify(path.join(src, 'runtime/src/job-worker.ts'))});` });
    const t = await startTestApp('baseline', {}, { jobWorker: { file: worker, execArgv: ['--require', 'tsx/cjs'] } });
    try {
      await estate(t);
      const res = await t.as('admin').post('/admin/rebuild');
      expect(res.status).toBe(507); // 500 JOB_FAILED until 2026-11-27
      expect(res.body).toMatchObject({ error: 'Insufficient Storage', code: 'JOB_OUT_OF_SPACE', jobId: expect.any(String), message: expect.stringMatching(/^the rebuild job .* failed: database or disk is full$/) });
      expect((await t.as('auditor').get(`/jobs/${res.body.jobId}`).expect(200)).body).toMatchObject({ state: 'failed', error: 'database or disk is full', outOfSpace: true });
      const recorded = (await t.as('auditor').get('/jobs/recorded?kind=rebuild').expect(200)).body.items;
      expect(recorded).toMatchObject([{ jobId: res.body.jobId, state: 'failed', error: 'database or disk is full' }]);
      expect(fs.readdirSync(t.dir).filter((f) => f.includes('.rebuild-'))).toEqual([]);
    } finally {
      await t.close();
      fs.rmSync(worker, { force: true });
    }
  }, 120_000);
});

describe('a rebuild whose process was killed', () => {
  it('leaves no half-built file behind once the API starts again; a live process\'s file is kept', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rebuilds-'));
    const readModels = path.join(dir, 'readmodels.sqlite');
    const dead = spawnSync(process.execPath, ['-e', '']).pid; // a process that has exited: as an API killed mid-rebuild (SIGKILL)
    // A -journal too: one was left by a `ledger rebuild` killed early (2026-11-27, fifteenth session), and kept for good until then.
    const orphaned = [`readmodels.sqlite.rebuild-${dead}-1795783457501`, `readmodels.sqlite.rebuild-${dead}-1795783457501-wal`, `readmodels.sqlite.rebuild-${dead}-1795783457501-journal`, `readmodels.sqlite.rebuild-${process.pid}-1795783000000`];
    const live = `readmodels.sqlite.rebuild-${process.ppid}-1795783457502`;
    // Kept: one written to within ORPHANED_AFTER_MS (a live rebuild of another container on a shared volume: its pid means nothing here), a copy named by a date.
    const recent = [`readmodels.sqlite.rebuild-${dead}-1795783457503-1`, `readmodels.sqlite.rebuild-${process.pid}-1795783457504-1`];
    const kept = [live, ...recent, 'readmodels.sqlite.rebuild-2026-11-27', 'readmodels.sqlite.rebuilt-by-hand'];
    for (const f of [...orphaned, ...kept]) fs.writeFileSync(path.join(dir, f), 'half a database');
    const old = (Date.now() - ORPHANED_AFTER_MS - 60_000) / 1000;
    for (const f of [...orphaned, live, 'readmodels.sqlite.rebuild-2026-11-27']) fs.utimesSync(path.join(dir, f), old, old);
    const t = await startTestApp('baseline', { LEDGER_READMODEL_PATH: readModels });
    try {
      expect(fs.readdirSync(dir).filter((f) => f.includes('.rebuil')).sort()).toEqual([...kept].sort());
      expect(t.logs.join('\n')).toContain(`removed what rebuilds of a process no longer running left behind: `);
    } finally {
      await t.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a job asked for while the API shuts down', () => {
  it('is refused with 503 SHUTTING_DOWN (the client may retry elsewhere), not a 500', async () => {
    const t = await startTestApp();
    try {
      await t.app.get(JobService).beforeApplicationShutdown(); // what shutdown does before it stops the HTTP server, whose requests in flight it then waits for
      const res = await t.as('auditor').post('/jobs', { kind: 'verify' });
      expect(res.body).toMatchObject({ statusCode: 503, code: 'SHUTTING_DOWN', message: expect.stringMatching(/closed \(shutting down\)/) });
    } finally {
      await t.close();
    }
  }, 60_000);
});

/** The estate, then the store put back as it was three events ago (the log's last events deleted): the read models are ahead of it. Returns the head before. */
async function estateCutBy3(t: App): Promise<bigint> {
  await estate(t);
  const head = (await t.store.headPosition())!;
  const raw = new Database(t.storeFile);
  raw.prepare('DELETE FROM events WHERE position > ?').run(head - 3n);
  raw.prepare('UPDATE log_head SET last = ?').run(head - 3n); // the store's head put back with its rows, as a restore does
  raw.close();
  await new Promise((r) => setTimeout(r, 10)); // the store's read snapshot of this turn (it read the head) predates the cut
  return head;
}

describe('incremental verification', () => {
  it('says the read models halted on a log that is not theirs (a store restored from an older backup) as such, not as an unreadable event', async () => {
    const t = await startTestApp();
    try {
      const head = await estateCutBy3(t);
      // What the API's start after such a restore does: catch up from the checkpoint, which checks the event there first.
      await expect(t.app.get(Projector).catchUp()).rejects.toThrow(/they were made from another log/);
      const body = (await t.as('auditor').get('/audit/verify/incremental').expect(200)).body;
      expect(body).toMatchObject({ ok: false, unreadable: [], halted: { position: head.toString(), reason: expect.stringMatching(`^the read models were projected through position ${head}, past the head of the store when checked \\(position ${head - 3n}\\): they were made from another log`) } });
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a rebuild over read models projected past the store's head (the log's last events deleted) says so, naming both, in its answer, its record and a warning, and rebuilds", async () => {
    const t = await startTestApp();
    try {
      const head = await estateCutBy3(t);
      const now = head - 2n; // the rebuild job's start, recorded before it runs, is the store's head when it ends
      const warning = `the read models this rebuild replaced were projected through position ${head}, past the head of the store when checked (position ${now}): the log was cut or rewritten since they were projected, or the store restored from an older backup`;
      const replaced = { checkpoint: head.toString(), applied: expect.any(String), storeHead: now.toString(), storeEvent: null, warning };
      const rebuilt = (await t.as('admin').post('/admin/rebuild').expect(200)).body;
      expect(rebuilt).toMatchObject({ replaced });
      let recorded = (await t.as('auditor').get('/jobs/recorded?kind=rebuild').expect(200)).body.items;
      for (let i = 0; i < 100 && recorded.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        recorded = (await t.as('auditor').get('/jobs/recorded?kind=rebuild').expect(200)).body.items;
      }
      expect(recorded[0]).toMatchObject({ state: 'succeeded', findings: { replaced } });
      expect(t.logs.some((l) => l.includes(warning))).toBe(true);
      // Rebuilt from the store as it is: the next rebuild replaces read models of this log, and says nothing.
      expect((await t.as('auditor').get('/audit/verify/incremental').expect(200)).body.ok).toBe(true);
      expect((await t.as('admin').post('/admin/rebuild').expect(200)).body.replaced).toBeUndefined();
    } finally {
      await t.close();
    }
  }, 60_000);

  it("the log's last events deleted with a plain DELETE (the writers' head left as it was): the rebuild says so, and the incremental verification after it names them missing, the rebuild's own record having gone past them (the README's tamper table said ok until the nineteenth session)", async () => {
    const t = await startTestApp();
    try {
      await estate(t);
      const head = (await t.store.headPosition())!;
      const raw = new Database(t.storeFile);
      raw.prepare('DELETE FROM events WHERE position > ?').run(head - 3n);
      raw.close();
      await new Promise((r) => setTimeout(r, 10)); // the store's read snapshot of this turn (it read the head) predates the cut
      const rebuilt = (await t.as('admin').post('/admin/rebuild').expect(200)).body;
      // The rebuild job's start is recorded past the writers' head, not at the first deleted position.
      expect(rebuilt.replaced).toMatchObject({ checkpoint: head.toString(), storeHead: (head + 1n).toString(), storeEvent: null, warning: expect.stringContaining(`projected through position ${head}, where the store holds no event`) });
      const incremental = (await t.as('auditor').get('/audit/verify/incremental').expect(200)).body;
      expect(incremental).toMatchObject({ ok: false, breaks: [], missing: [{ from: (head - 2n).toString(), to: head.toString() }], missingCount: 1 });
    } finally {
      await t.close();
    }
  }, 60_000);

  it('is not ok over read models that checked nothing of a store that holds events, and says why', async () => {
    const t = await startTestApp();
    try {
      await estate(t);
      const projector = t.app.get(Projector);
      await projector.stop();
      projector.writer.db.db.transaction(() => projector.writer.reset())(); // read models emptied: no checkpoint
      const head = (await t.store.headPosition())!.toString();
      const body = (await t.as('auditor').get('/audit/verify/incremental').expect(200)).body;
      expect(body).toMatchObject({ ok: false, verifiedThrough: null, streams: 0, breaks: [], unchecked: { storeHead: head, reason: expect.stringMatching(`^the read models have checked no event of the store, which holds events through position ${head}: the projector has not yet projected any of it; see GET /health`) } });
    } finally {
      await t.close();
    }
  }, 60_000);

  it('checks each event once as it is projected: it agrees with the full walk, and finds a forged event the projector meets', async () => {
    const t = await startTestApp();
    const raw = new Database(t.storeFile);
    try {
      await estate(t);
      const incremental = (await t.as('auditor').get('/audit/verify/incremental').expect(200)).body;
      const head = (await t.store.headPosition())!.toString();
      expect(incremental).toMatchObject({ ok: true, verifiedThrough: head, breaks: [], breakCount: 0, missing: [], missingCount: 0, unreadable: [] });
      const digest = (await t.as('auditor').get(`/audit/digest?at=${head}`).expect(200)).body;
      expect(incremental.digest).toBe(digest.digest);
      expect(incremental.streams).toBe(digest.streams);
      // An event written into the store behind the ledger's back, with a link that does not hold.
      const revision = (await t.store.streamRevision(`device-${devices[1]}`))! + 1n;
      const forged = raw
        .prepare('INSERT INTO events (stream, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(`device-${devices[1]}`, revision, '00000000-0000-4000-8000-000000000077', 'DeviceInventoryChanged', JSON.stringify({ schemaVersion: 1, deviceId: devices[1], deviceType: 'ESME', smetsGeneration: 1, status: 'Decommissioned', mpxn: MPAN, changedAt: '2021-01-01T00:00:00.000Z' }), JSON.stringify({ $prevHash: '0'.repeat(64), $hash: 'f'.repeat(64) }), new Date().toISOString());
      let after = (await t.as('auditor').get('/audit/verify/incremental').expect(200)).body;
      for (let i = 0; i < 100 && after.verifiedThrough !== String(forged.lastInsertRowid); i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = (await t.as('auditor').get('/audit/verify/incremental').expect(200)).body;
      }
      expect(after).toMatchObject({ ok: false, breaks: [{ stream: `device-${devices[1]}`, kind: 'prev-hash-mismatch', revision: revision.toString(), position: String(forged.lastInsertRowid) }], breakCount: 1, missingCount: 0 });
      const full = (await t.as('auditor').get('/audit/verify').expect(200)).body;
      expect(full.breaks).toEqual(after.breaks);
    } finally {
      raw.close();
      await t.close();
    }
  }, 120_000);
});
