/**
 * Identifiers of the GB smart-metering world, each a branded string (or record) with a parse
 * function that either returns the normalised value or throws a DomainError naming the field and
 * the reason.
 */

/** A value that does not parse. `field` names what was wrong, `reason` why. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** Longest value a refusal quotes whole (a RequestID is at most 68 characters); a longer one is quoted by its start and its length (in UTF-16 code units, as JavaScript counts). */
const QUOTED_MAX = 100;

/**
 * A refused value as a reason quotes it: whole up to QUOTED_MAX characters, else its start and its
 * length (until 2026-11-27 whole: a 1 MB field came back in the reply, a 32 MiB file of them as 62 MB).
 */
export function quoted(value: unknown): string {
  const text = String(value);
  if (text.length <= QUOTED_MAX) return `'${text}'`;
  const high = text.charCodeAt(QUOTED_MAX - 1);
  const cut = high >= 0xd800 && high <= 0xdbff ? QUOTED_MAX - 1 : QUOTED_MAX; // never half a surrogate pair (not text)
  return `'${text.slice(0, cut)}...' (${text.length} UTF-16 code units)`;
}

type Brand<T, B extends string> = T & { readonly __brand: B };

/** EUI-64 in the DCC's notation: eight upper-case hex octets joined by hyphens. */
export type Eui64 = Brand<string, 'Eui64'>;
export type UserId = Eui64;
export type DeviceId = Eui64;

/** A lone UTF-16 surrogate: a \ud800-\udfff unit not in a high-low pair. Such a string is not text (UTF-8 readers, SQLite among them, read it back as U+FFFD). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a string is well-formed text: no lone UTF-16 surrogate (String.prototype.isWellFormed, which Node 20's types lack). */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

const EUI64_PLAIN = /^[0-9A-F]{16}$/;
/** Already in the DCC's notation: what parseEui64 returns for it is the value itself. */
const EUI64_CANONICAL = /^[0-9A-F]{2}(?:-[0-9A-F]{2}){7}$/;

/** Accepts upper or lower case, with or without hyphens (or colons); returns `90-B3-D5-1F-30-02-00-00`. */
export function parseEui64(value: unknown, field: string): Eui64 {
  if (typeof value !== 'string') throw new DomainError(field, 'must be an EUI-64 string');
  if (EUI64_CANONICAL.test(value)) return value as Eui64; // every identifier the ledger recorded (one test, no copies)
  const trimmed = value.trim();
  const hyphenated = /^[0-9A-Fa-f]{2}([-:][0-9A-Fa-f]{2}){7}$/.test(trimmed);
  const plain = trimmed.replace(/[-:]/g, '').toUpperCase();
  if (!EUI64_PLAIN.test(plain) || (!hyphenated && /[-:]/.test(trimmed))) {
    throw new DomainError(field, `${quoted(value)} is not an EUI-64 (8 hex octets, e.g. 90-B3-D5-1F-30-02-00-00)`);
  }
  return plain.match(/../g)!.join('-') as Eui64;
}
export const parseUserId = (value: unknown, field = 'userId'): UserId => parseEui64(value, field);
export const parseDeviceId = (value: unknown, field = 'deviceId'): DeviceId => parseEui64(value, field);

/** Electricity meter point: 13-digit MPAN core with a valid check digit. */
export type Mpan = Brand<string, 'Mpan'>;
/** Gas meter point: 6 to 10 digits. */
export type Mprn = Brand<string, 'Mprn'>;
export type Mpxn = Mpan | Mprn;

const MPAN_WEIGHTS = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43];

/** The MPAN check digit of the first 12 digits: sum of digit x weight, mod 11, mod 10. */
export function mpanCheckDigit(first12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * MPAN_WEIGHTS[i];
  return (sum % 11) % 10;
}

export function parseMpan(value: unknown, field = 'mpan'): Mpan {
  if (typeof value !== 'string' || !/^\d{13}$/.test(value.trim())) {
    throw new DomainError(field, `${quoted(value)} is not an MPAN core (13 digits)`);
  }
  const v = value.trim();
  if (!mpanCheckDigitValid(v)) {
    throw new DomainError(field, `'${v}' fails the MPAN check digit (last digit should be ${mpanCheckDigit(v.slice(0, 12))})`);
  }
  return v as Mpan;
}

/**
 * MPRN: 6 to 10 digits. A two-digit mod-11 check exists but is not confirmed against the official
 * specification, so it is not applied (domain.md section 2).
 */
export function parseMprn(value: unknown, field = 'mprn'): Mprn {
  if (typeof value !== 'string' || !/^\d{6,10}$/.test(value.trim())) {
    throw new DomainError(field, `${quoted(value)} is not an MPRN (6 to 10 digits)`);
  }
  return value.trim() as Mprn;
}

