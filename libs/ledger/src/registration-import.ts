import { DomainError } from '@ledger/domain';
import { registrationFileFromCsv } from './intake/commands';
import { aTurn, LINES_A_TURN, type RowError } from './intake/registrations-csv';
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
 * Imports a Registration Data file, the same for every door: the intake reads it into commands
 * (registrationFileFromCsv: its bytes must be UTF-8, a string was decoded already, and the header
 * right, or the whole file is refused, an IntakeError); then each line is recorded, a bad line
 * reported and skipped. `written` counts only what this import wrote, so concurrent imports
 * of one file add up to what the store holds. Lines are recorded up to 64 at a time (so the store
 * commits them in groups), each meter point's in the file's order, the event loop let turn every
 * LINES_A_TURN lines started: a line already held is found by the store's reads alone, which on
 * SQLite are synchronous, so a file of such lines (a retry) settles them all in microtasks, and
 * until 2026-11-27 held the API's event loop for the whole file (a 600,000-line retry: /health/live
 * unanswered 30-42 s).
 */
const IN_FLIGHT = 64;

export async function importRegistrationFile(
  ledger: Ledger,
  body: Uint8Array | string,
  file: string,
  ctx: CommandContext,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportReport> {
  const { changes, errors } = await registrationFileFromCsv(body, file);
  const lines = changes.length + errors.length; // the lines read, before a line the store refuses is added to errors
  let written = 0;
  let unchanged = 0;
  let done = 0;
  let lastPosition: string | null = null;
  let failure: { err: unknown } | undefined;
  // Up to IN_FLIGHT lines at once, so that the store commits them in groups (one fsync for many).
  // Lines of one meter point keep the file's order: each is queued on its stream as it is started.
  const inFlight = new Set<Promise<void>>();
  let started = 0;
  for (const { line, command } of changes) {
    if (failure) break;
    if (++started % LINES_A_TURN === 0) await aTurn();
    const recording = ledger.execute(command, ctx).then(
      (r) => {
        if (r.written) written++;
        else unchanged++;
        if (lastPosition === null || BigInt(r.position!) > BigInt(lastPosition)) lastPosition = r.position;
      },
      (err: unknown) => {
        if (err instanceof DomainError) errors.push({ line, field: err.field, reason: err.reason });
        else failure ??= { err }; // the store's failure, not the line's: no more lines are started
      },
    );
    const tracked: Promise<void> = recording.finally(() => {
      inFlight.delete(tracked);
      onProgress?.(++done, changes.length);
    });
    inFlight.add(tracked);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.err;
  errors.sort((a, b) => a.line - b.line);
  return { file, lines, written, unchanged, rejected: errors.length, errors, lastPosition };
}
