import { LATEST_EDITION, meterPointAt, repairOptions, stuckStatus, type DeviceState, type Instant, type MeterPointState, type RepairOption, type RuleSet, type StuckStatus } from '@ledger/domain';
import { smets1AsOf, type EstateReads } from './estate';

/** A stuck device, and (with a rule set) who could repair it and how. */
export type StuckRow = StuckStatus & { repairs?: RepairOption[]; repairable?: boolean };

interface Judged {
  device: DeviceState;
  meterPoint: MeterPointState | undefined;
  status: StuckStatus;
}

/** Devices read at once: each chunk's meter points and users are read in one query each, not one per device. */
const CHUNK = 500;

/**
 * The stuck-device report computed by the domain's rules: which SMETS1 devices are stuck
 * (`stuckStatus`) and who could repair each under a rule set (`repairOptions`, which runs
 * `evaluate` on the candidate requests).
 */
export class StuckReports {
  constructor(private readonly estate: EstateReads) {}

  /**
   * The SMETS1 devices stuck at `at`, with inventory (the record in force), certificates and
   * Registration Data all as they were then: a device with anything dated after `at` is the
   * domain's fold of its history up to `at` (`deviceAsOf`), any other is its state now. With a
   * rule set, who could repair each. Stuck as rule sets of `edition` judge it (stuckStatus): the
   * rule set's, or without one the edition the report judges by (the configured rule set's: the
   * API and the CLI pass it), the latest if none is given.
   */
  asOf(at: Instant, ruleSet?: RuleSet, edition: RuleSet['edition'] = ruleSet?.edition ?? LATEST_EDITION): StuckRow[] {
    const out: StuckRow[] = [];
    for (const devices of smets1AsOf(this.estate.devices, at, CHUNK)) {
      const meterPoints = this.estate.meterPoints.meterPoints(devices.flatMap((d) => meterPointAt(d, at) ?? []));
      const stuck = devices
        .map((device) => {
          const mpxn = meterPointAt(device, at);
          const meterPoint = mpxn ? meterPoints.get(mpxn) : undefined;
          return { device, meterPoint, status: stuckStatus(device, meterPoint, at, edition) };
        })
        .filter((j) => j.status.stuck);
      out.push(...this.judge(stuck, at, ruleSet));
    }
    return out;
  }

  /** Who could repair each of these stuck devices (the rows of a page of the report now, from its projection) under a rule set, at `at`. */
  withRepairs(statuses: StuckStatus[], ruleSet: RuleSet, at: Instant): StuckRow[] {
    const devices = this.estate.devices.states(statuses.map((s) => s.deviceId));
    const meterPoints = this.estate.meterPoints.meterPoints([...devices.values()].flatMap((d) => meterPointAt(d, at) ?? []));
    const judged = statuses.map((status) => {
      const device = devices.get(status.deviceId)!;
      const mpxn = meterPointAt(device, at);
      return { device, meterPoint: mpxn ? meterPoints.get(mpxn) : undefined, status };
    });
    return this.judge(judged, at, ruleSet);
  }

  private judge(stuck: Judged[], at: Instant, ruleSet: RuleSet | undefined): StuckRow[] {
    if (!ruleSet) return stuck.map((j) => j.status);
    const partiesOf = (s: StuckStatus) => [s.registeredOperator!, s.certificateOwner!, ...(s.copyOwners ? [s.copyOwners.S1SP] : [])];
    const users = this.estate.users.users(stuck.flatMap((j) => partiesOf(j.status)));
    return stuck.map(({ device, meterPoint, status }) => {
      const parties = Object.fromEntries(partiesOf(status).map((id) => [id, users.get(id)]));
      const repairs = repairOptions(device, meterPoint, parties, ruleSet, at, status); // the status computed above, not again
      return { ...status, repairs, repairable: repairs.some((r) => r.accepted) };
    });
  }
}
