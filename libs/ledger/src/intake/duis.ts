import { lookupCV, lookupSRV, type XMLData } from '@smartdcc/duis-parser';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AT_MOST_ONE_CERTIFICATE_PER_KEY_USAGE, quoted, type ServiceRequestInput } from '@ledger/domain';
import { parseCertificate, type ParsedCertificate } from './certificates';
import { MAX_DEPTH } from './body';
import { IntakeError } from './errors';

export interface DuisIntake {
  input: ServiceRequestInput;
  certificates: ParsedCertificate[];
  /** Whether the XML carries a ds:Signature. It is NOT verified by this service. */
  signaturePresent: boolean;
}

/**
 * Reads a DUIS request (schema 5.x) into the domain's request input: fast-xml-parser with
 * @smartdcc/duis-parser's own settings (DUIS_READER), the SRV and command variant looked up with its
 * lookupSRV and lookupCV. The root, the Header, its fields read here and the Body must be in DUIS's
 * namespace (checkNamespace); the body's own elements are matched by name in any namespace.
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
  if (!DUIS_ROOT.test(xml)) {
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
  checkNamespace(xml);
  const request = readDuis(xml);
  const given = single(request, 'Header', 'Header');
  if (given === undefined) throw new IntakeError('Header', 'is missing');
  const header: XMLData = typeof given === 'object' ? given : {}; // an empty or text-only Header: its fields are missing
  const requestId = text(header, 'RequestID', 'Header.RequestID');
  if (requestId === undefined) throw new IntakeError('Header.RequestID', 'is missing'); // its form is the domain's to judge, as a JSON request's
  const srvText = text(header, 'ServiceReferenceVariant', 'Header.ServiceReferenceVariant');
  if (srvText === undefined) throw new IntakeError('Header.ServiceReferenceVariant', 'is missing');
  const srv = lookupSRV(srvText)?.['Service Reference Variant'];
  if (srv === undefined) throw new IntakeError('Header.ServiceReferenceVariant', `${quoted(srvText)} is not a known SRV`);
  const commandVariant = commandVariantOf(text(header, 'CommandVariant', 'Header.CommandVariant'));

  const bodyGiven = single(request, 'Body', 'Body');
  const body: XMLData = bodyGiven && typeof bodyGiven === 'object' ? bodyGiven : {};
  const found = collect(body);
  // Counted before any is parsed (a 64 KiB body holds some 110; each parse grows with the certificate,
  // up to MAX_CERTIFICATE_BYTES): the domain refuses two of one key usage, so no request carries more
  // than two. (JSON's DTO takes two at most too, refused with the same reason.)
  if (found.certificates.length > 2) throw new IntakeError('certificates', AT_MOST_ONE_CERTIFICATE_PER_KEY_USAGE);
  if (found.executionDateTime.length > 1) throw new IntakeError('Body.ExecutionDateTime', 'appears more than once');
  const certificates = found.certificates.map((c) => parseCertificate(c.base64, `Body.${c.path}`));
  const input: ServiceRequestInput = {
    // As sent: the domain reads it as it reads a JSON request's (a decimal counter of 1-20 digits).
    requestId,
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

/**
 * A document whose root is an element named Request (any prefix), after an XML declaration,
 * comments and processing instructions (the validator then checks them). A comment ends at its
 * first `-->`: its text is the characters before it, none of which starts a `-->`
 * (`(?:[^-]|-(?!->))*`), so there is one way to read each; a processing instruction, likewise, at
 * its first `?>` (a processing instruction after the first comment was read only by that comment's
 * running on, and is read so since the review of that day). Until 2026-11-28 (twenty-first
 * session) a comment was `<!--[\s\S]*?-->`, which could also run on to any later `-->`: a body of
 * comments and no root was tried every way, twice as long for each comment (`<!---->` 32 times and
 * an `x`, 225 bytes, held the event loop ~30 s; measured in process on main's build).
 */
const DUIS_ROOT = /^\s*(?:(?:<!--(?:[^-]|-(?!->))*-->|<\?(?:[^?]|\?(?!>))*\?>)\s*)*<(?:[A-Za-z_][\w.-]*:)?Request[\s>]/;

/**
 * The readers' own bound on nesting, behind checkXmlBody's scan: fast-xml-parser 4.5.7 refuses an
 * element when the elements open around it number more than `maxNestedTags`, so MAX_DEPTH - 1 lets
 * MAX_DEPTH levels through, as the scan does, and refuses one more (the final read of 2026-11-28
 * found MAX_DEPTH letting 33 through).
 */
const READER_MAX_NESTED = MAX_DEPTH - 1;

/** DUIS's namespace, as @smartdcc/duis-parser's constructDuis declares it. */
const DUIS_NAMESPACE = 'http://www.dccinterface.co.uk/ServiceUserGateway';

