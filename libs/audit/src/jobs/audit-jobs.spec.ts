import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { StoreBusyError, StoreFullError, StoreUnavailableError } from '@ledger/event-store/errors';
import { AuditJobs, JOB_YOUNG_GENERATION_MB, REBUILD_THREADS, takesThreads, type AuditJob } from './audit-jobs';
import { findingsOf, type AuditJobParams } from './work';
import { MAX_SHARED_OFFSET } from '../what-if';

/** A worker that answers at once with a result, standing in for an audit kind. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-jobs-'));
const worker = { file: path.join(dir, 'answers.js') };
/** A store on a file (never opened by these workers): one whose jobs may take several threads. */
const onFile = { kind: 'sqlite' as const, path: path.join(dir, 'ledger.sqlite') };
fs.writeFileSync(worker.file, "require('node:worker_threads').parentPort.postMessage({ type: 'result', result: { file: 'built.sqlite' } });\n");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a job ends only once its end handling (the swap of a rebuild, the record) is done', () => {
  it('while onEnded runs the job shows running and cannot be cancelled; then it shows succeeded, and done() resolves', async () => {
    let release!: () => void;
    const handled = new Promise<void>((r) => (release = r));
    let handling!: (job: AuditJob) => void;
    const entered = new Promise<AuditJob>((r) => (handling = r));
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker, onEnded: async (job) => (handling(job), handled) });
    const job = jobs.start('rebuild', {}, 'auditor');
    const done = jobs.done(job.id);

    const seenByOnEnded = await entered;
    expect(seenByOnEnded).toMatchObject({ state: 'succeeded', result: { file: 'built.sqlite' } });
    expect(jobs.get(job.id)).toMatchObject({ state: 'running', endedAt: null });
    expect(await jobs.cancel(job.id)).toBe(false);

    let closed = false;
    const closing = jobs.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false); // a shutdown waits for the end handling
    release();
    await expect(done).resolves.toMatchObject({ id: job.id, state: 'succeeded', result: { file: 'built.sqlite' } });
    expect(jobs.get(job.id)).toMatchObject({ state: 'succeeded', endedAt: expect.any(String) });
    await closing;
  });

  it("close() waits for the end handling of every job, one that answered as close() began too", async () => {
    const answers = { file: path.join(dir, 'answers-later.js') };
    fs.writeFileSync(
      answers.file,
      `const { parentPort, workerData } = require('node:worker_threads');
const run = (job) => { if (!job.params.hang) setTimeout(() => parentPort.postMessage({ type: 'result', result: {} }), 20); };
run(workerData);
`,
    );
    const ended: string[] = [];
    let answered!: () => void;
    const bAnswered = new Promise<void>((r) => (answered = r));
    const jobs = new AuditJobs({
      store: { kind: 'sqlite', path: ':memory:' },
      worker: answers,
      maxRunning: 2,
      // A's cancellation is handled only once B has answered (however long B's worker takes to start
      // on a loaded machine), and B's end takes 400 ms.
      onEnded: async (job) => {
        if ((job.params as { hang?: boolean }).hang) await bAnswered;
        else answered();
        await new Promise((r) => setTimeout(r, (job.params as { hang?: boolean }).hang ? 0 : 400));
        ended.push((job.params as { hang?: boolean }).hang ? 'A' : 'B'); // B cancelled beside A (close() cancels all at once), or answered first: its end is waited for either way
      },
    });
    jobs.start('verify', { hang: true } as AuditJobParams, 'auditor');
    jobs.start('verify', {}, 'auditor');
    await new Promise((r) => setTimeout(r, 5));
    await jobs.close();
    expect(ended.sort()).toEqual(['A', 'B']);
  });

  it('an end handling that fails still ends the job, with the reason beside its result', async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker, onEnded: async () => Promise.reject(new Error('the store refused the record')) });
    const job = jobs.start('verify', {}, 'auditor');
    await expect(jobs.done(job.id)).resolves.toMatchObject({ state: 'succeeded', error: 'the job ended but could not be recorded: the store refused the record' });
    await jobs.close();
  });
});

