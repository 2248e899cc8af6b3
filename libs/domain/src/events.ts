import type { CertificateIdentity, DeviceStatus, DeviceType, Responsibility, SlotKey, SmetsGeneration } from './catalogue';
import { DomainError, type Instant } from './identifiers';

/**
 * The ledger's events. Each is plain JSON (no bigint, no Date: instants are ISO-8601 strings, the
 * RequestID counter a decimal string) with a `schemaVersion` inside its data, so that a stored
 * event can be upcast on read when its shape changes.
 */

export const USER_STATUSES = ['Active', 'Suspended', 'Withdrawn'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface UserRoleRegisteredV1 {
  schemaVersion: 1;
  userId: string;
  role: string;
  /** Only an Active User Role may send requests (else E3). */
  status: UserStatus;
  /** Market identifiers of the role, e.g. the distributor IDs an ED operates. */
  marketIds: string[];
  effectiveFrom: Instant;
}

export interface DeviceInventoryChangedV1 {
  schemaVersion: 1;
  deviceId: string;
  deviceType: DeviceType;
  smetsGeneration: SmetsGeneration;
  status: DeviceStatus;
  /** The MPAN (ESME) or MPRN (GSME, GPF) the device serves; null for devices that serve none. */
  mpxn: string | null;
  changedAt: Instant;
}

export interface RegistrationChangedV1 {
  schemaVersion: 1;
  mpxn: string;
  responsibility: Responsibility;
  partyUserId: string;
  effectiveFrom: Instant;
  /** Where the change came from: the RDP's record id and the file or API call that carried it. */
  source: { recordId: string; file?: string; line?: number };
}

export type PlacedVia =
  | { kind: 'migration'; reference?: string }
  | { kind: 'request'; requestId: string; srv: string }
  | { kind: 'operatorCorrection'; reference: string };

export interface CertificatePlacedV1 {
  schemaVersion: 1;
  deviceId: string;
  slot: SlotKey;
  certificate: CertificateIdentity;
  /** Which proxy copies were written: normally both. A placement in one only is an audit finding waiting to happen. */
  heldBy: Array<'DSP' | 'S1SP'>;
  via: PlacedVia;
  placedAt: Instant;
}

export type CheckName = 'user-role' | 'srv-eligibility' | 'device' | 'registration-data' | 'certificate-ownership';
export type CheckOutcome = 'pass' | 'fail' | 'skipped';

export interface CheckRecord {
  step: number;
  check: CheckName;
  outcome: CheckOutcome;
  /** The response code when this check failed. */
  code?: ResponseCode;
  reason: string;
  evidence: Record<string, unknown>;
}

/**
 * Response codes. E1-E19 and I0/I99 are DUIS's. The certificate-ownership refusal (step 5) has no
 * public code, so the ledger uses `E_CERT_OWNER`: "the sender does not own the certificate held
 * for the relevant role on the device" (or the slot cannot be changed by this request).
 */
export type ResponseCode = 'I0' | 'I99' | 'E1' | 'E2' | 'E3' | 'E4' | 'E5' | 'E11' | 'E19' | 'E_CERT_OWNER';

/** The request as recorded in a decision: everything evaluate() read of it, in JSON. */
export interface RecordedRequest {
  requestId: string;
  originator: string;
  target: string;
  counter: string;
  srv: string;
  commandVariant?: number;
  statedRole?: string;
  signingRoleCode?: string;
  executionDateTime?: Instant;
  dateRange?: { from: Instant; to: Instant };
  remotePartyRole?: string;
  certificates: CertificateIdentity[];
  receivedAt: Instant;
  format: 'duis' | 'json';
  /** The DUIS XML signature is not verified by this service; recorded so that every decision says so. */
  signatureVerified: false;
}

export interface ServiceRequestEvaluatedV1 {
  schemaVersion: 1;
  request: RecordedRequest;
  ruleSet: { id: string; version: number };
  /** The role the request was judged as (stated, or derived from the User's roles, certificate and fuel). */
  senderRole: string | null;
  checks: CheckRecord[];
  outcome: 'accepted' | 'rejected';
  responseCode: ResponseCode;
  /** The time of the check (the `now` evaluate() was given). */
  evaluatedAt: Instant;
  /** The last revision of each stream the decision read (null: the stream had no events). */
  revisionsRead: Record<string, string | null>;
}

export type LedgerEvent =
  | { type: 'UserRoleRegistered'; data: UserRoleRegisteredV1 }
  | { type: 'DeviceInventoryChanged'; data: DeviceInventoryChangedV1 }
  | { type: 'RegistrationChanged'; data: RegistrationChangedV1 }
  | { type: 'CertificatePlaced'; data: CertificatePlacedV1 }
  | { type: 'ServiceRequestEvaluated'; data: ServiceRequestEvaluatedV1 };

export type LedgerEventType = LedgerEvent['type'];
export const LEDGER_EVENT_TYPES: readonly LedgerEventType[] = [
  'UserRoleRegistered',
  'DeviceInventoryChanged',
  'RegistrationChanged',
  'CertificatePlaced',
  'ServiceRequestEvaluated',
];

const CURRENT_VERSION: Record<LedgerEventType, number> = {
  UserRoleRegistered: 1,
  DeviceInventoryChanged: 1,
  RegistrationChanged: 1,
  CertificatePlaced: 1,
  ServiceRequestEvaluated: 1,
};

/**
 * Brings a stored event to the current schema. Every type is at version 1, so this only checks
 * that the event is one the ledger knows; a later version adds its step here.
 */
export function upcast(type: string, data: unknown): LedgerEvent {
  if (!(LEDGER_EVENT_TYPES as readonly string[]).includes(type)) throw new DomainError('event.type', `'${type}' is not a ledger event`);
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== CURRENT_VERSION[type as LedgerEventType]) {
    throw new DomainError(`${type}.schemaVersion`, `version ${String(version)} is not known (current: ${CURRENT_VERSION[type as LedgerEventType]})`);
  }
  return { type, data } as LedgerEvent;
}

/** Whether a stream is one the ledger writes (in a shared EventStoreDB, other applications' streams are passed over). */
export const isLedgerStream = (stream: string): boolean => /^(device|meterpoint|user)-/.test(stream);

/**
 * A stored event as a ledger event, or undefined for an event of another application (not a ledger
 * type, in a stream the ledger does not write). An event of a ledger stream or type that cannot be
 * upcast (an unknown type or schema version) is a DomainError: the reader must stop, not skip it.
 */
export function ledgerEventOf(stream: string, type: string, data: unknown): LedgerEvent | undefined {
  if (!isLedgerStream(stream) && !(LEDGER_EVENT_TYPES as readonly string[]).includes(type)) return undefined;
  return upcast(type, data);
}

export const deviceStream = (deviceId: string): string => `device-${deviceId}`;
export const meterPointStream = (mpxn: string): string => `meterpoint-${mpxn}`;
export const userStream = (userId: string): string => `user-${userId}`;
