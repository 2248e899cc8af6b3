import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EventStoreModule, type EventStore } from '@ledger/event-store';
import { LedgerModule } from '@ledger/ledger';
import { ProjectionsModule, type ProjectorOptions } from '@ledger/projections';
import type { LedgerConfig } from './config';

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export interface CoreOverrides {
  /** A store built by the caller instead of the configured one (tests: a temporary file, an unreachable server). */
  store?: EventStore;
  projector?: ProjectorOptions;
}

/**
 * The one composition root of the API and the CLI: the validated configuration (through
 * @nestjs/config), the configured event store, the read models and their projector, and the
 * command side, each built by its own module's factory.
 */
@Module({})
export class LedgerCoreModule {
  static forRoot(config: LedgerConfig, overrides: CoreOverrides = {}): DynamicModule {
    const ledger = (c: ConfigService) => c.getOrThrow<LedgerConfig>('ledger');
    return {
      module: LedgerCoreModule,
      global: true,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, ignoreEnvVars: true, load: [() => ({ ledger: config })] }),
        EventStoreModule.forRootAsync({ inject: [ConfigService], useFactory: (c: ConfigService) => overrides.store ?? ledger(c).store }),
        ProjectionsModule.forRootAsync({ inject: [ConfigService], useFactory: (c: ConfigService) => ({ readModelPath: ledger(c).readModelPath, ...overrides.projector }) }),
        LedgerModule.forRootAsync({ inject: [ConfigService], useFactory: (c: ConfigService) => ({ ruleSet: ledger(c).ruleSet }) }),
      ],
      providers: [{ provide: LEDGER_CONFIG, inject: [ConfigService], useFactory: ledger }],
      exports: [LEDGER_CONFIG],
    };
  }
}
