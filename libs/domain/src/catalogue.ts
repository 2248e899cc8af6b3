import { DomainError, parseEui64, quoted, USER_ROLES as USER_ROLES_FOR_REGISTRATION, type DeviceId, type Eui64, type RemotePartyRole, type UserId, type UserRole } from './identifiers';
import { sameIssuerName } from './issuer-name';
import type { RuleSet } from './rule-sets';
import { MATRIX_CATALOGUE, type FutureDating } from './srv-table';
export { MATRIX_CATALOGUE };

export const DEVICE_TYPES = ['ESME', 'GSME', 'GPF', 'CHF', 'HCALCS', 'PPMID', 'IHD', 'CAD'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const DEVICE_STATUSES = [
  'Pending',
  'Whitelisted',
  'InstalledNotCommissioned',
  'Commissioned',
  'Decommissioned',
  'Withdrawn',
  'Suspended',
  'Recovery',
  'Recovered',
] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type SmetsGeneration = 1 | 2;

/** The fuel a device's meter point is for: an ESME serves an MPAN, a GSME or GPF an MPRN. */
export function fuelOf(type: DeviceType): 'electricity' | 'gas' | undefined {
  if (type === 'ESME') return 'electricity';
  if (type === 'GSME' || type === 'GPF') return 'gas';
  return undefined;
}

export interface SrvDefinition {
  srv: string;
  name: string;
  critical: boolean;
  eligibleRoles: readonly UserRole[];
  deviceTypes: readonly DeviceType[];
  /** Statuses in which the device takes the command (Commissioned always; some also InstalledNotCommissioned). */
  allowedStatuses: readonly DeviceStatus[];
  /** Whether an accepted request places certificates by proxy, and of which remote party. */
  placesCertificates: 'remotePartyRole' | 'supplier' | false;
  /** From the DUIS matrix (catalogue@2 only): a non-device request has no device steps. */
  nonDevice?: boolean;
  /** From the DUIS matrix (catalogue@2 only): who acts on a future date; 'No': the request cannot be future dated. */
  futureDating?: FutureDating;
  /** Where the device types, statuses and placements come from (catalogue@2 only; see srv-table.ts). */
  source?: string;
}

const COMMISSIONED: readonly DeviceStatus[] = ['Commissioned'];
const INSTALLING: readonly DeviceStatus[] = ['Commissioned', 'InstalledNotCommissioned'];
const METERS: readonly DeviceType[] = ['ESME', 'GSME', 'GPF'];

/**
 * catalogue@1: the hand-written catalogue of the 10 Service Reference Variants that rule sets of
 * edition 1 (baseline@1, ownership-only@1, registered-operator@1) judge by. Frozen: decisions
 * recorded under those rule sets replay against exactly these definitions. Edition 2 judges by
 * MATRIX_CATALOGUE (srv-table.ts), every SRV of the DUIS matrix. Device types and the
 * InstalledNotCommissioned allowance are modelling choices: credential requests (6.x) apply to the
 * meters and the GPF and are allowed during installation, supply and firmware commands
 * (7.x, 11.3) only to Commissioned meters, reads to Commissioned meters.
 */
export const SRV_CATALOGUE: Readonly<Record<string, SrvDefinition>> = Object.fromEntries(
  (
    [
      { srv: '6.15.1', name: 'Update Security Credentials (KRP)', critical: true, eligibleRoles: ['IS', 'GS', 'ED', 'GT'], deviceTypes: METERS, allowedStatuses: INSTALLING, placesCertificates: 'remotePartyRole' },
      { srv: '6.15.2', name: 'Update Security Credentials (Device)', critical: true, eligibleRoles: ['IS', 'GS'], deviceTypes: METERS, allowedStatuses: INSTALLING, placesCertificates: false },
      { srv: '6.21', name: 'Request Handover of DCC Controlled Device', critical: false, eligibleRoles: ['IS', 'GS'], deviceTypes: METERS, allowedStatuses: INSTALLING, placesCertificates: 'remotePartyRole' },
      { srv: '6.23', name: 'Update Security Credentials (CoS)', critical: false, eligibleRoles: ['IS', 'GS'], deviceTypes: METERS, allowedStatuses: INSTALLING, placesCertificates: 'supplier' },
      { srv: '6.24.1', name: 'Retrieve Device Security Credentials (KRP)', critical: false, eligibleRoles: ['IS', 'GS', 'ED', 'GT'], deviceTypes: METERS, allowedStatuses: INSTALLING, placesCertificates: false },
      { srv: '7.1', name: 'Enable Supply', critical: true, eligibleRoles: ['IS'], deviceTypes: ['ESME'], allowedStatuses: COMMISSIONED, placesCertificates: false },
      { srv: '7.2', name: 'Disable Supply', critical: true, eligibleRoles: ['IS', 'GS'], deviceTypes: ['ESME', 'GSME'], allowedStatuses: COMMISSIONED, placesCertificates: false },
      { srv: '7.3', name: 'Arm Supply', critical: true, eligibleRoles: ['IS', 'GS'], deviceTypes: ['ESME', 'GSME'], allowedStatuses: COMMISSIONED, placesCertificates: false },
      { srv: '11.3', name: 'Activate Firmware', critical: true, eligibleRoles: ['IS', 'GS'], deviceTypes: ['ESME', 'GSME'], allowedStatuses: COMMISSIONED, placesCertificates: false },
      { srv: '4.1.1', name: 'Read Instantaneous Import Registers', critical: false, eligibleRoles: ['IS', 'GS', 'ED', 'GT'], deviceTypes: ['ESME', 'GSME'], allowedStatuses: COMMISSIONED, placesCertificates: false },
    ] satisfies SrvDefinition[]
  ).map((d) => [d.srv, d]),
);


/** A Service Reference Variant of the DUIS matrix (every SRV any rule set may judge); anything else is a DomainError. */
export function parseSrv(value: unknown, field = 'srv'): SrvDefinition {
  const def = typeof value === 'string' && Object.hasOwn(MATRIX_CATALOGUE, value.trim()) ? MATRIX_CATALOGUE[value.trim()] : undefined;
  if (!def) throw new DomainError(field, `${quoted(value)} is not a Service Reference Variant of the DUIS request matrix (${Object.keys(MATRIX_CATALOGUE).length} SRVs, e.g. 4.1.1, 6.15.1)`);
  return def;
}

/** Who is responsible for a meter point in Registration Data. */
export type Responsibility = 'supplier' | 'networkOperator';

/** The Registration Data responsibility a role is judged against at step 4 (none for ES, OU, RSA). */
export function responsibilityOf(role: UserRole): Responsibility | undefined {
  if (role === 'IS' || role === 'GS') return 'supplier';
  if (role === 'ED' || role === 'GT') return 'networkOperator';
  return undefined;
}

/**
 * The party of a certificate slot: the supplier's, the network operator's, or the Load
 * Controller's. A SMETS1 device has the first two only: the DSP and the S1SP hold four notified
 * certificate records per SMETS1 device (critical and non-critical, supplier and network
 * operator: domain.md section 3), and no Load Controller record. A SMETS2 ESME also trusts a Load
 * Controller (GBCS CS02g, Update Load Controller Security Credentials), a User's party that its
 * supplier appoints (DCC's example sends 6.15.1 LoadController from a supplier).
 */
export type SlotParty = 'supplier' | 'networkOperator' | 'loadController';
/** Critical = the digital-signing certificate; non-critical = the key-agreement certificate of the same party. */
export type Criticality = 'critical' | 'nonCritical';
export type SlotKey = `${SlotParty}.${Criticality}`;
/** The four notified certificate records held by proxy for a SMETS1 device. */
export const SLOT_KEYS: readonly SlotKey[] = ['supplier.critical', 'supplier.nonCritical', 'networkOperator.critical', 'networkOperator.nonCritical'];

/** Whether a device has a slot for a party: the Load Controller's only on a SMETS2 ESME. */
export function hasSlotFor(party: SlotParty, device: { deviceType?: DeviceType; smetsGeneration?: SmetsGeneration }): boolean {
  return party !== 'loadController' || (device.deviceType === 'ESME' && device.smetsGeneration === 2);
}

/** The slot party of a RemotePartyRole; undefined for the DCC's own remote parties (Root, Recovery, ACB, TransCoS). */
export function slotPartyOfRemoteParty(rpr: RemotePartyRole, edition: RuleSet['edition'] = 2): SlotParty | undefined {
  if (rpr === 'Supplier') return 'supplier';
  if (rpr === 'NetworkOperator') return 'networkOperator';
  if (rpr === 'LoadController' && edition >= 2) return 'loadController';
  return undefined;
}

export type KeyUsage = 'digitalSignature' | 'keyAgreement';
/** The SMKI remote-party role codes in the subject's OU: `02` supplier, `03` network operator. */
export type RoleCode = string;
export const SUPPLIER_ROLE_CODE = '02';
export const NETWORK_OPERATOR_ROLE_CODE = '03';

/** A certificate as the ledger knows it: identity (serial + issuer) and what it says of its owner. */
export interface CertificateIdentity {
  serial: string;
  issuer: string;
  ownerUserId: UserId;
  roleCode: RoleCode;
  keyUsage: KeyUsage;
}

export function criticalityOf(keyUsage: KeyUsage): Criticality {
  return keyUsage === 'digitalSignature' ? 'critical' : 'nonCritical';
}

/** The role code of a RemotePartyRole's certificates: `02` Supplier, `03` NetworkOperator; undefined for the others. */
export function roleCodeOfRemoteParty(rpr: RemotePartyRole | undefined): RoleCode | undefined {
  if (rpr === 'Supplier') return SUPPLIER_ROLE_CODE;
  if (rpr === 'NetworkOperator') return NETWORK_OPERATOR_ROLE_CODE;
  return undefined;
}

export function slotPartyOfRoleCode(roleCode: RoleCode): SlotParty | undefined {
  if (roleCode === SUPPLIER_ROLE_CODE) return 'supplier';
  if (roleCode === NETWORK_OPERATOR_ROLE_CODE) return 'networkOperator';
  return undefined;
}

export function parseCertificateIdentity(value: unknown, field = 'certificate'): CertificateIdentity {
  const v = value as Partial<Record<keyof CertificateIdentity, unknown>> | null;
  if (!v || typeof v !== 'object') throw new DomainError(field, 'must be an object');
  if (typeof v.serial !== 'string' || !/^[0-9A-Fa-f]+$/.test(v.serial)) throw new DomainError(`${field}.serial`, 'must be a hex serial number');
  if (typeof v.issuer !== 'string' || v.issuer.trim() === '') throw new DomainError(`${field}.issuer`, 'must be the issuer name');
  if (typeof v.roleCode !== 'string' || !/^\d{2}$/.test(v.roleCode)) throw new DomainError(`${field}.roleCode`, 'must be a two-digit remote-party role code');
  if (v.keyUsage !== 'digitalSignature' && v.keyUsage !== 'keyAgreement') {
    throw new DomainError(`${field}.keyUsage`, "must be 'digitalSignature' or 'keyAgreement'");
  }
  return {
    serial: v.serial.toUpperCase().replace(/^0+(?=.)/, ''),
    issuer: v.issuer.trim(),
    ownerUserId: parseEui64(v.ownerUserId, `${field}.ownerUserId`),
    roleCode: v.roleCode,
    keyUsage: v.keyUsage,
  };
}

/** The same certificate, its issuer compared as text: how rule sets @1 to @4 judge the proxy copies. */
export function sameCertificate(a: CertificateIdentity | undefined, b: CertificateIdentity | undefined): boolean {
  return !!a && !!b && a.serial === b.serial && a.issuer === b.issuer;
}

/** The same certificate, its issuer compared as an X.500 name (issuer-name.ts): how rule sets from @5 judge the proxy copies, and how the views of the copies now compare them. */
export function sameCertificateByName(a: CertificateIdentity | undefined, b: CertificateIdentity | undefined): boolean {
  return !!a && !!b && a.serial === b.serial && sameIssuerName(a.issuer, b.issuer);
}

// re-export for convenience of callers that only need the id types
export type { DeviceId, Eui64, UserId };

/**
 * Org ids of the DCC's own parties. They hold none of the User Roles (domain.md section 4): the
 * ledger records that an org id is the DCC's (as a UserRoleRegistered event with one of these in
 * place of a User Role) so that a request it originates is judged E1 with a reason that says so,
 * rather than as from an unknown org id. `ACB` the Access Control Broker, `TransCoS` the
 * Transitional Change of Supplier party, `DCC` any other DCC org id.
 */
export const DCC_PARTY_ROLES = ['DCC', 'ACB', 'TransCoS'] as const;
export type DccPartyRole = (typeof DCC_PARTY_ROLES)[number];

export function isDccPartyRole(role: string): role is DccPartyRole {
  return (DCC_PARTY_ROLES as readonly string[]).includes(role);
}

/** A role an org id may be registered in: a DUIS User Role, or one of the DCC's own parties. */
export function parseRegisteredRole(value: unknown, field = 'role'): UserRole | DccPartyRole {
  if (typeof value === 'string' && isDccPartyRole(value)) return value;
  if (typeof value !== 'string' || !(USER_ROLES_FOR_REGISTRATION as readonly string[]).includes(value)) {
    throw new DomainError(field, `${quoted(value)} is not a User Role (one of ${USER_ROLES_FOR_REGISTRATION.join(', ')}) nor a DCC party (${DCC_PARTY_ROLES.join(', ')})`);
  }
  return value as UserRole;
}
