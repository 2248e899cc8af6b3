import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { openReadModels, ProjectionWriter } from './processor/projection-writer';
import { Projector, type ProjectorOptions } from './processor/projector';
import { AuditJobQueries, DecisionQueries, DeviceQueries, IntegrityQueries, RegistrationQueries, StuckQueries, UserQueries } from './queries';
import { ReadModelDb } from './read-model-db';

export interface ProjectionsModuleOptions {
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  useFactory: (...args: never[]) => { readModelPath: string } & ProjectorOptions;
}

@Injectable()
class ReadModelsLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly projector: Projector,
    @Inject(ReadModelDb) private readonly db: ReadModelDb,
  ) {}
  /** The projector stops before any module closes what it reads (the store). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.projector.stop();
  }
  onApplicationShutdown(): void {
    this.db.close();
  }
}

/** A query service built on the read-model file. */
const query = <T>(cls: new (db: ReadModelDb) => T) => ({ provide: cls, inject: [ReadModelDb], useFactory: (db: ReadModelDb) => new cls(db) });

/**
 * Provides the read-model file (ReadModelDb), the processor that keeps its projections
 * (ProjectionWriter, and the Projector that follows the store: started by whoever needs them
 * followed live, the API; the CLI catches up once) and the query services. Closes them at shutdown.
 */
@Module({})
export class ProjectionsModule {
  static forRootAsync(options: ProjectionsModuleOptions): DynamicModule {
    const OPTIONS = Symbol('PROJECTIONS_OPTIONS');
    const queries = [DeviceQueries, RegistrationQueries, UserQueries, DecisionQueries, AuditJobQueries, StuckQueries, IntegrityQueries];
    return {
      module: ProjectionsModule,
      global: true,
      providers: [
        { provide: OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        { provide: ProjectionWriter, inject: [OPTIONS], useFactory: (o: { readModelPath: string }) => openReadModels(o.readModelPath) },
        { provide: ReadModelDb, inject: [ProjectionWriter], useFactory: (w: ProjectionWriter) => w.db },
        { provide: Projector, inject: [EVENT_STORE, ProjectionWriter, OPTIONS], useFactory: (store: EventStore, w: ProjectionWriter, o: ProjectorOptions) => new Projector(store, w, o) },
        query(DeviceQueries),
        query(RegistrationQueries),
        query(UserQueries),
        query(DecisionQueries),
        query(AuditJobQueries),
        { provide: StuckQueries, inject: [ProjectionWriter], useFactory: (w: ProjectionWriter) => new StuckQueries(w.db, w.projections.stuck) },
        { provide: IntegrityQueries, inject: [ProjectionWriter], useFactory: (w: ProjectionWriter) => new IntegrityQueries(w.db, w.checkpoint) },
        ReadModelsLifecycle,
      ],
      exports: [ReadModelDb, ProjectionWriter, Projector, ...queries],
    };
  }
}
