import { randomUUID } from 'node:crypto';
import { Body, ConflictException, Controller, Delete, ForbiddenException, Get, HttpCode, Inject, Injectable, Logger, NotFoundException, Param, Post, Query, Req, type BeforeApplicationShutdown} from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiSecurity, ApiTags, PartialType } from '@nestjs/swagger';
import { IsDefined, IsIn, IsInt, IsNotEmpty, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { AuditJobs, checkWhatIf, DigestPastHeadError, digestPosition, findingsOf, whatIfPage, JobsClosedError, positionOf, type AuditJob, type AuditJobParams, type WhatIfFilter } from '@ledger/audit';
import { DomainError, FactReusedError, getRuleSet, parseDeviceId, parseInstant, parseSrv, parseUserId } from '@ledger/domain';
import { Ledger } from '@ledger/ledger';
import { EVENT_STORE, StoreBusyError, type EventStore } from '@ledger/event-store';
import { AuditJobQueries, Projector, ReadModelDb, putRebuiltInPlace, ReadModelsBusyError, rebuildFileBeside, removeRebuildFile } from '@ledger/projections';
import { JOB_KINDS, type JobKind } from '@ledger/runtime';
import { actorOf, Roles, type ApiRole } from './api-keys';
import { LEASE_STALE_MS } from './instance-leases';

/**
 * An optional filter given empty (`"from": ""`) is refused, not read as left out: until 2026-11-28
 * (eighteenth session) an empty `from`, `to`, `device` or `user` widened the what-if to every
 * decision, as if no filter had been asked for.
 */
const NotEmpty = () => IsNotEmpty({ message: 'is empty: give it a value, or leave it out' });

/**
 * A field that may be left out, but not given null: class-validator's IsOptional skips null as it
 * skips a field left out, and until 2026-11-28 (eighteenth session) `"from": null` (or to, device,
 * user, offset, limit, maxEvents) was read as left out, a what-if over every decision, and
 * `"fromPosition": null` failed as a 500.
 */
const Optional = () => (target: object, key: string) => {
  ValidateIf((_: unknown, v: unknown) => v !== undefined)(target, key);
  IsDefined({ message: 'is null: give it a value, or leave it out' })(target, key);
};

export class WhatIfDto {
  @ApiProperty({ enum: ['baseline', 'ownership-only', 'registered-operator'] }) @IsString() ruleSet!: string;
  @ApiPropertyOptional({ description: 'receivedAt from (ISO-8601)' }) @Optional() @IsString() @NotEmpty() from?: string;
  @ApiPropertyOptional({ description: 'receivedAt to (ISO-8601)' }) @Optional() @IsString() @NotEmpty() to?: string;
  @ApiPropertyOptional() @Optional() @IsString() @NotEmpty() srv?: string;
  @ApiPropertyOptional() @Optional() @IsString() @NotEmpty() device?: string;
  @ApiPropertyOptional() @Optional() @IsString() @NotEmpty() user?: string;
  @ApiPropertyOptional({ default: 0 }) @Optional() @IsInt() @Min(0) offset?: number;
  @ApiPropertyOptional({ default: 100 }) @Optional() @IsInt() @Min(1) @Max(1000) limit?: number;
  @ApiPropertyOptional({ description: 'read the log from this position (inclusive), as a decimal string' }) @Optional() @Matches(/^\d{1,40}$/, { message: 'must be a position (a whole number, as a string)' }) fromPosition?: string;
  @ApiPropertyOptional({ description: 'read the log up to this position (inclusive)' }) @Optional() @Matches(/^\d{1,40}$/, { message: 'must be a position (a whole number, as a string)' }) toPosition?: string;
  @ApiPropertyOptional({ description: 'read at most this many events (the reply says where to go on: window.nextPosition)' }) @Optional() @IsInt() @Min(1) @Max(1_000_000) maxEvents?: number;
}

/** An audit job: its kind, and for a digest the position, for a what-if the fields of a what-if (its rule set required then). */
export class JobDto extends PartialType(WhatIfDto, { skipNullProperties: false }) {
  @ApiProperty({ enum: JOB_KINDS, description: 'rebuild: admin only' }) @IsIn(JOB_KINDS) kind!: JobKind;
  @ApiPropertyOptional({ description: 'digest: the position (default: the head)' }) @Optional() @IsString() at?: string;
}

/**
 * A digest job's position refused before the job starts when it is past the log's head (as
 * digestAt would refuse it in the job): a 400 naming `at`, not a failed job answered 500. Not on a
 * SQLite store whose table and its index disagree (a cell lost: its last events may be lost, not
 * removed): the job runs, and fails naming the damage, as digestAt does (until 2026-11-28, the 400
 * said events had been removed). The table and its index are counted (a scan of each, on this event
 * loop: ~50 ms at 200,000 events, ~0.5 s at 10^6) only where the store's writers wrote past the
 * table's last event (its log_head: a tail lost or deleted), or where that is not known (no writer
 * of this build has appended to the file yet), not at every such request (until the
 * seventeenth session's final read, at each one whose head had moved since the last count).
 */
export async function refuseDigestPastHead(store: EventStore, params: AuditJobParams): Promise<AuditJobParams> {
  if (params.at !== undefined)
    await digestPosition(store, BigInt(params.at)).catch((err: unknown) => {
      if (!(err instanceof DigestPastHeadError && store.positionsMissingAtEnd?.() !== undefined && store.indexDisagreement?.())) throw err;
    });
  return params;
}

/**
 * A synchronous route's job that did not succeed: cancelled (by another caller: DELETE /jobs/:id),
 * a 409 saying so; failed for want of space (a full disk), a 507 as a full store's append; failed
 * otherwise (a stored event it could not read, say), a 500 with the job's own reason, not an opaque one,
 * and what it gave all the same (a verification that met damage: what it found before it).
 */
export class JobEndedError extends Error {
  override readonly name = 'JobEndedError';
  constructor(
    readonly kind: string,
    readonly jobId: string,
    readonly state: string,
    readonly reason: string | null,
    readonly outOfSpace = false,
    /** What it gave all the same: a verification that met damage, what it found before it (its `damaged`). */
    readonly result?: unknown,
  ) {
    super(state === 'cancelled' ? `the ${kind} job ${jobId} was cancelled (DELETE /jobs/:id) before it ended: ask again` : `the ${kind} job ${jobId} ${state}${reason ? `: ${reason}` : ''}`);
  }
}

/**
 * A job not run because the store refused its start or its acceptance: the request is answered as
 * the store's refusal (`cause`: 503, 507), with the job's id: the job may have a record of its own
 * (its failed end, tried once, or for a lock with the retries of any end), so a request sent again
 * is another job. Until the review of the fourteenth session (2026-11-27) the answer was the
 * store's error alone, which for a lock said "nothing was written, try again".
 */
export class JobNotRunError extends Error {
  override readonly name = 'JobNotRunError';
  constructor(
    readonly kind: string,
    readonly jobId: string,
    override readonly cause: unknown,
  ) {
    // A lock's own message advises sending the append again, which is not this request's case: its detail alone.
    const why = cause instanceof StoreBusyError ? `store busy: ${cause.detail} (another connection holds its lock)` : cause instanceof Error ? cause.message : String(cause);
    super(`the ${kind} job ${jobId} was not run: ${why}; a request sent again is another job`);
  }
}

/** The largest position a store holds (SQLite's rowid, a signed 64-bit integer). */
const MAX_POSITION = 2n ** 63n - 1n;
const log = new Logger('jobs');

/**
 * Why a job that started and never ended is recorded as interrupted: what its API, started again,
 * knows. Its end may have happened and not been recorded (the store full or unreachable through
 * every retry of its end record), so the record does not claim the API stopped. Until the review of
 * 2026-11-27 it said "the API stopped before the job ended (recorded when it started again)".
 */
export const INTERRUPTED = 'no end was recorded: the API stopped before the job ended, or could not record its end (recorded later by an API on its read models)';

/**
 * Why a job accepted into the queue (AuditJobQueued) and never started is recorded as interrupted
 * (`startedAt` null): it waited, and no end was recorded (since the fourteenth session of
 * 2026-11-27: before, such a job left no trace).
 */
export const NEVER_STARTED = 'no end was recorded, and it never started: the API stopped while it was queued, or could not record its end (recorded later by an API on its read models)';

/**
 * Why a rebuild whose rebuilt read models were swapped in, and whose end was never recorded, is
 * recorded as interrupted (findings `swappedIn: true`): the live read models, as the sweep finds
 * them, are the ones it built (their `rebuilt_by` names its file: Checkpoint.markRebuiltBy). Until
 * the fourteenth session of 2026-11-27 its record could not tell it from a rebuild killed mid-build.
 */
export const SWAPPED_IN = 'no end was recorded: the API stopped, or could not record its end, after the read models it rebuilt were swapped in; they are the live ones, kept up since by the projector (recorded later by an API on its read models)';

/** Who cancelled the jobs the API cancels as it shuts down: their cancelledBy, and their end's actor (as `api:startup` ends those it finds interrupted). */
export const SHUTDOWN_ACTOR = 'api:shutdown';

/** A job's end record that the store refused (full, unreachable) is tried again after each of these delays (ms, 7.5 s in all) while the API runs; the job shows `running` meanwhile. */
export const END_RECORD_RETRIES_MS = [500, 1000, 2000, 4000];

/**
 * The jobs `instance` started, or accepted into its queue, and never ended, once its lease is
 * claimed (its process was killed, or the machine stopped, while they ran or waited:
 * InstanceLeases), are recorded as `interrupted` (one that never started: `startedAt` null, error
 * NEVER_STARTED; a rebuild whose read models were swapped in: SWAPPED_IN), and shown with this
 * process's jobs. Once the read models hold the store's head as it is now (every start and end
 * that process recorded). One listed as never started whose start is recorded before its end
 * (that process resumed from a pause and started it: the end is refused, naming startedAt) is read
 * again: recorded with its start if it started under `instance`, left alone if under another
 * lease. Answers them; undefined when the read models could not catch up (the jobs closed, the
 * projector halted): nothing (more) recorded, the lease kept for the next sweep.
 */
export async function recordInterrupted(
  deps: { store: EventStore; projector: Projector; queries: AuditJobQueries; ledger: Ledger; jobs: AuditJobs },
  instance: string,
): Promise<AuditJob[] | undefined> {
  const { store, projector, queries, ledger, jobs } = deps;
  const head = await store.headPosition();
  while (head !== undefined && !(await projector.waitFor(head, 60_000))) {
    if (jobs.isClosed || projector.halted) return undefined;
  }
  const interrupted: AuditJob[] = [];
  let startedMeanwhile = false;
  for (const start of queries.unended(instance)) {
    if (jobs.get(start.jobId)) continue; // this process's own (its ids are new)
    // A rebuild killed after its swap, before its end was recorded: the live read models say they are the ones it built.
    const swappedIn = start.kind === 'rebuild' && typeof start.params.file === 'string' && start.params.file === queries.rebuiltBy();
    const startedAt = 'startedAt' in start ? start.startedAt : null; // an acceptance has none: it never started
    const job: AuditJob = {
      id: start.jobId,
      kind: start.kind,
      params: start.params as AuditJobParams,
      state: 'interrupted',
      requestedBy: start.requestedBy,
      record: true,
      requestedAt: start.requestedAt,
      startedAt,
      endedAt: new Date().toISOString(),
      progress: { done: 0, total: null, perSecond: null, expectedEnd: null },
      error: swappedIn ? SWAPPED_IN : startedAt !== null ? INTERRUPTED : NEVER_STARTED,
    };
    try {
      await ledger.recordAuditJob(
        { jobId: job.id, kind: job.kind, state: 'interrupted', requestedBy: job.requestedBy, requestedAt: job.requestedAt, startedAt: job.startedAt, endedAt: job.endedAt!, positionThrough: null, params: start.params, findings: swappedIn ? { swappedIn: true } : {}, error: job.error! },
        { actor: 'api:startup' },
      );
    } catch (err) {
      if (err instanceof FactReusedError) log.warn(`${err.message} (not recorded as interrupted: it ended meanwhile)`);
      else if (err instanceof DomainError && err.field === 'startedAt') startedMeanwhile = true;
      else throw err;
      continue;
    }
    jobs.adopt(job);
    interrupted.push(job);
  }
  if (!startedMeanwhile) return interrupted;
  // Listed as never started, started since (the API that queued it, resumed from a pause): read again, and record it as
  // any started job of this lease, or leave it when it started under another (that API's new lease: it records its end).
  const again = await recordInterrupted(deps, instance);
  return again && [...interrupted, ...again];
}

/** A job's request as the job runner takes it: identifiers and instants checked here, so a bad one is a 400, not a failed job. */
export function jobParams(body: Omit<JobDto, 'kind'> & { kind: JobKind }, readModelsFile?: string): AuditJobParams {
  if (body.kind === 'rebuild') return { file: rebuildFileBeside(readModelsFile!) };
  if (body.kind === 'digest') {
    if (body.at !== undefined && !/^\d+$/.test(body.at)) throw new DomainError('at', 'must be a position (a whole number)');
    return body.at === undefined ? {} : { at: body.at };
  }
  if (body.kind === 'verify') return {};
  if (!body.ruleSet) throw new DomainError('ruleSet', 'a what-if needs the rule set to judge under');
  const ruleSet = getRuleSet(body.ruleSet);
  const filter: WhatIfFilter = {
    from: body.from === undefined ? undefined : parseInstant(body.from, 'from'),
    to: body.to === undefined ? undefined : parseInstant(body.to, 'to'),
    srv: body.srv === undefined ? undefined : parseSrv(body.srv, 'srv').srv, // as recorded: ' 6.15.1 ' selects what 6.15.1 does
    deviceId: body.device === undefined ? undefined : parseDeviceId(body.device, 'device'),
    userId: body.user === undefined ? undefined : parseUserId(body.user, 'user'),
  };
  const page = {
    offset: body.offset,
    limit: body.limit,
    fromPosition: body.fromPosition,
    toPosition: body.toPosition,
    maxEvents: body.maxEvents,
  };
  for (const field of ['fromPosition', 'toPosition'] as const) {
    if (page[field] !== undefined && BigInt(page[field]) > MAX_POSITION) throw new DomainError(field, `must be a position, 0 to ${MAX_POSITION}`);
  }
  checkWhatIf(filter, whatIfPage(page));
  return { ruleSet: { id: ruleSet.id, version: ruleSet.version }, filter, page };
}

/**
 * The API's audit jobs: the runner, and the record of each ended job appended to the store
 * (AuditJobRecorded: who, when, over which positions, what it found).
 */
@Injectable()
export class JobService implements BeforeApplicationShutdown {
  constructor(readonly jobs: AuditJobs) {}

  /** A queued job's acceptance, recorded before it is answered `202 queued` (a part of a larger run, `record: false`, is not): with `instance`, the API's lease it was accepted under (InstanceLeases.startJob). */
  static onQueued(ledger: Ledger, instance: (jobId: string) => string) {
    return async (job: AuditJob) => {
      if (!job.record) return;
      await ledger.recordAuditJobQueued(
        { jobId: job.id, kind: job.kind, requestedBy: job.requestedBy, requestedAt: job.requestedAt, params: job.params as Record<string, unknown>, instance: instance(job.id) },
        { actor: job.requestedBy },
      );
    };
  }

  /** A job's start, recorded before it runs (a part of a larger run, `record: false`, is not): with `instance`, the API's lease it runs under (InstanceLeases.startJob). */
  static onStarted(ledger: Ledger, instance: (jobId: string) => string) {
    return async (job: AuditJob) => {
      if (!job.record) return;
      await ledger.recordAuditJobStart(
        { jobId: job.id, kind: job.kind, requestedBy: job.requestedBy, requestedAt: job.requestedAt, startedAt: job.startedAt!, params: job.params as Record<string, unknown>, instance: instance(job.id) },
        { actor: job.requestedBy },
      );
    };
  }

  /**
   * What happens when a job ends: a rebuild that succeeded puts its read models in place (the
   * projector stops, the built file replaces the live one, the projector goes on from its
   * checkpoint); a rebuild whose file cannot be put in place has failed, and says why. Then every
   * job is recorded in the store. `leaseLost` (InstanceLeases.endJob): the lease the job started
   * under when another API claimed it (this one paused), which recorded the job interrupted.
   */
  static onEnded(ledger: Ledger, projector: Projector, warn: (message: string) => void = () => undefined, leaseLost: (jobId: string) => string | undefined = () => undefined) {
    return async (job: AuditJob, refused?: unknown) => {
      const lost = leaseLost(job.id);
      if (job.kind === 'rebuild' && job.state === 'succeeded') {
        await projector.stop();
        try {
          // Live read models projected past the store's head, or of another event at their checkpoint (the log cut or rewritten): the swap cleared that trace, so the job says so.
          const replaced = await putRebuiltInPlace(projector, (job.result as { file: string }).file);
          if (replaced) {
            job.result = { ...(job.result as object), replaced };
            warn(`rebuild job ${job.id}: ${replaced.warning}`);
          }
        } catch (err) {
          job.state = 'failed';
          // A swap refused at every try says so whole (putRebuiltInPlace); another failure is said after what it meant.
          job.error = err instanceof ReadModelsBusyError ? err.message : `the rebuilt read models could not be put in place of the live ones, which go on serving: ${(err as Error)?.message ?? String(err)}`;
        } finally {
          projector.start();
        }
      }
      if (job.kind === 'rebuild' && job.state !== 'succeeded' && job.params.file) {
        // A rebuild that failed or was cancelled leaves no half-built file behind (a failed swap's putRebuiltInPlace removed it already).
        removeRebuildFile(job.params.file);
      }
      // Not recorded: a job that is part of a larger run; or one whose start the ledger refused, its end recorded already
      // (by another API, while this one was paused): another end would only be refused (until the fourteenth session of
      // 2026-11-27 it was tried, and logged as recorded before with other content).
      if (!job.record || refused instanceof DomainError) return;
      // A job that did not run because the store refused its start: its end tried once, not retried for 7.5 s against the same refusal,
      // but for a lock, which another connection lets go (tried once, the end of a job refused by a lock held a little longer was never stored).
      const notRun = refused !== undefined; // its start or acceptance refused (a queued job cancelled meanwhile too: its error says cancelled)
      const attempts = notRun && !(refused instanceof StoreBusyError) ? <T>(append: () => Promise<T>) => append() : withRetries;
      await attempts(() => ledger.recordAuditJob(
        {
          jobId: job.id,
          kind: job.kind,
          state: job.state as 'succeeded' | 'failed' | 'cancelled',
          requestedBy: job.requestedBy,
          requestedAt: job.requestedAt,
          startedAt: job.startedAt,
          endedAt: job.endedAt!,
          positionThrough: positionOf(job.result),
          params: job.params as Record<string, unknown>,
          // A verification that met damage failed, with what it found before it (its result's `damaged`): recorded too.
          findings: job.state === 'succeeded' || (job.kind === 'verify' && job.result !== undefined) ? findingsOf(job.kind, job.result) : {},
          error: job.error ?? null,
          // A cancelled job's record says who cancelled it, or that the API shut down (since 2026-11-28, nineteenth session: until
          // then only its end's actor did, the asker's for both a cancel by the asker and a shutdown's).
          ...(job.state === 'cancelled' && job.cancelledBy !== undefined ? { cancelledBy: job.cancelledBy } : {}),
        },
        // Who ended it: the key that cancelled it, or the API's shutdown (SHUTDOWN_ACTOR), else the one that asked for it (its requestedBy, in the data, either way).
        { actor: job.cancelledBy ?? job.requestedBy },
      )).catch((err: unknown) => {
        // The store refused it through every try (at shutdown too): said in the job's error and, once, in the log
        // (until the fourteenth session of 2026-11-27, in the job's error only, which nobody reads after an exit).
        if (!(err instanceof FactReusedError)) {
          const then = notRun
            ? 'its start was refused too, so the store may hold nothing of it'
            : "an API on these read models records it interrupted once this one's lease goes stale";
          log.error(`${job.kind} job ${job.id}: its end (${job.state}) could not be recorded: ${err instanceof Error ? err.message : String(err)}; ${then}`);
          throw err;
        }
        // Another end recorded for it first (an interrupted one): kept, this one refused, said in the job's error and the log.
        if (lost === undefined) {
          log.error(err.message);
          throw err;
        }
        const said = `this API's instance lease ${lost} was lost while it was paused (not renewed for over ${LEASE_STALE_MS / 1000} s: SIGSTOP, a VM stall): another API claimed it and recorded this job interrupted; that record is kept, this ${job.state} end refused (${err.message})`;
        log.error(`${job.kind} job ${job.id}: ${said}`);
        throw new Error(said);
      });
    };
  }

  /**
   * Runs a job to its end (off the event loop) and answers its result: for the synchronous routes.
   * A caller asking for what a queued job will do waits for that job (it is recorded once, as
   * asked by its first caller). `record: false` for a part of a larger run (a what-if window).
   */
  async run(kind: JobKind, params: AuditJobParams, requestedBy: string, record = true): Promise<unknown> {
    const asked = this.jobs.startOrJoin(kind, params, requestedBy, record);
    await this.traced(kind, asked.id); // not run: the store's refusal is the answer
    const job = await this.jobs.done(asked.id);
    // Queued, then its start refused as it began to run: the store's refusal is the answer too (until the fourteenth session of 2026-11-27, a 500 JOB_FAILED);
    // the ledger's (its end recorded already, by another API while this one was paused) is the job's failure, not the request's fault.
    const refused = this.jobs.refusal(job.id);
    if (refused !== undefined && !(refused instanceof DomainError)) throw new JobNotRunError(kind, job.id, refused);
    if (job.state === 'cancelled' && this.jobs.isClosed) throw new JobsClosedError(`the ${kind} job ${job.id} was cancelled: the API is shutting down`);
    if (job.state !== 'succeeded') throw new JobEndedError(kind, job.id, job.state, job.error ?? null, job.outOfSpace === true, job.result);
    return job.result;
  }

  /** Resolves once job `id`'s start, or its acceptance into the queue, is in the store; the store refused it: a JobNotRunError, the job not run. */
  async traced(kind: string, id: string): Promise<void> {
    const notStored = await this.jobs.traced(id);
    if (notStored !== undefined) throw new JobNotRunError(kind, id, notStored);
  }

  /**
   * The jobs close as shutdown begins (HttpDrain closes them before it waits for the requests in
   * flight): a request waiting on a job, or asking for one, meanwhile is answered 503 SHUTTING_DOWN
   * at once rather than holding the shutdown. Here again, for an application without the drain: it
   * waits for the same close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.jobs.close(SHUTDOWN_ACTOR);
  }
}

/** Runs `append` again after each of END_RECORD_RETRIES_MS while it fails for the store (not for what it records: a DomainError is final); the last failure is thrown. */
async function withRetries<T>(append: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await append();
    } catch (err) {
      if (attempt >= END_RECORD_RETRIES_MS.length || err instanceof DomainError) throw err;
      await new Promise((r) => setTimeout(r, END_RECORD_RETRIES_MS[attempt]));
    }
  }
}