/** 13 digits is an MPAN (checked), 6-10 digits an MPRN. */
export function parseMpxn(value: unknown, field = 'mpxn'): Mpxn {
  if (typeof value === 'string' && /^\d{13}$/.test(value.trim())) return parseMpan(value, field);
  if (typeof value === 'string' && /^\d{6,10}$/.test(value.trim())) return parseMprn(value, field);
  throw new DomainError(field, `${quoted(value)} is neither an MPAN core (13 digits) nor an MPRN (6 to 10 digits)`);
}

/**
 * The MPxN an inventory record links a device to. DCC's own test messages carry MPANs that fail the
 * check digit, and requests are judged on the MPxN the inventory links (domain.md section 2): here
 * 13 digits are an MPAN whatever its check digit. Registration Data intake, which uses
 * `parseMpxn`, refuses such an MPAN, so a request to its device finds nobody registered (E4).
 */
export function parseInventoryMpxn(value: unknown, field = 'mpxn'): Mpxn {
  if (typeof value === 'string' && isMpan(value.trim())) return value.trim() as Mpan;
  return parseMpxn(value, field);
}

/** Whether a 13-digit MPAN core's last digit is its check digit. */
export function mpanCheckDigitValid(mpan: string): boolean {
  return Number(mpan[12]) === mpanCheckDigit(mpan.slice(0, 12));
}

export function isMpan(mpxn: string): mpxn is Mpan {
  return /^\d{13}$/.test(mpxn);
}

/** The 14 GB licence areas. Other two-digit IDs (independent network operators) are valid but unnamed. */
export const DISTRIBUTOR_AREAS: Readonly<Record<string, string>> = {
  '10': 'Eastern',
  '11': 'East Midlands',
  '12': 'London',
  '13': 'Merseyside & N. Wales',
  '14': 'Midlands',
  '15': 'Northern',
  '16': 'North Western',
  '17': 'North of Scotland',
  '18': 'South of Scotland',
  '19': 'South Eastern',
  '20': 'Southern',
  '21': 'South Wales',
  '22': 'South Western',
  '23': 'Yorkshire',
};

export interface DistributorId {
  id: string;
  /** The licence area's name, or undefined for an independent network operator. */
  area: string | undefined;
}

export function parseDistributorId(value: unknown, field = 'distributorId'): DistributorId {
  if (typeof value !== 'string' || !/^\d{2}$/.test(value.trim())) {
    throw new DomainError(field, `${quoted(value)} is not a distributor ID (two digits)`);
  }
  const id = value.trim();
  return { id, area: DISTRIBUTOR_AREAS[id] };
}

/** The distributor ID of an MPAN core (its first two digits). */
export function distributorOf(mpan: Mpan): DistributorId {
  return parseDistributorId(mpan.slice(0, 2));
}

export const USER_ROLES = ['IS', 'ES', 'GS', 'ED', 'GT', 'OU', 'RSA'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export function parseUserRole(value: unknown, field = 'role'): UserRole {
  if (typeof value !== 'string' || !(USER_ROLES as readonly string[]).includes(value)) {
    throw new DomainError(field, `${quoted(value)} is not a User Role (one of ${USER_ROLES.join(', ')})`);
  }
  return value as UserRole;
}

export const REMOTE_PARTY_ROLES = ['Supplier', 'NetworkOperator', 'ACB', 'Root', 'Recovery', 'TransCoS', 'LoadController'] as const;
export type RemotePartyRole = (typeof REMOTE_PARTY_ROLES)[number];

export function parseRemotePartyRole(value: unknown, field = 'remotePartyRole'): RemotePartyRole {
  if (typeof value !== 'string' || !(REMOTE_PARTY_ROLES as readonly string[]).includes(value)) {
    throw new DomainError(field, `${quoted(value)} is not a RemotePartyRole (one of ${REMOTE_PARTY_ROLES.join(', ')})`);
  }
  return value as RemotePartyRole;
}

const MAX_COUNTER = (1n << 64n) - 1n;

/** `originatorUserID:targetDeviceID:counter`, the counter 0..2^64-1 (kept as a decimal string in events). */
export interface RequestId {
  originator: UserId;
  target: DeviceId;
  counter: bigint;
}

export function parseRequestId(value: unknown, field = 'requestId'): RequestId {
  if (typeof value !== 'string') throw new DomainError(field, 'must be a string originator:target:counter');
  const parts = value.trim().split(':');
  if (parts.length !== 3) {
    throw new DomainError(field, `${quoted(value)} is not originatorUserID:targetDeviceID:counter`);
  }
  const originator = parseEui64(parts[0], `${field}.originator`);
  const target = parseEui64(parts[1], `${field}.target`);
  if (!/^\d{1,20}$/.test(parts[2])) throw new DomainError(`${field}.counter`, `${quoted(parts[2])} is not a decimal counter`);
  const counter = BigInt(parts[2]);
  if (counter > MAX_COUNTER) throw new DomainError(`${field}.counter`, `${parts[2]} is over 2^64-1`);
  return { originator, target, counter };
}

export function formatRequestId(id: RequestId): string {
  return `${id.originator}:${id.target}:${id.counter.toString()}`;
}

/** ISO-8601 instant normalised to `YYYY-MM-DDTHH:mm:ss.sssZ`. A bare date means 00:00Z that day. */
export type Instant = string;

/** An instant as parseInstant gives it (`YYYY-MM-DDTHH:mm:ss.sssZ`): every instant the ledger recorded. */
const INSTANT_NORMALISED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INSTANT_GIVEN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** An instant outside the years 0000-9999 as Date#toISOString writes it (+010000-01-01T00:30:00.000Z), which the intake took until it refused such years. */
const INSTANT_EXTENDED = /^[+-]\d{6}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * What is impossible in an instant of the form INSTANT_GIVEN, as written (before its offset is
 * applied): a month that is not 01-12, a day past its month's end (29 February in a leap year
 * only), an hour past 23 (24:00 included), a minute or second past 59, an offset past 23:59; or
 * undefined when it names a real time. A Date would roll 30 February over to 1 March and 24:00
 * to the next day: the ledger refuses them instead, naming what is wrong.
 */
