import { createHash } from 'node:crypto';
import { DomainError, ledgerEventOf } from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { notTextReason, StoreDamagedError, UnreadableEventError } from '@ledger/event-store/errors'; // not the index (Nest, the EventStoreDB client): a job's worker loads this
import { FINDINGS_LISTED, hashOf, keyTwiceInStored, verifyLink, type ChainBreak } from '@ledger/event-store/hash-chain';

/**
 * A digest asked for at a position past the log's head. For a digest being taken: take it at or
 * before the head. For a digest kept earlier at that position: the log ended past it then, so
 * events at or before it have been removed since.
 */
export class DigestPastHeadError extends DomainError {
  constructor(readonly position: bigint, readonly head: bigint | undefined) {
    super('at', `position ${position} is past the log's head (${head === undefined ? 'the log is empty' : `position ${head}`}): a digest there would change as events are appended; take it at or before the head (a digest kept at ${position} means the log reached it then, so events at or before it have been removed since)`);
  }
}

/** The position a digest is taken at: `position`, refused past the log's head (DigestPastHeadError); the head when not given. */
export async function digestPosition(store: EventStore, position?: bigint): Promise<bigint> {
  return (await digestBounds(store, position)).at;
}

/** digestPosition's position, `at`, and the log's head it read (undefined: the log is empty). */
async function digestBounds(store: EventStore, position?: bigint): Promise<{ at: bigint; head: bigint | undefined }> {
  const head = await store.headPosition();
  if (position !== undefined && position > (head ?? 0n)) throw new DigestPastHeadError(position, head);
  return { at: position ?? head ?? 0n, head };
}

export type VerifyBreak = { stream: string; kind: ChainBreak['kind'] | 'stored-text-mismatch'; revision: string; position: string; expectedRevision?: string; reason?: string };
export type VerifyUnreadable = { stream: string; revision: string; position: string; reason: string };
export type VerifyMissing = { from: string; to: string };
/** One finding of a verification, as it is met (in log order): `ledger verify --all` prints each. */
export type VerifyFinding = { break: VerifyBreak } | { unreadable: VerifyUnreadable } | { missing: VerifyMissing };

/**
 * A verification's findings: the first FINDINGS_LISTED of each kind in log order, and the count of
 * each (since 2026-11-27, fifteenth session: every one was listed, megabytes for a store with tens
 * of thousands of broken links; `ledger verify --all` prints every one as it is found).
 */
export interface VerifyReport {
  ok: boolean;
  eventsChecked: number;
  streamsChecked: number;
  /**
   * The first FINDINGS_LISTED of: the first broken link of each stream that has one, and (kind `stored-text-mismatch`, SQLite
   * only) every event whose stored text holds a key twice in one object: its link holds (the hash
   * covers the content as parsed, the last of the two), but the text is not the JSON of what it
   * parses to, and SQLite's json_extract reads the first.
   */
  breaks: VerifyBreak[];
  breakCount: number;
  /** The streams with a break (a link broken, a stored text giving a key twice, or both): one stream edited twice is one. */
  streamsBroken: number;
  /** Stored events the code cannot read (broken JSON, an unknown type or schema version): the projector halts at the first. */
  unreadable: VerifyUnreadable[];
  unreadableCount: number;
  /**
   * Runs of positions missing from the log, `from` to `to` inclusive (SQLite only: its writer
   * numbers the events 1, 2, 3, ... and never deletes one, so a missing position is a row deleted
   * behind its back, which no chain shows when it was the last event of its stream, or a whole
   * stream). The log's last events removed leave no gap: only a digest kept earlier shows that.
   */
  missing: VerifyMissing[];
  missingCount: number;
  /**
   * Damage to the store's file that ended the walk (StoreDamagedError: SQLite's, or a lost cell the
   * store found): its message; `after`, the last position read before the damage, as the message
   * names it (null: none); `checkedThrough`, the last position the walk checked (null: none), the
   * findings above being those of the log through it. Absent when the walk met none. Since
   * 2026-11-28 (seventeenth session): until then the verification threw the damage, and what it had
   * found before it (a link broken, a position missing) was lost.
   */
  damaged?: VerifyDamage;
}

/** Where a verification met damage to the store's file (VerifyReport.damaged). */
export type VerifyDamage = { message: string; after: string | null; checkedThrough: string | null };

