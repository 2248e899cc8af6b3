import {
  DomainError,
  evaluate,
  getRuleSet,
  requestFromRecord,
  judgesSrv,
  parseSrv,
  readsOf,
  type DeviceState,
  type MeterPointState,
  type RuleSet,
  type ServiceRequest,
  type ServiceRequestEvaluatedV1,
  type UserState,
  verdict,
} from '@ledger/domain';
// Not the library's index (its Nest module and the EventStoreDB client): a worker thread loads this module to judge its share.
import type { EventStore, ReadAllOptions, RecordedEvent, StoreConfig } from '@ledger/event-store';
import { opensAgain } from '@ledger/event-store/config';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { pagesOf, SqliteEventStore } from '@ledger/event-store/sqlite-event-store';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '@ledger/event-store/worker-entry';
import { evolveFor, readEvent, readsMeterPointJudged, stateAt } from './stream-folds';

export interface WhatIfFilter {
  from?: string;
  to?: string;
  srv?: string;
  deviceId?: string;
  userId?: string;
}

export interface ChangedDecision {
  requestId: string;
  srv: string;
  recorded: { outcome: string; responseCode: string };
  replayed: { outcome: string; responseCode: string };
}

export interface WhatIfReport {
  /** The rule set judged under, or 'as recorded' for a replay of every decision under its own rules. */
  ruleSet: { id: string; version: number } | 'as recorded';
  filter: WhatIfFilter;
  judged: number;
  unchanged: number;
  /** Decisions whose outcome flips, each way, and those whose code changes with the same outcome. */
  changed: { rejectedToAccepted: number; acceptedToRejected: number; codeOnly: number };
  /** Counts by SRV, and by `recordedCode -> replayedCode`. */
  bySrv: Record<string, { judged: number; changed: number }>;
  byCode: Record<string, number>;
  /** Under the recorded rule sets: decisions that did not reproduce (any difference at all). */
  notReproduced: number;
  /** Decisions of SRVs the rule set does not judge (a rule set @1 judges the 10 SRVs of catalogue@1 only): counted, not judged. */
  notJudgeable: number;
  changes: { total: number; offset: number; items: ChangedDecision[] };
  /** With a position window: what part of the log this run read (see WhatIfPage). */
  window?: WhatIfWindow;
}

/**
 * Which changed decisions to list, and optionally a window of the log to read: from
 * `fromPosition` (inclusive) up to `toPosition` (inclusive) or `maxEvents` events. A long what-if
 * run window after window (each reply's `nextPosition` is the next window's `fromPosition`) gives
 * the same counts, summed, as one run over the whole log, and a caller can show progress and stop.
 */
export interface WhatIfPage {
  offset?: number;
  limit?: number;
  fromPosition?: bigint;
  toPosition?: bigint;
  maxEvents?: number;
}

export interface WhatIfWindow {
  fromPosition: string;
  /** The last event read (null: none). */
  lastPosition: string | null;
  eventsRead: number;
  /** Where the next window starts; null when the log was read to its end. */
  nextPosition: string | null;
  /** The store's head when the run started. */
  head: string | null;
}

/**
 * The furthest page of changed decisions (`offset`) a what-if lists on several threads. Each share
 * keeps every change it meets up to offset + limit (any of the page may be among them), where one
 * pass keeps the page only; so a page past this is listed by one pass, and what a share holds
 * stays bounded (~11,000 changes at most with the API's limit of 1,000) however deep the page.
 */
export const MAX_SHARED_OFFSET = 10_000;

/** Fewer events than this to read per thread and a what-if runs on fewer threads: starting one (~0.3 s of loading code) would cost more than it saves. */
const EVENTS_PER_THREAD = 100_000;

