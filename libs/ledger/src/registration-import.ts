import { DomainError } from '@ledger/domain';
import { checkIdentifier, decodeUtf8 } from './intake/body';
import { parseRegistrationCsv, type RowError } from './intake/registrations-csv';
import type { Ledger } from './ledger';
import type { CommandContext } from './streams';

export interface ImportReport {
  file: string;
  lines: number;
  /** Changes this import wrote. */
  written: number;
  /** Changes already held (the same MPxN and record id), written by nobody now. */
  unchanged: number;
  rejected: number;
  errors: RowError[];
  /** The store position of the last change written or found, for a caller that waits for the read models. */
  lastPosition: string | null;
}

/**
 * Imports a Registration Data file, the same for every door: its bytes must be UTF-8 (a string was decoded already) and the
 * header right, or the whole file is refused (an IntakeError); then each line is recorded, a bad
 * line reported and skipped. `written` counts only what this import wrote, so concurrent imports
 * of one file add up to what the store holds.
 */
export async function importRegistrationFile(
  ledger: Ledger,
  body: Uint8Array | string,
  file: string,
  ctx: CommandContext,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportReport> {
  checkIdentifier(file, 'file');
  const { rows, errors } = parseRegistrationCsv(typeof body === 'string' ? body : decodeUtf8(body, 'file'));
  let written = 0;
  let unchanged = 0;
  let lastPosition: string | null = null;
  for (const [i, row] of rows.entries()) {
    try {
      const r = await ledger.recordRegistration({ ...row, file }, ctx);
      if (r.written) written++;
      else unchanged++;
      lastPosition = r.position;
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      errors.push({ line: row.line, field: err.field, reason: err.reason });
    }
    onProgress?.(i + 1, rows.length);
  }
  errors.sort((a, b) => a.line - b.line);
  return { file, lines: rows.length + errors.length, written, unchanged, rejected: errors.length, errors, lastPosition };
}
