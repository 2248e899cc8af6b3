import { isUtf8 } from 'node:buffer';
import { DomainError, isWellFormedText } from '@ledger/domain';
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

/**
 * The most elements a list inside a JSON body may hold (a request's certificates, remote party
 * roles, copies, market ids: a handful each). A top-level list (the CLI's file of requests) is not
 * bound by it. Counted by the scan, before any validator builds an object per element.
 */
export const MAX_LIST = 64;

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

/** The encoding a body's byte order mark names, if it begins with one. */
export function byteOrderMark(bytes: Uint8Array): 'UTF-8' | 'UTF-16BE' | 'UTF-16LE' | undefined {
  const [b0, b1, b2] = bytes;
  return b0 === 0xef && b1 === 0xbb && b2 === 0xbf ? 'UTF-8' : b0 === 0xfe && b1 === 0xff ? 'UTF-16BE' : b0 === 0xff && b1 === 0xfe ? 'UTF-16LE' : undefined;
}

/**
 * A JSON body's bytes as text: UTF-8 only (RFC 8259, section 8.1: JSON exchanged between systems
 * MUST be UTF-8), its byte order mark allowed (parseJsonBody drops it). UTF-16 or UTF-32, by a
 * byte order mark or a NUL in its first bytes, is refused saying so, where decodeUtf8 would name
 * only a byte that is not UTF-8 (or none, for UTF-16 of ASCII text without its mark).
 */
export function decodeJson(bytes: Uint8Array, field = 'body'): string {
  const mark = byteOrderMark(bytes)?.startsWith('UTF-16');
  if (mark || (bytes.length > 1 && (bytes[0] === 0 || bytes[1] === 0)))
    throw new IntakeError(field, `is UTF-16 or UTF-32 (${mark ? 'its byte order mark' : 'its first bytes hold a NUL'}), not UTF-8: JSON must be UTF-8 (RFC 8259, section 8.1): save it as UTF-8`);
  return decodeUtf8(bytes, field);
}

/** The encodings a DUIS XML body is read in, by the names its declaration or a Content-Type charset may give them. */
const XML_ENCODINGS: Record<string, 'UTF-8' | 'US-ASCII' | 'UTF-16' | 'UTF-16LE' | 'UTF-16BE'> = {
  'utf-8': 'UTF-8',
  utf8: 'UTF-8',
  'us-ascii': 'US-ASCII',
  ascii: 'US-ASCII',
  'utf-16': 'UTF-16',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
};

/** Single-byte encodings that read ASCII bytes as ASCII (ISO-8859-1 to -16, windows-1250 to -1258): text of ASCII bytes only reads the same in them as in UTF-8. */
const ASCII_SUPERSETS = /^(iso[-_]?8859-(1[0-6]?|[2-9])|latin-?1|l1|windows-125[0-8]|cp125[0-8])$/i;

/**
 * An XML body's bytes as text, read in the encoding they are in, or an IntakeError naming the
 * encoding when its bytes would be read as other text. The DUIS parser reads text, not bytes (it
 * takes a string and ignores the declaration's encoding), so this is where the encoding is settled.
 * XML 1.0 (4.3.3, Appendix F) has every processor read UTF-8 and UTF-16 and lets it refuse any
 * other encoding: so the bytes are read as UTF-8 (a UTF-8 byte order mark or none) or as UTF-16
 * (its byte order mark); UTF-16 or UTF-32 without a byte order mark is refused. Each label, the
 * declaration's and the Content-Type `charset`, is then held against that reading, and refused,
 * naming it, only where it would read the bytes as other text: `UTF-8` over UTF-16 (or the
 * reverse by a byte order mark), `UTF-16LE` over a UTF-16BE mark, `US-ASCII` or a single-byte
 * encoding (ISO-8859-1, windows-1252, ...) over a byte that is not ASCII, any encoding the ledger
 * does not know. So `US-ASCII` and ISO-8859-1 over ASCII bytes read as UTF-8 (they read the same),
 * and so does `UTF-16` over bytes with no byte order mark that are valid UTF-8 (plainly not UTF-16:
 * what .NET's StringWriter declares). Until 2026-11-27 the bytes were read as UTF-8 whatever the
 * declaration said: a declared ISO-8859-1 body whose bytes happened to be valid UTF-8 was recorded
 * as other text than was sent.
 */
