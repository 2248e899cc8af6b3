import { Injectable, Inject, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { Projector, type ProjectorOptions } from './projector';
import { ReadModels } from './read-models';

export interface ProjectionsModuleOptions {
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  useFactory: (...args: never[]) => { readModelPath: string } & ProjectorOptions;
}

@Injectable()
class ReadModelsLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly projector: Projector,
    @Inject(ReadModels) private readonly readModels: ReadModels,
  ) {}
  /** The projector stops before any module closes what it reads (the store). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.projector.stop();
  }
  onApplicationShutdown(): void {
    this.readModels.close();
  }
}

/**
 * Provides the read models and the projector that keeps them (started by whoever needs them
 * followed live: the API starts it; the CLI catches up once). Closes both at shutdown.
 */
@Module({})
export class ProjectionsModule {
  static forRootAsync(options: ProjectionsModuleOptions): DynamicModule {
    const OPTIONS = Symbol('PROJECTIONS_OPTIONS');
    return {
      module: ProjectionsModule,
      global: true,
      providers: [
        { provide: OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        { provide: ReadModels, inject: [OPTIONS], useFactory: (o: { readModelPath: string }) => new ReadModels(o.readModelPath) },
        { provide: Projector, inject: [EVENT_STORE, ReadModels, OPTIONS], useFactory: (store: EventStore, rm: ReadModels, o: ProjectorOptions) => new Projector(store, rm, o) },
        ReadModelsLifecycle,
      ],
      exports: [ReadModels, Projector],
    };
  }
}
