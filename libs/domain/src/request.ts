import { parseCertificateIdentity, parseSrv, type CertificateIdentity, type SrvDefinition } from './catalogue';
import type { RecordedRequest } from './events';
import {
  DomainError,
  formatRequestId,
  parseInstant,
  readInstant,
  parseRemotePartyRole,
  parseRequestId,
  parseUserRole,
  quoted,
  type Instant,
  type RemotePartyRole,
  type RequestId,
  type UserRole,
} from './identifiers';
import { carriesUnplacedCertificates } from './srv-table';

/** A service request as the domain judges it, from DUIS XML or from JSON. */
export interface ServiceRequest {
  requestId: RequestId;
  srv: SrvDefinition;
  commandVariant?: number;
  /** The sender's role when the request states it (JSON); DUIS does not, and the role is derived. */
  statedRole?: UserRole;
  /** The role code of the signing certificate, when known ('02' supplier, '03' network operator). */
  signingRoleCode?: string;
  executionDateTime?: Instant;
  dateRange?: { from: Instant; to: Instant };
  /** 6.15.1 and 6.21: whose credentials are replaced; 6.24.1: whose are retrieved (the first, when several). */
  remotePartyRole?: RemotePartyRole;
  /** Every RemotePartyRole, when more than one is named (only 6.24.1 may: DCC's example retrieves two). */
  remotePartyRoles?: RemotePartyRole[];
  /** The replacement certificates the request carries (6.15.1, 6.21, 6.23; 8.5 the ACB's, placed nowhere). */
  certificates: CertificateIdentity[];
  receivedAt: Instant;
  format: 'duis' | 'json';
}

/** The unvalidated shape both intakes produce (strings straight from XML or JSON). */
export interface ServiceRequestInput {
  requestId: unknown;
  srv: unknown;
  commandVariant?: unknown;
  role?: unknown;
  signingRoleCode?: unknown;
  executionDateTime?: unknown;
  dateRange?: { from?: unknown; to?: unknown } | null;
  /** One RemotePartyRole, or a list (DUIS repeats the element; JSON may give a list). */
  remotePartyRole?: unknown;
  certificates?: unknown[];
  receivedAt: unknown;
  format: 'duis' | 'json';
}

/**
 * The SRVs whose body may repeat RemotePartyRole: 6.24.1 Retrieve Device Security Credentials
 * (KRP) retrieves several parties' credentials in one request (DCC's own example, CS02f, names
 * Supplier and LoadController). 6.15.1 and 6.21 replace one party's credentials.
 */
const REPEATABLE_REMOTE_PARTY_ROLE: ReadonlySet<string> = new Set(['6.24.1']);

/** The reason a request carrying two certificates of one key usage is refused (the DUIS intake counts them first with it). */
export const AT_MOST_ONE_CERTIFICATE_PER_KEY_USAGE = 'at most one digital-signing and one key-agreement certificate may be carried';

/**
 * Validates a request's content. Every problem is a DomainError naming the field. `instant` reads
 * its instants: parseInstant at intake, readInstant for a request recorded (requestFromRecord).
 */