export function decodeXml(bytes: Uint8Array, charset?: string, field = 'body'): string {
  const bom = byteOrderMark(bytes);
  if (!bom && bytes.length > 1 && (bytes[0] === 0 || bytes[1] === 0)) throw new IntakeError(field, 'is UTF-16 or UTF-32 without a byte order mark (its first bytes hold a NUL): send UTF-8, or UTF-16 beginning with its byte order mark');
  const declaredAs = bom === 'UTF-16BE' || bom === 'UTF-16LE' ? undefined : declaredEncoding(Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 256)).toString('latin1'));
  /** The encoding a declaration or charset names, held against the reading: an IntakeError (for `at`) when it would read the bytes as other text. */
  const check = (name: string, where: string, at: string): void => {
    const encoding = XML_ENCODINGS[name.toLowerCase()];
    const singleByte = encoding === 'US-ASCII' || (!encoding && ASCII_SUPERSETS.test(name));
    if (!encoding && !singleByte) throw new IntakeError(at, `${where} names encoding '${name}', which the ledger does not read: send DUIS XML in UTF-8 (or UTF-16 with its byte order mark)`);
    if (singleByte) {
      if (bom === 'UTF-8') throw new IntakeError(at, `${where} names encoding '${name}', but the body begins with the UTF-8 byte order mark, which '${name}' reads as other text: send DUIS XML in UTF-8 (or UTF-16 with its byte order mark)`);
      const nonAscii = bytes.findIndex((b) => b > 0x7f); // only here: a single-byte label is rare, and this scans the whole body
      if (nonAscii >= 0) throw new IntakeError(at, `${where} names encoding '${name}', but the body is not ASCII (byte offset ${nonAscii}: 0x${bytes[nonAscii].toString(16)}), where '${name}' and UTF-8 read otherwise: send DUIS XML in UTF-8 (or UTF-16 with its byte order mark)`);
      return;
    }
    const actual = bom ?? 'UTF-8';
    // A UTF-16 label over bytes with no byte order mark and no NUL (so valid UTF-8, read below) reads them as UTF-8: they are plainly not UTF-16.
    const fits = encoding === 'UTF-8' ? actual === 'UTF-8' : bom ? (encoding === 'UTF-16' ? actual !== 'UTF-8' : encoding === actual) : true;
    if (!fits) throw new IntakeError(at, `${where} names encoding '${name}', but the body is ${actual}${bom ? ' (by its byte order mark)' : ''}`);
  };
  if (declaredAs !== undefined) check(declaredAs, 'its XML declaration', field);
  if (charset !== undefined) check(charset, 'the Content-Type charset', 'content-type');
  let text: string;
  if (bom === 'UTF-16BE' || bom === 'UTF-16LE') {
    try {
      text = new TextDecoder(bom, { fatal: true, ignoreBOM: true }).decode(bytes.subarray(2));
    } catch {
      throw new IntakeError(field, `is not valid ${bom} (it begins with the ${bom} byte order mark)`);
    }
    const declared = declaredEncoding(text);
    if (declared !== undefined) check(declared, 'its XML declaration', field);
  } else text = decodeUtf8(bytes, field).slice(bom ? 1 : 0);
  return text;
}

