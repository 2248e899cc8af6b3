export * from './event-store.port';
export * from './errors';
export * from './hash-chain';
export * from './sqlite-event-store';
export * from './esdb-event-store';
export * from './config';
export * from './event-store.module';
export * from './keyed-queue';
