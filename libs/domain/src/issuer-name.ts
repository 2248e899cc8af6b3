/**
 * An issuer name compared as an X.500 name, not as text (rule sets from edition 5, and the views
 * of the proxy copies now). A certificate is identified by serial number + issuer name (domain.md
 * section 3); an issuer given as JSON is kept as sent (`CN=Test CA,O=X`), one read from DER is the
 * X.509 library's rendering (`CN=Test CA, O=X`). Two names are equal when they have the same RDNs
 * in the same order (RFC 5280 section 7.1), an RDN's attributes in any order, each attribute's type
 * the same OID (a short name, any case, stands for its OID) and its values equal after RFC 4518's
 * preparation: mapped (RFC 4518 2.2), case folded, Unicode NFKC, insignificant spaces removed
 * (2.6.1). The text is read as RFC 4514 writes a name (escapes `\,` and `\2C`, a `#` hex value),
 * with spaces around `,`, `+` and `=` allowed (the library's rendering has one after each comma).
 *
 * What is left out, to stay sound: a value of a type this module does not know the matching rule
 * of (a numeric OID that is not one of the short names below) is compared exactly, and a `#` hex
 * value as its encoding (the same bytes), never with a string value. Only values wholly in
 * U+0000-U+024F and U+0300-U+036F are prepared (see PREPARED: the runtime's Unicode data must not
 * change a recorded decision); a value with any other code point is compared exactly, as its
 * unescaped text. A text that does not read as a name (no `=`, an unknown short name, a bad escape,
 * unescaped spaces after an escape at a value's end) or longer than 4,096 characters is compared
 * as text.
 *
 * Pure: no library is loaded (the domain's import graph stays free of @peculiar/x509 and
 * reflect-metadata, which the audit jobs' workers do not load).
 */

/** The attribute types known by short name (RFC 4514 section 3, RFC 4519, and those the X.509 library renders), each matched case-insensitively. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  G: '2.5.4.42',
  GN: '2.5.4.42',
  GIVENNAME: '2.5.4.42',
  I: '2.5.4.43',
  INITIALS: '2.5.4.43',
  GENERATIONQUALIFIER: '2.5.4.44',
  DNQUALIFIER: '2.5.4.46',
  PSEUDONYM: '2.5.4.65',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  UID: '0.9.2342.19200300.100.1.1',
  DC: '0.9.2342.19200300.100.1.25',
  E: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
};
/** The OIDs whose values match by caseIgnoreMatch or caseIgnoreIA5Match (every type above). */
const CASE_IGNORED = new Set(Object.values(SHORT_NAMES));

const SPECIAL = ' "#+,;<=>\\';
const HEX = /^[0-9A-Fa-f]{2}$/;
const TYPE = /[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+/y;
// ignoreBOM: a U+FEFF at the start of a run of hex escapes is part of the value, not a byte order mark to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Longer issuers are compared as text, unparsed: reading one costs time on every history row, report and judgement (64 KiB of one-letter RDNs: 31-41 ms; the slowest 4,096 characters found, 1,024 RDNs: 1-9 ms; README "Issuer names"). */
const MAX_NAME_LENGTH = 4096;

/** The name's canonical form, or undefined when the text does not read as a name. */
function canonical(text: string): string | undefined {
  if (text.length > MAX_NAME_LENGTH) return undefined;
  const rdns: string[][] = [];
  let rdn: string[] = [];
  let i = 0;
  const spaces = () => {
    while (text[i] === ' ') i++;
  };
  for (;;) {
    spaces();
    TYPE.lastIndex = i;
    const type = TYPE.exec(text)?.[0];
    if (!type) return undefined;
    i += type.length;
    const oid = /^[0-9]/.test(type) ? numericOid(type) : SHORT_NAMES[type.toUpperCase()];
    if (!oid) return undefined;
    spaces();
    if (text[i] !== '=') return undefined;
    i++;
    spaces();
    let value: string | undefined;
    if (text[i] === '#') {
      const m = /#((?:[0-9A-Fa-f]{2})+)/y;
      m.lastIndex = i;
      const hex = m.exec(text)?.[1];
      if (!hex) return undefined;
      i += hex.length + 1;
      value = `#${hex.toUpperCase()}`;
    } else {
      const read = stringValue(text, i);
      if (!read) return undefined;
      i = read.end;
      value = CASE_IGNORED.has(oid) && PREPARED.test(read.value) ? `"${prepare(read.value)}` : `=${read.value}`;
    }
    rdn.push(`${oid}=${value}`);
    spaces();
    if (i === text.length || text[i] === ',') {
      rdns.push(rdn.sort());
      rdn = [];
      if (i === text.length) return JSON.stringify(rdns);
      i++;
    } else if (text[i] === '+') {
      i++;
    } else {
      return undefined;
    }
  }
}

/** A numeric OID as RFC 4512 writes it (no arc with a leading zero), or undefined. */
function numericOid(type: string): string | undefined {
  return type.split('.').every((arc) => arc === '0' || !arc.startsWith('0')) ? type : undefined;
}

/** An RFC 4514 string value from `start` up to an unescaped `,` or `+` (spaces before it dropped), unescaped; undefined where it is not well formed. */
function stringValue(text: string, start: number): { value: string; end: number } | undefined {
  let out = '';
  let bytes: number[] = [];
  let trailing = 0; // unescaped spaces at the end of `out`
  let escaped = false; // the last character before them was escaped
  const flush = (): boolean => {
    if (bytes.length === 0) return true;
    try {
      out += utf8.decode(new Uint8Array(bytes));
    } catch {
      return false;
    }
    bytes = [];
    return true;
  };
  let i = start;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (ch === ',' || ch === '+') break;
    if (ch === '\\') {
      const pair = text.slice(i + 1, i + 3);
      if (HEX.test(pair)) {
        bytes.push(parseInt(pair, 16));
        i += 2;
      } else if (i + 1 < text.length && SPECIAL.includes(text[i + 1])) {
        if (!flush()) return undefined;
        out += text[++i];
      } else {
        return undefined;
      }
      trailing = 0;
      escaped = true;
      continue;
    }
    if (ch === '"' || ch === ';' || ch === '<' || ch === '>' || ch === '\0') return undefined;
    if (!flush()) return undefined;
    out += ch;
    if (ch !== ' ') escaped = false;
    trailing = ch === ' ' ? trailing + 1 : 0;
  }
  if (!flush()) return undefined;
  // Unescaped spaces after an escape (the X.509 library renders a value of one space `\\ `, one of a backslash `\\`): not read as a name.
  if (trailing > 0 && escaped) return undefined;
  return { value: out.slice(0, out.length - trailing), end: i };
}