function impossibility(v: string): string | undefined {
  const year = two(v, 0) * 100 + two(v, 2);
  const month = two(v, 5);
  const day = two(v, 8);
  if (month < 1 || month > 12) return `month ${v.slice(5, 7)} is not a month (01-12)`;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0);
  if (day < 1 || day > days) return `day ${v.slice(8, 10)} is not a day of ${MONTHS[month - 1]} ${v.slice(0, 4)} (01-${days})`;
  if (two(v, 11) > 23) return `hour ${v.slice(11, 13)} is not an hour of the day (00-23)`;
  if (two(v, 14) > 59) return `minute ${v.slice(14, 16)} is not a minute (00-59)`;
  if (v.charCodeAt(16) === 58 /* : */ && two(v, 17) > 59) return `second ${v.slice(17, 19)} is not a second (00-59)`;
  const zone = v.length - 6; // [+-]HH:mm, unless it ends in Z
  if (v.charCodeAt(v.length - 1) !== 90 /* Z */ && (two(v, zone + 1) > 23 || two(v, zone + 4) > 59)) return `offset ${v.slice(zone)} is not an offset from UTC (-23:59 to +23:59)`;
  return undefined;
}

/** The number the two digits at `i` of `v` write. */
function two(v: string, i: number): number {
  return (v.charCodeAt(i) - 48) * 10 + v.charCodeAt(i + 1) - 48;
}

/**
 * An ISO-8601 date-time with a zone (or a bare date: 00:00Z that day), normalised to UTC
 * milliseconds. An instant that names no real time is refused with what is wrong (see
 * impossibility), as is one whose UTC year is not 0000-9999 (a Date would write it in the
 * extended form, +010000-..., which reads back as no instant). An instant in the form recorded
 * that names a real time is given back as it is, with no Date made (the cost of reading a
 * recorded request back: a what-if).
 */
export function parseInstant(value: unknown, field: string): Instant {
  return instantOf(value, field, true);
}

/**
 * An instant of a recorded request, read back (replay, what-if): as parseInstant, except that one
 * naming no real time is read as a Date reads it (30 February as 1 March), as every instant was
 * until the intake refused them, so that nothing stored reads otherwise than it did. The ledger
 * recorded none (it wrote every instant with Date#toISOString): only an edited record holds one.
 * One in the years' extended form (+010000-...), which the intake recorded until it refused years
 * past 9999 in UTC, is read as it was written (before, nothing read it back: a replay failed).
 */
export function readInstant(value: unknown, field: string): Instant {
  return instantOf(value, field, false);
}

function instantOf(value: unknown, field: string, strict: boolean): Instant {
  if (typeof value !== 'string') throw new DomainError(field, 'must be an ISO-8601 date-time');
  const recorded = INSTANT_NORMALISED.test(value); // the form recorded: one test, no copy
  let withZone = value;
  if (!recorded) {
    if (!strict && INSTANT_EXTENDED.test(value) && !Number.isNaN(Date.parse(value))) return new Date(Date.parse(value)).toISOString();
    const v = value.trim();
    withZone = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
    if (!INSTANT_GIVEN.test(withZone)) {
      throw new DomainError(field, `${quoted(value)} is not an ISO-8601 date-time with a time zone (e.g. 2024-05-01T12:00:00Z)`);
    }
  }
  const wrong = impossibility(withZone);
  if (wrong === undefined) {
    if (recorded) return value;
  } else if (strict) {
    throw new DomainError(field, `${quoted(value)} is not a valid date-time: ${wrong}`);
  }
  const ms = Date.parse(withZone);
  if (Number.isNaN(ms)) throw new DomainError(field, `${quoted(value)} is not a valid date-time`);
  const instant = new Date(ms).toISOString();
  if (strict && instant.length !== 24) throw new DomainError(field, `${quoted(value)} is not a valid date-time: it falls outside the years 0000-9999 in UTC`);
  return instant;
}
