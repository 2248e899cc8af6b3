import { DomainError, parseInstant, quoted, parseMpxn, parseUserId } from '@ledger/domain';
import { CsvError, parse, type Options } from 'csv-parse';
import { Readable } from 'node:stream';
import { checkIdentifier } from './body';
import { IntakeError } from './errors';

/**
 * The Registration Data file format: CSV, UTF-8, one header line then one change per line.
 *
 *   mpxn,responsibility,party_user_id,effective_from,record_id
 *   1412345678901,network_operator,90-B3-D5-1F-30-03-00-0A,2024-01-01T00:00:00Z,RDP-0001
 *
 * - mpxn: an MPAN core (13 digits, check digit verified) or an MPRN (6-10 digits)
 * - responsibility: `supplier` or `network_operator`
 * - party_user_id: the party's User ID (EUI-64, any case, hyphens optional)
 * - effective_from: an ISO-8601 instant with a zone, or a date (00:00Z that day)
 * - record_id: the RDP's record id (an identifier: see IDENTIFIER_RULE); re-importing a record id
 *   already held changes nothing
 * Read with csv-parse: fields may be double-quoted (a quote inside doubled); a UTF-8 BOM, blank
 * lines and CRLF are accepted. No field holds a line break, so a record running over several lines
 * (a quote opened in error) is reported on each line it spans, none of them imported.
 * A file with no header, or another header, is refused whole (an IntakeError); a bad line is
 * reported and skipped, and the good lines are kept.
 * A file may be as large as the API takes (32 MiB, some 600,000 lines): it is read 64 KiB of lines
 * at a time, each line checked as it is read, letting the event loop turn between slices, so that
 * the API goes on answering while it reads one; a wrong header is refused before the rest is read.
 */
export const REGISTRATION_CSV_HEADER = ['mpxn', 'responsibility', 'party_user_id', 'effective_from', 'record_id'];

export interface RegistrationRow {
  line: number;
  mpxn: string;
  responsibility: 'supplier' | 'networkOperator';
  partyUserId: string;
  effectiveFrom: string;
  recordId: string;
}

export interface RowError {
  line: number;
  field: string;
  reason: string;
}

/**
 * How many of a file's lines are made commands before the event loop is let turn: some 10 ms of
 * work. Until 2026-11-27 a file was read in one go, so a 32 MiB file held the API's event loop 7 s or more.
 */
export const LINES_A_TURN = 1000;
/** How much of the text csv-parse reads at a time: about 1,300 lines of ~50 characters. */
const SLICE_CHARS = 64 * 1024;

/** Lets the event loop turn (I/O, timers, other requests) before going on. */
export const aTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The text in slices of whole lines, about SLICE_CHARS each (a line is never cut, nor a character,
 * nor a CRLF), each with one line ending (CRLF, LF, CR mixed alike: csv-parse counts a CRLF inside
 * quotes twice) and its lines added to `physical` before it is handed on; the event loop turns
 * between slices. Until the review of 2026-11-27 the whole text's line endings were replaced and
 * the text split in one go first: ~0.5 s of a 32 MiB file without a turn.
 */
export async function* slices(text: string, physical: string[]): AsyncGenerator<string> {
  for (let at = 0; at < text.length; ) {
    let end = at + SLICE_CHARS;
    while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
    if (text[end] === '\r' && text[end + 1] === '\n') end++;
    const next = Math.min(end + 1, text.length);
    const slice = text.slice(at, next).replace(/\r\n?/g, '\n');
    const lines = slice.split('\n');
    if (slice.endsWith('\n')) lines.pop();
    for (const line of lines) physical.push(line);
    yield slice;
    at = next;
    if (at < text.length) await aTurn();
  }
}

