import { Module, type DynamicModule, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { HealthController } from './health.controller';

class StoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.dispose();
  }
}

@Module({})
export class AppModule {
  /** The store is built by the caller (main.ts from the environment, tests from a temp file). */
  static forStore(store: EventStore): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [{ provide: EVENT_STORE, useValue: store }, StoreLifecycle],
    };
  }
}