export function parseServiceRequest(input: ServiceRequestInput, instant: (value: unknown, field: string) => Instant = parseInstant): ServiceRequest {
  const requestId = parseRequestId(input.requestId, 'requestId');
  const srv = parseSrv(input.srv, 'srv');
  const req: ServiceRequest = {
    requestId,
    srv,
    certificates: (input.certificates ?? []).map((c, i) => parseCertificateIdentity(c, `certificates[${i}]`)),
    receivedAt: instant(input.receivedAt, 'receivedAt'),
    format: input.format,
  };
  if (input.commandVariant !== undefined && input.commandVariant !== null) {
    const cv = Number(input.commandVariant);
    if (!Number.isInteger(cv) || cv < 1 || cv > 8) throw new DomainError('commandVariant', `${quoted(input.commandVariant)} is not a command variant (1-8)`);
    req.commandVariant = cv;
  }
  if (input.role !== undefined && input.role !== null) req.statedRole = parseUserRole(input.role, 'role');
  if (input.signingRoleCode !== undefined && input.signingRoleCode !== null) {
    if (typeof input.signingRoleCode !== 'string' || !/^\d{2}$/.test(input.signingRoleCode)) {
      throw new DomainError('signingRoleCode', 'must be a two-digit role code');
    }
    req.signingRoleCode = input.signingRoleCode;
  }
  if (input.executionDateTime !== undefined && input.executionDateTime !== null) {
    req.executionDateTime = instant(input.executionDateTime, 'executionDateTime');
  }
  if (input.dateRange) {
    const from = instant(input.dateRange.from, 'dateRange.from');
    const to = instant(input.dateRange.to, 'dateRange.to');
    if (to < from) throw new DomainError('dateRange', `ends (${to}) before it starts (${from})`);
    req.dateRange = { from, to };
  }
  if (input.remotePartyRole !== undefined && input.remotePartyRole !== null) {
    const given = Array.isArray(input.remotePartyRole) ? input.remotePartyRole : [input.remotePartyRole];
    const roles = given.map((r, i) => parseRemotePartyRole(r, given.length > 1 ? `remotePartyRole[${i}]` : 'remotePartyRole'));
    if (roles.length === 0) throw new DomainError('remotePartyRole', 'is an empty list');
    if (roles.length > 1 && !REPEATABLE_REMOTE_PARTY_ROLE.has(srv.srv)) {
      throw new DomainError('remotePartyRole', `appears more than once: only SRV ${[...REPEATABLE_REMOTE_PARTY_ROLE].join(', ')} may name several RemotePartyRoles`);
    }
    if (new Set(roles).size !== roles.length) throw new DomainError('remotePartyRole', `names ${roles.find((r, i) => roles.indexOf(r) !== i)} more than once`);
    req.remotePartyRole = roles[0];
    if (roles.length > 1) req.remotePartyRoles = roles;
  }
  if (srv.placesCertificates === 'remotePartyRole' && !req.remotePartyRole) {
    throw new DomainError('remotePartyRole', `SRV ${srv.srv} must name the RemotePartyRole whose credentials it replaces`);
  }
  if (srv.placesCertificates && req.certificates.length === 0) {
    throw new DomainError('certificates', `SRV ${srv.srv} must carry at least one replacement certificate`);
  }
  if (req.certificates.length > 0 && !srv.placesCertificates && !carriesUnplacedCertificates(srv.srv)) {
    throw new DomainError('certificates', `SRV ${srv.srv} does not carry replacement certificates`);
  }
  const usages = req.certificates.map((c) => c.keyUsage);
  if (new Set(usages).size !== usages.length) {
    throw new DomainError('certificates', AT_MOST_ONE_CERTIFICATE_PER_KEY_USAGE);
  }
  return req;
}

export function recordRequest(req: ServiceRequest): RecordedRequest {
  const r: RecordedRequest = {
    requestId: formatRequestId(req.requestId),
    originator: req.requestId.originator,
    target: req.requestId.target,
    counter: req.requestId.counter.toString(),
    srv: req.srv.srv,
    certificates: req.certificates,
    receivedAt: req.receivedAt,
    format: req.format,
    signatureVerified: false,
  };
  if (req.commandVariant !== undefined) r.commandVariant = req.commandVariant;
  if (req.statedRole) r.statedRole = req.statedRole;
  if (req.signingRoleCode) r.signingRoleCode = req.signingRoleCode;
  if (req.executionDateTime) r.executionDateTime = req.executionDateTime;
  if (req.dateRange) r.dateRange = req.dateRange;
  if (req.remotePartyRole) r.remotePartyRole = req.remotePartyRole;
  if (req.remotePartyRoles) r.remotePartyRoles = req.remotePartyRoles;
  return r;
}

/** What a resubmission may differ in without being another request: when and how it arrived. */
const ARRIVAL_FIELDS = new Set<keyof RecordedRequest>(['receivedAt', 'format', 'signatureVerified']);

/**
 * The fields in which a request sent again under a recorded RequestID differs from the recorded
 * one, ignoring when and in which format it arrived. Empty: it is the same request.
 */
export function requestDifferences(recorded: RecordedRequest, again: RecordedRequest): string[] {
  const fields = new Set([...Object.keys(recorded), ...Object.keys(again)] as Array<keyof RecordedRequest>);
  return [...fields].filter((f) => !ARRIVAL_FIELDS.has(f) && JSON.stringify(recorded[f]) !== JSON.stringify(again[f])).sort();
}

/** Rebuilds the request from a decision's record (for replay), its instants read as they always were (readInstant). */
export function requestFromRecord(r: RecordedRequest): ServiceRequest {
  return parseServiceRequest(
    {
      requestId: r.requestId,
      srv: r.srv,
      commandVariant: r.commandVariant,
      role: r.statedRole,
      signingRoleCode: r.signingRoleCode,
      executionDateTime: r.executionDateTime,
      dateRange: r.dateRange,
      remotePartyRole: r.remotePartyRoles ?? r.remotePartyRole,
      certificates: r.certificates,
      receivedAt: r.receivedAt,
      format: r.format,
    },
    readInstant,
  );
}