export interface WhatIfOptions {
  /** The folds each thread keeps (least recently used out): memory stays bounded however large the log. */
  maxFolds?: number;
  /**
   * The last position read (a job's: the head when it started, the position it reports): what is
   * appended later is neither judged nor counted. Default: on several threads the head when the
   * run begins, in one pass the end of the log as it reads it.
   */
  through?: bigint;
  /**
   * Threads to judge on (default 1). With more, the device streams are split between them by a
   * hash of their name: this thread judges the first share and a worker thread each other one,
   * each reading the log on a connection of its own (`store`), and the shares are merged into the
   * report one thread gives. For a SQLite file only (EventStoreDB's client decodes every event for
   * every share, and the log's length is not known up front), and at most one thread per
   * `eventsPerThread` events to read (default EVENTS_PER_THREAD).
   */
  threads?: number;
  eventsPerThread?: number;
  /** The store's configuration, for the worker threads' connections. */
  store?: StoreConfig;
  /** Told, before judging, how many threads the run takes (fewer than `threads` where it runs in one pass or on fewer shares). */
  onThreads?: (threads: number) => void;
}

/**
 * Re-judges every recorded decision in range against its own recorded state, in one pass over the
 * log in commit order. The fold of each stream is kept as it goes (state per stream, not the
 * log), so the state a decision read is at hand; where another write landed between a decision's
 * read and its append, that stream is read again up to the recorded revision.
 *
 * On several threads (options.threads), each reads every event (so each sees the same windows and
 * counts the same events) but decodes, folds and judges only the device streams of its share and
 * the streams every decision may read (users, meter points and the rest): a decision's judgement
 * depends on its device's stream and on the sender's and the meter point's as they were at its
 * time, which every share folds in log order. The report is the same: counts summed, `bySrv` and
 * `byCode` in the order one pass meets them, the changed decisions in log order, paged as one; a
 * failure is the one met first in the log (one pass stops there).
 */
export async function whatIf(
  store: EventStore,
  ruleSet: RuleSet | undefined,
  filter: WhatIfFilter = {},
  page: WhatIfPage = {},
  onProgress?: (eventsRead: number) => void,
  options: WhatIfOptions = {},
): Promise<WhatIfReport> {
  checkWhatIf(filter); // a window that ends before it starts is read as empty here (the API refuses one as asked)
  const config = options.store;
  let threads = 1;
  let head = 0n;
  // Shares only on the SQLite file this store reads (the workers open `config.path`: another file
  // would be judged instead, quietly), and only while its positions are gapless (1, 2, 3, ...), since
  // each share works out the window one pass reads from the positions; else one pass.
  const onItsFile = store instanceof SqliteEventStore && config?.kind === 'sqlite' && opensAgain(config.path) && path.resolve(config.path) === path.resolve(store.file);
  if ((options.threads ?? 1) > 1 && onItsFile && store.positionsGapless()) {
    head = options.through ?? (await store.headPosition()) ?? 0n;
    threads = threadsFor(options.threads!, head, page, options.eventsPerThread);
  }
  options.onThreads?.(threads);
  if (threads === 1) return (await scan(store, ruleSet, filter, page, onProgress, options.maxFolds, undefined, undefined, options.through)).report;
  // Every share ends at `through`, or the head this run began at, so events appended meanwhile are judged by none (as one pass that ended there).
  const input: ShareInput = { store: config!, ruleSet, filter, page, maxFolds: options.maxFolds, through: head };
  return inShares(store, input, threads, onProgress, (share, withMark) => onWorker(withMark, share));
}

/**
 * A what-if as asked, refused where it could match nothing and would answer "judged 0" as if no
 * such decision were recorded: an SRV outside the DUIS request matrix, `from` after `to`, or (with
 * `page`) `fromPosition` after `toPosition` (each a DomainError naming it).
 */
