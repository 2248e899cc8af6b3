export * from './streams';
export * from './ledger';
export * from './intake';
export * from './demo';
export * from './registration-import';
export * from './ledger.module';
