import { checkRegistrationResent, meterPointDecider, meterPointStream, type MeterPointState, type RecordRegistration, type RegistrationChangedV1 } from '@ledger/domain';
import { writtenState, type CommandWiring } from './handler';

/** A Registration Data change, on the meter point's stream; idempotent by (MPxN, RDP record id): the same record again writes nothing, other content under its record id is refused. */
export const recordRegistration: CommandWiring<RecordRegistration, MeterPointState> = {
  stream: (c) => ({ name: meterPointStream(c.mpxn), id: c.mpxn }),
  fold: meterPointDecider,
  read: writtenState,
  decide: (c, state) => meterPointDecider.decide(c, state),
  eventName: (c) => `registration:${c.mpxn}:${c.source.recordId}`,
  resent: (c, recorded) => checkRegistrationResent(c, recorded.data as RegistrationChangedV1),
};