export function checkWhatIf(filter: WhatIfFilter, page: WhatIfPage = {}): void {
  if (filter.srv !== undefined) parseSrv(filter.srv, 'srv');
  if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) > Date.parse(filter.to)) throw new DomainError('to', `${filter.to} is before from (${filter.from}): the range holds no decision`);
  if (page.fromPosition !== undefined && page.toPosition !== undefined && page.fromPosition > page.toPosition) throw new DomainError('toPosition', `${page.toPosition} is before fromPosition (${page.fromPosition}): the window holds no event`);
}

/** Whether a what-if of `page` runs as one pass whatever threads it is given: a page past MAX_SHARED_OFFSET. */
export function onePassOnly(page: WhatIfPage): boolean {
  return (page.offset ?? 0) > MAX_SHARED_OFFSET;
}

/**
 * The threads a what-if over `page` of a log whose head is `head` runs on: at most `requested`, and
 * one per `eventsPerThread` events it may read; one for a page past MAX_SHARED_OFFSET.
 */
export function threadsFor(requested: number, head: bigint, page: WhatIfPage, eventsPerThread = EVENTS_PER_THREAD): number {
  if (onePassOnly(page)) return 1;
  const from = page.fromPosition ?? 1n;
  const to = page.toPosition !== undefined && page.toPosition < head ? page.toPosition : head;
  const events = Math.min(Number(to - from + 1n), page.maxEvents ?? Infinity);
  return Math.max(1, Math.min(Math.floor(requested), Math.ceil(events / eventsPerThread)));
}

/**
 * A what-if in `count` shares: the first on this thread and `store`, the others by `elsewhere`
 * (a worker thread each; tests run them here), merged into one report. The shares share a mark of
 * the earliest position where one failed (`failed`): a share past it stops, since nothing it
 * meets later can be the failure met first.
 */
export async function inShares(
  store: EventStore,
  input: ShareInput,
  count: number,
  onProgress: ((eventsRead: number) => void) | undefined,
  elsewhere: (share: Share, input: ShareInput) => Promise<Scan | ShareFailure>,
): Promise<WhatIfReport> {
  const shares = Array.from({ length: count }, (_, index) => ({ count, index }));
  const mark = new BigInt64Array(new SharedArrayBuffer(8));
  mark[0] = NO_FAILURE;
  const marked: ShareInput = { ...input, failed: mark.buffer as SharedArrayBuffer };
  const results = await Promise.all([scanShare(store, marked, shares[0], onProgress), ...shares.slice(1).map((share) => elsewhere(share, marked))]);
  const failed = results.filter((r): r is ShareFailure => 'failedAt' in r).sort((a, b) => (a.failedAt < b.failedAt ? -1 : a.failedAt > b.failedAt ? 1 : 0));
  if (failed.length > 0) throw errorOf(failed[0].error);
  return merged(results as Scan[], input.page);
}

/** What one thread's pass gives: the report of its share, and where in the log each listed change, SRV and code pair was first met (for the merge). */
export interface Scan {
  report: WhatIfReport;
  positions: bigint[];
  firstSrv: Map<string, bigint>;
  firstCode: Map<string, bigint>;
}

/** One share of the device streams: those whose name hashes to `index` of `count`. */
export interface Share {
  count: number;
  index: number;
}

/** What a share's thread is given. */
export interface ShareInput {
  store: StoreConfig;
  ruleSet: RuleSet | undefined;
  filter: WhatIfFilter;
  page: WhatIfPage;
  maxFolds?: number;
  /** The end of the log for every share (the head when the run began): what is appended later is not read. */
  through?: bigint;
  /** The earliest position where a share failed so far, shared by all (a BigInt64Array's buffer; NO_FAILURE while none has). */
  failed?: SharedArrayBuffer;
}

const NO_FAILURE = 2n ** 63n - 1n;
/** A worker that could not start or died (out of memory, say): no place in the log, so a failure another share met in the log is the one reported, as one pass would. */
const THREAD_FAILED = NO_FAILURE - 1n;

/** A share that stopped because another had failed before where it was: what it found says nothing. */
class Overtaken extends Error {}

