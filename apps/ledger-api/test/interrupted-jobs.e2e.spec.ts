import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditJobs, type AuditJob } from '@ledger/audit';
import { SqliteEventStore, StoreFullError, StoreUnavailableError } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { AuditJobQueries } from '@ledger/projections';
import Database from 'better-sqlite3';
import { InstanceLeases } from '../src/http/instance-leases';
import { INTERRUPTED, JobService, NEVER_STARTED, SWAPPED_IN } from '../src/http/jobs.controller';
import { ACTORS, KEYS, startTestApp, useTestStore } from './test-app';

/**
 * A job whose API stopped before it ended (SIGKILL, a crash, the machine): its start is recorded
 * (AuditJobStarted), and the API that ran it, started again on its read models, records it as
 * interrupted. Another API's jobs on the same store are never taken for its own.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-interrupted-'));
const storeFile = path.join(dir, 'ledger.sqlite');
useTestStore(async () => ({ store: new SqliteEventStore(storeFile), release: async () => undefined }));
const readModels = (name: string) => ({ LEDGER_READMODEL_PATH: path.join(dir, `${name}.sqlite`) });

/** A job worker that never answers: its job runs until cancelled. */
const neverAnswers = path.join(dir, 'never-answers.js');
fs.writeFileSync(neverAnswers, 'setInterval(() => {}, 1000);\n');

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A job's start as the API records it as the job begins to run (JobService.onStarted), for a job that then never ends. */
function runningJob(id: string, kind: string, params: Record<string, unknown>): AuditJob {
  return { id, kind, params, state: 'running', requestedBy: 'api:auditor', record: true, requestedAt: '2026-11-27T10:00:00.000Z', startedAt: '2026-11-27T10:00:00.100Z', endedAt: null, progress: { done: 0, total: null, perSecond: null, expectedEnd: null } };
}

async function until<T>(look: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const found = await look();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not seen within 10 s');
}

/** A job's stream in `t`'s store: each event's type, and the state it records. */
async function recordedIn(t: Awaited<ReturnType<typeof startTestApp>>, id: string) {
  const events = [];
  for await (const e of t.store.readStream(`auditjob-${id}`)) events.push([e.type, (e.data as { state?: string }).state]);
  return events;
}

/** A job of `t` once it shows an end state (a job of another process once `t` shows it). */
async function ended(t: Awaited<ReturnType<typeof startTestApp>>, id: string) {
  return until(async () => {
    const res = await t.as('auditor').get(`/jobs/${id}`);
    if (res.status === 404) return undefined;
    expect(res.status).toBe(200);
    return res.body.state === 'running' ? undefined : res.body;
  });
}

