import type { CertificateIdentity } from '@ledger/domain';
import { parseCertificate } from './certificates';
import type { CertificateDto } from './dto';

/** A certificate given as base64 DER is read with the X.509 library; otherwise its identity fields are taken as given. */
export function certificateFromDto(dto: CertificateDto, field: string): CertificateIdentity | Record<string, unknown> {
  if (dto.der) {
    const { serial, issuer, ownerUserId, roleCode, keyUsage } = parseCertificate(dto.der, `${field}.der`);
    return { serial, issuer, ownerUserId, roleCode, keyUsage };
  }
  return { serial: dto.serial, issuer: dto.issuer, ownerUserId: dto.ownerUserId, roleCode: dto.roleCode, keyUsage: dto.keyUsage };
}
