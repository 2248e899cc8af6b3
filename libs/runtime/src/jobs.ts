import { workerEntry } from '@ledger/audit';

/** Every kind of job the application's worker runs: the audit kinds, and the rebuild of the read models (admin). */
export const JOB_KINDS = ['verify', 'digest', 'what-if', 'rebuild'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The application's job worker (libs/runtime/src/job-worker.ts), compiled or through tsx. */
export const jobWorker = () => workerEntry(__dirname, 'job-worker');
