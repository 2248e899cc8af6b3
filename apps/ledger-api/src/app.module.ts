import { Inject, Module, ValidationPipe, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { Projector, ReadModels } from '@ledger/projections';
import type { LedgerConfig } from './config';
import { ConsoleController } from './console/console.controller';
import { HealthController } from './health.controller';
import { API_KEYS, ApiKeyGuard } from './http/api-keys';
import { AuditController } from './http/audit.controller';
import { CommandsController } from './http/commands.controller';
import { ErrorsFilter } from './http/errors.filter';
import { QueriesController } from './http/queries.controller';
import { flatten } from './http/validation';
import { IntakeError } from '@ledger/ledger';

class Lifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projector: Projector,
  ) {}
  onApplicationBootstrap(): void {
    this.projector.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.projector.stop();
    this.projector.readModels.close();
    await this.store.dispose();
  }
}

@Module({})
export class AppModule {
  /** The store is built by the caller (main.ts from the environment, tests from a temporary file). */
  static forStore(store: EventStore, config: Pick<LedgerConfig, 'readModelPath' | 'ruleSet' | 'apiKeys'>): DynamicModule {
    const readModels = new ReadModels(config.readModelPath);
    const projector = new Projector(store, readModels, {
      onError: (err) => console.error(`projector: ${err instanceof Error ? err.message : String(err)}; retrying`),
    });
    return {
      module: AppModule,
      controllers: [HealthController, CommandsController, QueriesController, AuditController, ConsoleController],
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: Ledger, useValue: new Ledger(store, config.ruleSet) },
        { provide: ReadModels, useValue: readModels },
        { provide: Projector, useValue: projector },
        { provide: API_KEYS, useValue: config.apiKeys },
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
        Lifecycle,
      ],
    };
  }
}
