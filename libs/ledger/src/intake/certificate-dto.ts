import type { CertificateIdentity } from '@ledger/domain';
import { parseCertificate } from './certificates';
import type { CertificateDto } from './dto';
import { IntakeError } from './errors';

const IDENTITY_FIELDS = ['serial', 'issuer', 'ownerUserId', 'roleCode', 'keyUsage'] as const;

/** A certificate given as base64 DER is read with the X.509 library; otherwise its identity fields are taken as given. Not both: one would be set aside. */
export function certificateFromDto(dto: CertificateDto, field: string): CertificateIdentity | Record<string, unknown> {
  if (dto.der) {
    const given = IDENTITY_FIELDS.filter((f) => dto[f] != null);
    if (given.length > 0) throw new IntakeError(field, `gives der and ${given.join(', ')}: the identity is read from der; give der alone, or the identity fields without it`);
    const { serial, issuer, ownerUserId, roleCode, keyUsage } = parseCertificate(dto.der, `${field}.der`);
    return { serial, issuer, ownerUserId, roleCode, keyUsage };
  }
  return { serial: dto.serial, issuer: dto.issuer, ownerUserId: dto.ownerUserId, roleCode: dto.roleCode, keyUsage: dto.keyUsage };
}