type AuthedRequest = { apiRole?: ApiRole; apiActor?: string };

@ApiTags('audit')
@ApiSecurity('api-key')
@Controller('jobs')
@Roles('auditor')
export class JobsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly service: JobService,
    private readonly readModels: ReadModelDb,
    private readonly auditJobs: AuditJobQueries,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Start an audit job (verify, digest, what-if) on a worker thread; answers 202 with its id, once a running job has its start recorded, a queued one its acceptance; either refused by the store: its error (507 full, 503 unreachable), the job not run' })
  async start(@Body() body: JobDto, @Req() req: AuthedRequest) {
    if (body.kind === 'rebuild' && req.apiRole !== 'admin') throw new ForbiddenException(`this API key's role '${req.apiRole}' may not rebuild the read models (needs admin)`);
    const params = jobParams(body, this.readModels.file);
    const job = this.service.jobs.start(body.kind, body.kind === 'digest' ? await refuseDigestPastHead(this.store, params) : params, actorOf(req));
    // A job answered `running` has its start in the store, one answered `queued` its acceptance; one whose start or
    // acceptance could not be stored does not run, and the store's refusal is the answer (507 full, 503 unreachable).
    await this.service.traced(body.kind, job.id);
    return job;
  }

  @Get()
  @ApiOperation({ summary: 'Jobs of this process, newest first (queued, running and recently ended)' })
  list() {
    return { items: this.service.jobs.list().map((j) => ({ ...j, result: undefined })) };
  }

  @Get('recorded')
  @ApiOperation({ summary: 'Ended jobs as recorded in the store, newest first, paged with `before`' })
  recorded(@Query('kind') kind?: string, @Query('before') before?: string, @Query('limit') limit?: string) {
    if (kind !== undefined && !(JOB_KINDS as readonly string[]).includes(kind)) throw new DomainError('kind', `must be one of ${JOB_KINDS.join(', ')}`);
    if (before !== undefined && !/^\d+$/.test(before)) throw new DomainError('before', "must be the previous page's next");
    if (limit !== undefined && !(/^[1-9]\d{0,2}$/.test(limit) && Number(limit) <= 500)) throw new DomainError('limit', 'must be a whole number from 1 to 500');
    return this.auditJobs.auditJobs({ kind, before: before === undefined ? undefined : Number(before), limit: limit === undefined ? undefined : Number(limit) });
  }

  @Get(':id')
  @ApiOperation({ summary: "A job's state, progress (done of total, rate, expected end) and, once ended, its result (a verification's: the first 20 breaks, unreadable events and missing runs, and the count of each)" })
  get(@Param('id') id: string) {
    const job = this.service.jobs.get(id);
    if (!job) throw new NotFoundException(`no job ${id} in this process (ended jobs are also under GET /jobs/recorded)`);
    return job;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel a queued or running job (a rebuild: admin only, as starting one is)' })
  async cancel(@Param('id') id: string, @Req() req: AuthedRequest) {
    const job = this.service.jobs.get(id);
    if (!job) throw new NotFoundException(`no job ${id} in this process`);
    if (job.kind === 'rebuild' && req.apiRole !== 'admin') throw new ForbiddenException(`this API key's role '${req.apiRole}' may not cancel a rebuild of the read models (needs admin)`);
    if (!(await this.service.jobs.cancel(id, actorOf(req)))) throw new ConflictException(`job ${id} has ended already (${job.state === 'running' ? 'its end is being handled' : job.state})`);
    return this.service.jobs.get(id);
  }
}
