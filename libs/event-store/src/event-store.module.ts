import { Injectable, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createEventStore, type StoreConfig } from './config';
import { EVENT_STORE, type EventStore } from './event-store.port';

export interface EventStoreModuleOptions {
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  /** The store's configuration, or a store built already (tests hand one in). */
  useFactory: (...args: never[]) => StoreConfig | EventStore | Promise<StoreConfig | EventStore>;
}

@Injectable()
class StoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.dispose();
  }
}

/** Provides EVENT_STORE (the adapter the configuration names) to the whole application, and disposes of it at shutdown. */
@Module({})
export class EventStoreModule {
  static forRootAsync(options: EventStoreModuleOptions): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: EVENT_STORE,
          inject: options.inject ?? [],
          useFactory: async (...args: never[]) => {
            const given = await options.useFactory(...args);
            return 'appendToStream' in given ? given : createEventStore(given);
          },
        },
        StoreLifecycle,
      ],
      exports: [EVENT_STORE],
    };
  }
}
