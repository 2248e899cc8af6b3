import { parseServiceRequest, type ServiceRequest } from '@ledger/domain';
import { BODY_LIMITS, byteOrderMark, checkXmlBody, decodeJson, decodeXml, parseJsonBody, type BodyKind } from './body';
import { certificateFromDto } from './certificate-dto';
import { ServiceRequestDto } from './dto';
import { parseDuisRequest } from './duis';
import { IntakeError } from './errors';
import { validated } from './validation';

/**
 * The one intake of service requests, used by every door (the HTTP API, `ledger submit`): the same
 * body gets the same request, or the same refusal.
 */

/** A JSON request object (already through parseJsonBody) into a judged-ready request. */
export async function serviceRequestFromJson(body: unknown, receivedAt: string): Promise<ServiceRequest> {
  const dto = flatRequest(body) ?? (await validated(ServiceRequestDto, body));
  if (dto.remotePartyRole !== undefined && dto.remotePartyRoles !== undefined) throw new IntakeError('remotePartyRoles', 'give remotePartyRole or remotePartyRoles, not both');
  return parseServiceRequest({
    requestId: dto.requestId,
    srv: dto.srv,
    role: dto.role,
    commandVariant: dto.commandVariant,
    signingRoleCode: dto.signingRoleCode,
    executionDateTime: dto.executionDateTime,
    dateRange: dto.dateRange,
    remotePartyRole: dto.remotePartyRoles ?? dto.remotePartyRole,
    certificates: (dto.certificates ?? []).map((c, i) => certificateFromDto(c, `certificates[${i}]`)),
    receivedAt,
    format: 'json',
  });
}

/**
 * ServiceRequestDto's fields of one value each, and what class-validator asks of a value that is
 * there (not null or undefined). requests.spec holds these to the DTO's decorators: a rule added
 * there fails it until it is added here.
 */
export const FLAT_FIELDS: Record<string, { required: boolean; ok: (v: unknown) => boolean }> = {
  requestId: { required: true, ok: (v) => typeof v === 'string' && v !== '' },
  srv: { required: true, ok: (v) => typeof v === 'string' && v !== '' },
  role: { required: false, ok: (v) => typeof v === 'string' },
  commandVariant: { required: false, ok: (v) => typeof v === 'number' && Number.isInteger(v) },
  signingRoleCode: { required: false, ok: (v) => typeof v === 'string' },
  executionDateTime: { required: false, ok: (v) => typeof v === 'string' },
  remotePartyRole: { required: false, ok: (v) => typeof v === 'string' },
};

/**
 * The common JSON request, checked without class-validator and class-transformer (~3 us a
 * request on this machine, against ~15 through them): a plain object with both required fields, whose every key
 * is one of FLAT_FIELDS and whose every value passes its field's checks, exactly as `validated`
 * would pass it (it would answer a DTO holding the same values). Anything else (a dateRange,
 * remotePartyRoles, certificates, an unknown key, a bad value) gets undefined, and `validated`'s
 * answer or refusal.
 */
export function flatRequest(body: unknown): ServiceRequestDto | undefined {
  if (!body || typeof body !== 'object' || Object.getPrototypeOf(body) !== Object.prototype) return undefined;
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!Object.hasOwn(FLAT_FIELDS, key)) return undefined;
    const { required, ok } = FLAT_FIELDS[key];
    const v = b[key];
    if ((required || (v !== null && v !== undefined)) && !ok(v)) return undefined;
  }
  return b.requestId !== undefined && b.srv !== undefined ? (b as unknown as ServiceRequestDto) : undefined;
}

/** A DUIS XML request (text already decoded): declarations and depth checked, then read by parseDuisRequest (fast-xml-parser set as @smartdcc/duis-parser's parseDuis sets it, not parseDuis itself). */
export function serviceRequestFromXml(text: string, receivedAt: string): ServiceRequest {
  checkXmlBody(text);
  return parseServiceRequest(parseDuisRequest(text, receivedAt).input);
}

/** The kinds of body a service request comes in. */
export type RequestKind = Extract<BodyKind, 'json' | 'xml'>;

/** A request body of either kind, as a door has it: JSON already parsed (parseJsonBody), XML as text. */
export async function serviceRequestFromBody(kind: RequestKind, body: unknown, receivedAt: string): Promise<ServiceRequest> {
  return kind === 'xml' ? serviceRequestFromXml(typeof body === 'string' ? body : '', receivedAt) : serviceRequestFromJson(body, receivedAt);
}

/**
 * The requests held in a file's bytes: DUIS XML (one request), or JSON (one request object or a
 * list of them). The body rules and the request's reading are the HTTP body's; each refusal keeps
 * its field and reason, and says where in which file it stands (`where`).
 */
export async function serviceRequestsFromFile(bytes: Uint8Array, name: string, receivedAt: string): Promise<ServiceRequest[]> {
  const kind: RequestKind = firstCharacter(bytes) === 0x3c ? 'xml' : 'json';
  // A DUIS XML file holds one request: bounded as the API bounds its body (a JSON file may list many).
  if (kind === 'xml' && bytes.length > BODY_LIMITS.xml) throw new IntakeError('body', `${bytes.length} bytes, over the ${BODY_LIMITS.xml}-byte limit of a DUIS XML request`, name);
  const parsed = within(name, () => (kind === 'xml' ? decodeXml(bytes, undefined, 'body') : parseJsonBody(decodeJson(bytes, 'body'), 'body')));
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const out: ServiceRequest[] = [];
  for (const [i, item] of list.entries()) {
    const where = Array.isArray(parsed) ? `${name}[${i}]` : name;
    out.push(await withinAsync(where, () => serviceRequestFromBody(kind, item, receivedAt)));
  }
  return out;
}

/**
 * The first character of a file past a byte order mark and white space, whatever of UTF-8 or
 * UTF-16 it is in (its NULs skipped): '<' is XML, which decodeXml reads; the reading of either kind
 * then names what is wrong with the rest.
 */
function firstCharacter(bytes: Uint8Array): number | undefined {
  const bom = byteOrderMark(bytes);
  for (let i = bom === 'UTF-8' ? 3 : bom ? 2 : 0; i < bytes.length; i++) if (![0x00, 0x09, 0x0a, 0x0d, 0x20].includes(bytes[i])) return bytes[i];
  return undefined;
}

/** A refusal (an IntakeError or a DomainError) with where it stands; its field and reason unchanged. */
function prefixed(where: string, err: unknown): unknown {
  const e = err as { field?: unknown; reason?: unknown };
  return typeof e?.field === 'string' && typeof e.reason === 'string' ? new IntakeError(e.field, e.reason, where) : err;
}

function within<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw prefixed(where, err);
  }
}

async function withinAsync<T>(where: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw prefixed(where, err);
  }
}