describe("a job's worker", () => {
  it('has a young generation of JOB_YOUNG_GENERATION_MB (96 MB: semi-spaces of 32 MB, twice the default)', async () => {
    const limits = { file: path.join(dir, 'limits.js') };
    fs.writeFileSync(limits.file, "const { parentPort, resourceLimits } = require('node:worker_threads');\nparentPort.postMessage({ type: 'result', result: resourceLimits });\n");
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: limits });
    const job = await jobs.done(jobs.start('rebuild', {}, 'auditor').id);
    expect(JOB_YOUNG_GENERATION_MB).toBe(96);
    expect(job).toMatchObject({ state: 'succeeded', result: { maxYoungGenerationSizeMb: 96 } });
    await jobs.close();
  });
});

describe("a what-if job's threads", () => {
  it('are handed to its worker, and the jobs running at once take at most max(maxRunning, whatIfThreads) threads between them', async () => {
    // A worker that answers with the threads it was given once its file (params.file) exists.
    const held = { file: path.join(dir, 'held.js') };
    fs.writeFileSync(
      held.file,
      `const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const wait = setInterval(() => { if (fs.existsSync(workerData.params.file)) { clearInterval(wait); parentPort.postMessage({ type: 'result', result: { threads: workerData.threads } }); } }, 5);
`,
    );
    const release = (i: number) => fs.writeFileSync(path.join(dir, `release-${i}`), '');
    const settled = async (check: () => boolean) => {
      for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    const jobs = new AuditJobs({ store: onFile, worker: held, maxRunning: 3, whatIfThreads: 2 });
    const started = ['what-if', 'what-if', 'verify', 'what-if'].map((kind, i) => jobs.start(kind, { file: path.join(dir, `release-${i}`) }, 'auditor'));
    const states = () => started.map((j) => jobs.get(j.id)!.state);
    const threads = async (i: number) => ((await jobs.done(started[i].id)).result as { threads: number }).threads;
    // The first takes 2 threads, the second the one left; the verify waits though only 2 jobs of 3 run.
    expect(states()).toEqual(['running', 'running', 'queued', 'queued']);
    release(1);
    expect(await threads(1)).toBe(1);
    await settled(() => states()[2] === 'running');
    expect(states()).toEqual(['running', 'succeeded', 'running', 'queued']); // 2 + 1 threads
    release(0);
    expect(await threads(0)).toBe(2);
    await settled(() => states()[3] === 'running');
    release(2);
    release(3);
    expect([await threads(2), await threads(3)]).toEqual([1, 2]);

    const alone = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: held });
    expect((await alone.done(alone.start('what-if', { file: path.join(dir, 'release-0') }, 'auditor').id)).result).toEqual({ threads: 1 });
  });

  it('a what-if of a page past MAX_SHARED_OFFSET (judged in one pass) takes one thread, leaving the others to the next job', async () => {
    const held = { file: path.join(dir, 'held.js') }; // written by the test above
    const jobs = new AuditJobs({ store: onFile, worker: held, maxRunning: 2, whatIfThreads: 4 });
    const deep = jobs.start('what-if', { file: path.join(dir, 'release-deep'), page: { offset: MAX_SHARED_OFFSET + 1 } }, 'auditor');
    const verify = jobs.start('verify', { file: path.join(dir, 'release-deep') }, 'auditor');
    expect([jobs.get(deep.id)!.state, jobs.get(verify.id)!.state]).toEqual(['running', 'running']);
    fs.writeFileSync(path.join(dir, 'release-deep'), '');
    expect((await jobs.done(deep.id)).result).toEqual({ threads: 1 });
    await jobs.done(verify.id);
    await jobs.close();
  });

  it('a what-if that runs on fewer threads than it was given says so as it starts, and the threads it does not use go to the next job', async () => {
    // serveJobs, with a what-if that takes one thread of those given, then holds until its file exists.
    const oneOfThem = { file: path.join(dir, 'takes-one.js'), execArgv: ['--require', 'tsx/cjs'] };
    fs.writeFileSync(
      oneOfThem.file,
      `const fs = require('node:fs');
const { serveJobs } = require(${JSON.stringify(path.join(__dirname, 'job-thread.ts'))});
serveJobs(async (job, store, progress, threads) => {
  if (job.kind === 'what-if') threads(1);
  await new Promise((resolve) => { const wait = setInterval(() => { if (fs.existsSync(job.params.file)) { clearInterval(wait); resolve(); } }, 5); });
  return { given: job.threads };
});
`,
    );
    const jobs = new AuditJobs({ store: onFile, worker: oneOfThem, maxRunning: 2, whatIfThreads: 2 });
    const release = path.join(dir, 'release-takes-one');
    const whatIf = jobs.start('what-if', { file: release }, 'auditor');
    const verify = jobs.start('verify', { file: release }, 'auditor');
    expect(jobs.get(verify.id)!.state).toBe('queued'); // the what-if was given both threads
    for (let i = 0; i < 2000 && jobs.get(verify.id)!.state === 'queued'; i++) await new Promise((r) => setTimeout(r, 5));
    expect([jobs.get(whatIf.id)!.state, jobs.get(verify.id)!.state]).toEqual(['running', 'running']); // it gave one back
    fs.writeFileSync(release, '');
    expect((await jobs.done(whatIf.id)).result).toEqual({ given: 2 });
    expect((await jobs.done(verify.id)).state).toBe('succeeded');
    await jobs.close();
  }, 30_000);

  it('a rebuild job takes REBUILD_THREADS (its chain check on the second) when they are free and whatIfThreads allows as many, one otherwise, counted as a what-if\'s are', async () => {
    const held = { file: path.join(dir, 'held.js') }; // written by the test above
    const release = (name: string) => fs.writeFileSync(path.join(dir, `release-rebuild-${name}`), '');
    const threads = async (jobs: AuditJobs, id: string) => ((await jobs.done(id)).result as { threads: number }).threads;
    const two = new AuditJobs({ store: onFile, worker: held, maxRunning: 2, whatIfThreads: 2 });
    const rebuild = two.start('rebuild', { file: path.join(dir, 'release-rebuild-a') }, 'admin');
    const verify = two.start('verify', { file: path.join(dir, 'release-rebuild-b') }, 'auditor');
    expect([two.get(rebuild.id)!.state, two.get(verify.id)!.state]).toEqual(['running', 'queued']); // both threads taken
    release('a');
    expect(await threads(two, rebuild.id)).toBe(REBUILD_THREADS);
    const busy = two.start('rebuild', { file: path.join(dir, 'release-rebuild-c') }, 'admin'); // the verify holds one thread: one is left
    release('b');
    release('c');
    expect(await threads(two, verify.id)).toBe(1);
    expect(await threads(two, busy.id)).toBe(1);
    await two.close();
    const alone = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: held }); // the defaults: one thread in all
    expect(await threads(alone, alone.start('rebuild', { file: path.join(dir, 'release-rebuild-a') }, 'admin').id)).toBe(1);
    await alone.close();
    // Two jobs at once, each on one thread (whatIfThreads 1): a rebuild does not take the other's.
    const single = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: held, maxRunning: 2 });
    const [rebuilding, verifying] = [single.start('rebuild', { file: path.join(dir, 'release-rebuild-d') }, 'admin'), single.start('verify', { file: path.join(dir, 'release-rebuild-e') }, 'auditor')];
    expect([single.get(rebuilding.id)!.state, single.get(verifying.id)!.state]).toEqual(['running', 'running']);
    release('d');
    release('e');
    expect([await threads(single, rebuilding.id), await threads(single, verifying.id)]).toEqual([1, 1]);
    await single.close();
  });

  it('on a store a job cannot open again (in memory, EventStoreDB) a what-if and a rebuild take one thread from the start, and the next job runs beside them', async () => {
    const held = { file: path.join(dir, 'held.js') }; // written by the test above
    const esdb = { kind: 'esdb' as const, connectionString: 'esdb://localhost:2113?tls=false', timeoutMs: 1000 };
    for (const [n, store] of [{ kind: 'sqlite' as const, path: ':memory:' }, esdb].entries()) {
      const jobs = new AuditJobs({ store, worker: held, maxRunning: 2, whatIfThreads: 2 });
      const release = path.join(dir, `release-one-thread-${n}`);
      const started = ['what-if', 'rebuild', 'verify'].map((kind) => jobs.start(kind, { file: release }, 'admin'));
      expect(started.map((j) => jobs.get(j.id)!.state)).toEqual(['running', 'running', 'queued']); // one thread each, two jobs at most
      fs.writeFileSync(release, '');
      expect(await Promise.all(started.map(async (j) => ((await jobs.done(j.id)).result as { threads: number }).threads))).toEqual([1, 1, 1]);
      await jobs.close();
    }
    expect([onFile, { kind: 'sqlite' as const, path: ':memory:' }, esdb].map(takesThreads)).toEqual([true, false, false]);
  });

  it('no job starts once they are closed: start is refused by name', async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' } });
    await jobs.close();
    expect(() => jobs.start('verify', {}, 'auditor')).toThrow(/closed/);
  });
});

