import type { CertificateIdentity, DeviceStatus, DeviceType, Responsibility, SlotKey, SmetsGeneration } from './catalogue';
import { decodeDecision, encodeDecision, type DecisionRecordV3 } from './decision-record';
import type { DecodeOptions } from './decision-decode';
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
 * `E_NOT_FUTURE_DATABLE` (the ledger's own, rule sets @2): a request carries an ExecutionDateTime in
 * the future for an SRV whose future-dated response pattern in the DUIS matrix is 'No'. DUIS's own
 * answer to that case is not public (its XSD may not even admit the element there).
 */
export const RESPONSE_CODES = ['I0', 'I99', 'E1', 'E2', 'E3', 'E4', 'E5', 'E11', 'E19', 'E_CERT_OWNER', 'E_NOT_FUTURE_DATABLE'] as const;
export type ResponseCode = (typeof RESPONSE_CODES)[number];

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
  /**
   * Every RemotePartyRole, when the request names more than one (6.24.1 retrieving several
   * parties' credentials); `remotePartyRole` is then the first. Absent otherwise, and in every
   * decision recorded before it existed, so their record (and its hash) is unchanged.
   */
  remotePartyRoles?: string[];
  certificates: CertificateIdentity[];
  receivedAt: Instant;
  format: 'duis' | 'json';
  /** The DUIS XML signature is not verified by this service; recorded so that every decision says so. */
  signatureVerified: false;
}

/**
 * A decision, as evaluate() gives it and every reader reads it. Version 2 is version 1 with
 * `request.remotePartyRoles` (a request naming more than one RemotePartyRole, 6.24.1). Decisions
 * are written in the stored form of version 3 (decision-record.ts: each fact once, no prose, the
 * reasons rendered on read), which reads back as exactly this shape, `schemaVersion` 1 or 2 as
 * above; decisions stored as versions 1 and 2 read as they were recorded. Code that knows only
 * versions 1 and 2 refuses version 3 (and halts loudly) instead of misreading it.
 */
