import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BehaviorSubject, type Observable } from 'rxjs';
import { DomainError } from '@ledger/domain';
import type { StoreConfig } from '@ledger/event-store';
import { opensAgain } from '@ledger/event-store/config';
import { StoreBusyError, StoreFullError } from '@ledger/event-store/errors';
import { workerEntry } from '@ledger/event-store/worker-entry';
import type { JobData, WorkerMessage } from './job-thread';
import { onePassOnly } from '../what-if';
import { whatIfPage, type AuditJobParams } from './work';

/**
 * The young generation of a job's worker, in MB: twice V8's default of 48 (it is three times a
 * semi-space: this is what `--max-semi-space-size=32` gives a process). A rebuild makes short-lived
 * objects for every event (rows, parsed JSON, the hash chain's sorted copies, folded states); with
 * more room fewer of them are copied by a scavenge before they die (docs/performance-log.md, "The
 * rebuild's CPU per event": less CPU for a rebuild, some MB more peak RSS; a verification gains
 * nothing). Workers are reused across kinds, so every job's has it.
 */
export const JOB_YOUNG_GENERATION_MB = 96;

/** The threads a rebuild job takes when they are free: its own, and a second that reads and checks the events ahead of it (rebuildInto's `threads`). */
export const REBUILD_THREADS = 2;

/** `interrupted`: a job a process before this one started and never ended (it stopped first); see AuditJobs.adopt. */
export type AuditJobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface AuditJob {
  id: string;
  /** An audit kind (AuditJobKind), or another kind the configured worker runs (the runtime's: 'rebuild'). */
  kind: string;
  params: AuditJobParams;
  state: AuditJobState;
  /** Who asked for it (an API key's identity, the CLI). */
  requestedBy: string;
  /** Who cancelled it, when cancel or close was told (DELETE /jobs/:id: the key that asked, which may be another than requestedBy; the API's shutdown). */
  cancelledBy?: string;
  /** Whether its end is recorded in the store (false for a part of a larger run, e.g. one window of a what-if). */
  record: boolean;
  requestedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  progress: { done: number; total: number | null; perSecond: number | null; expectedEnd: string | null };
  /** What it gave: a succeeded job's result; a failed verification's too, what it found before the damage that ended it (its `damaged`). */
  result?: unknown;
  error?: string;
  /** A failed job failed for want of space (SQLITE_FULL: a full disk): the API answers it 507, as a full store's append. */
  outOfSpace?: true;
}

export interface AuditJobsOptions {
  /** Where the worker opens its own connection (for SQLite, the same file). */
  store: StoreConfig;
  /** Jobs running at once; the rest wait in order. */
  maxRunning?: number;
  /**
   * Threads a what-if job judges on (default 1; handed to its worker as `threads`). The jobs
   * running at once take at most max(maxRunning, whatIfThreads) threads between them: a what-if
   * job takes as many of its threads as are free (at least one), a rebuild job up to
   * REBUILD_THREADS, and a job waits while none is. A what-if that then runs on fewer (in one pass:
   * a log too short to share, a deep page) says so as it starts, and the threads it does not use go
   * to the next jobs. On a store a job cannot open again (EventStoreDB, a SQLite store in memory:
   * see takesThreads) every job takes one thread from the start.
   */
  whatIfThreads?: number;
  /**
   * How much nicer than the process's main thread the jobs' threads run (Linux; default 0, as the
   * process's; at most 19 in all): a job then leaves the CPU to the process's other threads (the
   * API's event loop, the store's writer) whenever they want it. Handed to each job's worker,
   * which sets it on its own thread (see serveJobs).
   */
  nice?: number;
  /**
   * Called once per job as it starts running, before its worker is given the job (it waits for
   * this to settle, and for onQueued's before it): to record its start (see `record`). When it
   * throws, the job does not run: it fails, `not run`, with what was thrown in its error (no job
   * runs without its start in the store: a kill would leave no trace of it); traced and refusal
   * answer what was thrown.
   */
  onStarted?: (job: AuditJob) => unknown;
  /**
   * Called once per job that is queued as it is asked for (it does not run at once): to record its
   * acceptance (see `record`), so that a job answered `queued` leaves a trace before it runs. It
   * begins to run only once this has settled; when it throws, the job does not run (it fails, `not
   * run`, as for onStarted).
   */
  onQueued?: (job: AuditJob) => unknown;
  /**
   * Called once per job that ended (succeeded, failed or cancelled): to record it (see `record`)
   * and finish its work; with `refused`, what onQueued or onStarted threw for a job that did not run.
   */
  onEnded?: (job: AuditJob, refused?: unknown) => unknown;
  /** Finished jobs kept in memory for GET (oldest dropped first). */
  keep?: number;
  /** The worker thread's entry (default: this library's, which runs the audit kinds). */
  worker?: { file: string; execArgv?: string[] };
}