export async function parseRegistrationCsv(text: string): Promise<{ rows: RegistrationRow[]; errors: RowError[] }> {
  const rows: RegistrationRow[] = [];
  const errors: RowError[] = [];
  if (/^\uFEFF?\s*$/.test(text)) throw new IntakeError('file', `is empty: expected the header '${REGISTRATION_CSV_HEADER.join(',')}' and one change per line`);
  /** The file's lines, each slice's added as it is read (slices). */
  const physical: string[] = [];
  let lastEnd = 0;
  /**
   * Whether the record ending on line `end` began on an earlier line (a quoted field with a line
   * break in it): no field of this file holds one, so a quote opened in error ran on through the
   * lines after it. Each of those lines is reported, so that none goes unaccounted for; the
   * record is not imported.
   */
  const spansLines = (end: number): boolean => {
    let start = lastEnd + 1;
    while (start < end && physical[start - 1].trim() === '') start++;
    lastEnd = end;
    if (start >= end) return false;
    errors.push({ line: start, field: 'line', reason: `opens a quoted field that runs on to line ${end}: no field holds a line break, so lines ${start}-${end} are not imported (check the quotes on line ${start})` });
    for (let line = start + 1; line <= end; line++) errors.push({ line, field: 'line', reason: `is not imported: it is inside the quoted field opened on line ${start}` });
    return true;
  };
  const options: Options = {
    bom: true,
    info: true,
    relax_column_count: true,
    relax_quotes: true, // a quote inside an unquoted field is kept as it is, and judged by that field's rule
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      if (err && !spansLines(Number(err.lines))) errors.push({ line: Number(err.lines), field: 'line', reason: `is not valid CSV (${err.message.replace(/^Invalid /, '')})` });
      return undefined;
    },
    on_record: (record, context) => (lastEnd > 0 && spansLines(context.lines) ? null : ((lastEnd = context.lines), record)),
  };
  // Each record is checked as it is read, and only the rows are kept (a record and its info kept for
  // the whole file took some 1.5 KB a line: 3 GB for a 100 MB file, ~1 GB for the API's largest).
  let header = true;
  try {
    for await (const { record: fields, info } of Readable.from(slices(text, physical)).pipe(parse(options)) as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines; // the line the record ends on (a quoted field may hold line breaks)
      if (header) {
        if (line !== 1 || fields.map((h) => h.trim().toLowerCase()).join(',') !== REGISTRATION_CSV_HEADER.join(',')) break;
        header = false;
        continue;
      }
      if (fields.length === 1 && fields[0].trim() === '') continue; // a line of spaces is a blank line
      if (fields.length !== REGISTRATION_CSV_HEADER.length) {
        errors.push({ line, field: 'line', reason: `has ${fields.length} fields, expected ${REGISTRATION_CSV_HEADER.length}${fields.length < REGISTRATION_CSV_HEADER.length ? ' (truncated?)' : ''}` });
        continue;
      }
      const [mpxn, responsibility, party, effectiveFrom, recordId] = fields.map((f) => f.trim());
      try {
        if (responsibility !== 'supplier' && responsibility !== 'network_operator') {
          throw new DomainError('responsibility', `${quoted(responsibility)} is not 'supplier' or 'network_operator'`);
        }
        if (recordId === '') throw new DomainError('record_id', 'is empty');
        checkIdentifier(recordId, 'record_id');
        rows.push({
          line,
          mpxn: parseMpxn(mpxn, 'mpxn'),
          responsibility: responsibility === 'supplier' ? 'supplier' : 'networkOperator',
          partyUserId: parseUserId(party, 'party_user_id'),
          effectiveFrom: parseInstant(effectiveFrom, 'effective_from'),
          recordId,
        });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        errors.push({ line, field: err.field, reason: err.reason });
      }
    }
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    throw new IntakeError('file', `is not valid CSV: ${err.message}`);
  }
  if (header) throw new IntakeError('header', `must be exactly '${REGISTRATION_CSV_HEADER.join(',')}' (line 1)`);
  errors.sort((a, b) => a.line - b.line);
  return { rows, errors };
}