/** A share that failed, at the position of the event it was on, or of the event its read could not give (-1: before reading). */
export interface ShareFailure {
  failedAt: bigint;
  error: SentError;
}

/** A share's failure as a message can carry it (from a worker thread), and made again the class it was: an unreadable event, else an Error. */
export type SentError = { message: string; unreadable?: { stream: string; revision: bigint | string; position: bigint; reason: string } };

function sent(err: unknown): SentError {
  if (err instanceof UnreadableEventError) return { message: err.message, unreadable: { stream: err.stream, revision: err.revision, position: err.position, reason: err.reason } };
  return { message: err instanceof Error ? err.message : String(err) };
}

function errorOf(e: SentError): Error {
  if (e.unreadable) return new UnreadableEventError(e.unreadable.stream, e.unreadable.revision, e.unreadable.position, e.unreadable.reason);
  return new Error(e.message);
}

/** Whether a stream is judged by one share only (a device's), and by which (FNV-1a of its name). */
function shareOf(stream: string, count: number): number | undefined {
  if (!stream.startsWith('device-')) return undefined;
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/** One share's pass on this thread's connection; a failure is answered with where it happened. */
export async function scanShare(store: EventStore, input: ShareInput, share: Share, onProgress?: (eventsRead: number) => void): Promise<Scan | ShareFailure> {
  const failed = input.failed ? new BigInt64Array(input.failed) : undefined;
  const at = { position: -1n, failed };
  try {
    return await scan(store, input.ruleSet, input.filter, input.page, onProgress, input.maxFolds, share, at, input.through);
  } catch (err) {
    if (err instanceof Overtaken) return { failedAt: NO_FAILURE, error: { message: err.message } };
    // An event the read could not give is where the share failed: the shares read only their own
    // rows, so the last one this share read says nothing of where another share stands.
    const failedAt = err instanceof UnreadableEventError && err.position > at.position ? err.position : at.position;
    // The mark keeps the earliest failure of all the shares (another may be setting it meanwhile).
    for (let seen = failed ? Atomics.load(failed, 0) : NO_FAILURE; failedAt < seen; ) {
      const was = Atomics.compareExchange(failed!, 0, seen, failedAt);
      if (was === seen) break;
      seen = was;
    }
    return { failedAt, error: sent(err) };
  }
}

/** One share's pass on a worker thread of its own (what-if-worker.ts). */
function onWorker(input: ShareInput, share: Share): Promise<Scan | ShareFailure> {
  const entry = workerEntry(__dirname, 'what-if-worker');
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(entry.file, { workerData: { input, share }, ...(entry.execArgv ? { execArgv: entry.execArgv } : {}) });
    } catch (err) {
      return resolve({ failedAt: THREAD_FAILED, error: sent(err) }); // answered like any failed share, after the others have ended
    }
    let answer: Scan | ShareFailure | undefined;
    worker.on('message', (m: Scan | ShareFailure) => (answer = m));
    worker.on('error', (err) => (answer ??= { failedAt: THREAD_FAILED, error: sent(err) }));
    worker.on('exit', (code) => resolve(answer ?? { failedAt: THREAD_FAILED, error: { message: `the what-if's worker for share ${share.index} of ${share.count} exited (code ${code}) before it answered` } }));
  });
}