export interface ServiceRequestEvaluatedV1 {
  schemaVersion: 1 | 2;
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

/**
 * An audit job that ended (a verification, a digest, a what-if over history): who asked for it,
 * when it ran, the store position it covered and what it found, so an auditor can show later that
 * it was done. Kept in a stream of its own (`auditjob-<id>`), hash-chained like every other.
 */
export interface AuditJobRecordedV1 {
  schemaVersion: 1;
  jobId: string;
  kind: string;
  /**
   * `interrupted` (since 2026-11-27): its start (AuditJobStarted), or its acceptance into the queue
   * (AuditJobQueued, since the fourteenth session; `startedAt` null: it never started), was recorded
   * and no end: the API stopped first, or could not record its end; recorded later by an API on its
   * read models.
   */
  state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  requestedBy: string;
  requestedAt: Instant;
  startedAt: Instant | null;
  endedAt: Instant;
  /**
   * The head of the store when the job started: the job covered the events up to it (a
   * verification that met damage, since 2026-11-28: the last position it checked, before the damage).
   */
  positionThrough: string | null;
  /** What it asked (rule set, filter, position). */
  params: Record<string, unknown>;
  /** What it found: for a verification, whether every link held and how many events, breaks and unreadable events; for a digest, the digest; for a what-if, the counts. */
  findings: Record<string, unknown>;
  error: string | null;
  /**
   * Who ended a cancelled job (since 2026-11-28, nineteenth session): the actor of the key that
   * cancelled it (DELETE /jobs/:id), the one that asked for it included, or `api:shutdown` for one
   * cancelled as the API shut down. A field added, not a new version: a cancelled job recorded
   * before lacks it (and its end's actor was the asker's for both), as does every other end.
   */
  cancelledBy?: string;
}

/**
 * An audit job that started (since 2026-11-27), in its stream (`auditjob-<id>`) before its end
 * (AuditJobRecorded): so that a job whose API stopped before it ended leaves a trace, recorded as
 * `interrupted` later by an API on its read models. `instance`: the API process that runs it (its
 * instance lease), whose lease going stale alone says it is not running any more.
 */
export interface AuditJobStartedV1 {
  schemaVersion: 1;
  jobId: string;
  kind: string;
  requestedBy: string;
  requestedAt: Instant;
  startedAt: Instant;
  /** What it asked (rule set, filter, position). */
  params: Record<string, unknown>;
  instance: string;
}

/**
 * An audit job accepted and queued (since 2026-11-27, fourteenth session): asked for while the
 * jobs' threads were taken, so it waits; the first event of its stream, recorded before the API
 * answers it `202 queued`. Its start (AuditJobStarted) follows as it begins to run, then its end
 * (AuditJobRecorded). So a job whose API stopped while it waited leaves a trace, recorded as
 * `interrupted` (never started) later by an API on its read models. A job that runs at once has
 * no acceptance: its start is its first event. `instance`: the API process it was accepted by.
 */
export interface AuditJobQueuedV1 {
  schemaVersion: 1;
  jobId: string;
  kind: string;
  requestedBy: string;
  requestedAt: Instant;
  /** What it asked (rule set, filter, position). */
  params: Record<string, unknown>;
  instance: string;
}

export type LedgerEvent =
  | { type: 'UserRoleRegistered'; data: UserRoleRegisteredV1 }
  | { type: 'DeviceInventoryChanged'; data: DeviceInventoryChangedV1 }
  | { type: 'RegistrationChanged'; data: RegistrationChangedV1 }
  | { type: 'CertificatePlaced'; data: CertificatePlacedV1 }
  | { type: 'ServiceRequestEvaluated'; data: ServiceRequestEvaluatedV1 }
  | { type: 'AuditJobRecorded'; data: AuditJobRecordedV1 }
  | { type: 'AuditJobStarted'; data: AuditJobStartedV1 }
  | { type: 'AuditJobQueued'; data: AuditJobQueuedV1 };

export type LedgerEventType = LedgerEvent['type'];
export const LEDGER_EVENT_TYPES: readonly LedgerEventType[] = [
  'UserRoleRegistered',
  'DeviceInventoryChanged',
  'RegistrationChanged',
  'CertificatePlaced',
  'ServiceRequestEvaluated',
  'AuditJobRecorded',
  'AuditJobStarted',
  'AuditJobQueued',
];

/** The schema versions this code reads, per type; the last is the one it writes (see each type for when an older one is still written). */
const KNOWN_VERSIONS: Record<LedgerEventType, readonly number[]> = {
  UserRoleRegistered: [1],
  DeviceInventoryChanged: [1],
  RegistrationChanged: [1],
  CertificatePlaced: [1],
  ServiceRequestEvaluated: [1, 2, 3],
  AuditJobRecorded: [1],
  AuditJobStarted: [1],
  AuditJobQueued: [1],
};

const CURRENT_VERSION: Record<LedgerEventType, number> = {
  UserRoleRegistered: 1,
  DeviceInventoryChanged: 1,
  RegistrationChanged: 1,
  CertificatePlaced: 1,
  ServiceRequestEvaluated: 3,
  AuditJobRecorded: 1,
  AuditJobStarted: 1,
  AuditJobQueued: 1,
};

/**
 * Brings a stored event to the shape the ledger reads. A ServiceRequestEvaluated of version 3 (its
 * stored form) is decoded, with the device of its `stream` as the request's target; versions 1 and
 * 2 read as recorded; every other type is at version 1. An unknown type or version is refused,
 * never guessed at. `options`: what of a version-3 decision a reader never looks at is left out
 * (its reasons, or its checks: DecodeOptions).
 */
export function upcast(type: string, data: unknown, stream?: string, options: ReadOptions = {}): LedgerEvent {
  if (!(LEDGER_EVENT_TYPES as readonly string[]).includes(type)) throw new DomainError('event.type', `'${type}' is not a ledger event`);
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (!KNOWN_VERSIONS[type as LedgerEventType].includes(version as number)) {
    throw new DomainError(`${type}.schemaVersion`, `version ${String(version)} is not known (current: ${CURRENT_VERSION[type as LedgerEventType]})`);
  }
  if (type === 'ServiceRequestEvaluated' && version === 3) {
    if (!stream?.startsWith('device-')) throw new DomainError('ServiceRequestEvaluated.stream', `a decision of version 3 is read from its device's stream, not '${String(stream)}'`);
    return { type, data: decodeDecision(data as DecisionRecordV3, stream.slice('device-'.length), options) };
  }
  return { type, data } as LedgerEvent;
}

/**
 * The data of a ledger event as the ledger writes it: a decision in its stored form (version 3),
 * or as it is where that form would not give it back exactly; every other event as it is.
 */
export function storedData(event: LedgerEvent): unknown {
  return event.type === 'ServiceRequestEvaluated' ? (encodeDecision(event.data) ?? event.data) : event.data;
}

/** Whether a stream is one the ledger writes (in a shared EventStoreDB, other applications' streams are passed over). */
export const isLedgerStream = (stream: string): boolean => /^(device|meterpoint|user|auditjob)-/.test(stream);

/**
 * A stored event as a ledger event, or undefined for an event of another application (not a ledger
 * type, in a stream the ledger does not write). An event of a ledger stream or type that cannot be
 * upcast (an unknown type or schema version) is a DomainError: the reader must stop, not skip it.
 */
export function ledgerEventOf(stream: string, type: string, data: unknown, options: ReadOptions = {}): LedgerEvent | undefined {
  if (!isLedgerStream(stream) && !(LEDGER_EVENT_TYPES as readonly string[]).includes(type)) return undefined;
  return upcast(type, data, stream, options);
}

/** How a stored event is read: what of a stored decision (version 3) to leave out (decision-decode.ts). */
export type ReadOptions = DecodeOptions;

export const deviceStream = (deviceId: string): string => `device-${deviceId}`;
export const meterPointStream = (mpxn: string): string => `meterpoint-${mpxn}`;
export const userStream = (userId: string): string => `user-${userId}`;
export const auditJobStream = (jobId: string): string => `auditjob-${jobId}`;
