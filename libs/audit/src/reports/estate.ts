import { deviceAsOf, type DatedEvent, type DeviceState, type Instant, type MeterPointState, type UserState } from '@ledger/domain';

/**
 * What the audit reports read of the estate as the read models hold it. The projections' query
 * services provide it (DeviceQueries, RegistrationQueries, UserQueries: the composition root in
 * libs/runtime hands them in), so that the audit imports no projection code: it reads the store and
 * the domain, and this.
 */
export interface EstateReads {
  devices: {
    /** Every device SMETS1 at some time (as last recorded or in its history), its state now, in device-id order. */
    smets1Ever(): Iterable<DeviceState>;
    /** Devices now, by id. */
    states(deviceIds: Iterable<string>): Map<string, DeviceState>;
    /** The dated histories of those of these devices whose state as of `at` may differ from their state now (anything dated after `at`). */
    historiesChangedAfter(deviceIds: string[], at: Instant): Map<string, DatedEvent[]>;
  };
  meterPoints: { meterPoints(mpxns: Iterable<string>): Map<string, MeterPointState> };
  users: { users(userIds: Iterable<string>): Map<string, UserState> };
}

/** An iterable cut into arrays of `size` (the last one shorter), read as it goes. */
function* chunks<T>(items: Iterable<T>, size: number): IterableIterator<T[]> {
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

/**
 * The devices SMETS1 at some time as they were at `at`, `size` at a time: a device with anything
 * dated after `at` is the domain's fold of its history up to `at` (`deviceAsOf`; none when nothing
 * of it was effective yet), any other is its state now. Whether one was SMETS1 at `at` is its
 * inventory record in force then (inventoryAt), which the reports' domain functions read. The
 * histories are read a chunk at a time.
 */
export function* smets1AsOf(devices: EstateReads['devices'], at: Instant, size: number): IterableIterator<DeviceState[]> {
  for (const chunk of chunks(devices.smets1Ever(), size)) {
    const changed = devices.historiesChangedAfter(chunk.map((d) => d.deviceId), at);
    yield chunk.flatMap((now) => {
      const history = changed.get(now.deviceId);
      const then = history ? deviceAsOf(history, at) : now;
      return then ? [then] : [];
    });
  }
}