/** The encoding an XML declaration at the start of `text` names, if any. */
function declaredEncoding(text: string): string | undefined {
  return /^(?:\uFEFF|\xEF\xBB\xBF)?\s*<\?xml\s[^?>]*?\bencoding\s*=\s*(["'])([^"']*)\1/.exec(text)?.[2];
}

/**
 * Parses a JSON body: its nesting is measured before parsing (so no parser or validator recurses
 * into a hostile depth); a key given twice in one object is refused (JSON.parse keeps the last,
 * where a proxy or firewall in front may read the first: two readers, two requests); so is any key
 * that reaches a prototype (as an unknown field), and any text holding a lone UTF-16 surrogate,
 * which a `\ud800` escape makes out of bytes that are valid UTF-8 (SQLite and every UTF-8 reader
 * would read it back as U+FFFD, so the record would not read as it was judged).
 */
export function parseJsonBody(raw: string, field = 'body'): unknown {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw; // a UTF-8 BOM, which RFC 8259 lets a reader ignore (JSON.parse would not)
  const scanned = scanJson(text);
  if (scanned.depth > MAX_DEPTH) throw new IntakeError(field, `nests deeper than the ${MAX_DEPTH}-level limit`);
  if (scanned.tooLong !== undefined) throw new IntakeError(scanned.tooLong, `holds more than ${MAX_LIST} elements: no request has a list that long`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new IntakeError(field, `malformed JSON (${(err as Error).message})`);
  }
  if (scanned.twice !== undefined) throw new IntakeError(scanned.twice, 'is given twice in one object: give each field once');
  const key = prototypeKey(value, '');
  if (key !== undefined) throw new IntakeError(key, 'is not a known field');
  const lone = loneSurrogate(value, '');
  if (lone !== undefined) throw new IntakeError(lone || field, 'holds a lone UTF-16 surrogate (an escape of U+D800-U+DFFF not in a pair): not text');
  return value;
}

/**
 * One scan of a JSON text, no recursion: the deepest nesting of [ and {, the path of a list inside
 * it longer than MAX_LIST, and the path of the first key given twice in one object (keys compared
 * as decoded, so `"\u0073rv"` is `srv`). Text that is not JSON is left for JSON.parse to name.
 */
function scanJson(text: string): { depth: number; twice?: string; tooLong?: string } {
  /** Per open container: its path, and an object's keys so far or an array's index. */
  const open: Array<{ path: string; keys?: Set<string>; index: number }> = [];
  let max = 0;
  let expectKey = false;
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) (escaped = true), i++;
        else if (d === 0x22) break;
      }
      if (!expectKey) continue;
      expectKey = false;
      let key = text.slice(start + 1, i);
      if (escaped) {
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return { depth: max };
        }
      }
      const object = open[open.length - 1];
      lastKey = object.path ? `${object.path}.${key}` : key;
      if (object.keys!.has(key)) return { depth: max, twice: lastKey };
      object.keys!.add(key);
    } else if (c === 0x7b || c === 0x5b) {
      const parent = open[open.length - 1];
      const path = !parent ? '' : parent.keys ? lastKey : `${parent.path}[${parent.index}]`;
      open.push(c === 0x7b ? { path, keys: new Set(), index: 0 } : { path, index: 0 });
      expectKey = c === 0x7b;
      if (open.length > max) max = open.length;
      if (max > MAX_DEPTH) return { depth: max };
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const container = open[open.length - 1];
      if (!container) continue;
      expectKey = container.keys !== undefined;
      if (++container.index >= MAX_LIST && !container.keys && open.length > 1) return { depth: max, tooLong: container.path };
    }
  }
  return { depth: max };
}

/** The path of the first key or string value holding a lone UTF-16 surrogate, if any ('' for the value itself). */
function loneSurrogate(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return isWellFormedText(value) ? undefined : path;
  if (!value || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = loneSurrogate(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (!isWellFormedText(key)) return here;
    const found = loneSurrogate((value as Record<string, unknown>)[key], here);
    if (found !== undefined) return found;
  }
  return undefined;
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
 * DUIS request carries one), no run of more than MAX_XML_SPACE_RUN white-space characters, and
 * elements nested no deeper than MAX_DEPTH.
 */
export function checkXmlBody(text: string, field = 'body'): void {
  const declaration = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)\b/i.exec(text);
  if (declaration) throw new IntakeError(field, `holds a <!${declaration[1].toUpperCase()}> declaration at character ${declaration.index}: DTDs and entities are refused`);
  const run = longSpaceRun(text);
  if (run) throw new IntakeError(field, `holds ${run.length} white-space characters in a row at character ${run.index}: at most ${MAX_XML_SPACE_RUN} are read`);
  if (xmlDepth(text, field) > MAX_DEPTH) throw new IntakeError(field, `nests elements deeper than the ${MAX_DEPTH}-level limit`);
}

/**
 * The most white-space characters (JavaScript's `\s`) an XML body may hold in a row. fast-xml-parser
 * 4.5.7's well-formedness check (XMLValidator.validate, run before the body is read) takes time in the
 * square of a run inside a tag that no attribute name follows: its attribute pattern
 * `(\s*)([^\s=]+)...` tries the run from each of its characters. A 64 KiB body of `<Request`, 65,500
 * spaces and `></Request>` held the event loop 13-15 s until 2026-11-28 (twenty-first session); with
 * runs of at most 256, the worst body of 64 KiB a reviewer built (`<Request a=""` then 256 spaces and
 * `=` over and over) took 55 ms of it. No DUIS request needs more: 32 levels of indentation by four
 * spaces and a line break are 129. The cap holds anywhere in the body (text, comments, attribute
 * values): the check reads no markup, so nothing can make it read a run otherwise than the validator.
 */
