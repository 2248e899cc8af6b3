import { Inject, Injectable, Logger as NestLogger, Module, ValidationPipe, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { AuditJobs, type AuditJob, type AuditJobParams } from '@ledger/audit';
import { DomainError, FactReusedError } from '@ledger/domain';
import { EsdbEventStore, EVENT_STORE, SqliteEventStore, UnreadableEventError, type EventStore, type StoreConfig } from '@ledger/event-store';
import { flatten, IDENTIFIER_PATTERN, IntakeError, Ledger } from '@ledger/ledger';
import { AuditJobQueries, Projector, ReadModelDb, ReadModelsGoneError, ReadModelsNotFollowedError, ReadModelsNotOfStoreError, removeOrphanedRebuilds } from '@ledger/projections';
import { jobWorker, LEDGER_CONFIG, LedgerCoreModule, type CoreOverrides, type LedgerConfig } from '@ledger/runtime';
import { ConsoleController } from './console/console.controller';
import { HealthController } from './health.controller';
import { API_KEYS, ApiKeyGuard, DEV_API_KEYS, parseApiKeys } from './http/api-keys';
import { AuditController } from './http/audit.controller';
import { CommandsController } from './http/commands.controller';
import { HttpDrain } from './http/drain';
import { ErrorsFilter } from './http/errors.filter';
import { InstanceLeases, LEASE_HEARTBEAT_MS, LEASE_STALE_MS, recordStaleLeases } from './http/instance-leases';
import { INTERRUPTED, JobsController, JobService, NEVER_STARTED, SWAPPED_IN } from './http/jobs.controller';
import { QueriesController } from './http/queries.controller';
import { createLogger, LOGGER } from './http/request-log';
import { KeyedMetricsController, Metrics, PublicMetricsController } from './metrics';

@Injectable()
class StartProjector implements OnApplicationBootstrap {
  constructor(private readonly projector: Projector) {}
  onApplicationBootstrap(): void {
    this.projector.start();
  }
}

/**
 * This process's instance lease (InstanceLeases), renewed every LEASE_HEARTBEAT_MS; at start and
 * at each renewal, the leases of processes that stopped are claimed and their unended jobs
 * recorded as interrupted (recordInterrupted), in the background. At shutdown, once
 * the jobs have ended (JobService closes them before), the lease is closed.
 */
@Injectable()
class RecordInterruptedJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new NestLogger('jobs');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private closed = false;
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projector: Projector,
    private readonly queries: AuditJobQueries,
    private readonly ledger: Ledger,
    private readonly jobs: AuditJobs,
    private readonly leases: InstanceLeases,
  ) {}
  onApplicationBootstrap(): void {
    this.sweep();
    this.timer = setInterval(() => {
      try {
        const lost = this.leases.beat();
        if (lost !== undefined) this.log.error(`this API's instance lease ${lost} was claimed by another API (this one paused, not renewed for over ${LEASE_STALE_MS / 1000} s: SIGSTOP, a VM stall), which records the jobs started under it as interrupted: jobs start under a new lease, ${this.leases.id}, from now on`);
      } catch (err) {
        this.log.error(`this API's instance lease could not be renewed: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.sweep();
    }, LEASE_HEARTBEAT_MS).unref();
  }
  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.closed = true; // a sweep under way claims and releases nothing more: what it holds goes stale with this lease
    try {
      this.leases.close();
    } catch (err) {
      this.log.error(err instanceof Error ? err.message : String(err));
    }
  }
  private sweep(): void {
    this.sweeping ??= this.recordStale()
      .catch((err: unknown) => this.log.error(`the jobs of an API that stopped could not be recorded as interrupted: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (this.sweeping = undefined));
  }
  private recordStale(): Promise<void> {
    return recordStaleLeases(
      this.leases,
      async (instance) => {
        const jobs = await this.recordInterrupted(instance);
        if (jobs === undefined) return false;
        if (jobs.length > 0) this.log.warn(`recorded as interrupted, started or queued by an API that stopped before they ended: ${jobs.map((j) => `${j.kind} ${j.id}${j.startedAt === null ? ' (never started)' : ''}`).join(', ')}`);
        return true;
      },
      () => this.closed,
    );
  }

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
  private async recordInterrupted(instance: string): Promise<AuditJob[] | undefined> {
    const head = await this.store.headPosition();
    while (head !== undefined && !(await this.projector.waitFor(head, 60_000))) {
      if (this.jobs.isClosed || this.projector.halted) return undefined;
    }
    const interrupted: AuditJob[] = [];
    let startedMeanwhile = false;
    for (const start of this.queries.unended(instance)) {
      if (this.jobs.get(start.jobId)) continue; // this process's own (its ids are new)
      // A rebuild killed after its swap, before its end was recorded: the live read models say they are the ones it built.
      const swappedIn = start.kind === 'rebuild' && typeof start.params.file === 'string' && start.params.file === this.queries.rebuiltBy();
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
        await this.ledger.recordAuditJob(
          { jobId: job.id, kind: job.kind, state: 'interrupted', requestedBy: job.requestedBy, requestedAt: job.requestedAt, startedAt: job.startedAt, endedAt: job.endedAt!, positionThrough: null, params: start.params, findings: swappedIn ? { swappedIn: true } : {}, error: job.error! },
          { actor: 'api:startup' },
        );
      } catch (err) {
        if (err instanceof FactReusedError) this.log.warn(`${err.message} (not recorded as interrupted: it ended meanwhile)`);
        else if (err instanceof DomainError && err.field === 'startedAt') startedMeanwhile = true;
        else throw err;
        continue;
      }
      this.jobs.adopt(job);
      interrupted.push(job);
    }
    if (!startedMeanwhile) return interrupted;
    // Listed as never started, started since (the API that queued it, resumed from a pause): read again, and record it as
    // any started job of this lease, or leave it when it started under another (that API's new lease: it records its end).
    const again = await this.recordInterrupted(instance);
    return again && [...interrupted, ...again];
  }
}

/**
 * At start-up, before any job (requests are taken only once the application has bootstrapped): the
 * half-built files of rebuilds that a killed process left behind are removed.
 */
@Injectable()
class RemoveOrphanedRebuilds implements OnApplicationBootstrap {
  constructor(
    private readonly readModels: ReadModelDb,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}
  onApplicationBootstrap(): void {
    const removed = removeOrphanedRebuilds(this.readModels.file);
    if (removed.length > 0) this.logger.warn(`removed what rebuilds of a process no longer running left behind: ${removed.join(', ')}`);
  }
}

/** How a job's worker reaches the store the app uses (the configured one, or the one a test handed in). */
function storeConfigOf(store: EventStore, config: LedgerConfig): StoreConfig {
  if (store instanceof SqliteEventStore) return { kind: 'sqlite', path: store.file };
  if (store instanceof EsdbEventStore) return { kind: 'esdb', connectionString: store.connectionString, timeoutMs: config.store.kind === 'esdb' ? config.store.timeoutMs : 10_000 };
  return config.store;
}

export interface AppOptions extends CoreOverrides {
  /** Where the JSON log lines go (default: stdout, pretty when it is a terminal). */
  logStream?: Writable;
  /** The jobs' worker entry (default: the application's, libs/runtime's job-worker; tests: one that meets a full disk). */
  jobWorker?: { file: string; execArgv?: string[] };
}

export { LOGGER };

@Module({})
export class AppModule {
  static forRoot(config: LedgerConfig, options: AppOptions = {}): DynamicModule {
    const projectorLog = new NestLogger('projector');
    const logger = createLogger({ level: config.logLevel, stream: options.logStream });
    return {
      module: AppModule,
      imports: [
        LedgerCoreModule.forRoot(config, {
          ...options,
          projector: {
            onReplaced: (file, checkpoint) => projectorLog.log(`read models replaced by another process at ${file}; reopened at checkpoint ${checkpoint ?? 'none (empty)'}`),
            onError: (err) => projectorLog.error(`${err instanceof Error ? err.message : String(err)}; ${err instanceof UnreadableEventError ? 'halted: /health answers 503; a restart with code that reads it resumes from the checkpoint' : err instanceof ReadModelsNotOfStoreError ? 'halted: /health answers 503' : err instanceof ReadModelsGoneError || err instanceof ReadModelsNotFollowedError ? 'looked at again each second; /health answers 503 while it lasts' : 'retrying'}`),
            ...options.projector,
          },
        }),
        // Nest's own log lines through pino; each request's line is written by requestLog (see bootstrap), so
        // nestjs-pino installs no middleware: no pino-http child loggers, and no AsyncLocalStorage per request.
        LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, forRoutes: [] }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController, CommandsController, QueriesController, AuditController, JobsController, ConsoleController, config.metricsAccess === 'public' ? PublicMetricsController : KeyedMetricsController],
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: API_KEYS, useValue: parseApiKeys(config.apiKeys ?? DEV_API_KEYS) },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ErrorsFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            exceptionFactory: (errors) => {
              const first = flatten(errors as never)[0];
              return new IntakeError(first?.field ?? 'body', first?.reason ?? 'is not valid');
            },
          }),
        },
        Metrics,
        StartProjector,
        { provide: InstanceLeases, inject: [ReadModelDb], useFactory: (readModels: ReadModelDb) => new InstanceLeases(readModels.file) },
        {
          provide: AuditJobs,
          inject: [EVENT_STORE, LEDGER_CONFIG, Ledger, Projector, ReadModelDb, InstanceLeases],
          useFactory: (store: EventStore, c: LedgerConfig, ledger: Ledger, projector: Projector, readModels: ReadModelDb, leases: InstanceLeases) =>
            new AuditJobs({ store: storeConfigOf(store, c), maxRunning: c.jobsMaxRunning, whatIfThreads: c.whatIfThreads, nice: c.jobsNice, worker: options.jobWorker ?? jobWorker(), onQueued: JobService.onQueued(ledger, (id) => leases.startJob(id)), onStarted: JobService.onStarted(ledger, (id) => leases.startJob(id)), onEnded: JobService.onEnded(ledger, projector, readModels, (m) => logger.warn(m), (id) => leases.endJob(id)) }),
        },
        JobService,
        RemoveOrphanedRebuilds,
        RecordInterruptedJobs,
        HttpDrain,
      ],
    };
  }
}
