import type { DatedEvent, DeviceState, Instant, MeterPointState, UserState } from '@ledger/domain';

/**
 * What the audit reports read of the estate as the read models hold it. The projections' query
 * services provide it (DeviceQueries, RegistrationQueries, UserQueries: the composition root in
 * libs/runtime hands them in), so that the audit imports no projection code: it reads the store and
 * the domain, and this.
 */
export interface EstateReads {
  devices: {
    /** Every SMETS1 device now, in device-id order. */
    smets1(): Iterable<DeviceState>;
    /** Devices now, by id. */
    states(deviceIds: Iterable<string>): Map<string, DeviceState>;
    /** The dated histories of the SMETS1 devices whose state as of `at` may differ from their state now (anything dated after `at`). */
    smets1HistoriesChangedAfter(at: Instant): Map<string, DatedEvent[]>;
  };
  meterPoints: { meterPoints(mpxns: Iterable<string>): Map<string, MeterPointState> };
  users: { users(userIds: Iterable<string>): Map<string, UserState> };
}

/** An iterable cut into arrays of `size` (the last one shorter), read as it goes. */
export function* chunks<T>(items: Iterable<T>, size: number): IterableIterator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}