/** A job asked for once the jobs are closed (the process is shutting down): it never starts; or one that close() cancelled. */
export class JobsClosedError extends Error {
  override readonly name = 'JobsClosedError';
  constructor(message = 'the audit jobs are closed (shutting down): no job starts') {
    super(message);
  }
}

/**
 * Audit jobs (verify, digest, what-if) on worker threads, each with its own connection to the
 * store, so the API's event loop keeps judging requests while they run. At most `maxRunning` run
 * at once; the rest queue. Each job reports progress (events read of the total, rate, expected
 * end); `cancel` stops a queued job, or terminates a running one's worker. `changes` emits every
 * state and progress update (for a console that shows them live).
 *
 * A worker whose job succeeded, and that takes a next job (see serveJobs), waits idle for the next
 * one (up to `maxRunning` wait): its code is loaded, which is most of a job's start. The worker of
 * a job that failed or was cancelled is terminated; `close` ends the idle ones.
 */
export class AuditJobs {
  private readonly jobs = new Map<string, AuditJob>();
  private readonly queue: string[] = [];
  private readonly workers = new Map<string, Worker>();
  /** Workers waiting for a next job, each with what takes it out of the idle set. */
  private readonly idle: Array<{ worker: Worker; unwatch: () => void }> = [];
  private closed = false;
  private readonly maxRunning: number;
  private readonly whatIfThreads: number;
  /** The threads each running job's worker takes (a what-if's, its share of whatIfThreads). */
  private readonly threads = new WeakMap<Worker, number>();
  private readonly keep: number;
  private readonly updates = new BehaviorSubject<AuditJob | null>(null);
  private readonly waiters = new Map<string, Array<(job: AuditJob) => void>>();
  /** Running jobs being cancelled: their worker's exit is not a failure. */
  private readonly cancelling = new Set<string>();
  /** Jobs whose end handling (onEnded) is under way: they still show their running state. */
  private readonly ending = new Set<string>();
  /** Each job's trace being recorded (its onQueued, then its onStarted), settled: what was refused and why, else undefined. */
  private readonly starts = new Map<string, Promise<Refused | undefined>>();
  /** Jobs that did not run because their trace was refused: what onQueued or onStarted threw (the store's refusal). */
  private readonly refused = new Map<string, unknown>();
  /** Jobs whose start is being recorded, not yet given to a worker: the threads each holds. */
  private readonly recording = new Map<string, number>();
  /** Workers terminated after their job answered (not kept idle): close() waits for their exit. */
  private readonly dropped = new Set<Promise<number>>();

  constructor(private readonly options: AuditJobsOptions) {
    this.maxRunning = options.maxRunning ?? 1;
    this.whatIfThreads = takesThreads(options.store) ? Math.max(1, Math.floor(options.whatIfThreads ?? 1)) : 1;
    this.keep = options.keep ?? 200;
  }

  /** Whether close() has been called: no job starts, and the running ones were cancelled. */
  get isClosed(): boolean {
    return this.closed;
  }

  get changes(): Observable<AuditJob | null> {
    return this.updates.asObservable();
  }

  start(kind: string, params: AuditJobParams, requestedBy: string, record = true): AuditJob {
    if (this.closed) throw new JobsClosedError();
    const job: AuditJob = {
      id: randomUUID(),
      kind,
      params,
      state: 'queued',
      requestedBy,
      record,
      requestedAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      progress: { done: 0, total: null, perSecond: null, expectedEnd: null },
    };
    this.jobs.set(job.id, job);
    this.queue.push(job.id);
    this.updates.next(job);
    this.next();
    const onQueued = this.options.onQueued;
    if (job.state === 'queued' && onQueued) {
      const accepted = (async () => void (await onQueued(job)))().catch((error: unknown): Refused => ({ what: 'acceptance', error }));
      this.starts.set(job.id, accepted);
      void accepted.then((refused) => {
        const queued = this.queue.indexOf(job.id);
        // Begun to run meanwhile (run waits for this, and does not run it) or cancelled: handled there.
        if (!refused || queued < 0) return;
        this.queue.splice(queued, 1);
        void this.end(job, 'failed', { error: 'not run' });
      });
    }
    return job;
  }

