import { Module, type DynamicModule } from '@nestjs/common';
import type { RuleSet } from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { Ledger } from './ledger';

export interface LedgerModuleOptions {
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  useFactory: (...args: never[]) => { ruleSet: RuleSet };
}

/** Provides the command side: the Ledger's command handlers on the application's store, under the configured rule set. */
@Module({})
export class LedgerModule {
  static forRootAsync(options: LedgerModuleOptions): DynamicModule {
    const OPTIONS = Symbol('LEDGER_OPTIONS');
    return {
      module: LedgerModule,
      global: true,
      providers: [
        { provide: OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        { provide: Ledger, inject: [EVENT_STORE, OPTIONS], useFactory: (store: EventStore, o: { ruleSet: RuleSet }) => new Ledger(store, o.ruleSet) },
      ],
      exports: [Ledger],
    };
  }
}
