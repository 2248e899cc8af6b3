export * from './audit-jobs';
export * from './work';