/** The shares' reports as one pass would have given it. */
function merged(scans: Scan[], page: WhatIfPage): WhatIfReport {
  const [first, ...rest] = scans;
  const r: WhatIfReport = { ...first.report, changed: { ...first.report.changed }, bySrv: {}, byCode: {}, changes: { ...first.report.changes } };
  for (const { report: o } of rest) {
    r.judged += o.judged;
    r.unchanged += o.unchanged;
    r.changed.rejectedToAccepted += o.changed.rejectedToAccepted;
    r.changed.acceptedToRejected += o.changed.acceptedToRejected;
    r.changed.codeOnly += o.changed.codeOnly;
    r.notReproduced += o.notReproduced;
    r.notJudgeable += o.notJudgeable;
    r.changes.total += o.changes.total;
  }
  const inOrder = (firsts: (s: Scan) => Map<string, bigint>) => {
    const at = new Map<string, bigint>();
    for (const s of scans) for (const [k, p] of firsts(s)) if (!at.has(k) || p < at.get(k)!) at.set(k, p);
    return [...at].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([k]) => k);
  };
  for (const srv of inOrder((s) => s.firstSrv)) {
    r.bySrv[srv] = { judged: 0, changed: 0 };
    for (const { report: o } of scans) {
      r.bySrv[srv].judged += o.bySrv[srv]?.judged ?? 0;
      r.bySrv[srv].changed += o.bySrv[srv]?.changed ?? 0;
    }
  }
  for (const code of inOrder((s) => s.firstCode)) r.byCode[code] = scans.reduce((n, s) => n + (s.report.byCode[code] ?? 0), 0);
  const offset = page.offset ?? 0;
  const items = scans
    .flatMap((s) => s.report.changes.items.map((item, i) => ({ item, position: s.positions[i] })))
    .sort((a, b) => (a.position < b.position ? -1 : 1))
    .slice(offset, offset + (page.limit ?? 100));
  r.changes.items = items.map((x) => x.item);
  return r;
}

/**
 * One pass over the log. With a share, it decodes, folds and judges the device streams of that
 * share only (and every other stream), and keeps the first offset + limit changes it meets (any
 * of the report's page is among them) with their positions; `at` follows the event it is on.
 */
