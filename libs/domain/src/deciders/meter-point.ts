import type { Responsibility } from '../catalogue';
import type { RegistrationChangedV1 } from '../events';
import { DomainError, parseInstant, parseMpxn, parseUserId, type Instant, type Mpxn, type UserId } from '../identifiers';
import { evolveMeterPoint, type MeterPointState } from '../state';
import type { Decider } from './decider';
import { checkResent } from './resent';

/** Record one Registration Data change: who is responsible for a meter point from an instant on. */
export interface RecordRegistration {
  kind: 'RecordRegistration';
  mpxn: Mpxn;
  responsibility: Responsibility;
  partyUserId: UserId;
  effectiveFrom: Instant;
  /** The RDP's record id (a re-sent record changes nothing), and the file and line that carried it. */
  source: { recordId: string; file?: string; line?: number };
}

export interface RecordRegistrationInput {
  mpxn: unknown;
  responsibility: unknown;
  partyUserId: unknown;
  effectiveFrom: unknown;
  recordId: unknown;
  file?: string;
  line?: number;
}

/** Checks a Registration Data change (an MPAN's check digit included); the first problem is a DomainError naming its field. */
export function parseRecordRegistration(input: RecordRegistrationInput): RecordRegistration {
  const mpxn = parseMpxn(input.mpxn, 'mpxn');
  if (input.responsibility !== 'supplier' && input.responsibility !== 'networkOperator') throw new DomainError('responsibility', "must be 'supplier' or 'networkOperator'");
  const partyUserId = parseUserId(input.partyUserId, 'partyUserId');
  const effectiveFrom = parseInstant(input.effectiveFrom, 'effectiveFrom');
  if (typeof input.recordId !== 'string' || input.recordId.trim() === '') throw new DomainError('recordId', 'must be the RDP record id');
  const source: RecordRegistration['source'] = { recordId: input.recordId.trim() };
  if (input.file) source.file = input.file;
  if (input.line) source.line = input.line;
  return { kind: 'RecordRegistration', mpxn, responsibility: input.responsibility, partyUserId, effectiveFrom, source };
}

type RegistrationChanged = { type: 'RegistrationChanged'; data: RegistrationChangedV1 };

/**
 * A meter point's stream (`meterpoint-<MPxN>`): its Registration Data, one effective-dated
 * timeline per responsibility. Every change the RDP sends is recorded as it came; the fold puts it
 * in effective-date order (see evolveMeterPoint).
 */
export const meterPointDecider: Decider<RecordRegistration, MeterPointState, RegistrationChanged> = {
  initialState: (mpxn) => ({ mpxn, timelines: { supplier: [], networkOperator: [] } }),
  evolve: evolveMeterPoint,
  decide: (c) => [{ type: 'RegistrationChanged', data: { schemaVersion: 1, mpxn: c.mpxn, responsibility: c.responsibility, partyUserId: c.partyUserId, effectiveFrom: c.effectiveFrom, source: c.source } }],
};

/**
 * A record id sent again: the same record, whichever file or line carried it, is a retry (nothing
 * written); other content under that record id (another party, responsibility or date) is refused
 * (FactReusedError naming `recordId`), as it is neither recorded nor a new record.
 */
export function checkRegistrationResent(c: RecordRegistration, recorded: RegistrationChangedV1): void {
  const again = meterPointDecider.decide(c, meterPointDecider.initialState(c.mpxn))[0].data;
  checkResent('recordId', `Registration Data record '${c.source.recordId}' of MPxN ${c.mpxn}`, recorded, again, { ignore: ['source.file', 'source.line'], instants: ['effectiveFrom'] });
}