// A worker that takes one job after another, as serveJobs: it answers with its thread and the
// job it ran, after posting its thread as progress; `fail` fails the job, `hang` never answers,
// `beat` counts in a shared buffer while the thread lives.
const reusable = { file: path.join(dir, 'reusable.js') };
fs.writeFileSync(
  reusable.file,
  `const { parentPort, workerData, threadId } = require('node:worker_threads');
const run = (job) => {
  const p = job.params;
  if (p.beat) setInterval(() => Atomics.add(new Int32Array(p.beat), 0, 1), 2);
  parentPort.postMessage({ type: 'progress', done: threadId });
  if (p.fail) parentPort.postMessage({ type: 'failed', error: 'it failed' });
  else if (!p.hang) parentPort.postMessage({ type: 'result', result: { threadId, kind: job.kind, n: p.n }, reusable: true });
};
run(workerData);
parentPort.on('message', run);
`,
);
const threadOf = async (jobs: AuditJobs, id: string) => {
  for (let i = 0; i < 400 && jobs.get(id)!.progress.done === 0; i++) await new Promise((r) => setTimeout(r, 5));
  return jobs.get(id)!.progress.done;
};
const run = async (jobs: AuditJobs, kind: string, params: object) => jobs.done(jobs.start(kind, params as AuditJobParams, 'auditor').id);

