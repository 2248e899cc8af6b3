import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { webcrypto } from 'node:crypto';
import { DomainError, isWellFormedText, parseEui64, type CertificateIdentity, type KeyUsage } from '@ledger/domain';
import { IntakeError } from './errors';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const UNIQUE_IDENTIFIER = '2.5.4.45';

/**
 * The largest certificate read, in bytes of DER. An SMKI Organisation Certificate (ECDSA P-256, a
 * handful of extensions) is well under 1 KB; the library's parse grows with the certificate, and
 * one padded with 2,000 extensions (22 KB, two of them in a 59 KB request) held the event loop
 * ~0.6 s before this cap (2026-11-28, nineteenth session's final read).
 */
export const MAX_CERTIFICATE_BYTES = 8192;

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
  if (der.byteLength > MAX_CERTIFICATE_BYTES) throw new IntakeError(field, `is ${der.byteLength} bytes of DER: a certificate over ${MAX_CERTIFICATE_BYTES} is refused (an SMKI Organisation Certificate is well under 1 KB)`);
  let asn: Certificate;
  let cert: x509.X509Certificate;
  try {
    asn = AsnConvert.parse(der, Certificate);
    cert = new x509.X509Certificate(asn);
  } catch {
    throw new IntakeError(field, 'is not a DER X.509 certificate');
  }
  try {
    // The library reads names and extensions lazily: a malformed value in one it knows (key usage, subjectAltName, ...) throws at first use, so all are read here.
    void [cert.serialNumber, cert.subject, cert.issuer, cert.notBefore, cert.notAfter, cert.extensions];
  } catch (err) {
    throw new IntakeError(field, `is not a DER X.509 certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The library reads the first certificate and ignores what follows it: a second certificate, or bytes that are none.
  const length = outerLength(der);
  if (length === undefined) throw new IntakeError(field, 'is not a DER X.509 certificate');
  if (length !== der.byteLength) {
    throw new IntakeError(field, `holds ${der.byteLength - length} byte(s) after the certificate's ${length}: one DER certificate only`);
  }
  // The library gives a serial's bytes without its sign: a negative 81 and a positive 0081 both read '81'.
  const serialHex = cert.serialNumber.toUpperCase();
  if (new Uint8Array(asn.tbsCertificate.serialNumber)[0] >= 0x80) throw new IntakeError(`${field}.serial`, `is negative (${serialHex}): RFC 5280 requires a positive serial`);
  const subject = cert.subjectName;
  const uids = subject.getField(UNIQUE_IDENTIFIER);
  if (uids.length > 1) throw new IntakeError(field, `subject has ${uids.length} uniqueIdentifiers (2.5.4.45): one owner User ID only`);
  const [uid] = uids;
  if (!uid) throw new IntakeError(field, 'subject has no uniqueIdentifier (2.5.4.45) holding the owner User ID');
  let ownerUserId: CertificateIdentity['ownerUserId'];
  try {
    ownerUserId = parseEui64(decodeUniqueIdentifier(uid), `${field}.subject.uniqueIdentifier`);
  } catch (err) {
    if (err instanceof DomainError) throw new IntakeError(err.field, err.reason);
    throw err;
  }
  const ous = subject.getField('OU');
  if (ous.length > 1) throw new IntakeError(field, `subject has ${ous.length} OUs (${ous.join(', ')}): one remote-party role code only`);
  const [roleCode] = ous;
  if (!roleCode || !/^\d{2}$/.test(roleCode)) throw new IntakeError(field, `subject OU must hold the two-digit remote-party role code, got '${roleCode ?? ''}'`);
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const { type } of cert.extensions) (seen.has(type) ? twice : seen).add(type);
  if (twice.size > 0) throw new IntakeError(field, `has the extension ${[...twice].join(', ')} more than once: RFC 5280 allows each once`);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const signing = !!ku && (ku.usages & x509.KeyUsageFlags.digitalSignature) !== 0;
  const agreement = !!ku && (ku.usages & x509.KeyUsageFlags.keyAgreement) !== 0;
  if (signing === agreement) throw new IntakeError(field, 'key usage must be exactly one of digitalSignature or keyAgreement');
  const keyUsage: KeyUsage = signing ? 'digitalSignature' : 'keyAgreement';
  // A BMPString name decodes a UTF-16 unit at a time, so it can hold a lone surrogate: not text (SQLite and every UTF-8 reader read it back as U+FFFD).
  // Refused at intake only: a decision recorded before this with one still reads and replays.
  if (!isWellFormedText(cert.issuer)) throw new IntakeError(`${field}.issuer`, 'holds a lone UTF-16 surrogate: not text');
  return {
    serial: serialHex.replace(/^0+(?=.)/, ''),
    issuer: cert.issuer,
    ownerUserId,
    roleCode,
    keyUsage,
    subject: cert.subject,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  };
}

/** The length of the outer SEQUENCE's DER (its tag, its length bytes and its content); undefined for an indefinite length (0x80), which is not DER. */
function outerLength(der: Uint8Array): number | undefined {
  const first = der[1];
  if (der[0] !== 0x30 || first === undefined || first === 0x80) return undefined;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  let content = 0;
  for (let i = 0; i < count; i++) content = content * 256 + (der[2 + i] ?? 0);
  return 2 + count + content;
}

/** The library gives a non-string attribute as the hex of its DER: BIT STRING (03) or OCTET STRING (04). */
function decodeUniqueIdentifier(value: string): string {
  const hex = value.toLowerCase();
  if (/^03[0-9a-f]{2}00[0-9a-f]+$/.test(hex) && parseInt(hex.slice(2, 4), 16) * 2 === hex.length - 4) return hex.slice(6);
  if (/^04[0-9a-f]{2}[0-9a-f]+$/.test(hex) && parseInt(hex.slice(2, 4), 16) * 2 === hex.length - 4) return hex.slice(4);
  return value;
}
