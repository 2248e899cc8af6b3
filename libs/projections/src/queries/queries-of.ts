import type { ProjectionWriter } from '../processor/projection-writer';
import { AuditJobQueries } from './audit-job-queries';
import { DecisionQueries } from './decision-queries';
import { DeviceQueries } from './device-queries';
import { IntegrityQueries } from './integrity-queries';
import { RegistrationQueries } from './registration-queries';
import { StuckQueries } from './stuck-queries';
import { UserQueries } from './user-queries';

/** Every query service over a read-model file, for code that runs without Nest (tests, benchmarks); the API and the CLI get them from ProjectionsModule. */
export function queriesOf(writer: ProjectionWriter) {
  const db = writer.db;
  return {
    devices: new DeviceQueries(db),
    meterPoints: new RegistrationQueries(db),
    users: new UserQueries(db),
    decisions: new DecisionQueries(db),
    auditJobs: new AuditJobQueries(db),
    stuck: new StuckQueries(db, writer.projections.stuck),
    integrity: new IntegrityQueries(db, writer.checkpoint),
  };
}
