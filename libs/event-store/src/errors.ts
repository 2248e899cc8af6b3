import type { ExpectedRevision } from './event-store.port';

/** The stream was not at the revision the writer expected. Nothing of the batch was written. */
export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision, or 'no_stream' when it has no events. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Wrong expected revision on stream '${stream}': expected ${String(expected)}, actual ${String(actual)}`);
  }
}

/** The store cannot be reached (EventStoreDB gRPC code 14 / `unavailable`, a call past its timeout, a closed file). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, override readonly cause?: unknown) {
    super(`store unreachable: ${message}`);
  }
}

/** An append was larger than the store accepts. */
export class AppendTooLargeError extends Error {
  override readonly name = 'AppendTooLargeError';
  constructor(readonly stream: string, readonly bytes: number, readonly limit: number) {
    super(`Append to stream '${stream}' is ${bytes} bytes, over the ${limit}-byte limit`);
  }
}

/** A batch re-used some, but not all, event ids already written to the stream. */
export class PartialIdempotencyError extends Error {
  override readonly name = 'PartialIdempotencyError';
  constructor(readonly stream: string, readonly duplicateIds: string[]) {
    super(
      `Append to stream '${stream}' repeats ${duplicateIds.length} already-written event id(s) ` +
        `(${duplicateIds.slice(0, 3).join(', ')}${duplicateIds.length > 3 ? ', ...' : ''}) alongside new ones`,
    );
  }
}

/** An argument to the store was not acceptable (an empty stream name, a bad event id, ...). */
export class InvalidStoreArgumentError extends Error {
  override readonly name = 'InvalidStoreArgumentError';
}

/**
 * A batch re-used event ids already written to the stream, with other content (type, data or
 * metadata): it is not a retry of the written append, and nothing of it was written.
 */
export class EventIdConflictError extends Error {
  override readonly name = 'EventIdConflictError';
  constructor(readonly stream: string, readonly conflictingIds: string[]) {
    super(
      `Append to stream '${stream}' re-uses ${conflictingIds.length} event id(s) already written with other content ` +
        `(${conflictingIds.slice(0, 3).join(', ')}${conflictingIds.length > 3 ? ', ...' : ''}): nothing was written`,
    );
  }
}

/** The store has no space left for an append (SQLITE_FULL: the disk or a size limit). Nothing of it was written; appends resume once space returns. */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError';
  constructor(message: string, override readonly cause?: unknown) {
    super(`store out of space: ${message}`);
  }
}

/**
 * Another connection held the SQLite store's lock past the writer's wait (its busy timeout, 5 s):
 * SQLITE_BUSY (a backup, an `sqlite3` shell holding a transaction). Nothing of the append was
 * written; it can be sent again once the lock is let go. (SQLITE_LOCKED is not this: without a
 * shared cache it is a conflict within one connection, which sending again would not mend.)
 */
export class StoreBusyError extends Error {
  override readonly name = 'StoreBusyError';
  constructor(
    /** What SQLite said, and of which file, without this error's advice to an appender. */
    readonly detail: string,
    override readonly cause?: unknown,
  ) {
    super(`store busy: ${detail} (another connection holds its lock: a backup, an sqlite3 shell?); nothing was written, try again`);
  }
}

/** SQLite's SQLITE_BUSY (and its extended codes): another connection's lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** SQLite's SQLITE_FULL: a full disk, or a size limit reached (a store's append, a file a rebuild writes). */
export function isFull(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'SQLITE_FULL';
}

/** SQLite's SQLITE_CORRUPT (and its extended codes: _INDEX, _SEQUENCE, _VTAB) or SQLITE_NOTADB: a damaged file (StoreDamagedError.of). */
export function isDamaged(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * A SQLite store's subscription found another event, or none, at the position of the event it last
 * delivered (or was started after: `fromEvent`): the log it follows was rewritten under it (rows
 * removed, by a restore in place or a hand edit, and others written at their positions). It ends
 * with this; its reader decides what that means for what it built from the events (the Projector
 * checks its checkpoint against the store, as at a start).
 */
export class LogRewrittenError extends Error {
  override readonly name = 'LogRewrittenError';
  constructor(
    readonly position: bigint,
    readonly expected: string | undefined,
  ) {
    super(`the store no longer holds ${expected === undefined ? 'an event' : `event ${expected}`} at position ${position}, which its subscription had reached: the log was rewritten under it`);
  }
}

/**
 * A stored event the code cannot read: its data or metadata is not JSON, or (raised by the
 * ledger's readers) its type or schema version is one this code does not know. It is the store's
 * state, not the client's input: nothing that depends on the event goes on past it.
 */
export class UnreadableEventError extends Error {
  override readonly name = 'UnreadableEventError';
  constructor(
    readonly stream: string,
    /** Its revision; as stored (SQL text, `'abc'`) where the row holds no integer there (an edit). */
    readonly revision: bigint | string,
    readonly position: bigint,
    readonly reason: string,
  ) {
    super(`the stored event at position ${position} (stream '${stream}', revision ${revision}) cannot be read: ${reason}`);
  }
}

/** What verify and every other reader say of a row's columns stored as bytes that are not UTF-8 (a BLOB an edit stored): `data`, `metadata`, or both. */
export function notTextReason(columns: string): string {
  return `its stored ${columns} ${columns.includes(' and ') ? 'are' : 'is'} bytes that are not UTF-8 text (a BLOB): not the text the ledger wrote`;
}

/**
 * A walk of the whole log that met a damaged page of the SQLite file (SQLite's `SQLITE_CORRUPT`,
 * "database disk image is malformed"): where it got to, for an auditor, where SQLite's message
 * alone said neither that it was the store nor how far the walk had read.
 */
export class StoreDamagedError extends Error {
  override readonly name = 'StoreDamagedError';
  constructor(
    /** The last position read before the damage, or undefined when none was. */
    readonly after: bigint | undefined,
    readonly reason: string,
    {
      what,
      fromSqlite = true,
    }: {
      /** What could not be read, where it is not the log read forward (a stream's events, the log read backwards). */
      what?: string;
      /** Whether `reason` is SQLite's error message (else the ledger's: what SQLite gave without an error). */
      fromSqlite?: boolean;
    } = {},
  ) {
    super(`the store's file is damaged: ${what ?? `the log could not be read ${after === undefined ? 'from its start' : `past position ${after}`}`} (${fromSqlite ? 'SQLite: ' : ''}${reason}); sqlite3 <store> "PRAGMA integrity_check" names the damaged pages`);
  }

  /** `err` as a StoreDamagedError when it is SQLite's for a damaged file (isDamaged); else `err`. */
  static of(err: unknown, after: bigint | undefined, what?: string): unknown {
    return isDamaged(err) ? new StoreDamagedError(after, (err as Error).message, { what }) : err;
  }
}

/**
 * A store's file refused by a read-only open (openStoreReadOnly) before anything is read or
 * written: not there, empty, not a ledger store, or a copy with a hot -journal. `reason` follows
 * the variable or the file it names ("names a file that is not a ledger event store (...)"), as
 * the configuration's own refusal of a file that is not a SQLite database is worded.
 */
export class StoreFileRefusedError extends Error {
  override readonly name = 'StoreFileRefusedError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file} ${reason}`);
  }
}