/**
 * How far a verification that met damage read, said whole ("through position ..."): to the last position it checked of `head` (the
 * position it read through: the head at its start, null for an empty log) when the damage ended the walk; the head, when it read
 * every event the table holds and the damage was found after (the table and its index counted against each other: a cell the index
 * lost, or the table's last events). Where the head is not known (`undefined`: a verification as recorded keeps the last position
 * checked alone), neither is claimed. The CLI's verify and the console's integrity page say it so (the console's copy, a browser
 * bundle's, is held to this one by its spec). Until 2026-11-28 (eighteenth session) the second was said "through position N of N
 * (damage ended the walk)", by the console after a reload too.
 */
export function walkDamaged(damaged: Pick<VerifyDamage, 'checkedThrough'>, head?: string | null): string {
  const through = damaged.checkedThrough;
  if (head === undefined) return through === null ? 'damage found, no position checked' : `damage found, checked through position ${through}`;
  if (through === head) return head === null ? 'no event in the table (the damage below was found after the walk)' : `through position ${head} (every event read; the damage below was found after the walk)`;
  return through === null ? `no position of ${head} checked (damage ended the walk)` : `through position ${through} of ${head} (damage ended the walk)`;
}

/** What `onFinding` gives back: nothing, or a promise the walk waits for before it reads on (its reader is behind: stdout full). */
export type FindingWait = void | Promise<void>;

/** The first FINDINGS_LISTED of one kind of finding, and how many in all: a verification holds no more of them however many it finds. */
class Listed<T> {
  readonly first: T[] = [];
  count = 0;
  constructor(private readonly each: (item: T) => FindingWait) {}

  /** Counts `item`, keeps it if among the first, and gives it on: what `each` gives back, for the walk to wait for. */
  add(item: T): FindingWait {
    this.count++;
    if (this.first.length < FINDINGS_LISTED) this.first.push(item);
    return this.each(item);
  }
}

/**
 * Walks the whole store once, in commit order, checking every event's hash chain link: its
 * revision follows the previous one of its stream, its `$prevHash` is that event's `$hash`, and
 * its `$hash` matches its content; and (SQLite) that its stored text gives no key twice in one
 * object, and that no position is missing from the log. Only the last link of each stream is held in memory (and
 * the names of those broken), and of the findings the first FINDINGS_LISTED of each kind (`onFinding` is given every one, as it is met;
 * where it gives back a promise, the walk reads no further event until it settles, so that a slow reader of what it prints holds
 * the walk back rather than its output piling up in memory). With `toPosition`, the log through it (a job: the head when it
 * started, the position it reports).
 */
