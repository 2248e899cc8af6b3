import { Inject, Injectable, Logger as NestLogger, Module, ValidationPipe, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { AuditJobs } from '@ledger/audit';
import { EsdbEventStore, EVENT_STORE, SqliteEventStore, UnreadableEventError, type EventStore, type StoreConfig } from '@ledger/event-store';
import { flatten, IDENTIFIER_PATTERN, IntakeError, Ledger } from '@ledger/ledger';
import { AuditJobQueries, Projector, ReadModelDb, ReadModelsGoneError, ReadModelsNotFollowedError, ReadModelsNotOfStoreError, removeOrphanedRebuilds } from '@ledger/projections';
import { apiKeysOf, jobWorker, LEDGER_CONFIG, LedgerCoreModule, type CoreOverrides, type LedgerConfig } from '@ledger/runtime';
import { ConsoleController } from './console/console.controller';
import { HealthController } from './health.controller';
import { API_KEYS, ApiKeyGuard } from './http/api-keys';
import { AuditController } from './http/audit.controller';
import { CommandsController } from './http/commands.controller';
import { HttpDrain } from './http/drain';
import { ErrorsFilter } from './http/errors.filter';
import { InstanceLeases, LEASE_HEARTBEAT_MS, LEASE_STALE_MS, recordStaleLeases } from './http/instance-leases';
import { JobsController, JobService, recordInterrupted } from './http/jobs.controller';
import { QueriesController } from './http/queries.controller';
import { QueryParametersGuard } from './http/query-params';
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
 * recorded as interrupted (recordInterrupted, with the jobs' code), in the background. At shutdown, once
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
        const jobs = await recordInterrupted({ store: this.store, projector: this.projector, queries: this.queries, ledger: this.ledger, jobs: this.jobs }, instance);
        if (jobs === undefined) return false;
        if (jobs.length > 0) this.log.warn(`recorded as interrupted, started or queued by an API that stopped before they ended: ${jobs.map((j) => `${j.kind} ${j.id}${j.startedAt === null ? ' (never started)' : ''}`).join(', ')}`);
        return true;
      },
      () => this.closed,
    );
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
    // Each key's id made once, here (a key too short to withstand a guess from its id is warned of by serve, once it listens).
    const apiKeys = apiKeysOf(config.apiKeys);
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
        { provide: API_KEYS, useValue: apiKeys },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        // After the key's: a query parameter the route does not take is a 400 naming it (query-params.ts).
        { provide: APP_GUARD, useClass: QueryParametersGuard },
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
          inject: [EVENT_STORE, LEDGER_CONFIG, Ledger, Projector, InstanceLeases],
          useFactory: (store: EventStore, c: LedgerConfig, ledger: Ledger, projector: Projector, leases: InstanceLeases) =>
            new AuditJobs({ store: storeConfigOf(store, c), maxRunning: c.jobsMaxRunning, whatIfThreads: c.whatIfThreads, nice: c.jobsNice, worker: options.jobWorker ?? jobWorker(), onQueued: JobService.onQueued(ledger, (id) => leases.startJob(id)), onStarted: JobService.onStarted(ledger, (id) => leases.startJob(id)), onEnded: JobService.onEnded(ledger, projector, (m) => logger.warn(m), (id) => leases.endJob(id)) }),
        },
        JobService,
        RemoveOrphanedRebuilds,
        RecordInterruptedJobs,
        HttpDrain,
      ],
    };
  }
}