async function scan(
  store: EventStore,
  ruleSet: RuleSet | undefined,
  filter: WhatIfFilter,
  page: WhatIfPage,
  onProgress: ((eventsRead: number) => void) | undefined,
  maxFolds = 10_000,
  share?: Share,
  at: { position: bigint; failed?: BigInt64Array } = { position: -1n },
  through?: bigint,
): Promise<Scan> {
  const offset = page.offset ?? 0;
  const limit = page.limit ?? 100;
  const keepFrom = share ? 0 : offset;
  const positions: bigint[] = [];
  const firstSrv = new Map<string, bigint>();
  const firstCode = new Map<string, bigint>();
  const report: WhatIfReport = {
    ruleSet: ruleSet ? { id: ruleSet.id, version: ruleSet.version } : 'as recorded',
    filter,
    judged: 0,
    unchanged: 0,
    changed: { rejectedToAccepted: 0, acceptedToRejected: 0, codeOnly: 0 },
    bySrv: {},
    byCode: {},
    notReproduced: 0,
    notJudgeable: 0,
    changes: { total: 0, offset, items: [] },
  };
  const mine = share ? (stream: string) => (shareOf(stream, share.count) ?? share.index) === share.index : undefined;
  const { folds, remember } = foldsOf(maxFolds);
  const ruleSets = new Map<string, RuleSet>();
  const windowed = page.fromPosition !== undefined || page.toPosition !== undefined || page.maxEvents !== undefined;
  // A run given its end (`through`: a job's position) reports that as the head, not a later one read here.
  const headNow = through ?? (windowed || (mine && store.kind === 'sqlite') ? await store.headPosition() : undefined);
  const window: WhatIfWindow | undefined = windowed
    ? { fromPosition: (page.fromPosition ?? 0n).toString(), lastPosition: null, eventsRead: 0, nextPosition: null, head: headNow?.toString() ?? null }
    : undefined;
  // A share on SQLite reads only its own streams' rows (`only`): the others' are never fetched.
  // Its positions are gapless (1, 2, 3, ...), so the window (what one pass reads) is known from
  // the head, and the events read and the progress are counted from the positions.
  const range = mine && store.kind === 'sqlite' ? rangeOf(page, headNow ?? 0n) : undefined;
  let read = 0;
  let progressAt = 10_000;
  const progressTo = (n: number) => {
    for (; progressAt <= n; progressAt += 10_000) onProgress?.(progressAt);
  };
  const fromPosition = range ? range.from : page.fromPosition;
  // A share's read ends at the window's last event, as one pass's does: no row past it is read (one that cannot be read is no failure of this window).
  const options: ReadAllOptions = { ...(fromPosition !== undefined ? { fromPosition } : {}), ...(range ? { only: mine, toPosition: range.last } : {}), ...NO_METADATA };
  // Under another rule set what was decided is compared (outcome, code), so a decision is read
  // without its checks, and without its revisionsRead made into an object (what it read is in
  // `reads`: readsOf); as recorded, whole.
  const decisions = ruleSet ? { checks: false, revisionsRead: false } : {};
  // A page of events at a time, each judged and folded without waiting for anything but a stream read back.
  reading: for await (const events of pagesOf(store, options)) {
    for (const e of events) {
      if (at.failed && e.position > Atomics.load(at.failed, 0)) throw new Overtaken(`share ${share!.index} stopped: another failed before position ${e.position}`);
      if (range) {
        at.position = e.position;
        progressTo(Number(e.position - range.from) + 1);
      } else {
        if (through !== undefined && e.position > through) break reading; // the end of the log for this run
        at.position = e.position;
        if (window && ((page.toPosition !== undefined && e.position > page.toPosition) || (page.maxEvents !== undefined && read >= page.maxEvents))) {
          window.nextPosition = e.position.toString();
          break reading;
        }
        if (window) window.lastPosition = e.position.toString();
        if (++read % 10_000 === 0) onProgress?.(read);
        if (mine && !mine(e.stream)) continue; // another share's stream
      }
      const event = readEvent(e, decisions);
      if (!event) continue; // another application's event in a shared EventStoreDB
      if (event.type === 'ServiceRequestEvaluated' && selected(event.data, filter)) {
        const later = judge(event.data, e);
        if (later) await later;
      }
      const evolve = evolveFor(e.stream);
      if (evolve) {
        const held = folds.get(e.stream);
        const before = e.revision > 0n && held?.revision !== e.revision - 1n ? await stateAt(store, e.stream, evolve, e.revision - 1n, NO_METADATA) : held?.state;
        remember(e.stream, held, evolve(before, event), e.revision);
      }
    }
  }
  if (range) {
    read = range.events;
    progressTo(read);
    if (window) Object.assign(window, { lastPosition: range.events > 0 ? range.last.toString() : null, nextPosition: range.next?.toString() ?? null });
  }
  onProgress?.(read);
  if (window) report.window = { ...window, eventsRead: read };
  return { report, positions, firstSrv, firstCode };

  /** A stream's state at a revision if it is held (kept in use), else MISSING: it must be read back (stateOf). */
  function heldState(stream: string, revision: string | null): unknown {
    if (revision === null) return undefined;
    const held = folds.get(stream);
    if (!held || held.revision !== BigInt(revision)) return MISSING;
    remember(stream, held, held.state, held.revision); // in use: keep it
    return held.state;
  }

  /** A stream's state at a revision that is not held (heldState said MISSING): read back, and kept unless another fold of the stream is. */
  async function stateOf(stream: string, revision: string | null): Promise<unknown> {
    const held = folds.get(stream);
    const read = await stateAt(store, stream, evolveFor(stream)!, BigInt(revision!), NO_METADATA);
    if (!held) remember(stream, undefined, read, BigInt(revision!));
    return read;
  }

  /** The rule set a decision was judged under (a replay as recorded). */
  function recordedRuleSet(r: { id: string; version: number }): RuleSet {
    const key = `${r.id}@${r.version}`;
    return ruleSets.get(key) ?? ruleSets.set(key, getRuleSet(r.id, r.version)).get(key)!;
  }

  /** Judges a decision, at once when the states it read are held; else the promise of judging it once they are read back. */
  function judge(d: ServiceRequestEvaluatedV1, at: RecordedEvent): Promise<void> | undefined {
    const rs = ruleSet ?? recordedRuleSet(d.ruleSet);
    if (!judgesSrv(d.request.srv, rs)) {
      report.notJudgeable++;
      return undefined;
    }
    // The sender's stream, the device's and the meter point's (the first the decision read, if any), at the revisions it read.
    const read = readsOf(d);
    const user = `user-${d.request.originator}`;
    const device = `device-${d.request.target}`;
    const meterPoint = read.meterPoint;
    const states = [heldState(user, read.user), heldState(device, read.device)];
    if (meterPoint !== undefined) states.push(heldState(meterPoint, read.meterPointRevision));
    if (states[0] !== MISSING && states[1] !== MISSING && states[2] !== MISSING) {
      judged(d, at, rs, states);
      return undefined;
    }
    const reads: Array<[string, string | null]> = [
      [user, read.user],
      [device, read.device],
    ];
    if (meterPoint !== undefined) reads.push([meterPoint, read.meterPointRevision]);
    return (async () => {
      for (let i = 0; i < reads.length; i++) if (states[i] === MISSING) states[i] = await stateOf(...reads[i]);
      judged(d, at, rs, states);
    })();
  }

  /** Judges a decision on the states it read: the sender's, the device's and the meter point's (if it read one). */
  function judged(d: ServiceRequestEvaluatedV1, at: RecordedEvent, rs: RuleSet, [sender, device, meterPoint]: unknown[]): void {
    const position = at.position;
    const state = { sender: sender as UserState | undefined, device: device as DeviceState | undefined, meterPoint: meterPoint as MeterPointState | undefined, revisionsRead: d.revisionsRead };
    // Under another rule set what was decided is compared (its verdict); as recorded, the whole decision.
    let request: ServiceRequest;
    try {
      request = requestFromRecord(d.request);
    } catch (err) {
      // A recorded request that does not validate (an edited record) is damage to the log, said where it is.
      if (err instanceof DomainError) throw new UnreadableEventError(at.stream, at.revision, at.position, `its recorded request does not validate: ${err.message}`);
      throw err;
    }
    if (ruleSet && !readsMeterPointJudged(d, state.device, rs)) {
      report.notJudgeable++; // another rule set would judge it on a meter point the decision did not read: not comparable
      return;
    }
    const replayed = ruleSet ? verdict(request, state, rs, d.evaluatedAt) : evaluate(request, state, rs, d.evaluatedAt).decision.data;
    report.judged++;
    if (!firstSrv.has(d.request.srv)) firstSrv.set(d.request.srv, position);
    const srv = (report.bySrv[d.request.srv] ??= { judged: 0, changed: 0 });
    srv.judged++;
    if (!ruleSet && JSON.stringify(replayed) !== JSON.stringify(d)) report.notReproduced++;
    if (replayed.outcome === d.outcome && replayed.responseCode === d.responseCode) {
      report.unchanged++;
      return;
    }
    srv.changed++;
    if (d.outcome === 'rejected' && replayed.outcome === 'accepted') report.changed.rejectedToAccepted++;
    else if (d.outcome === 'accepted' && replayed.outcome === 'rejected') report.changed.acceptedToRejected++;
    else report.changed.codeOnly++;
    const codes = `${d.responseCode} -> ${replayed.responseCode}`;
    if (!firstCode.has(codes)) firstCode.set(codes, position);
    report.byCode[codes] = (report.byCode[codes] ?? 0) + 1;
    const n = report.changes.total++;
    if (n >= keepFrom && n < offset + limit) {
      positions.push(position);
      report.changes.items.push({
        requestId: d.request.requestId,
        srv: d.request.srv,
        recorded: { outcome: d.outcome, responseCode: d.responseCode },
        replayed: { outcome: replayed.outcome, responseCode: replayed.responseCode },
      });
    }
  }
}

