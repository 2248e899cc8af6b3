import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let issuerKeys: Promise<webcrypto.CryptoKeyPair> | undefined;
let serialCounter = 0x1000;

export interface CertificateSpec {
  ownerUserId: string;
  /** '02' supplier, '03' network operator. */
  roleCode: string;
  keyUsage: 'digitalSignature' | 'keyAgreement' | 'both' | 'none';
  serial?: string;
  /** A Name to encode the issuer otherwise (a BMPString, say); a string is the library's default encoding. */
  issuerName?: string | x509.Name;
  /** Leave out the uniqueIdentifier, to test refusals. */
  withoutUniqueIdentifier?: boolean;
}

/**
 * Makes a real ECDSA/ECDH P-256 test certificate, shaped like an SMKI Organisation Certificate:
 * subject CN, OU = role code, uniqueIdentifier (2.5.4.45) = the owner's User ID as a 64-bit BIT
 * STRING, one key usage, signed by a test issuing CA.
 */
export async function makeCertificate(spec: CertificateSpec): Promise<{ der: Uint8Array; base64: string; serial: string; issuer: string }> {
  issuerKeys ??= webcrypto.subtle.generateKey(SIGNING, false, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
  const issuer = await issuerKeys;
  const keys =
    spec.keyUsage === 'keyAgreement'
      ? ((await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as webcrypto.CryptoKeyPair)
      : ((await webcrypto.subtle.generateKey(SIGNING, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair);
  const uid = spec.ownerUserId.replace(/-/g, '');
  const subject = `CN=Test organisation ${uid}, OU=${spec.roleCode}${spec.withoutUniqueIdentifier ? '' : `, 2.5.4.45=#030900${uid}`}`;
  const usages =
    spec.keyUsage === 'both'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement
      : spec.keyUsage === 'none'
        ? 0
        : x509.KeyUsageFlags[spec.keyUsage];
  const serial = spec.serial ?? (serialCounter++).toString(16).toUpperCase();
  const issuerName = spec.issuerName ?? 'CN=Test SMKI Issuing CA';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.length % 2 ? `0${serial}` : serial,
    subject,
    issuer: issuerName,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2045-01-01T00:00:00Z'),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: issuer.privateKey,
    extensions: usages ? [new x509.KeyUsagesExtension(usages, true)] : [],
  });
  const der = new Uint8Array(cert.rawData);
  return { der, base64: Buffer.from(der).toString('base64'), serial, issuer: issuerName.toString() };
}