/**
 * The values prepared (RFC 4518) are those written wholly in U+0000-U+024F (Latin to Latin
 * Extended-B) and the combining marks U+0300-U+036F: every code point there was assigned long
 * before Unicode 15 (Node 20.0's), so the runtime's case mapping and NFKC of them do not change
 * from one supported Node to another (issuer-name.frozen.spec.ts pins a digest of them). A value
 * with any other code point is compared exactly, as its unescaped text: a recorded decision replays
 * identically whatever Unicode version the runtime has. Exported for its frozen spec.
 */
export const PREPARED = /^[\u0000-\u024F\u0300-\u036F]*$/;
/** Code points RFC 4518 2.2 maps to nothing (in the repertoire above): the soft hyphen, the combining grapheme joiner, controls and format characters. */
const TO_NOTHING = /[\u00AD\u034F]|(?![\t\n\v\f\r\u0085])[\p{Cc}\p{Cf}]/gu;
/** Code points mapped to SPACE: the control spaces and the separators (SPACE, NO-BREAK SPACE). */
const TO_SPACE = /[\t\n\v\f\r\u0085\p{Zs}]/gu;
/** Case folding as RFC 3454 table B.2: Unicode's full case mapping (upper then lower case) but for the dotless i (U+0131), which B.2 leaves as it is. */
const fold = (s: string) => s.replace(/[^\u0131]+/g, (t) => t.toUpperCase().toLowerCase());
/** A run of spaces (RFC 4518 2.6.1: a SPACE followed by a combining mark is not one). */
const SPACE = '(?: (?!\\p{M}))+';
/** Runs are collapsed first, then one space trimmed at either end: trimming runs (`^${SPACE}|${SPACE}$`) took time quadratic in a run's length. */
const SPACES = { inner: new RegExp(SPACE, 'gu'), ends: /^ (?!\p{M})| $/gu };

/** A value (wholly in the repertoire above) prepared for caseIgnoreMatch (RFC 4518): mapped, case folded, NFKC, insignificant spaces removed. Exported for its frozen spec. */
export function prepare(value: string): string {
  const mapped = value.replace(TO_NOTHING, '').replace(TO_SPACE, ' ');
  const folded = fold(mapped).normalize('NFKC');
  return folded.replace(SPACES.inner, ' ').replace(SPACES.ends, '');
}

/**
 * A key of an issuer name: two issuers have the same key exactly when sameIssuerName holds. The
 * name's canonical form, or (a text that does not read as a name) the text itself.
 */
export function issuerNameKey(issuer: string): string {
  const c = canonical(issuer);
  return c === undefined ? `text:${issuer}` : `name:${c}`;
}

/** Whether two issuer names are the same X.500 name (see above); texts either of which does not read as a name are compared as text. */
export function sameIssuerName(a: string, b: string): boolean {
  if (a === b) return true;
  const x = canonical(a);
  return x !== undefined && x === canonical(b);
}