/**
 * What a share on SQLite reads (gapless positions, 1 to `head`): from `from`, up to `last`
 * (inclusive; `events` of them), and where the next window starts (the first position past the
 * window that is in the log; none when the window reaches the head), as one pass meets them.
 */
function rangeOf(page: WhatIfPage, head: bigint): { from: bigint; last: bigint; events: number; next?: bigint } {
  const from = page.fromPosition !== undefined && page.fromPosition > 1n ? page.fromPosition : 1n;
  let end = page.toPosition;
  if (page.maxEvents !== undefined && Number.isFinite(page.maxEvents)) {
    const byCount = from + BigInt(Math.max(0, Math.ceil(page.maxEvents))) - 1n;
    if (end === undefined || byCount < end) end = byCount;
  }
  const last = end !== undefined && end < head ? end : head;
  const events = last >= from ? Number(last - from + 1n) : 0;
  const past = end !== undefined && end + 1n > from ? end + 1n : from;
  return { from, last, events, ...(end !== undefined && past <= head ? { next: past } : {}) };
}

/**
 * A what-if never reads an event's metadata, in the log nor in a stream read back (a fold dropped,
 * or a decision that read an older revision): so whether a metadata that does not parse fails the
 * run does not depend on which folds were kept (maxFolds, shares). Verify reports it.
 */
