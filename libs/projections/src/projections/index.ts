import type { ReadModelDb } from '../read-model-db';
import type { Projection } from './projection';
import { AuditJobProjection } from './audit-job-projection';
import { ChainCheck } from './chain-check';
import { DecisionProjection } from './decision-projection';
import { DeviceProjection } from './device-projection';
import { MeterPointProjection } from './meter-point-projection';
import { StuckProjection } from './stuck-projection';
import { UserProjection } from './user-projection';

export * from './projection';
export { AuditJobProjection, ChainCheck, DecisionProjection, DeviceProjection, MeterPointProjection, StuckProjection, UserProjection };
export { areaOf } from './stuck-projection';

/**
 * Every projection of the read-model file, by name, and `all` in the order a batch is applied
 * to them: the stuck-device projection reads the device and meter-point states, so it comes after
 * those two.
 */
export function createProjections(rm: ReadModelDb) {
  const named = {
    users: new UserProjection(rm),
    devices: new DeviceProjection(rm),
    meterPoints: new MeterPointProjection(rm),
    decisions: new DecisionProjection(rm),
    auditJobs: new AuditJobProjection(rm),
    chain: new ChainCheck(rm),
    stuck: new StuckProjection(rm),
  };
  return { ...named, all: [named.users, named.devices, named.meterPoints, named.decisions, named.auditJobs, named.chain, named.stuck] as readonly Projection[] };
}

export type Projections = ReturnType<typeof createProjections>;
