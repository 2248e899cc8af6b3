import { isWellFormedText, quoted } from '@ledger/domain';
import { IntakeError } from './errors';

/** The longest name a file system keeps (ext4, XFS, APFS: 255 bytes), in UTF-8 bytes. */
export const FILE_NAME_MAX_BYTES = 255;

/**
 * A control character (C0, DEL, C1), a line or paragraph separator, a format character (bidi
 * overrides and marks, which show a name in another order than it is, zero-width and soft
 * characters, a byte order mark) or any other character shown as nothing (variation selectors,
 * Hangul fillers, combining grapheme joiner: Default_Ignorable_Code_Point) but the zero-width
 * joiner and non-joiner, which some scripts and emoji need, and variation selectors, each after a
 * character that shows (an emoji's presentation: U+2764 U+FE0F; not first, nor after a space, where
 * they show nothing); a noncharacter, a private-use or an
 * unassigned code point (each shown as a box, or as whatever a font makes of it).
 */
const UNSHOWABLE = /(?<=^|\p{White_Space})[\u200c\u200d\ufe00-\ufe0f\u{e0100}-\u{e01ef}]|(?![\u200c\u200d\ufe00-\ufe0f\u{e0100}-\u{e01ef}])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\p{Co}\p{Cn}]/u;

export const FILE_NAME_RULE = `1-${FILE_NAME_MAX_BYTES} bytes of UTF-8 text, not '.' or '..', no '/' or '\\', no '<' or '>', no control, format or invisible character, not only spaces, and not '=', '+', '-' or '@' first`;

/**
 * The name of a file the ledger records a change as coming from (a Registration Data file's, in
 * each RegistrationChanged's `source.file`), as an operator names a file: spaces, brackets,
 * letters of any script, a leading dot (`rdp export (1).csv`, `.Änderungen.csv`). Refused, naming
 * what is wrong: a path (a separator, `.`, `..`), a character that does not show as itself (so a
 * name cannot rewrite a terminal or read otherwise than it is), markup, a spreadsheet formula (a
 * name may end up in a cell), and a name longer than a file system keeps. Every identifier the
 * ledger took as a file name before 2026-11-27 passes but one holding '/'. A refusal is an
 * IntakeError: the file is refused whole, nothing written.
 */
export function checkFileName(value: string, field: string): string {
  const wrong = fileNameFault(value);
  if (wrong) throw new IntakeError(field, `${quoted(value)} is not a file name: ${wrong} (${FILE_NAME_RULE})`);
  return value;
}

function fileNameFault(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (!isWellFormedText(name)) return 'it is not text (a lone UTF-16 surrogate)';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > FILE_NAME_MAX_BYTES) return `it is ${bytes} bytes of UTF-8`;
  if (name === '.' || name === '..') return 'it names a directory';
  if (/[/\\]/.test(name)) return 'it holds a path separator';
  if (/[<>]/.test(name)) return "it holds '<' or '>'";
  const unshowable = UNSHOWABLE.exec(name);
  if (unshowable) return `it holds ${codePoint(unshowable[0])}, which does not show as itself`;
  if (/^\p{White_Space}*$/u.test(name)) return 'it shows nothing (only spaces)';
  if (/^[=+\-@]/.test(name)) return 'it begins as a spreadsheet formula';
  return undefined;
}

/**
 * A file name as sent in an HTTP header (`x-file-name`): its UTF-8 percent-encoded (RFC 3986, as
 * encodeURIComponent encodes), since a header holds ASCII only; printable ASCII but `%` may stand
 * as itself. So every identifier reads as itself. Refused: a character that is not printable
 * ASCII (a raw byte past ASCII would be read as Latin-1), a `%` that does not begin an escape, or
 * escapes that are not UTF-8; then the name as checkFileName checks it.
 */
export function fileNameFromHeader(value: string, field: string): string {
  const raw = /[^\x20-\x7e]/.exec(value);
  if (raw) throw new IntakeError(field, `${quoted(value)} holds ${codePoint(raw[0])}, which is not printable ASCII: percent-encode the name's UTF-8 (as encodeURIComponent does: 'rdp%20export%20(1).csv')`);
  let name: string;
  try {
    name = decodeURIComponent(value);
  } catch {
    throw new IntakeError(field, `${quoted(value)} is not percent-encoded UTF-8: a '%' begins two hex digits, and the escapes spell UTF-8 (as encodeURIComponent encodes; '%25' for '%' itself)`);
  }
  return checkFileName(name, field);
}

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