export async function verifyStore(store: EventStore, onProgress?: (events: number) => void, toPosition?: bigint, onFinding?: (finding: VerifyFinding) => FindingWait): Promise<VerifyReport> {
  const last = new Map<string, { hash: string; revision: bigint } | 'broken'>();
  const brokenStreams = new Set<string>();
  // What onFinding gave back for the findings met since the walk last waited: waited for before the next event is read.
  let waits: Promise<void>[] = [];
  const found = (f: VerifyFinding): void => {
    const wait = onFinding?.(f);
    if (wait) waits.push(wait);
  };
  const breaks = new Listed<VerifyBreak>((b) => {
    brokenStreams.add(b.stream);
    found({ break: b });
  });
  const unreadable = new Listed<VerifyUnreadable>((u) => found({ unreadable: u }));
  const positions = new PositionRuns(store.kind === 'sqlite', new Listed<VerifyMissing>((m) => found({ missing: m })));
  // None (no promise given back, or no onFinding): undefined, so that the walk awaits nothing per event.
  const caughtUp = (): Promise<unknown> | undefined => {
    if (waits.length === 0) return undefined;
    const pending = waits;
    waits = [];
    return Promise.all(pending);
  };
  let n = 0;
  /** The walk, counting its events in `n` as it checks them: it throws the store's StoreDamagedError where it meets damage. */
  const walk = async (): Promise<void> => {
    const head = toPosition === undefined ? await store.headPosition() : undefined;
    // Asked before the walk as well as after it: an append while it walks puts the table's last past a deleted tail, which then
    // sits above the walk's bound and is no longer the log's end (the seventeenth session's final read: such a verify said ok).
    const tailBefore = store.positionsMissingAtEnd?.();
    for await (const e of readAllNamingUnreadable(store, unreadable, positions, caughtUp, toPosition)) {
      if (++n % 10_000 === 0) onProgress?.(n);
      if (e.stored?.notText) {
        // Every other reader refuses such an event (the projector halts at it): unreadable, and its text a mismatch.
        const reason = notTextReason(e.stored.notText);
        breaks.add({ stream: e.stream, kind: 'stored-text-mismatch', revision: e.revision.toString(), position: e.position.toString(), reason });
        unreadable.add({ stream: e.stream, revision: e.revision.toString(), position: e.position.toString(), reason });
      } else {
        try {
          ledgerEventOf(e.stream, e.type, e.data);
        } catch (err) {
          unreadable.add({ stream: e.stream, revision: e.revision.toString(), position: e.position.toString(), reason: (err as Error).message });
        }
      }
      const twice = e.stored && keyTwiceInStored(e.stored);
      if (twice) breaks.add({ stream: e.stream, kind: 'stored-text-mismatch', revision: e.revision.toString(), position: e.position.toString(), reason: twice });
      const prev = last.get(e.stream);
      if (prev === 'broken') continue;
      const broken = verifyLink(prev, e);
      if (broken) {
        breaks.add({
          stream: broken.stream,
          kind: broken.kind,
          revision: broken.revision.toString(),
          position: broken.position.toString(),
          ...(broken.kind === 'revision-gap' ? { expectedRevision: broken.expectedRevision.toString() } : {}),
        });
        last.set(e.stream, 'broken');
        continue;
      }
      last.set(e.stream, { hash: hashOf(e)!, revision: e.revision });
    }
    await caughtUp();
    onProgress?.(n);
    readThrough(store, toPosition ?? head ?? 0n, positions.last);
    // A cell the table lost with no row after it (the log's last event) no read shows: the table is counted against its index (every verify walks the whole log; until the sixteenth session's last read this ran only without toPosition, which every verify job passes: in tests alone).
    const disagreement = store.indexDisagreement?.();
    if (disagreement !== undefined) throw disagreement;
    // The log's own last events removed leave no gap a read meets: its writers' highest position (SQLite's log_head) shows them
    // (since the seventeenth session; until then only a digest kept from before could).
    const tail = store.positionsMissingAtEnd?.();
    for (const t of [tailBefore, tail]) if (t && !(t === tail && tailBefore && tailBefore.from === t.from && tailBefore.to === t.to)) positions.missing.add({ from: t.from.toString(), to: t.to.toString() });
    await caughtUp();
  };
  let damaged: VerifyDamage | undefined;
  try {
    await walk();
  } catch (err) {
    // Damage ends the walk; what it found before it is reported with it.
    if (!(err instanceof StoreDamagedError)) throw err;
    await caughtUp();
    onProgress?.(n);
    damaged = { message: err.message, after: err.after?.toString() ?? null, checkedThrough: positions.last?.toString() ?? null };
  }
  const missing = positions.missing;
  return {
    ok: breaks.count === 0 && unreadable.count === 0 && missing.count === 0 && !damaged,
    eventsChecked: n,
    streamsChecked: last.size,
    breaks: breaks.first,
    breakCount: breaks.count,
    streamsBroken: brokenStreams.size,
    unreadable: unreadable.first,
    unreadableCount: unreadable.count,
    missing: missing.first,
    missingCount: missing.count,
    ...(damaged ? { damaged } : {}),
  };
}

/** The runs of positions a walk of a gapless log (from position 1) did not meet; none where the store's positions are not gapless. */
class PositionRuns {
  /** The last position met. */
  last: bigint | undefined;
  private next = 1n;
  constructor(
    private readonly gapless: boolean,
    readonly missing: Listed<VerifyMissing>,
  ) {}

  /** The walk met `position` (an event read, or one it could not read). */
  met(position: bigint): void {
    this.last = position;
    if (!this.gapless) return;
    if (position > this.next) this.missing.add({ from: this.next.toString(), to: (position - 1n).toString() });
    this.next = position + 1n;
  }
}

/**
 * The whole log in commit order; an event whose stored JSON does not parse is named in
 * `unreadable` and the walk goes on after it (SQLite positions are gapless, so the next one is
 * position + 1). A damaged page of the file ends the walk with the store's StoreDamagedError saying how far it read.
 * Before each read of the next event, it waits for what `caughtUp` gives (the reader of the findings met so far), if anything.
 */
