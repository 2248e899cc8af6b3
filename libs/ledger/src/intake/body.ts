import { isUtf8 } from 'node:buffer';
import { DomainError } from '@ledger/domain';
import { IntakeError } from './errors';

/**
 * What every door (HTTP, CLI) does to a body before anything reads it: the bytes must be UTF-8, a
 * JSON or XML document must not nest deeper than a request ever does, a JSON object must not carry
 * keys that reach an object's prototype, and an XML document must not declare a DOCTYPE or
 * entities. Each refusal is an IntakeError naming what is wrong, so nothing is written.
 */

/** The largest body accepted per kind (bytes). A DUIS request is a few KB; a Registration Data file is larger. */
export const BODY_LIMITS = { json: 64 * 1024, xml: 64 * 1024, csv: 32 * 1024 * 1024 } as const;
export type BodyKind = keyof typeof BODY_LIMITS;

/** The deepest nesting of objects/arrays (JSON) or elements (XML) accepted. A DUIS request nests about 8 deep. */
export const MAX_DEPTH = 32;

/** Keys that reach an object's prototype: refused wherever they appear in a JSON body. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The kind of a body from its content type, or undefined for one the ledger does not take. */
export function bodyKind(contentType: string | undefined): BodyKind | undefined {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/xml' || type === 'text/xml') return 'xml';
  if (type === 'text/csv' || type === 'text/plain') return 'csv';
  return undefined;
}

/** The offset of the first byte that is not part of well-formed UTF-8, or -1 when all of it is. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) (need = 1), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (need = 2), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (need = 3), (min = 0x10000);
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** The body as text; an IntakeError naming the byte offset when it is not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, field = 'body'): string {
  const at = invalidUtf8Offset(bytes);
  if (at >= 0) throw new IntakeError(field, `is not valid UTF-8 (byte offset ${at}: 0x${bytes[at].toString(16).padStart(2, '0')})`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Parses a JSON body: its nesting is measured before parsing (so no parser or validator recurses
 * into a hostile depth), and any key that reaches a prototype is refused as an unknown field.
 */
export function parseJsonBody(text: string, field = 'body'): unknown {
  const depth = jsonDepth(text);
  if (depth > MAX_DEPTH) throw new IntakeError(field, `nests deeper than the ${MAX_DEPTH}-level limit`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new IntakeError(field, `malformed JSON (${(err as Error).message})`);
  }
  const key = prototypeKey(value, '');
  if (key !== undefined) throw new IntakeError(key, 'is not a known field');
  return value;
}

/** The deepest nesting of [ and { outside strings (a scan, no recursion). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > MAX_DEPTH) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The path of the first key named __proto__, constructor or prototype, if any. */
function prototypeKey(value: unknown, path: string): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = prototypeKey(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (PROTOTYPE_KEYS.has(key)) return here;
    const found = prototypeKey((value as Record<string, unknown>)[key], here);
    if (found) return found;
  }
  return undefined;
}

/**
 * Checks an XML body before any parser reads it: no DOCTYPE, entity, element or attribute-list
 * declaration anywhere (they are how entity-expansion and external-entity attacks start, and no
 * DUIS request carries one), and elements nested no deeper than MAX_DEPTH.
 */
export function checkXmlBody(text: string, field = 'body'): void {
  const declaration = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)\b/i.exec(text);
  if (declaration) throw new IntakeError(field, `holds a <!${declaration[1].toUpperCase()}> declaration at character ${declaration.index}: DTDs and entities are refused`);
  if (xmlDepth(text) > MAX_DEPTH) throw new IntakeError(field, `nests elements deeper than the ${MAX_DEPTH}-level limit`);
}

/** The deepest element nesting (a scan of tags; comments, CDATA and processing instructions skipped). */
function xmlDepth(text: string): number {
  let depth = 0;
  let max = 0;
  const tag = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<(\/?)[^>]*?(\/?)>/g;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    if (m[0].startsWith('<!') || m[0].startsWith('<?')) continue;
    if (m[1]) depth--;
    else if (!m[2]) {
      if (++depth > max) max = depth;
      if (max > MAX_DEPTH) return max;
    }
  }
  return max;
}

/**
 * Identifiers the ledger keeps as given (an RDP's record id, a file name, a migration batch or
 * correction reference, a market id): 1 to 128 characters, a letter or digit first, then letters,
 * digits and `.`, `_`, `-`, `:`, `/`. So no spreadsheet formula (`=`, `+`, `-`, `@` first), no
 * control character and no markup can be stored through them.
 */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
export const IDENTIFIER_RULE = "1-128 characters: a letter or digit, then letters, digits, '.', '_', '-', ':' or '/'";

export function checkIdentifier(value: string, field: string): string {
  if (!IDENTIFIER_PATTERN.test(value)) throw new DomainError(field, `'${printable(value)}' is not an identifier (${IDENTIFIER_RULE})`);
  return value;
}

/** A value quoted in an error message, with control characters shown escaped and its length capped. */
function printable(value: string): string {
  const shown = JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  return shown.slice(1, -1);
}