  /**
   * A queued job of this kind with these parameters if there is one (it has not started, so it
   * will cover everything written until it does), else a new one: twenty callers asking for the
   * same verification at once wait for one job, not twenty in a row.
   */
  startOrJoin(kind: string, params: AuditJobParams, requestedBy: string, record = true): AuditJob {
    const key = paramsKey(params);
    const queued = this.queue.map((id) => this.jobs.get(id)!).find((j) => j.kind === kind && j.record === record && paramsKey(j.params) === key);
    return queued ?? this.start(kind, params, requestedBy, record);
  }

  /**
   * Shows an ended job that this runner never ran (one a process before it started and never
   * ended, as recorded): listed and got as any ended job, and dropped with them (`keep`).
   */
  adopt(job: AuditJob): void {
    if (this.jobs.has(job.id) || !isEnded(job.state)) return;
    this.jobs.set(job.id, job);
    this.updates.next(job);
    this.forgetOld();
  }

  get(id: string): AuditJob | undefined {
    return this.jobs.get(id);
  }

  list(): AuditJob[] {
    return [...this.jobs.values()].reverse();
  }

  /**
   * Resolves once the job's trace as it stands is in the store: a queued job's acceptance
   * (onQueued), a running one's start (onStarted) too: with what was thrown when it could not be
   * recorded (the job then does not run), else undefined.
   */
  async traced(id: string): Promise<unknown> {
    for (;;) {
      const recording = this.starts.get(id);
      const refused = await recording;
      if (refused || this.starts.get(id) === recording) return refused?.error;
    }
  }

  /** For a job that ended without running because its trace was refused (onQueued or onStarted threw): what was thrown; else undefined. */
  refusal(id: string): unknown {
    return this.refused.get(id);
  }

