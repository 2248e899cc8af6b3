export * from './decider';
export * from './user';
export * from './meter-point';
export * from './device';
export * from './service-request';
export * from './audit-job';
export * from './resent';

import type { RecordAuditJob, RecordAuditJobQueued, RecordAuditJobStart } from './audit-job';
import type { DeviceCommand } from './device';
import type { RecordRegistration } from './meter-point';
import type { SubmitServiceRequest } from './service-request';
import type { RegisterUserRole } from './user';

/** Every command the ledger takes, as typed values (the intake's output). */
export type LedgerCommand = RegisterUserRole | RecordRegistration | DeviceCommand | SubmitServiceRequest | RecordAuditJob | RecordAuditJobStart | RecordAuditJobQueued;
