export * from './audit-jobs';
export * from './work';
export { workerEntry } from '@ledger/event-store/worker-entry';