  /** Resolves with the job once it has ended (and was recorded). */
  done(id: string): Promise<AuditJob> {
    const job = this.jobs.get(id);
    if (!job) return Promise.reject(new Error(`no job ${id}`));
    if (isEnded(job.state)) return Promise.resolve(job);
    return new Promise((resolve) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]));
  }

  /** Cancels a queued or running job (`by`: who asked, kept as its cancelledBy); answers false when it had ended already. */
  async cancel(id: string, by?: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (!job || isEnded(job.state) || this.ending.has(id)) return false;
    const queued = this.queue.indexOf(id);
    if (queued >= 0) this.queue.splice(queued, 1);
    const worker = this.workers.get(id);
    this.workers.delete(id);
    if (worker) {
      // Stopped first, so that nothing it writes (a rebuild's file) outlives the cancellation.
      this.cancelling.add(id);
      await worker.terminate();
      this.cancelling.delete(id);
    }
    await this.end(job, 'cancelled', { error: 'cancelled', ...(by === undefined ? {} : { cancelledBy: by }) });
    this.next();
    return true;
  }

  /**
   * Cancels everything (at shutdown), all at once (each end, its record with its retries, beside
   * the others': until the fourteenth session of 2026-11-27 one after another), and waits for the
   * jobs whose end is being handled (a swap, a record) and for every worker it ended to exit.
   * `by`: who closes them, kept as the cancelled jobs' cancelledBy.
   */
  async close(by?: string): Promise<void> {
    this.closed = true;
    // Until nothing runs, waits or ends: a job that answered as it began is ending already.
    while (this.queue.length > 0 || this.workers.size > 0 || this.recording.size > 0 || this.ending.size > 0) {
      const ending = [...this.ending].map((id) => this.done(id));
      await Promise.all([...this.queue, ...this.workers.keys(), ...this.recording.keys()].map((id) => this.cancel(id, by)));
      await Promise.all(ending);
    }
    await Promise.all([...this.idle.splice(0).map(({ worker }) => worker.terminate()), ...this.dropped]);
  }

  private next(): void {
    if (this.closed) return; // nothing new starts at shutdown
    const budget = Math.max(this.maxRunning, this.whatIfThreads);
    while (this.workers.size + this.recording.size < this.maxRunning && this.queue.length > 0) {
      const free = budget - [...this.workers.values()].reduce((n, w) => n + (this.threads.get(w) ?? 1), [...this.recording.values()].reduce((n, t) => n + t, 0));
      if (free < 1) return;
      const job = this.jobs.get(this.queue.shift()!)!;
      this.run(job, Math.min(wantedThreads(job, this.whatIfThreads), free));
    }
  }

  /**
   * A job starts running: its start is recorded (onStarted), with its threads held meanwhile,
   * before its worker is given it, so that what it covers (the store's head as its worker finds
   * it) always holds its own start. A job cancelled meanwhile is never given to a worker.
   */
  private run(job: AuditJob, threads: number): void {
    job.state = 'running';
    job.startedAt = new Date().toISOString();
    this.updates.next(job);
    const onStarted = this.options.onStarted;
    if (!onStarted) return this.launch(job, threads);
    this.recording.set(job.id, threads);
    const accepted = this.starts.get(job.id); // a queued job's acceptance, recorded first
    const recorded = (async () => (await accepted) ?? void (await onStarted(job)))().catch((error: unknown): Refused => ({ what: 'start', error }));
    this.starts.set(job.id, recorded);
    void recorded.then((notStored) => {
      this.recording.delete(job.id);
      if (isEnded(job.state) || this.ending.has(job.id)) return this.next(); // cancelled meanwhile
      if (notStored) return void this.end(job, 'failed', { error: 'not run' }).then(() => this.next());
      this.launch(job, threads);
    });
  }

  private launch(job: AuditJob, threads: number): void {
    const data: JobData = { kind: job.kind, store: this.options.store, params: job.params, threads, nice: this.options.nice ?? 0 };
    const idle = this.idle.pop();
    let worker: Worker;
    try {
      if (idle) {
        idle.unwatch();
        worker = idle.worker;
        worker.ref();
        worker.postMessage(data);
      } else {
        const entry = this.options.worker ?? workerEntry(__dirname, 'job-worker');
        worker = new Worker(entry.file, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: JOB_YOUNG_GENERATION_MB }, ...(entry.execArgv ? { execArgv: entry.execArgv } : {}) });
      }
    } catch (err) {
      // No worker to run it (one could not be started, or not be given the job): the job fails with
      // the reason, and the queue goes on. A waiting worker that could not be given it (parameters
      // that do not clone) was sent nothing: it waits again. Meanwhile the job shows running, as any job being ended.
      if (idle) this.release(idle.worker, true);
      void this.end(job, 'failed', { error: `the job's worker could not start: ${err instanceof Error ? err.message : String(err)}` }).then(() => this.next());
      return;
    }
    this.threads.set(worker, threads);
    this.workers.set(job.id, worker);
    const started = Date.now();
    let settled = false;
    const finish = async (state: AuditJobState, extra: Ending, reusable = false) => {
      if (settled || isEnded(job.state) || this.cancelling.has(job.id)) return;
      settled = true;
      this.workers.delete(job.id);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      this.release(worker, reusable);
      await this.end(job, state, extra);
      this.next();
    };
    const onMessage = (m: WorkerMessage) => {
      if (m.type === 'progress') {
        const seconds = (Date.now() - started) / 1000;
        const perSecond = seconds > 0 ? Math.round(m.done / seconds) : null;
        const total = m.total ?? null;
        const expectedEnd = total && perSecond ? new Date(Date.now() + ((total - m.done) / perSecond) * 1000).toISOString() : null;
        job.progress = { done: m.done, total, perSecond, expectedEnd };
        this.updates.next(job);
      } else if (m.type === 'threads') {
        // It runs on fewer threads than it was given: the rest go to the next jobs.
        if (m.threads < (this.threads.get(worker) ?? 1)) {
          this.threads.set(worker, Math.max(1, m.threads));
          this.next();
        }
      } else if (m.type === 'result') void finish('succeeded', { result: m.result }, m.reusable === true);
      else void finish('failed', { error: m.error, outOfSpace: m.outOfSpace, result: m.result });
    };
    const onError = (err: Error) => void finish('failed', { error: err.message });
    const onExit = (code: number) => void finish('failed', { error: `the job's worker exited (code ${code}) before it answered` });
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  }

  /** A worker whose job has answered: kept idle for the next job if it takes one and there is room, else terminated. */
  private release(worker: Worker, reusable: boolean): void {
    let dropped = false;
    const drop = () => {
      if (dropped) return; // once: an error the worker emits while it is being terminated asks again
      dropped = true;
      const i = this.idle.findIndex((w) => w.worker === worker);
      if (i >= 0) this.idle.splice(i, 1);
      const exited = worker.terminate();
      this.dropped.add(exited);
      const forget = () => this.dropped.delete(exited);
      exited.then(forget, forget);
    };
    worker.on('error', drop); // whatever it does from now on is no job's failure
    if (!reusable || this.closed || this.idle.length >= this.maxRunning) return drop();
    worker.on('exit', drop);
    worker.unref(); // an idle worker does not keep the process alive
    this.idle.push({ worker, unwatch: () => worker.off('error', drop).off('exit', drop) });
  }

  /**
   * Ends a job: its end handling (onEnded: a rebuild's swap, the record) runs on the ended copy,
   * and only then does the job show its end state, so nobody reads `succeeded` before the swap is
   * done and the job is recorded; meanwhile it shows `running` and cannot be cancelled.
   */
  private async end(job: AuditJob, state: AuditJobState, extra: Ending): Promise<void> {
    if (isEnded(job.state) || this.ending.has(job.id)) return;
    this.ending.add(job.id);
    const ended: AuditJob = { ...job, state, endedAt: new Date().toISOString() };
    if (extra.result !== undefined) ended.result = extra.result;
    if (extra.error !== undefined) ended.error = extra.error;
    if (extra.outOfSpace) ended.outOfSpace = true;
    if (extra.cancelledBy !== undefined) ended.cancelledBy = extra.cancelledBy;
    if (state === 'succeeded' && ended.progress.total !== null) ended.progress = { ...ended.progress, done: ended.progress.total, expectedEnd: null };
    const notTraced = await this.starts.get(job.id);
    this.starts.delete(job.id);
    if (notTraced) {
      this.refused.set(job.id, notTraced.error);
      // It never started, and its start is known not stored: null (until the fourteenth session of 2026-11-27 its record said when it was to
      // start). A refusal that leaves it open (an unreachable store, a timeout: the append may have been written) keeps that instant, so the
      // end is not refused for saying never started after a start that was written after all.
      // A refused acceptance: nothing of a start was tried.
      if (notTraced.what === 'acceptance' || notWritten(notTraced.error)) ended.startedAt = null;
      ended.error = `${ended.error ? `${ended.error}; ` : ''}its ${notTraced.what} could not be recorded: ${notTraced.error instanceof Error ? notTraced.error.message : String(notTraced.error)}`;
    }
    try {
      await this.options.onEnded?.(ended, notTraced?.error);
    } catch (err) {
      ended.error = `${ended.error ? `${ended.error}; ` : ''}the job ended but could not be recorded: ${err instanceof Error ? err.message : String(err)}`;
    }
    Object.assign(job, ended);
    this.ending.delete(job.id);
    this.updates.next(job);
    for (const resolve of this.waiters.get(job.id) ?? []) resolve(job);
    this.waiters.delete(job.id);
    this.forgetOld();
  }

  /** Keeps the last `keep` ended jobs. */
  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((j) => isEnded(j.state));
    for (const old of finished.slice(0, Math.max(0, finished.length - this.keep))) {
      this.jobs.delete(old.id);
      this.refused.delete(old.id);
    }
  }
}

