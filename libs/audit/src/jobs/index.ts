export * from './audit-jobs';
export * from './work';
export * from './worker-entry';
