import { Worker } from 'node:worker_threads';
import { ledgerEventOf, type LedgerEvent } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { hashOf, keyTwiceInStored, verifyLink } from '@ledger/event-store/hash-chain';
import { workerEntry } from '@ledger/event-store/worker-entry';

/** A stream's first broken link, as `chain_breaks` keeps it: stream, kind, revision, position, expected revision (a gap's). */
export type ChainBreakRow = [stream: string, kind: string, revision: string, position: string, expectedRevision: string | null];

/** An event whose stored text is not the JSON of what it parses to, as `stored_text_mismatches` keeps it: position, stream, revision, why. */
export type TextMismatchRow = [position: string, stream: string, revision: string, reason: string];

/**
 * An event's stored text (checked as it was read: SQLite's `stored: 'checked'`; or read with it, `stored`) checked for a key written twice in one
 * object, which its link does not show: the row that records it, or undefined (none, or no text).
 */
export function textMismatchOf(e: RecordedEvent): TextMismatchRow | undefined {
  const reason = e.storedTextMismatch ?? (e.stored && keyTwiceInStored(e.stored));
  return reason ? [e.position.toString(), e.stream, e.revision.toString(), reason] : undefined;
}

/** A stream's head in a chain check: its last event's revision and hash. */
export type ChainHead = { revision: bigint; hash: string };

/**
 * A ledger event's link checked against its stream's head (undefined: none yet): the stream's new
 * head, or its break as `chain_breaks` keeps it. The one rule of ChainCheck and the check thread.
 */
export function linkOf(prev: ChainHead | undefined, e: RecordedEvent): { head: ChainHead } | { broken: ChainBreakRow } {
  const broken = verifyLink(prev, e);
  if (!broken) return { head: { revision: e.revision, hash: hashOf(e)! } };
  return { broken: [broken.stream, broken.kind, broken.revision.toString(), broken.position.toString(), broken.kind === 'revision-gap' ? broken.expectedRevision.toString() : null] };
}

/**
 * What the check thread posts after each page of the log: the position it has checked through, and
 * the breaks and stored texts that are not their JSON met in that page; and, last, why it stopped
 * if it failed (not at the log's end, nor at an event it cannot read, where the rebuild halts on its
 * own reading).
 */
export interface CheckProgress {
  through: string;
  breaks: ChainBreakRow[];
  texts: TextMismatchRow[];
  failed?: string;
}

/**
 * A stored event as the projector reads it (an UnreadableEventError if it cannot be): a decision
 * without its reasons, which no projection shows, nor its revisionsRead, and decoded whole (`whole`), so that one whose
 * checks do not decode halts the projector rather than reach the read models; or, for an event the
 * rebuild's check thread has read whole already, without its checks, which no projection reads.
 */
export function readEvent(recorded: RecordedEvent, whole: boolean): LedgerEvent | undefined {
  try {
    return ledgerEventOf(recorded.stream, recorded.type, recorded.data, whole ? READ_WHOLE : READ_VETTED);
  } catch (err) {
    throw new UnreadableEventError(recorded.stream, recorded.revision, recorded.position, (err as Error).message);
  }
}

/** Neither leaves out what can fail to decode; no projection reads a decision's revisionsRead (its row's `data` is its stored form), so neither makes the object of stream names (decodeDecision's `revisionsRead`). */
const READ_WHOLE = { reasons: false, revisionsRead: false };
const READ_VETTED = { reasons: false, checks: false, revisionsRead: false };

/**
 * A rebuild's second thread (check-thread-worker.ts), which reads the SQLite log itself while this
 * thread projects, reads each event as the projector does and checks its hash-chain link, and
 * posts how far it has got and each stream's first break. For a batch it has got through, the
 * projection writer reads decisions without their checks and the ChainCheck takes its word for
 * the links: a stream's head is its last event's own `$hash` up to its first break, so nothing is
 * hashed here nor any head read back. A batch it has not (it is starting, it lags, or it ended:
 * the end of the log as it read it, an event it cannot read, a failure) is read and checked here,
 * as without a thread: both ways write the same rows and halt at the same event, so either may
 * take any batch. For a rebuild from the start of the log only (its heads start empty). The two
 * threads read each event separately: a row edited behind the store's back between the two reads
 * is projected as edited with no break recorded (one thread would record one); the full walk finds it.
 */
export class CheckThread {
  private through = 0n;
  private readonly breaks = new Map<string, ChainBreakRow>();
  private readonly texts = new Map<string, TextMismatchRow>();
  private readonly worker: Worker | undefined;
  private failure: string | undefined;
  private stopping = false;

  constructor(file: string, readOnly = false) {
    // Whatever stops it early (it cannot start, throws, dies), it checks no further: the ChainCheck
    // checks the rest here, and `stopped` says why.
    const entry = workerEntry(__dirname, 'check-thread-worker');
    try {
      this.worker = new Worker(entry.file, { workerData: { file, readOnly }, ...(entry.execArgv ? { execArgv: entry.execArgv } : {}) });
    } catch (err) {
      this.failure = `it could not start: ${(err as Error).message}`;
      return;
    }
    this.worker.on('message', (m: CheckProgress) => {
      for (const b of m.breaks) this.breaks.set(b[0], b);
      for (const t of m.texts) this.texts.set(t[0], t);
      this.through = BigInt(m.through);
      if (m.failed !== undefined) this.failure ??= `it failed after position ${m.through}: ${m.failed}`;
    });
    this.worker.on('error', (err) => (this.failure ??= `it failed after position ${this.through}: ${err.message}`));
    this.worker.on('exit', (code) => {
      if (code !== 0 && !this.stopping) this.failure ??= `it exited (code ${code}) after position ${this.through}`;
    });
  }

  /**
   * Why the thread stopped before the end of the log, if it failed (undefined: it read to the end,
   * or to an event it cannot read, or is still reading): the rebuild is as correct without it, and
   * only slower, having checked the rest on the rebuilding thread.
   */
  get stopped(): string | undefined {
    return this.failure === undefined ? undefined : `the check thread stopped (${this.failure}): the rebuilding thread checked the rest`;
  }

  /** Whether every event through `position` has been checked there. */
  checked(position: bigint): boolean {
    return this.through >= position;
  }

  /** The first break of `stream` the thread met, if any. */
  breakOf(stream: string): ChainBreakRow | undefined {
    return this.breaks.get(stream);
  }

  /** The stored text of the event at `position` that is not its JSON, as the thread met it, if any. */
  textOf(position: bigint): TextMismatchRow | undefined {
    return this.texts.get(position.toString());
  }

  /** Ends the thread (at once if it is still reading) and waits for its exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker?.terminate();
  }
}