const threadIdOf = (job: AuditJob) => (job.result as { threadId: number }).threadId;

describe("a job's worker is kept for the next job once its job succeeded (its code is loaded)", () => {
  it('a second job runs on the first one\'s thread, with its own parameters and result', async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reusable });
    const first = await run(jobs, 'verify', { n: 1 });
    const second = await run(jobs, 'digest', { n: 2 });
    expect(second).toMatchObject({ state: 'succeeded', result: { threadId: (first.result as { threadId: number }).threadId, kind: 'digest', n: 2 } });
    await jobs.close();
  });

  it("a failed or cancelled job's worker is terminated, never reused", async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reusable });
    const failed = await run(jobs, 'verify', { fail: true });
    expect(failed.state).toBe('failed');
    const after = await run(jobs, 'verify', {});
    expect((after.result as { threadId: number }).threadId).not.toBe(failed.progress.done);

    const hung = jobs.start('verify', { hang: true } as AuditJobParams, 'auditor');
    const thread = await threadOf(jobs, hung.id);
    expect(thread).toBe((after.result as { threadId: number }).threadId); // the idle worker took it
    expect(await jobs.cancel(hung.id)).toBe(true);
    const next = await run(jobs, 'verify', {});
    expect((next.result as { threadId: number }).threadId).not.toBe(thread);
    await jobs.close();
  });

  it('close() ends the idle workers: no thread of theirs runs on', async () => {
    const beat = new SharedArrayBuffer(4);
    const count = () => Atomics.load(new Int32Array(beat), 0);
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reusable });
    expect(await run(jobs, 'verify', { beat })).toMatchObject({ state: 'succeeded' });
    const idle = count();
    await new Promise((r) => setTimeout(r, 50));
    expect(count()).toBeGreaterThan(idle); // it waits, alive, for the next job
    await jobs.close();
    const closed = count();
    await new Promise((r) => setTimeout(r, 50));
    expect(count()).toBe(closed);
  });
});