describe('a job the API was running when it stopped', () => {
  it('shows, once that API starts again, as interrupted: in GET /jobs, GET /jobs/:id and the record; another API\'s running job is left alone', async () => {
    // Two APIs on one store, each on read models of its own; each records a job's start, and stops before that job ends.
    const a = await startTestApp('baseline', readModels('a'));
    const aInstance = a.app.get(InstanceLeases).id;
    await JobService.onStarted(a.app.get(Ledger), () => aInstance)(runningJob('job-a', 'what-if', { ruleSet: { id: 'ownership-only', version: 1 }, filter: {}, page: {} }));
    await a.app.close();
    const b = await startTestApp('baseline', readModels('b'));
    const bInstance = b.app.get(InstanceLeases).id;
    expect(bInstance).not.toBe(aInstance);
    await JobService.onStarted(b.app.get(Ledger), () => bInstance)(runningJob('job-b', 'verify', {}));
    try {
      // A starts again, on its read models: its job is interrupted; B's, as far as A knows, still runs.
      const again = await startTestApp('baseline', readModels('a'));
      try {
        const job = await until(async () => {
          const res = await again.as('auditor').get('/jobs/job-a');
          return res.status === 200 ? res.body : undefined;
        });
        const expected = { id: 'job-a', kind: 'what-if', state: 'interrupted', requestedBy: 'api:auditor', requestedAt: '2026-11-27T10:00:00.000Z', startedAt: '2026-11-27T10:00:00.100Z', endedAt: expect.any(String), params: { ruleSet: { id: 'ownership-only', version: 1 } }, error: INTERRUPTED };
        expect(job).toMatchObject(expected);
        expect((await again.as('auditor').get('/jobs').expect(200)).body.items).toMatchObject([expected]);
        await again.as('auditor').get('/jobs/job-b').expect(404);
        const recorded = await until(async () => {
          const items = (await again.as('auditor').get('/jobs/recorded').expect(200)).body.items;
          return items.length > 0 ? items : undefined;
        });
        expect(recorded).toMatchObject([{ jobId: 'job-a', kind: 'what-if', state: 'interrupted', startedAt: '2026-11-27T10:00:00.100Z', error: INTERRUPTED, positionThrough: null }]);
        expect(recorded).toHaveLength(1);
        expect((await again.as('auditor').get('/audit/verify').expect(200)).body.ok).toBe(true);
      } finally {
        await again.close();
      }
      // And once more: recorded once.
      const third = await startTestApp('baseline', readModels('a'));
      try {
        await until(async () => ((await third.as('auditor').get('/jobs/recorded?kind=verify').expect(200)).body.items.length > 0 ? true : undefined));
        expect((await third.as('auditor').get('/jobs/recorded?kind=what-if').expect(200)).body.items).toHaveLength(1);
        expect((await third.as('auditor').get('/jobs').expect(200)).body.items).toEqual([]);
      } finally {
        await third.close();
      }
    } finally {
      await b.close();
    }
  }, 120_000);

  it('a job that runs records its start before its end, in its stream', async () => {
    const t = await startTestApp('baseline', readModels('c'));
    try {
      const id = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      await until(async () => ((await t.as('auditor').get(`/jobs/${id}`).expect(200)).body.state === 'succeeded' ? true : undefined));
      const events = [];
      for await (const e of t.store.readStream(`auditjob-${id}`)) events.push(e);
      expect(events.map((e) => e.type)).toEqual(['AuditJobStarted', 'AuditJobRecorded']);
      expect(events[0].data).toMatchObject({ schemaVersion: 1, jobId: id, kind: 'verify', requestedBy: ACTORS.auditor, params: {}, instance: t.app.get(InstanceLeases).id });
    } finally {
      await t.close();
    }
  }, 60_000);

  it('a cancelled job\'s record says what ended it: the key that cancelled it, the one that asked for it too, or the API\'s shutdown (until 2026-11-28 neither of these two said cancelledBy, and the shutdown\'s end had the asker\'s actor)', async () => {
    const a = await startTestApp('baseline', readModels('cancelled'), { jobWorker: { file: neverAnswers } });
    let own: string, left: string;
    try {
      own = (await a.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      await a.http().delete(`/jobs/${own}`).set('x-api-key', KEYS.auditor).expect(200);
      left = (await a.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
    } finally {
      await a.close(); // cancels `left`
    }
    const b = await startTestApp('baseline', readModels('cancelled'));
    try {
      const recorded = await until(async () => {
        const items = ((await b.as('auditor').get('/jobs/recorded').expect(200)).body as { items: Array<{ jobId: string }> }).items.filter((j) => j.jobId === own || j.jobId === left);
        return items.length === 2 ? new Map(items.map((j) => [j.jobId, j])) : undefined;
      });
      expect(recorded.get(own)).toMatchObject({ state: 'cancelled', requestedBy: ACTORS.auditor, actor: ACTORS.auditor, cancelledBy: ACTORS.auditor });
      expect(recorded.get(left)).toMatchObject({ state: 'cancelled', requestedBy: ACTORS.auditor, actor: 'api:shutdown', cancelledBy: 'api:shutdown' });
    } finally {
      await b.close();
    }
  }, 60_000);

  it("a job whose end the store refused a while: its end is recorded once the store takes it again, not left for the next start to call interrupted", async () => {
    const t = await startTestApp('baseline', readModels('d'));
    try {
      const ledger = t.app.get(Ledger);
      const record = ledger.recordAuditJob.bind(ledger);
      let refused = 0;
      jest.spyOn(ledger, 'recordAuditJob').mockImplementation(async (...args) => {
        if (++refused <= 2) throw new Error('database or disk is full');
        return record(...args);
      });
      const id = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      const job = await ended(t, id);
      expect(job).toMatchObject({ state: 'succeeded' });
      expect(job.error).toBeUndefined();
      expect(await recordedIn(t, id)).toEqual([['AuditJobStarted', undefined], ['AuditJobRecorded', 'succeeded']]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('a job whose end could not be recorded at all: the next start records that no end was recorded, not that the API stopped', async () => {
    const t = await startTestApp('baseline', readModels('e'));
    let id: string;
    try {
      jest.spyOn(t.app.get(Ledger), 'recordAuditJob').mockRejectedValue(new Error('database or disk is full'));
      id = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      const job = await ended(t, id);
      expect(job).toMatchObject({ state: 'succeeded', error: expect.stringContaining('the job ended but could not be recorded: database or disk is full') });
    } finally {
      await t.close();
    }
    const again = await startTestApp('baseline', readModels('e'));
    try {
      const recorded = await until(async () => {
        const items = (await again.as('auditor').get('/jobs/recorded?kind=verify').expect(200)).body.items as Array<{ jobId: string }>;
        return items.find((j) => j.jobId === id);
      });
      expect(recorded).toMatchObject({ jobId: id, state: 'interrupted', error: INTERRUPTED });
      expect(INTERRUPTED).toMatch(/^no end was recorded: the API stopped before the job ended, or could not record its end/);
    } finally {
      await again.close();
    }
  }, 60_000);

  it("a job's real end after another end was recorded for it (interrupted, by another process): refused, the first record kept, and the job says so", async () => {
    const t = await startTestApp('baseline', readModels('f'));
    try {
      const ledger = t.app.get(Ledger);
      const record = ledger.recordAuditJob.bind(ledger);
      jest.spyOn(ledger, 'recordAuditJob').mockImplementation(async (job, ctx) => {
        // Another process records it interrupted just before its own end is appended.
        await record({ ...job, state: 'interrupted', endedAt: '2026-11-27T10:00:01.000Z', positionThrough: null, findings: {}, error: INTERRUPTED }, { actor: 'api:startup' });
        return record(job, ctx);
      });
      const id = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      const job = await ended(t, id);
      expect(job).toMatchObject({ state: 'succeeded', error: expect.stringContaining(`the job ended but could not be recorded: jobId: the end of audit job ${id} was recorded before with other content (it differs in `) });
      expect(await recordedIn(t, id)).toEqual([['AuditJobStarted', undefined], ['AuditJobRecorded', 'interrupted']]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("an API paused past the lease's staleness (SIGSTOP, a VM stall) whose lease another claimed: it takes a new lease, and a job that ran under the lost one keeps the claimer's interrupted record, its own end refused, saying so plainly", async () => {
    const t = await startTestApp('baseline', readModels('paused'), { jobWorker: { file: neverAnswers } });
    try {
      const leases = t.app.get(InstanceLeases);
      const running = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      const lost = leases.id;
      // Meanwhile another API claimed its lease (as InstanceLeases.claimStale does) and recorded its job interrupted.
      const file = new Database(path.join(dir, 'paused.sqlite.instances'));
      file.prepare("UPDATE leases SET holder = 'claimer' WHERE id = ?").run(lost);
      file.close();
      const start = [];
      for await (const e of t.store.readStream(`auditjob-${running}`)) start.push(e.data as { requestedAt: string; startedAt: string; params: Record<string, unknown> });
      await t.app.get(Ledger).recordAuditJob(
        { jobId: running, kind: 'verify', state: 'interrupted', requestedBy: 'api:auditor', requestedAt: start[0].requestedAt, startedAt: start[0].startedAt, endedAt: '2026-11-27T10:00:01.000Z', positionThrough: null, params: start[0].params, findings: {}, error: INTERRUPTED },
        { actor: 'api:startup' },
      );
      expect(leases.beat()).toBe(lost);
      expect(leases.id).not.toBe(lost);
      expect(await t.app.get(AuditJobs).cancel(running)).toBe(true);
      expect(await ended(t, running)).toMatchObject({ state: 'cancelled', error: expect.stringContaining(`the job ended but could not be recorded: this API's instance lease ${lost} was lost while it was paused`) });
      expect(await recordedIn(t, running)).toEqual([['AuditJobStarted', undefined], ['AuditJobRecorded', 'interrupted']]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("two APIs on ONE read-model file (a rolling restart, two on one volume): the one that starts leaves the other's running job alone, and takes over only a stopped one's lease", async () => {
    const a = await startTestApp('baseline', readModels('shared'), { jobWorker: { file: neverAnswers } });
    try {
      const running = (await a.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body.id as string;
      const aInstance = await until(async () => {
        for await (const e of a.store.readStream(`auditjob-${running}`)) return (e.data as { instance: string }).instance;
        return undefined;
      });
      // A process on the same read models that was killed while its job ran: its lease stale (set as a
      // closed one's, stale at once: not the minute B would watch it unchanged, InstanceLeases' spec).
      await JobService.onStarted(a.app.get(Ledger), () => 'killed-instance')(runningJob('job-of-killed', 'verify', {}));
      const leases = new Database(path.join(dir, 'shared.sqlite.instances'));
      leases.prepare("INSERT INTO leases (id, heartbeat) VALUES ('killed-instance', 0)").run();
      leases.close();
      const b = await startTestApp('baseline', readModels('shared'));
      try {
        expect(b.app.get(InstanceLeases).id).not.toBe(aInstance);
        expect(await ended(b, 'job-of-killed')).toMatchObject({ state: 'interrupted', error: INTERRUPTED });
        await b.as('auditor').get(`/jobs/${running}`).expect(404);
        expect((await a.as('auditor').get(`/jobs/${running}`).expect(200)).body.state).toBe('running');
        // A's job ends as it ends (cancelled here), and that is its record: not an interrupted one.
        expect(await a.app.get(AuditJobs).cancel(running)).toBe(true);
        expect(await ended(a, running)).toMatchObject({ state: 'cancelled' });
        expect(await recordedIn(a, running)).toEqual([['AuditJobStarted', undefined], ['AuditJobRecorded', 'cancelled']]);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  }, 60_000);

  it('POST /jobs answers a running job once its start is in the store: an API killed after the 202 leaves its trace', async () => {
    const t = await startTestApp('baseline', readModels('g'));
    try {
      const ledger = t.app.get(Ledger);
      const recordStart = ledger.recordAuditJobStart.bind(ledger);
      jest.spyOn(ledger, 'recordAuditJobStart').mockImplementation(async (...args) => {
        await new Promise((r) => setTimeout(r, 300)); // a slow append
        return recordStart(...args);
      });
      const answered = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as { id: string; state: string };
      expect(answered.state).toBe('running');
      const events = [];
      for await (const e of t.store.readStream(`auditjob-${answered.id}`)) events.push(e);
      expect(events.map((e) => e.type)).toEqual(['AuditJobStarted']);
      await ended(t, answered.id);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('a job that did not run because its start was refused tries its end once, not again and again against the same full store (until 2026-11-27 it showed running through 7.5 s of retries)', async () => {
    const t = await startTestApp('baseline', readModels('i'));
    try {
      const ledger = t.app.get(Ledger);
      jest.spyOn(ledger, 'recordAuditJobStart').mockRejectedValueOnce(new StoreFullError('database or disk is full'));
      const ends = jest.spyOn(ledger, 'recordAuditJob').mockRejectedValue(new StoreFullError('database or disk is full'));
      await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(507);
      const [job] = await until(async () => {
        const items = (await t.as('auditor').get('/jobs').expect(200)).body.items as { state: string; error?: string }[];
        return items.some((j) => j.state === 'running') ? undefined : items;
      });
      expect(job.state).toBe('failed');
      expect(ends).toHaveBeenCalledTimes(1);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("POST /jobs whose start the store refused (full, unreachable): the store's answer (507, 503), and the job never runs (a kill would leave no trace of it)", async () => {
    const t = await startTestApp('baseline', readModels('h'));
    try {
      const ledger = t.app.get(Ledger);
      jest.spyOn(ledger, 'recordAuditJobStart').mockRejectedValueOnce(new StoreFullError('database or disk is full')).mockRejectedValueOnce(new StoreUnavailableError('connection refused'));
      expect((await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(507)).body).toMatchObject({
        code: 'STORE_OUT_OF_SPACE',
        jobId: expect.any(String),
        message: expect.stringMatching(/^the verify job \S+ was not run: store out of space: database or disk is full; a request sent again is another job$/),
      });
      expect((await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(503)).body).toMatchObject({ code: 'STORE_UNREACHABLE' });
      const jobs = await until(async () => {
        const items = (await t.as('auditor').get('/jobs').expect(200)).body.items as { state: string; error?: string }[];
        return items.some((j) => j.state === 'running') ? undefined : items; // its end being recorded
      });
      expect(jobs.map((j) => [j.state, j.error])).toEqual([
        ['failed', 'not run; its start could not be recorded: store unreachable: connection refused'],
        ['failed', 'not run; its start could not be recorded: store out of space: database or disk is full'],
      ]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('a job answered 202 queued has its acceptance in the store: an API stopped while it waited leaves it recorded interrupted, never started (until the fourteenth session of 2026-11-27 it left no trace: 404); one that began to run, as started', async () => {
    const a = await startTestApp('baseline', readModels('queued'), { jobWorker: { file: neverAnswers } });
    try {
      // A's jobs under a lease of a process killed meanwhile (stale at once, as a closed one's): not A's own, which A renews.
      jest.spyOn(a.app.get(InstanceLeases), 'startJob').mockReturnValue('killed-while-queued');
      const first = (await a.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
      const ran = (await a.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
      const waited = (await a.as('auditor').post('/jobs', { kind: 'digest' }).expect(202)).body as AuditJob;
      expect([first.state, ran.state, waited.state]).toEqual(['running', 'queued', 'queued']);
      expect(await recordedIn(a, waited.id)).toEqual([['AuditJobQueued', undefined]]);
      expect(await a.app.get(AuditJobs).cancel(first.id)).toBe(true); // the second begins to run
      await until(async () => ((await recordedIn(a, ran.id)).length === 2 ? true : undefined));
      const leases = new Database(path.join(dir, 'queued.sqlite.instances'));
      leases.prepare("INSERT INTO leases (id, heartbeat) VALUES ('killed-while-queued', 0)").run();
      leases.close();
      const b = await startTestApp('baseline', readModels('queued'));
      try {
        expect(await ended(b, waited.id)).toMatchObject({ id: waited.id, kind: 'digest', state: 'interrupted', requestedAt: waited.requestedAt, startedAt: null, error: NEVER_STARTED });
        expect(await ended(b, ran.id)).toMatchObject({ state: 'interrupted', requestedAt: ran.requestedAt, startedAt: expect.any(String), error: INTERRUPTED });
        expect(await recordedIn(b, waited.id)).toEqual([['AuditJobQueued', undefined], ['AuditJobRecorded', 'interrupted']]);
        expect(await recordedIn(b, ran.id)).toEqual([['AuditJobQueued', undefined], ['AuditJobStarted', undefined], ['AuditJobRecorded', 'interrupted']]);
        const recorded = (await b.as('auditor').get('/jobs/recorded?kind=digest').expect(200)).body.items as Array<{ jobId: string }>;
        expect(recorded.find((j) => j.jobId === waited.id)).toMatchObject({ state: 'interrupted', startedAt: null, positionThrough: null, error: NEVER_STARTED });
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  }, 60_000);

  it('a queued job records its acceptance, then its start as it begins to run, then its end; one cancelled while it waits: its acceptance and its end, never a start', async () => {
    const t = await startTestApp('baseline', readModels('queue'), { jobWorker: { file: neverAnswers } });
    try {
      const jobs = t.app.get(AuditJobs);
      const first = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
      const second = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
      const third = (await t.as('auditor').post('/jobs', { kind: 'digest' }).expect(202)).body as AuditJob;
      expect([first.state, second.state, third.state]).toEqual(['running', 'queued', 'queued']);
      expect(await jobs.cancel(third.id)).toBe(true);
      expect(await jobs.cancel(first.id)).toBe(true); // the second begins to run
      await until(async () => ((await recordedIn(t, second.id)).length === 2 ? true : undefined));
      expect(await jobs.cancel(second.id)).toBe(true);
      expect(await recordedIn(t, first.id)).toEqual([['AuditJobStarted', undefined], ['AuditJobRecorded', 'cancelled']]);
      expect(await recordedIn(t, second.id)).toEqual([['AuditJobQueued', undefined], ['AuditJobStarted', undefined], ['AuditJobRecorded', 'cancelled']]);
      expect(await recordedIn(t, third.id)).toEqual([['AuditJobQueued', undefined], ['AuditJobRecorded', 'cancelled']]);
      const ends = (await t.as('auditor').get('/jobs/recorded').expect(200)).body.items as Array<{ jobId: string; startedAt: string | null }>;
      expect(ends.find((j) => j.jobId === third.id)?.startedAt).toBeNull();
    } finally {
      await t.close();
    }
  }, 60_000);

  it("POST /jobs of a job that would queue, whose acceptance the store refused: the store's answer (507), not 202, and the job never runs", async () => {
    const t = await startTestApp('baseline', readModels('queue-refused'), { jobWorker: { file: neverAnswers } });
    try {
      jest.spyOn(t.app.get(Ledger), 'recordAuditJobQueued').mockRejectedValueOnce(new StoreFullError('database or disk is full'));
      const running = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
      expect((await t.as('auditor').post('/jobs', { kind: 'digest' }).expect(507)).body).toMatchObject({ code: 'STORE_OUT_OF_SPACE' });
      const refused = await until(async () => {
        const items = (await t.as('auditor').get('/jobs').expect(200)).body.items as AuditJob[];
        const digest = items.find((j) => j.kind === 'digest');
        return digest && digest.state !== 'queued' && digest.state !== 'running' ? digest : undefined;
      });
      expect(refused).toMatchObject({ state: 'failed', startedAt: null, error: 'not run; its acceptance could not be recorded: store out of space: database or disk is full' });
      expect(await t.app.get(AuditJobs).cancel(running.id)).toBe(true);
      expect(await recordedIn(t, refused.id)).toEqual([['AuditJobRecorded', 'failed']]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a synchronous route whose job queued, then had its start refused by the store as it began to run: the store's answer (507, 503), as POST /jobs gives (until the fourteenth session of 2026-11-27, 500 JOB_FAILED)", async () => {
    const t = await startTestApp('baseline', readModels('sync-refused'), { jobWorker: { file: neverAnswers } });
    try {
      const ledger = t.app.get(Ledger);
      const jobs = t.app.get(AuditJobs);
      const recordStart = ledger.recordAuditJobStart.bind(ledger);
      const refusals = [new StoreFullError('database or disk is full'), new StoreUnavailableError('connection refused')];
      jest.spyOn(ledger, 'recordAuditJobStart').mockImplementation(async (start, ctx) => {
        if (start.kind === 'verify') return recordStart(start, ctx); // the job that holds the thread
        throw refusals.shift();
      });
      for (const [status, code] of [[507, 'STORE_OUT_OF_SPACE'], [503, 'STORE_UNREACHABLE']] as const) {
        const holding = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
        const answer = t.as('auditor').get('/audit/digest').then((res) => res); // sent now
        const queued = await until(async () => jobs.list().find((j) => j.kind === 'digest' && j.state === 'queued'));
        await jobs.traced(queued.id);
        expect(await jobs.cancel(holding.id)).toBe(true); // the digest's turn: its start refused
        const res = await answer;
        expect([res.status, res.body.code]).toEqual([status, code]);
        expect(jobs.get(queued.id)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^not run; its start could not be recorded: /) });
      }
    } finally {
      await t.close();
    }
  }, 60_000);

  it("queued jobs of an API whose lease was claimed, started meanwhile (that API resumed from a pause) between the sweep's listing and its record, are not recorded 'never started' (refused: startedAt): read again, recorded interrupted with their start if started under that lease, left alone if under its new one", async () => {
    const a = await startTestApp('baseline', readModels('resumed'));
    const queued = (jobId: string) => ({ jobId, kind: 'verify', requestedBy: 'api:auditor', requestedAt: '2026-11-27T10:00:00.000Z', params: {}, instance: 'paused-api' });
    for (const id of ['started-old-lease', 'started-new-lease', 'never-started']) await a.app.get(Ledger).recordAuditJobQueued(queued(id), { actor: 'api:auditor' });
    await a.close();
    const leases = new Database(path.join(dir, 'resumed.sqlite.instances'));
    leases.prepare("INSERT INTO leases (id, heartbeat) VALUES ('paused-api', 0)").run();
    leases.close();
    const record = Ledger.prototype.recordAuditJob;
    const spy = jest.spyOn(Ledger.prototype, 'recordAuditJob').mockImplementation(async function (this: Ledger, job, ctx) {
      // The paused API, resumed, starts a queued job just after the sweep listed it as never started: before it noticed its lease lost, or after.
      const instance = { 'started-old-lease': 'paused-api', 'started-new-lease': 'paused-api-renewed' }[job.jobId];
      if (instance) await this.recordAuditJobStart({ ...queued(job.jobId), instance, startedAt: '2026-11-27T10:00:05.000Z' }, { actor: 'api:auditor' });
      return record.call(this, job, ctx);
    });
    const b = await startTestApp('baseline', readModels('resumed'));
    try {
      expect(await ended(b, 'never-started')).toMatchObject({ state: 'interrupted', startedAt: null, error: NEVER_STARTED });
      expect(await ended(b, 'started-old-lease')).toMatchObject({ state: 'interrupted', startedAt: '2026-11-27T10:00:05.000Z', error: INTERRUPTED });
      expect(await recordedIn(b, 'started-new-lease')).toEqual([['AuditJobQueued', undefined], ['AuditJobStarted', undefined]]);
      expect((await b.as('auditor').get('/jobs/started-new-lease')).status).toBe(404);
      expect(b.logs.filter((l) => l.includes('could not be recorded as interrupted'))).toEqual([]);
    } finally {
      spy.mockRestore();
      await b.close();
    }
  }, 60_000);

  it('a rebuild whose API stopped after its rebuilt read models were swapped in, before its end was recorded: its interrupted record says they were swapped in and are the live ones (until the fourteenth session of 2026-11-27 it could not tell)', async () => {
    const a = await startTestApp('baseline', readModels('swapped'));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    try {
      jest.spyOn(a.app.get(InstanceLeases), 'startJob').mockReturnValue('killed-after-swap');
      const ledger = a.app.get(Ledger);
      const record = ledger.recordAuditJob.bind(ledger);
      let swapped!: () => void;
      const reachedRecord = new Promise<void>((r) => (swapped = r));
      jest.spyOn(ledger, 'recordAuditJob').mockImplementation(async (...args) => {
        swapped(); // its read models are swapped in; the API "stops" before its end is recorded
        await held;
        return record(...args);
      });
      const rebuild = (await a.as('admin').post('/jobs', { kind: 'rebuild' }).expect(202)).body as AuditJob & { params: { file: string } };
      await reachedRecord;
      expect(a.app.get(AuditJobQueries).rebuiltBy()).toBe(rebuild.params.file);
      // Another rebuild that was killed mid-build (its file never swapped in) on the same lease: recorded as any other.
      await JobService.onStarted(ledger, () => 'killed-after-swap')(runningJob('rebuild-killed-mid-build', 'rebuild', { file: `${rebuild.params.file}-other` }));
      const leases = new Database(path.join(dir, 'swapped.sqlite.instances'));
      leases.prepare("INSERT INTO leases (id, heartbeat) VALUES ('killed-after-swap', 0)").run();
      leases.close();
      const b = await startTestApp('baseline', readModels('swapped'));
      try {
        expect(await ended(b, rebuild.id)).toMatchObject({ state: 'interrupted', error: SWAPPED_IN });
        expect(await ended(b, 'rebuild-killed-mid-build')).toMatchObject({ state: 'interrupted', error: INTERRUPTED });
        const recorded = (await b.as('auditor').get('/jobs/recorded?kind=rebuild').expect(200)).body.items as Array<{ jobId: string }>;
        expect(recorded.find((j) => j.jobId === rebuild.id)).toMatchObject({ state: 'interrupted', findings: { swappedIn: true }, error: SWAPPED_IN });
        expect(recorded.find((j) => j.jobId === 'rebuild-killed-mid-build')).toMatchObject({ state: 'interrupted', findings: {}, error: INTERRUPTED });
      } finally {
        await b.close();
      }
    } finally {
      release();
      await a.close();
    }
  }, 60_000);

  it("a queued job that another API recorded interrupted, never started (this one paused past its lease), does not start when its turn comes: its record stays true; a synchronous route waiting on it answers its failure", async () => {
    const t = await startTestApp('baseline', readModels('paused-queue'), { jobWorker: { file: neverAnswers } });
    try {
      const leases = t.app.get(InstanceLeases);
      const jobs = t.app.get(AuditJobs);
      const holding = (await t.as('auditor').post('/jobs', { kind: 'verify' }).expect(202)).body as AuditJob;
      const answer = t.as('auditor').get('/audit/digest').then((res) => res); // sent now
      const queued = await until(async () => jobs.list().find((j) => j.kind === 'digest' && j.state === 'queued'));
      await jobs.traced(queued.id);
      // Meanwhile another API claimed this one's lease (as InstanceLeases.claimStale does) and recorded the queued job interrupted, never started.
      const file = new Database(path.join(dir, 'paused-queue.sqlite.instances'));
      file.prepare("UPDATE leases SET holder = 'claimer' WHERE id = ?").run(leases.id);
      file.close();
      await t.app.get(Ledger).recordAuditJob(
        { jobId: queued.id, kind: 'digest', state: 'interrupted', requestedBy: queued.requestedBy, requestedAt: queued.requestedAt, startedAt: null, endedAt: '2026-11-27T10:00:01.000Z', positionThrough: null, params: {}, findings: {}, error: NEVER_STARTED },
        { actor: 'api:startup' },
      );
      expect(leases.beat()).toBeDefined(); // this one's lease found lost
      expect(await jobs.cancel(holding.id)).toBe(true); // the digest's turn
      const res = await answer;
      expect([res.status, res.body.code]).toEqual([500, 'JOB_FAILED']);
      expect(res.body.message).toContain(`not run; its start could not be recorded: jobId: audit job ${queued.id} has its end recorded already (interrupted): it does not start`);
      expect(await recordedIn(t, queued.id)).toEqual([['AuditJobQueued', undefined], ['AuditJobRecorded', 'interrupted']]);
      expect(t.logs.filter((l) => l.includes('recorded before with other content'))).toEqual([]); // its failed end is not tried (until the fourteenth session's review: tried, refused, logged)
    } finally {
      await t.close();
    }
  }, 60_000);
});
