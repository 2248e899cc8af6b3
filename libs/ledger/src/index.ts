export * from './streams';
export * from './ledger';
export { CommandHandler, StreamContentionError, type CommandWiring, type Handled } from './commands/handler';
export type { SubmitResult } from './commands/service-request';
export * from './intake';
export * from './demo';
export * from './registration-import';
export * from './ledger.module';
