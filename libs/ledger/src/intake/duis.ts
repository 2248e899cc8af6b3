import { parseDuis, type XMLData } from '@smartdcc/duis-parser';
import { XMLValidator } from 'fast-xml-parser';
import { quoted, type ServiceRequestInput } from '@ledger/domain';
import { parseCertificate, type ParsedCertificate } from './certificates';
import { IntakeError } from './errors';

export interface DuisIntake {
  input: ServiceRequestInput;
  certificates: ParsedCertificate[];
  /** Whether the XML carries a ds:Signature. It is NOT verified by this service. */
  signaturePresent: boolean;
}

/**
 * Reads a DUIS request (schema 5.x) with @smartdcc/duis-parser into the domain's request input.
 * From the body it takes, wherever they stand (element names without their `sr:` prefix):
 * - `RemotePartyRole` (6.15.1, 6.21; repeated in 6.24.1);
 * - replacement certificates: every element whose name ends in `DigitalSigningCertificate` or
 *   `KeyAgreementCertificate` (base64 DER), parsed with a real X.509 library;
 * - `ExecutionDateTime` (a future-dated request);
 * - a date range from `StartDateTime` and `EndDateTime` under the same parent (e.g. `ReadLogPeriod`).
 * These element names follow the DUIS XSD as far as public material shows; they could not be
 * checked against the XSD itself here, so the reader matches by name wherever the element is.
 * XML signatures are not verified: the decision records `signatureVerified: false`.
 */
export function parseDuisRequest(xml: string, receivedAt: string): DuisIntake {
  if (typeof xml !== 'string' || xml.trim() === '') throw new IntakeError('body', 'is empty: expected a DUIS XML request');
  if (!/^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w.-]*:)?Request[\s>]/.test(xml)) {
    throw new IntakeError('body', 'is not a DUIS Request (the root element must be sr:Request)');
  }
  // The DUIS parser is lenient: a truncated document can come out of it as a request with parts
  // missing. Well-formedness is checked first, so that such a body is named for what it is.
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true) {
    const { msg, line, col } = wellFormed.err;
    const open = /^Invalid '(\[.*\])' found\.$/s.exec(msg); // the validator's way of listing unclosed elements
    const detail = open ? `it ends with ${(JSON.parse(open[1]) as string[]).map((t) => `<${t}>`).join(', ')} still open (truncated?)` : msg;
    throw new IntakeError('body', `is not well-formed XML (line ${line}, column ${col}): ${detail}`);
  }
  let duis: { header: unknown; body?: XMLData };
  try {
    duis = parseDuis('simplified', xml) as unknown as { header: unknown; body?: XMLData };
  } catch (err) {
    throw duisParserError((err as Error).message);
  }
  const header = duis.header as unknown as {
    type?: string;
    requestId?: { originatorId?: string; targetId?: string; counter?: bigint | number };
    commandVariant?: { number?: number } | number;
    serviceReferenceVariant?: Record<string, unknown> | string;
  };
  if (header.type !== 'request') throw new IntakeError('Header', 'is not a request header (a DUIS response was sent?)');
  const rid = header.requestId;
  if (!rid || !rid.originatorId || !rid.targetId || rid.counter === undefined) throw new IntakeError('Header.RequestID', 'is missing or not originator:target:counter');
  const srv = typeof header.serviceReferenceVariant === 'string' ? header.serviceReferenceVariant : header.serviceReferenceVariant?.['Service Reference Variant'];
  if (typeof srv !== 'string' || srv === '') throw new IntakeError('Header.ServiceReferenceVariant', 'is missing');
  const commandVariant = typeof header.commandVariant === 'number' ? header.commandVariant : header.commandVariant?.number;

  const body: XMLData = duis.body && typeof duis.body === 'object' ? duis.body : {};
  const found = collect(body);
  const certificates = found.certificates.map((c) => parseCertificate(c.base64, `Body.${c.path}`));
  if (found.executionDateTime.length > 1) throw new IntakeError('Body.ExecutionDateTime', 'appears more than once');
  const input: ServiceRequestInput = {
    requestId: `${rid.originatorId}:${rid.targetId}:${rid.counter.toString()}`,
    srv,
    commandVariant,
    // DUIS repeats RemotePartyRole where several parties are named (6.24.1); the domain says
    // which SRVs may, and refuses a repeat anywhere else.
    remotePartyRole: found.remotePartyRole.length > 1 ? found.remotePartyRole : found.remotePartyRole[0],
    executionDateTime: found.executionDateTime[0],
    dateRange: found.dateRange,
    certificates,
    receivedAt,
    format: 'duis',
  };
  return { input, certificates, signaturePresent: /<([A-Za-z_][\w.-]*:)?Signature[\s>]/.test(xml) };
}

/** The DUIS parser's own errors, named by the header field they are about. */
function duisParserError(message: string): IntakeError {
  const srv = /^could not find SRV (.*)$/.exec(message);
  if (srv) return new IntakeError('Header.ServiceReferenceVariant', srv[1] === 'undefined' ? 'is missing' : `${quoted(srv[1])} is not a known SRV`);
  if (message === 'bad request id') return new IntakeError('Header.RequestID', 'is missing or not originator:target:counter');
  if (message === 'cv out of range') return new IntakeError('Header.CommandVariant', 'is missing or not a DUIS command variant');
  if (message === 'bad format duis') return new IntakeError('Header', 'is missing');
  return new IntakeError('body', `is not a DUIS request: ${message}`);
}

interface Found {
  remotePartyRole: string[];
  executionDateTime: string[];
  certificates: Array<{ path: string; base64: string }>;
  dateRange?: { from: string; to: string };
}

function collect(node: XMLData, path = '', found: Found = { remotePartyRole: [], executionDateTime: [], certificates: [] }): Found {
  for (const [key, value] of Object.entries(node)) {
    const here = path ? `${path}.${key}` : key;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === 'object' && v !== null) {
        collect(v as XMLData, here, found);
        continue;
      }
      const text = String(v).trim();
      if (key === 'RemotePartyRole') found.remotePartyRole.push(text);
      else if (key === 'ExecutionDateTime') found.executionDateTime.push(text);
      else if (/(DigitalSigning|KeyAgreement)Certificate$/.test(key)) found.certificates.push({ path: here, base64: text });
    }
  }
  const start = node.StartDateTime;
  const end = node.EndDateTime;
  if (typeof start === 'string' && typeof end === 'string') found.dateRange = { from: start.trim(), to: end.trim() };
  return found;
}