async function* readAllNamingUnreadable(store: EventStore, unreadable: Listed<VerifyUnreadable>, positions: PositionRuns, caughtUp: () => Promise<unknown> | undefined, toPosition?: bigint): AsyncGenerator<RecordedEvent> {
  let from: bigint | 'start' = 'start';
  for (;;) {
    try {
      for await (const e of store.readAll({ fromPosition: from, stored: 'not-text-too', ...(toPosition === undefined ? {} : { toPosition }) })) {
        positions.met(e.position);
        yield e;
        from = e.position + 1n;
        const wait = caughtUp();
        if (wait) await wait;
      }
      return;
    } catch (err) {
      if (!(err instanceof UnreadableEventError)) throw err; // a damaged page: the store's StoreDamagedError, naming how far it read
      positions.met(err.position); // first: a run missing before it is met before it
      unreadable.add({ stream: err.stream, revision: err.revision.toString(), position: err.position.toString(), reason: err.reason });
      from = err.position + 1n;
      await caughtUp();
    }
  }
}

/**
 * A walk of the log through `at` (verify's, a digest's) that ended at `last`, short of it, with no
 * error, where the store holds an event at `at` (SQLite: eventIdAt): the store's file is damaged
 * (StoreDamagedError), SQLite having given no row for some of it, and no error. Until 2026-11-27
 * the walk reported what it had read as the log through `at` ("every hash chain link holds").
 * A deleted event at `at` is not damage: a digest kept there shows it, verify names it missing.
 */
function readThrough(store: EventStore, at: bigint, last: bigint | undefined): void {
  if (at > (last ?? 0n) && store.eventIdAt?.(at) !== undefined)
    throw new StoreDamagedError(last, `SQLite's read of the log ended ${last === undefined ? 'before its first event' : `at position ${last}`} with no error, but the store holds an event at position ${at}`, { fromSqlite: false });
}

export interface Digest {
  /** The position the digest was taken at (every event at or before it is covered). */
  position: string;
  streams: number;
  events: number;
  /** SHA-256 over every stream head (stream, revision, hash) at the position, sorted by stream. */
  digest: string;
}

/**
 * A digest of every stream head as of a position. An auditor keeps it; later `digestAt(position)`
 * must give the same value, or some event at or before that position was changed or removed
 * (including the last events of a stream, which the chain alone cannot show). A position past the
 * log's head is refused (DigestPastHeadError): a digest there would change with the next event
 * appended, a false alarm when it is checked. A SQLite store whose table and index disagree (a cell
 * lost) fails a digest at its head, or past it, with that damage (StoreDamagedError).
 */
export async function digestAt(store: EventStore, position?: bigint): Promise<Digest> {
  // Past the head: the log's last events removed, or (SQLite) lost from its table with no error, which is damage, named so (until 2026-11-28, "removed").
  const { at, head } = await digestBounds(store, position).catch((err: unknown) => {
    throw err instanceof DigestPastHeadError ? (store.indexDisagreement?.() ?? err) : err;
  });
  // The head as that one read found it (until 2026-11-28, seventeenth session, read again: an append between the two, and a digest asked at the head was not counted).
  const atHead = position === undefined || position === head;
  const heads = new Map<string, string>();
  let events = 0;
  // No event past `at` is read: one there that does not parse has no part in this digest (until 2026-11-27 the first past it was read, and failed it).
  let last: bigint | undefined;
  for await (const e of store.readAll({ toPosition: at })) {
    events++;
    heads.set(e.stream, `${e.revision}:${hashOf(e) ?? '-'}`);
    last = e.position;
  }
  readThrough(store, at, last);
  // A digest of the whole log (at its head): a cell its table lost at its end, with no row after it for the read to meet, is damage, as
  // verify finds it (the table counted against its index: ~52 ms for 200,000 events, of a digest's ~1.17 s; until 2026-11-28 the digest was
  // taken without that event, at the position before it, as the head).
  const damage = atHead ? store.indexDisagreement?.() : undefined;
  if (damage) throw damage;
  const h = createHash('sha256');
  for (const stream of [...heads.keys()].sort()) h.update(`${stream}\n${heads.get(stream)}\n`);
  return { position: at.toString(), streams: heads.size, events, digest: h.digest('hex') };
}
