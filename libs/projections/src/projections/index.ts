import type { ReadModelDb } from '../read-model-db';
import type { Projection } from './projection';
import { AuditJobProjection } from './audit-job-projection';
import { ChainCheck } from './chain-check';
import { DecisionProjection } from './decision-projection';
import { DeviceProjection } from './device-projection';
import { BatchStates } from './fold-cache';
import { MeterPointProjection } from './meter-point-projection';
import { StuckProjection } from './stuck-projection';
import { UserProjection } from './user-projection';

export * from './projection';
export { BatchStates } from './fold-cache';
export { AuditJobProjection, ChainCheck, DecisionProjection, DeviceProjection, MeterPointProjection, StuckProjection, UserProjection };
export { areaOf } from './stuck-projection';

/**
 * Every projection of the read-model file, by name, and `all` in the order a batch is applied
 * to them: the stuck-device projection takes the device and meter-point states those two folded in
 * the batch (`batchStates`), so it comes after them, and before the others: it empties them once
 * read, so they die young (held through the decisions and the chain check, they cost more garbage
 * collection than they saved); the ProjectionWriter empties them too when a batch ends.
 */
export function createProjections(rm: ReadModelDb) {
  const batchStates = new BatchStates();
  const named = {
    users: new UserProjection(rm),
    devices: new DeviceProjection(rm, batchStates),
    meterPoints: new MeterPointProjection(rm, batchStates),
    decisions: new DecisionProjection(rm),
    auditJobs: new AuditJobProjection(rm),
    chain: new ChainCheck(rm),
    stuck: new StuckProjection(rm, batchStates),
  };
  return { ...named, batchStates, all: [named.users, named.devices, named.meterPoints, named.stuck, named.decisions, named.auditJobs, named.chain] as readonly Projection[] };
}

export type Projections = ReturnType<typeof createProjections>;