/** A job's trace the store refused: its acceptance into the queue, or its start; and what was thrown. */
type Refused = { what: 'acceptance' | 'start'; error: unknown };

/** How a job ended, besides its state: its result, or why it did not succeed. */
type Ending = { result?: unknown; error?: string; outOfSpace?: true; cancelledBy?: string };

/**
 * The threads a job would take: a what-if's (one for a page judged in one pass); a rebuild's
 * REBUILD_THREADS (see rebuildInto) where a what-if may take that many too, so that
 * `whatIfThreads` 1 keeps every job on one thread, however many run at once; one for the rest.
 */
function wantedThreads(job: AuditJob, whatIfThreads: number): number {
  if (job.kind === 'what-if') return onePassOnly(whatIfPage(job.params.page)) ? 1 : whatIfThreads;
  return job.kind === 'rebuild' ? Math.min(REBUILD_THREADS, whatIfThreads) : 1;
}

/**
 * Whether a job on `store` can run on more than one thread: a what-if's shares and a rebuild's
 * check thread each open the SQLite file again, which a store in memory (another connection opens
 * another, empty one) and EventStoreDB (one pass) do not have.
 */
export function takesThreads(store: StoreConfig): boolean {
  return store.kind === 'sqlite' && opensAgain(store.path);
}

/** Parameters as a comparable key (positions are bigints). */
function paramsKey(params: AuditJobParams): string {
  return JSON.stringify(params, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

function isEnded(state: AuditJobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'interrupted';
}

/**
 * A refusal of an append that says nothing of it was written: the ledger's own, a lock, a full
 * store. (A stream kept moving by other writers, the ledger's StreamContentionError, is not written
 * either, but is not listed: the job's stream is its own, and a refusal not listed keeps the
 * instant, as before the fourteenth session.)
 */
function notWritten(err: unknown): boolean {
  return err instanceof DomainError || err instanceof StoreBusyError || err instanceof StoreFullError;
}