const NO_METADATA = { metadata: false } as const;

/** A state not held at the revision asked for (see heldState). */
const MISSING = Symbol('missing');

/** A stream's fold as the what-if holds it: its state, at which revision, and when it was last placed (see foldsOf). */
export interface Fold {
  state: unknown;
  revision: bigint;
  placed: number;
}

/**
 * The folds of the streams a pass has seen most recently, at most `maxFolds` (least recently used
 * out), so memory stays bounded however large the log; a stream dropped and met again is read
 * back. `remember` holds a stream's state at a revision, where `held` is the fold the caller got
 * for it (if any); a fold is moved to the young end only when it was placed there over
 * maxFolds / 2 uses ago, not at every use: one used at least that often is never dropped.
 */
export function foldsOf(maxFolds: number): { folds: ReadonlyMap<string, Fold>; remember(stream: string, held: Fold | undefined, state: unknown, revision: bigint): void } {
  const folds = new Map<string, Fold>();
  // The oldest fold is the next key of an iterator kept across drops: a Map keeps deleted entries'
  // places until it is rehashed, and a new iterator's first step walks past all of them (thousands,
  // at every fold dropped), where a kept one passes each once. It is made again after maxFolds
  // moves with no fold dropped: an iterator not stepped keeps every table the Map was rehashed
  // from (old folds and all) alive, so with no fold to drop (fewer streams than maxFolds) a long
  // log would grow the heap without bound (~950 MB after 3 million moves among 2,000 keys, measured).
  let oldest = folds.keys();
  let moves = 0;
  let tick = 0;
  const remember = (stream: string, held: Fold | undefined, state: unknown, revision: bigint) => {
    tick++;
    if (held && folds.get(stream) === held && tick - held.placed < maxFolds / 2) {
      held.state = state;
      held.revision = revision;
      return;
    }
    folds.delete(stream);
    folds.set(stream, { state, revision, placed: tick });
    if (folds.size > maxFolds) {
      folds.delete(oldest.next().value!);
      moves = 0;
    } else if (++moves >= maxFolds) [oldest, moves] = [folds.keys(), 0];
  };
  return { folds, remember };
}

function selected(d: ServiceRequestEvaluatedV1, f: WhatIfFilter): boolean {
  return (
    (!f.from || d.request.receivedAt >= f.from) &&
    (!f.to || d.request.receivedAt <= f.to) &&
    (!f.srv || d.request.srv === f.srv) &&
    (!f.deviceId || d.request.target === f.deviceId) &&
    (!f.userId || d.request.originator === f.userId)
  );
}