/**
 * The root (well-formed, named Request), the Header, the header fields the ledger reads and the Body
 * must be in DUIS's namespace: the reader drops prefixes, so a `<Request xmlns="urn:other">` or a
 * `<x:Header xmlns:x="urn:other">` under a DUIS root would otherwise be read as DUIS's (the root's
 * alone was checked until 2026-11-28, nineteenth session). The document is read again with its
 * prefixes and namespace declarations kept, as DUIS_READER does not keep them, the whole document
 * (the Body too: a fast-xml-parser stop node for it was measured and not kept, as 4.5.7 finds a stop
 * node's end with other rules for comments and processing instructions than its full read, so a
 * Header in another namespace could be hidden from the check; docs/performance-log.md). The body's
 * own elements (a certificate, a date range) are not checked. An error of the reader is the body's,
 * as readDuis's is: until 2026-11-28 (twenty-first session) it came out as a plain Error (a 500),
 * e.g. `Pi Tag is not closed.` for a `<?pi '?>` with no quote after it, which the validator ends at
 * its first `?>` and this reader, skipping over quotes in a processing instruction, never ends.
 */
function checkNamespace(xml: string): void {
  let document: Record<string, unknown>;
  try {
    document = NAMESPACE_READER.parse(xml) as Record<string, unknown>;
  } catch (err) {
    throw new IntakeError('body', `is not a DUIS request: ${(err as Error).message}`);
  }
  const rootName = Object.keys(document).find((name) => localName(name) === 'Request') ?? 'Request'; // the root is named Request (checked before)
  const root = document[rootName];
  const rootIn = namespaceOf(rootName, [root]);
  if (rootIn !== DUIS_NAMESPACE) throw new IntakeError('body', `is not a DUIS Request: its root element is ${where(rootName, rootIn)}, not DUIS's ${DUIS_NAMESPACE}`);
  for (const [name, value] of elements(root)) {
    const part = localName(name);
    if (part !== 'Header' && part !== 'Body') continue;
    inDuis(name, [value, root], part);
    if (part !== 'Header') continue;
    for (const [fieldName, fieldValue] of elements(value)) {
      const field = localName(fieldName);
      if (HEADER_FIELDS.has(field)) inDuis(fieldName, [fieldValue, value, root], `Header.${field}`);
    }
  }
}

/** The header fields the ledger reads. */
const HEADER_FIELDS = new Set(['RequestID', 'ServiceReferenceVariant', 'CommandVariant']);

/** fast-xml-parser keeping prefixes and attributes (so the namespace declarations) as written (not trimmed: ` urn:x ` is not `urn:x`), nothing else read. */
const NAMESPACE_READER = new XMLParser({ maxNestedTags: READER_MAX_NESTED, ignoreAttributes: false, removeNSPrefix: false, parseAttributeValue: false, parseTagValue: false, processEntities: false, trimValues: false });

const localName = (name: string): string => name.slice(name.indexOf(':') + 1);

/** An element's child elements, each given once or more (an element given twice is refused by name later). */
function elements(node: unknown): Array<[string, unknown]> {
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([name, value]) => (name.startsWith('@_') || name === '#text' ? [] : (Array.isArray(value) ? value : [value]).map((v): [string, unknown] => [name, v])));
}

/**
 * An element's namespace URI ('' in none): its prefix's declaration looked up on the element, then
 * on each ancestor in `chain` (the element first, the root last; `xmlns=""` undeclares the
 * default). A lookup per element, not a copy of every declaration in scope: a root declaring
 * thousands of prefixes above thousands of Headers cost 5-7 times the parse when each copied its
 * parent's (the nineteenth session's final read).
 */
function namespaceOf(name: string, chain: unknown[]): string {
  const colon = name.indexOf(':');
  const key = colon < 0 ? '@_xmlns' : `@_xmlns:${name.slice(0, colon)}`;
  const declared = chain.find((node) => node !== null && typeof node === 'object' && Object.hasOwn(node, key)) as Record<string, unknown> | undefined;
  return declared === undefined ? '' : String(declared[key]);
}

function where(name: string, namespace: string): string {
  const colon = name.indexOf(':');
  if (namespace !== '') return `in namespace ${quoted(namespace)}`;
  return colon < 0 ? 'in no namespace' : `in no namespace (its prefix ${quoted(name.slice(0, colon))} is declared nowhere)`;
}

function inDuis(name: string, chain: unknown[], field: string): void {
  const namespace = namespaceOf(name, chain);
  if (namespace !== DUIS_NAMESPACE) throw new IntakeError(field, `is ${where(name, namespace)}, not DUIS's ${DUIS_NAMESPACE}`);
}