describe('a job whose worker cannot be started or given the job', () => {
  it('ends as failed with the reason, is handled (recorded), and the jobs after it run', async () => {
    // A worker's file must be absolute or start with ./: Worker's constructor throws.
    const ended: AuditJob[] = [];
    const nowhere = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: { file: 'no-such-dir/worker.js' }, onEnded: (job) => ended.push(job) });
    const [a, b] = [nowhere.start('verify', {}, 'auditor'), nowhere.start('digest', {}, 'auditor')];
    for (const job of [a, b]) await expect(nowhere.done(job.id)).resolves.toMatchObject({ state: 'failed', error: expect.stringMatching(/^the job's worker could not start: .*absolute path/) });
    expect(ended.map((j) => j.id)).toEqual([a.id, b.id]);
    await nowhere.close();

    // Parameters that cannot cross to a thread: on a new worker, and on one waiting for its next job.
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reusable });
    const unclonable = { fn: () => 1 } as unknown as AuditJobParams;
    await expect(run(jobs, 'verify', unclonable)).resolves.toMatchObject({ state: 'failed', error: expect.stringMatching(/could not be cloned/) });
    const first = await run(jobs, 'verify', { n: 1 });
    await expect(run(jobs, 'verify', unclonable)).resolves.toMatchObject({ state: 'failed', error: expect.stringMatching(/could not be cloned/) });
    const after = await run(jobs, 'verify', { n: 2 });
    expect(after).toMatchObject({ state: 'succeeded', result: { n: 2 } });
    expect(threadIdOf(after)).toBe(threadIdOf(first)); // the waiting worker the job could not be given (it was sent nothing) takes the next
    await jobs.close();
  });
});

// serveJobs, with a connection whose dispose never ends (`hang`).
const hangs = { file: path.join(dir, 'dispose-hangs.js'), execArgv: ['--require', 'tsx/cjs'] };
fs.writeFileSync(
  hangs.file,
  `const { threadId } = require('node:worker_threads');
const { serveJobs } = require(${JSON.stringify(path.join(__dirname, 'job-thread.ts'))});
serveJobs(async (job, store) => { if (job.params.hang) store.dispose = () => new Promise(() => {}); return { threadId }; }, { disposeTimeoutMs: 50 });
`,
);

describe("a job whose store connection does not close", () => {
  it('is answered once disposeTimeoutMs has passed, and its worker is terminated, never reused', async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: hangs });
    const first = await run(jobs, 'verify', {});
    const second = await run(jobs, 'verify', { hang: true });
    expect(threadIdOf(second)).toBe(threadIdOf(first)); // a worker whose connection closed is reused
    expect(second.state).toBe('succeeded');
    const third = await run(jobs, 'verify', {});
    expect(third.state).toBe('succeeded');
    expect(threadIdOf(third)).not.toBe(threadIdOf(second));
    await jobs.close();
  }, 30_000);

  it('close() resolves only once the worker terminated for it has exited', async () => {
    // Each termination by the worker's thread id: another worker of this process (a store's writer thread, say) may be terminated meanwhile, and was counted (a flaky failure under load).
    const exits: Array<{ threadId: number; exited: boolean }> = [];
    const terminate = Worker.prototype.terminate;
    const spy = jest.spyOn(Worker.prototype, 'terminate').mockImplementation(function (this: Worker) {
      const exit = { threadId: this.threadId, exited: false };
      exits.push(exit);
      return terminate.call(this).then((code) => ((exit.exited = true), code));
    });
    try {
      const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: hangs });
      const job = await run(jobs, 'verify', { hang: true });
      expect(job).toMatchObject({ state: 'succeeded' });
      const mine = () => exits.filter((e) => e.threadId === threadIdOf(job));
      expect(mine()).toHaveLength(1); // its worker is being terminated
      await jobs.close();
      expect(mine()).toEqual([{ threadId: threadIdOf(job), exited: true }]);
    } finally {
      spy.mockRestore();
    }
  }, 30_000);
});

