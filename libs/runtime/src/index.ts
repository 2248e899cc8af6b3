export * from './api-keys';
export * from './config';
export * from './core.module';
export * from './jobs';