/**
 * fast-xml-parser as @smartdcc/duis-parser's parseDuis sets it in its 'simplified' mode (prefixes
 * dropped, text and attributes kept as text, the `&#13;` a Java xmldsig writes read as CR), and the
 * `&#xD;` (`&#xd;`) Canonical XML writes for a CR read as CR too, where parseDuis leaves it as it
 * stands (so a certificate's base64 broken by `&#xD;` was refused as not base64). The
 * header is read here rather than by parseDuis, which reads the RequestID's counter with BigInt:
 * `0x7`, `0b111`, `+7` and an empty counter were taken for 7 and 0, so a request whose RequestID
 * is not a DUIS one was judged, and answered as a retry, under another request's RequestID.
 */
const DUIS_READER = new XMLParser({ maxNestedTags: READER_MAX_NESTED, ignoreAttributes: false, removeNSPrefix: true, parseAttributeValue: false, parseTagValue: false, processEntities: true });
for (const cr of ['#13', '#xD', '#xd']) DUIS_READER.addEntity(cr, '\r');

/** The document's Request element, as DUIS_READER reads it (exported for the spec that pins DUIS_READER to parseDuis). */
export function readDuis(xml: string): XMLData {
  let request: unknown;
  try {
    request = (DUIS_READER.parse(xml) as { Request?: unknown })?.Request;
  } catch (err) {
    throw new IntakeError('body', `is not a DUIS request: ${(err as Error).message}`);
  }
  return request && typeof request === 'object' && !Array.isArray(request) ? (request as XMLData) : {};
}

/** An element that DUIS gives once (the header, its fields, the body): refused, naming it, where it is given twice (neither is taken). */
function single(node: XMLData, name: string, field: string): string | XMLData | undefined {
  const value = node[name];
  if (Array.isArray(value)) throw new IntakeError(field, 'appears more than once');
  return value;
}

/** A header field DUIS gives once as text: refused, naming it, where it carries attributes or elements (as an element of the body the ledger reads is). */
function text(header: XMLData, name: string, field: string): string | undefined {
  const value = single(header, name, field);
  if (typeof value === 'object') throw new IntakeError(field, NOT_PLAIN_TEXT);
  return value;
}

/**
 * The header's CommandVariant: an XML Schema integer, decimal digits with leading zeros and XML
 * whitespace around them allowed (`004`, the `1&#13;` a Java writer may send), naming one of DUIS's
 * command variants (Number alone would read `0x1` or `1e0` as 1). lookupCV bounds it.
 */
function commandVariantOf(value: string | undefined): number {
  const digits = value === undefined ? undefined : /^[ \t\r\n]*(\d+)[ \t\r\n]*$/.exec(value)?.[1];
  const cv = digits === undefined ? NaN : Number(digits);
  try {
    return (lookupCV as (cv: number) => { number: number })(cv).number; // typed per variant, 1 to 8; throws for any other
  } catch {
    throw new IntakeError('Header.CommandVariant', 'is missing or not a DUIS command variant');
  }
}

interface Found {
  remotePartyRole: string[];
  executionDateTime: string[];
  certificates: Array<{ path: string; base64: string }>;
  dateRange?: { from: string; to: string };
}

const NOT_PLAIN_TEXT = 'is not plain text: it carries attributes, a processing instruction or elements, which no DUIS element the ledger reads has';

/** The body's elements the ledger reads, each as the text it holds. */
const READ_AS_TEXT = (key: string): boolean => key === 'RemotePartyRole' || key === 'ExecutionDateTime' || key === 'StartDateTime' || key === 'EndDateTime' || /(DigitalSigning|KeyAgreement)Certificate$/.test(key);

/**
 * The elements the ledger reads, wherever they stand. One of them that is not plain text (an
 * attribute, such as `xsi:type`, a processing instruction or an element inside it: the parser then
 * gives an object) is refused naming it; until 2026-11-28 (nineteenth session) it was passed over as
 * a container, so an ExecutionDateTime with an attribute was judged as a request to run now (I0,
 * not I99), and a RemotePartyRole, a certificate or a date range so written was left out. A second
 * date range (StartDateTime and EndDateTime) is refused too, where the last one was taken.
 */
function collect(node: XMLData, path = '', found: Found = { remotePartyRole: [], executionDateTime: [], certificates: [] }): Found {
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_')) continue; // an attribute (`<R RemotePartyDigitalSigningCertificate="...">`, read as a certificate until 2026-11-28): not an element DUIS carries it in
    const here = path ? `${path}.${key}` : key;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === 'object' && v !== null) {
        if (READ_AS_TEXT(key)) throw new IntakeError(`Body.${here}`, NOT_PLAIN_TEXT);
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
  if (Array.isArray(start) || Array.isArray(end)) throw new IntakeError(`Body.${path ? `${path}.` : ''}${Array.isArray(start) ? 'StartDateTime' : 'EndDateTime'}`, 'appears more than once');
  if (typeof start === 'string' && typeof end === 'string') {
    if (found.dateRange) throw new IntakeError(`Body.${path ? `${path}.` : ''}StartDateTime`, 'is a second date range (StartDateTime and EndDateTime): a request has one');
    found.dateRange = { from: start.trim(), to: end.trim() };
  }
  return found;
}