describe('a job whose store cannot be opened', () => {
  it('ends as failed, saying so with the reason, and the jobs after it run', async () => {
    const notADatabase = path.join(dir, 'not-a-database.sqlite');
    fs.writeFileSync(notADatabase, 'not a database, '.repeat(100));
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: notADatabase }, worker: hangs });
    const [a, b] = [jobs.start('verify', {}, 'auditor'), jobs.start('verify', {}, 'auditor')];
    for (const job of [a, b]) await expect(jobs.done(job.id)).resolves.toMatchObject({ state: 'failed', error: expect.stringMatching(/^the job's store could not be opened: file is not a database$/) });
    await jobs.close();
  }, 30_000);
});

describe("the jobs' niceness (Linux)", () => {
  // serveJobs, answering with the niceness of its thread and of a thread it starts (as a what-if's shares).
  const reports = { file: path.join(dir, 'reports-nice.js'), execArgv: ['--require', 'tsx/cjs'] };
  fs.writeFileSync(
    reports.file,
    `const { Worker } = require('node:worker_threads');
const { serveJobs } = require(${JSON.stringify(path.join(__dirname, 'job-thread.ts'))});
const nice = "Number(require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')[16])";
serveJobs(async () => {
  const child = await new Promise((resolve, reject) => new Worker('require("node:worker_threads").parentPort.postMessage(' + nice + ')', { eval: true }).once('message', resolve).once('error', reject));
  return { nice: eval(nice), child };
});
`,
  );
  const onLinux = process.platform === 'linux' ? it : it.skip;

  onLinux('makes the job\'s thread and the threads it starts that much nicer than the process\'s main thread, which keeps its own', async () => {
    const ownNice = () => Number(fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')[16]);
    const before = ownNice();
    const niced = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reports, nice: 7 }); // 7 nicer than this thread
    const nicer = Math.min(19, before + 7); // 19 at most, for a test run that is itself niced
    expect(await run(niced, 'verify', {})).toMatchObject({ state: 'succeeded', result: { nice: nicer, child: nicer } });
    expect(await run(niced, 'verify', {})).toMatchObject({ state: 'succeeded', result: { nice: nicer, child: nicer } }); // on the same, reused, thread
    await niced.close();
    expect(ownNice()).toBe(before);
    const plain = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reports });
    expect(await run(plain, 'verify', {})).toMatchObject({ state: 'succeeded', result: { nice: before, child: before } });
    await plain.close();
  }, 30_000);
});

describe("a verification's record", () => {
  it('keeps the counts, the streams broken (since 2026-11-27, fifteenth session) and the first 20 breaks, unreadable events and runs of missing positions, as the verification lists them (missing only when some are)', () => {
    const clean = { ok: true, eventsChecked: 9, streamsChecked: 2, breaks: [], breakCount: 0, streamsBroken: 0, unreadable: [], unreadableCount: 0, missing: [], missingCount: 0, position: '9' };
    expect(findingsOf('verify', clean)).toEqual({ ok: true, eventsChecked: 9, streamsChecked: 2, breaks: 0, streamsBroken: 0, unreadable: 0, firstBreaks: [], firstUnreadable: [] });
    const missing = Array.from({ length: 20 }, (_, i) => ({ from: String(2 * i + 1), to: String(2 * i + 1) }));
    expect(findingsOf('verify', { ...clean, ok: false, missing, missingCount: 25 })).toEqual({ ok: false, eventsChecked: 9, streamsChecked: 2, breaks: 0, streamsBroken: 0, unreadable: 0, firstBreaks: [], firstUnreadable: [], missing: 25, firstMissing: missing });
  });
});

describe("a rebuild's record", () => {
  it('keeps the events built and, when its check thread stopped early, why (rebuildInto says so in checkThread)', () => {
    expect(findingsOf('rebuild', { events: 9, file: 'f', position: '9' })).toEqual({ events: 9 });
    const stopped = 'the check thread stopped (it exited (code 3) after position 0): the rebuilding thread checked the rest';
    expect(findingsOf('rebuild', { events: 9, file: 'f', position: '9', checkThread: stopped })).toEqual({ events: 9, checkThread: stopped });
  });
});

