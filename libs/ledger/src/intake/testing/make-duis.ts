import { constructDuis, type XMLData } from '@smartdcc/duis-parser';

export interface DuisSpec {
  originator: string;
  target: string;
  counter: number | bigint;
  srv: string;
  commandVariant?: number;
  body: XMLData;
}

/** The DUIS body of 6.15.1 Update Security Credentials (KRP) replacing a remote party's certificates. */
export function updateSecurityCredentialsKrpBody(remotePartyRole: string, certs: { signing?: string; keyAgreement?: string }, executionDateTime?: string): XMLData {
  const replacement: XMLData = {};
  if (certs.signing) replacement.RemotePartyDigitalSigningCertificate = certs.signing;
  if (certs.keyAgreement) replacement.RemotePartyKeyAgreementCertificate = certs.keyAgreement;
  const body: XMLData = {
    UpdateSecurityCredentialsKRP: {
      AuthorisingRemotePartyTACellIdentifier: '1',
      RemotePartyRole: remotePartyRole,
      ReplacementCertificates: replacement,
      ...(executionDateTime ? { ExecutionDateTime: executionDateTime } : {}),
    },
  };
  return body;
}

/** A DUIS request built with @smartdcc/duis-parser's own writer, so that it reads back as DUIS does. */
export function makeDuisRequest(spec: DuisSpec): string {
  const serviceReference = spec.srv.split('.').slice(0, 2).join('.');
  return constructDuis('simplified', {
    header: {
      type: 'request',
      requestId: { originatorId: spec.originator, targetId: spec.target, counter: BigInt(spec.counter) },
      commandVariant: spec.commandVariant ?? 1,
      serviceReference,
      serviceReferenceVariant: spec.srv,
    },
    body: spec.body,
  } as never);
}