export const MAX_XML_SPACE_RUN = 256;

/** The first run of more than MAX_XML_SPACE_RUN white-space characters, if any. */
function longSpaceRun(text: string): { index: number; length: number } | undefined {
  const runs = /\s+/g;
  for (let m = runs.exec(text); m; m = runs.exec(text)) if (m[0].length > MAX_XML_SPACE_RUN) return { index: m.index, length: m[0].length };
  return undefined;
}

/** What the depth scan skips whole: each opening with the text that ends it (the first after it). */
const SKIPPED: ReadonlyArray<readonly [string, string]> = [
  ['<!--', '-->'],
  ['<![CDATA[', ']]>'],
  ['<?', '?>'],
];

/**
 * The deepest element nesting: a scan of tags, each read to the first `>` outside a quoted
 * attribute value (`<a b="/>">` opens an element), with comments, CDATA and processing
 * instructions skipped; one of those left unended skipped to its first `>` (the parser refuses it).
 * Each character is looked at a bounded number of times. Refused (IntakeError on `field`), as
 * the parser would read them otherwise than this scan and the validator: markup opening `<!` that is
 * neither a comment nor CDATA (`<!a>`, which the parser opens as an element named `!a`; `<![` not
 * followed by `CDATA[`, which it reads as CDATA to the next `]]>`), and a processing instruction
 * whose quotes are not closed at its first `?>` (the parser reads on to the first `?>` outside
 * quotes). Until 2026-11-28 (twenty-first session) a regular expression read each tag to its first
 * `>`, quoted or not, so `<a b="/>">` was an empty element; those three hid levels from it; and an
 * unended tag was looked for again from each `<` after it (a 64 KiB body of `<` took seconds of
 * the event loop): 40 levels of any of them passed the 32-level limit.
 */
function xmlDepth(text: string, field: string): number {
  let depth = 0;
  let max = 0;
  const unended = new Set<string>(); // an end not found after one place is not found after any later one
  for (let i = text.indexOf('<'); i >= 0; ) {
    const skipped = SKIPPED.find(([open]) => text.startsWith(open, i));
    if (skipped && !unended.has(skipped[1])) {
      const end = text.indexOf(skipped[1], i + skipped[0].length);
      if (end >= 0) {
        if (skipped[0] === '<?' && quoteOpenAt(text, i + 2, end)) {
          throw new IntakeError(field, `holds a processing instruction at character ${i} with a quote still open at its first '?>': refused, as parsers end it at different places`);
        }
        i = text.indexOf('<', end + skipped[1].length);
        continue;
      }
      unended.add(skipped[1]);
    }
    if (!skipped && text[i + 1] === '!') throw new IntakeError(field, `holds markup at character ${i} that opens '<!' and is neither a comment nor CDATA`);
    const markup = text[i + 1] === '!' || text[i + 1] === '?';
    const close = markup ? text.indexOf('>', i + 1) : tagEnd(text, i + 1);
    if (close < 0) break;
    if (!markup && text[i + 1] === '/') depth--;
    else if (!markup && text[close - 1] !== '/') {
      if (++depth > max) max = depth;
      if (max > MAX_DEPTH) return max;
    }
    i = text.indexOf('<', close + 1);
  }
  return max;
}

/** Whether a quote (`"` or `'`) opened in text[from, to) is still open at `to`. */
function quoteOpenAt(text: string, from: number, to: number): boolean {
  let quote: string | undefined;
  for (let k = from; k < to; k++) {
    const c = text[k];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
  }
  return quote !== undefined;
}

/** The index of the `>` that ends the tag whose text starts at `from`: the first outside a quoted attribute value; -1 if none. */
function tagEnd(text: string, from: number): number {
  let quote: string | undefined;
  for (let k = from; k < text.length; k++) {
    const c = text[k];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return k;
  }
  return -1;
}

/**
 * Identifiers the ledger keeps as given (an RDP's record id, a migration batch or
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