describe("a job's start (onStarted) and its end", () => {
  it('its worker is given the job once its start is recorded, so its end comes after; a job whose start could not be recorded never runs (a kill would leave no trace of it): it fails, saying why', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const recorded = new Promise<void>((r) => (release = r));
    const jobs = new AuditJobs({
      store: { kind: 'sqlite', path: ':memory:' },
      worker: reusable,
      onStarted: async (job) => {
        if ((job.params as { fail?: boolean }).fail) throw new Error('store out of space');
        await recorded;
        seen.push(`started ${job.id}`);
      },
      onEnded: (job) => void seen.push(`ended ${job.id}`),
    });
    const first = jobs.start('verify', {}, 'auditor');
    await new Promise((r) => setTimeout(r, 200));
    expect(jobs.get(first.id)).toMatchObject({ state: 'running', progress: { done: 0 } }); // its worker has not been given it
    release();
    expect(await jobs.done(first.id)).toMatchObject({ state: 'succeeded' });
    expect(seen).toEqual([`started ${first.id}`, `ended ${first.id}`]);
    // Until the review of 2026-11-27 (evening) such a job ran on ('it failed' here, its worker's own failure): a job killed then left nothing in the store.
    const beat = new SharedArrayBuffer(4);
    const notStored = jobs.start('verify', { fail: true, beat } as unknown as AuditJobParams, 'auditor');
    expect(await jobs.traced(notStored.id)).toEqual(new Error('store out of space'));
    expect(await jobs.done(notStored.id)).toMatchObject({ state: 'failed', error: 'not run; its start could not be recorded: store out of space' });
    expect(Atomics.load(new Int32Array(beat), 0)).toBe(0);
    expect(seen).toEqual([`started ${first.id}`, `ended ${first.id}`, `ended ${notStored.id}`]);
    await jobs.close();
  });

  it('a job not run says it never started (startedAt null) only when its start is known not stored; a refusal that leaves it open (the store unreachable, a timeout) keeps the instant, so its end is not refused for saying never started after a start written after all', async () => {
    const refusals: Record<string, Error> = {
      full: new StoreFullError('database or disk is full'),
      busy: new StoreBusyError('database is locked'),
      unreachable: new StoreUnavailableError('append timed out after 10000 ms: it may or may not be written'),
    };
    const jobs = new AuditJobs({
      store: { kind: 'sqlite', path: ':memory:' },
      worker: reusable,
      onStarted: async (job) => {
        throw refusals[(job.params as { refusal: string }).refusal];
      },
    });
    const ended = async (refusal: string) => jobs.done(jobs.start('verify', { refusal } as unknown as AuditJobParams, 'auditor').id);
    expect(await ended('full')).toMatchObject({ state: 'failed', startedAt: null });
    expect(await ended('busy')).toMatchObject({ state: 'failed', startedAt: null });
    // Until the review of the fourteenth session (2026-11-27) null here too: the ledger then refused the end (its start was in the store).
    expect(await ended('unreachable')).toMatchObject({ state: 'failed', startedAt: expect.any(String), error: expect.stringMatching(/^not run; its start could not be recorded: /) });
    await jobs.close();
    // A queued job whose acceptance is refused so after its turn came (the job before it ended meanwhile): no start was tried, so it never
    // started, whatever the refusal (until the final read of the fourteenth session, 2026-11-27, it kept the instant its turn came).
    const queue = new AuditJobs({
      store: { kind: 'sqlite', path: ':memory:' },
      worker: reusable,
      maxRunning: 1,
      onStarted: () => undefined,
      onQueued: async () => {
        await new Promise((r) => setTimeout(r, 1500));
        throw refusals.unreachable;
      },
    });
    const running = queue.start('verify', {}, 'auditor');
    const queued = queue.start('digest', {}, 'auditor');
    expect(await queue.done(running.id)).toMatchObject({ state: 'succeeded' });
    await new Promise((r) => setTimeout(r, 50));
    expect(queue.get(queued.id)?.startedAt).toEqual(expect.any(String)); // its turn came; its acceptance is still being recorded
    expect(await queue.done(queued.id)).toMatchObject({ state: 'failed', startedAt: null, error: expect.stringMatching(/^not run; its acceptance could not be recorded: /) });
    await queue.close();
  });

  it('a job cancelled while its start is being recorded never runs; close() waits for such a start', async () => {
    const beat = new SharedArrayBuffer(4);
    let release!: () => void;
    const recorded = new Promise<void>((r) => (release = r));
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reusable, onStarted: () => recorded });
    const job = jobs.start('verify', { beat } as unknown as AuditJobParams, 'auditor');
    const cancelled = jobs.cancel(job.id);
    const closed = jobs.close();
    release();
    expect(await cancelled).toBe(true);
    await closed;
    expect(jobs.get(job.id)).toMatchObject({ state: 'cancelled' });
    await new Promise((r) => setTimeout(r, 50));
    expect(Atomics.load(new Int32Array(beat), 0)).toBe(0);
  });

  it("a queued job's acceptance (onQueued) is recorded first: a job whose turn comes while it is being recorded starts only after it; one refused never runs, and fails saying so", async () => {
    const seen: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const jobs = new AuditJobs({
      store: { kind: 'sqlite', path: ':memory:' },
      worker,
      onQueued: async (job) => {
        if ((job.params as { refuse?: boolean }).refuse) throw new Error('store out of space');
        await slow;
        seen.push(`queued ${job.kind}`);
      },
      onStarted: (job) => void seen.push(`started ${job.kind}`),
      onEnded: (job) => void seen.push(`ended ${job.kind}`),
    });
    const first = jobs.start('verify', {}, 'auditor');
    const second = jobs.start('digest', {}, 'auditor');
    const refused = jobs.start('what-if', { refuse: true } as unknown as AuditJobParams, 'auditor');
    expect([first.state, second.state, refused.state]).toEqual(['running', 'queued', 'queued']);
    expect(await jobs.traced(refused.id)).toEqual(new Error('store out of space'));
    await jobs.done(first.id); // the digest's turn, its acceptance still being recorded
    await new Promise((r) => setTimeout(r, 50));
    expect([...seen].sort()).toEqual(['ended verify', 'ended what-if', 'started verify']);
    release();
    expect(await jobs.traced(second.id)).toBeUndefined();
    expect(await jobs.done(second.id)).toMatchObject({ state: 'succeeded' });
    expect(seen.slice(3)).toEqual(['queued digest', 'started digest', 'ended digest']);
    expect(jobs.get(refused.id)).toMatchObject({ state: 'failed', startedAt: null, error: 'not run; its acceptance could not be recorded: store out of space' });
    await jobs.close();
  });

  it('close() cancels the running and the queued jobs at once: each end (its record, with its retries) beside the others, not one after another', async () => {
    const hangs = { file: path.join(dir, 'hangs.js') };
    fs.writeFileSync(hangs.file, 'setInterval(() => {}, 1000);\n');
    const entered: string[] = [];
    let release!: () => void;
    const recorded = new Promise<void>((r) => (release = r));
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: hangs, maxRunning: 2, onEnded: async (job) => (entered.push(`${job.kind} ${job.state}`), recorded) });
    const started = ['verify', 'digest', 'what-if'].map((kind) => jobs.start(kind, {}, 'auditor'));
    expect(started.map((j) => j.state)).toEqual(['running', 'running', 'queued']);
    const closed = jobs.close();
    for (let i = 0; i < 250 && entered.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect([...entered].sort()).toEqual(['digest cancelled', 'verify cancelled', 'what-if cancelled']); // every end under way before any is recorded
    release();
    await closed;
    expect(started.map((j) => jobs.get(j.id)!.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('adopt() shows an ended job this runner never ran, with its own', async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: reusable });
    const interrupted: AuditJob = { id: 'old', kind: 'verify', params: {}, state: 'interrupted', requestedBy: 'api:auditor', record: true, requestedAt: '2026-11-27T10:00:00.000Z', startedAt: '2026-11-27T10:00:00.100Z', endedAt: '2026-11-27T11:00:00.000Z', progress: { done: 0, total: null, perSecond: null, expectedEnd: null }, error: 'stopped' };
    jobs.adopt(interrupted);
    expect(jobs.get('old')).toEqual(interrupted);
    expect(await jobs.cancel('old')).toBe(false);
    const own = await run(jobs, 'verify', {});
    expect(jobs.list().map((j) => j.id)).toEqual([own.id, 'old']);
    await jobs.close();
  });
});
