import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { DomainError, isWellFormedText, parseEui64, type CertificateIdentity, type KeyUsage } from '@ledger/domain';
import { IntakeError } from './errors';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const UNIQUE_IDENTIFIER = '2.5.4.45';

export interface ParsedCertificate extends CertificateIdentity {
  subject: string;
  notBefore: string;
  notAfter: string;
}

/**
 * Reads an SMKI Organisation Certificate (DER, or base64 of DER) with a real X.509 library: the
 * owner's User ID from the subject's uniqueIdentifier (2.5.4.45, a BIT STRING holding the 64-bit
 * User ID; an OCTET STRING or text is tolerated), the remote-party role code from the subject's
 * OU, the one key usage (digitalSignature or keyAgreement), serial (upper-case hex without leading
 * zeros) and issuer.
 */
export function parseCertificate(input: string | Uint8Array, field: string): ParsedCertificate {
  let der: Uint8Array;
  if (typeof input === 'string') {
    const b64 = input.replace(/\s+/g, '');
    if (b64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new IntakeError(field, 'is not base64');
    der = Buffer.from(b64, 'base64');
  } else {
    der = input;
  }
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch {
    throw new IntakeError(field, 'is not a DER X.509 certificate');
  }
  const subject = cert.subjectName;
  const [uid] = subject.getField(UNIQUE_IDENTIFIER);
  if (!uid) throw new IntakeError(field, 'subject has no uniqueIdentifier (2.5.4.45) holding the owner User ID');
  let ownerUserId: CertificateIdentity['ownerUserId'];
  try {
    ownerUserId = parseEui64(decodeUniqueIdentifier(uid), `${field}.subject.uniqueIdentifier`);
  } catch (err) {
    if (err instanceof DomainError) throw new IntakeError(err.field, err.reason);
    throw err;
  }
  const [roleCode] = subject.getField('OU');
  if (!roleCode || !/^\d{2}$/.test(roleCode)) throw new IntakeError(field, `subject OU must hold the two-digit remote-party role code, got '${roleCode ?? ''}'`);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const signing = !!ku && (ku.usages & x509.KeyUsageFlags.digitalSignature) !== 0;
  const agreement = !!ku && (ku.usages & x509.KeyUsageFlags.keyAgreement) !== 0;
  if (signing === agreement) throw new IntakeError(field, 'key usage must be exactly one of digitalSignature or keyAgreement');
  const keyUsage: KeyUsage = signing ? 'digitalSignature' : 'keyAgreement';
  // A BMPString name decodes a UTF-16 unit at a time, so it can hold a lone surrogate: not text (SQLite and every UTF-8 reader read it back as U+FFFD).
  // Refused at intake only: a decision recorded before this with one still reads and replays.
  if (!isWellFormedText(cert.issuer)) throw new IntakeError(`${field}.issuer`, 'holds a lone UTF-16 surrogate: not text');
  return {
    serial: cert.serialNumber.toUpperCase().replace(/^0+(?=.)/, ''),
    issuer: cert.issuer,
    ownerUserId,
    roleCode,
    keyUsage,
    subject: cert.subject,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  };
}

/** The library gives a non-string attribute as the hex of its DER: BIT STRING (03) or OCTET STRING (04). */
function decodeUniqueIdentifier(value: string): string {
  const hex = value.toLowerCase();
  if (/^03[0-9a-f]{2}00[0-9a-f]+$/.test(hex) && parseInt(hex.slice(2, 4), 16) * 2 === hex.length - 4) return hex.slice(6);
  if (/^04[0-9a-f]{2}[0-9a-f]+$/.test(hex) && parseInt(hex.slice(2, 4), 16) * 2 === hex.length - 4) return hex.slice(4);
  return value;
}
