import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ProxyDisagreementReport, StuckReports, type EstateReads } from '@ledger/audit';
import { EventStoreModule, type EventStore } from '@ledger/event-store';
import { LedgerModule } from '@ledger/ledger';
import { DeviceQueries, ProjectionsModule, RegistrationQueries, UserQueries, type ProjectorOptions } from '@ledger/projections';
import type { LedgerConfig } from './config';

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export interface CoreOverrides {
  /** A store built by the caller instead of the configured one: the CLI's read-only open of a SQLite file (the store it checked is a store, read through), and tests (a temporary file, an unreachable server). */
  store?: EventStore;
  projector?: ProjectorOptions;
}

/** The audit reports read the estate through the projections' query services (the audit imports no projection code). */
const ESTATE_READS = Symbol('ESTATE_READS');

/**
 * The one composition root of the API and the CLI: the validated configuration (through
 * @nestjs/config), the configured event store, the read models, their projector and query
 * services, the command side, each built by its own module's factory, and the audit reports.
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
      providers: [
        { provide: LEDGER_CONFIG, inject: [ConfigService], useFactory: ledger },
        {
          provide: ESTATE_READS,
          inject: [DeviceQueries, RegistrationQueries, UserQueries],
          useFactory: (devices: DeviceQueries, meterPoints: RegistrationQueries, users: UserQueries): EstateReads => ({ devices, meterPoints, users }),
        },
        { provide: StuckReports, inject: [ESTATE_READS], useFactory: (estate: EstateReads) => new StuckReports(estate) },
        { provide: ProxyDisagreementReport, inject: [ESTATE_READS], useFactory: (estate: EstateReads) => new ProxyDisagreementReport(estate) },
      ],
      exports: [LEDGER_CONFIG, StuckReports, ProxyDisagreementReport],
    };
  }
}
