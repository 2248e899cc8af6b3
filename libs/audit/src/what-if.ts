import {
  evaluate,
  getRuleSet,
  requestFromRecord,
  srvDefinitionFor,
  type DeviceState,
  type MeterPointState,
  type RuleSet,
  type ServiceRequestEvaluatedV1,
  type UserState,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { evolveFor, readEvent, stateAt } from './stream-folds';

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
 * Re-judges every recorded decision in range against its own recorded state, in one pass over the
 * log in commit order. The fold of each stream is kept as it goes (state per stream, not the
 * log), so the state a decision read is at hand; where another write landed between a decision's
 * read and its append, that stream is read again up to the recorded revision.
 */
export async function whatIf(
  store: EventStore,
  ruleSet: RuleSet | undefined,
  filter: WhatIfFilter = {},
  page: WhatIfPage = {},
  onProgress?: (eventsRead: number) => void,
  maxFolds = 10_000,
): Promise<WhatIfReport> {
  const offset = page.offset ?? 0;
  const limit = page.limit ?? 100;
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
  // The folds of the streams seen most recently, at most `maxFolds` (least recently used out),
  // so memory stays bounded however large the log; a stream dropped and met again is read back.
  // A fold is moved to the young end of the map only when it was placed there over maxFolds / 2
  // uses ago, not at every use: one used at least that often is never dropped.
  const folds = new Map<string, Fold>();
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
    if (folds.size > maxFolds) folds.delete(folds.keys().next().value!);
  };
  const ruleSets = new Map<string, RuleSet>();
  const windowed = page.fromPosition !== undefined || page.toPosition !== undefined || page.maxEvents !== undefined;
  const window: WhatIfWindow | undefined = windowed
    ? { fromPosition: (page.fromPosition ?? 0n).toString(), lastPosition: null, eventsRead: 0, nextPosition: null, head: (await store.headPosition())?.toString() ?? null }
    : undefined;
  let read = 0;
  for await (const e of store.readAll(page.fromPosition !== undefined ? { fromPosition: page.fromPosition } : undefined)) {
    if (window && ((page.toPosition !== undefined && e.position > page.toPosition) || (page.maxEvents !== undefined && read >= page.maxEvents))) {
      window.nextPosition = e.position.toString();
      break;
    }
    if (window) window.lastPosition = e.position.toString();
    if (++read % 10_000 === 0) onProgress?.(read);
    // Under another rule set what was decided is compared (outcome, code), so a decision is read without its checks; as recorded, whole.
    const event = readEvent(e, ruleSet ? { checks: false } : {});
    if (!event) continue; // another application's event in a shared EventStoreDB
    if (event.type === 'ServiceRequestEvaluated' && selected(event.data, filter)) {
      await judge(event.data);
    }
    const evolve = evolveFor(e.stream);
    if (evolve) {
      const held = folds.get(e.stream);
      const before = e.revision > 0n && held?.revision !== e.revision - 1n ? await stateAt(store, e.stream, evolve, e.revision - 1n) : held?.state;
      remember(e.stream, held, evolve(before, event), e.revision);
    }
  }
  onProgress?.(read);
  if (window) report.window = { ...window, eventsRead: read };
  return report;

  async function stateOf(stream: string, revision: string | null): Promise<unknown> {
    if (revision === null) return undefined;
    const held = folds.get(stream);
    if (held && held.revision === BigInt(revision)) {
      remember(stream, held, held.state, held.revision); // in use: keep it
      return held.state;
    }
    const state = await stateAt(store, stream, evolveFor(stream)!, BigInt(revision));
    if (!held) remember(stream, undefined, state, BigInt(revision));
    return state;
  }

  async function judge(d: ServiceRequestEvaluatedV1): Promise<void> {
    const key = `${d.ruleSet.id}@${d.ruleSet.version}`;
    const rs = ruleSet ?? ruleSets.get(key) ?? ruleSets.set(key, getRuleSet(d.ruleSet.id, d.ruleSet.version)).get(key)!;
    try {
      srvDefinitionFor(d.request.srv, rs);
    } catch {
      report.notJudgeable++;
      return;
    }
    const entries = Object.entries(d.revisionsRead);
    const state = {
      sender: (await stateOf(`user-${d.request.originator}`, d.revisionsRead[`user-${d.request.originator}`] ?? null)) as UserState | undefined,
      device: (await stateOf(`device-${d.request.target}`, d.revisionsRead[`device-${d.request.target}`] ?? null)) as DeviceState | undefined,
      meterPoint: undefined as MeterPointState | undefined,
      revisionsRead: d.revisionsRead,
    };
    const mp = entries.find(([s]) => s.startsWith('meterpoint-'));
    if (mp) state.meterPoint = (await stateOf(mp[0], mp[1])) as MeterPointState | undefined;
    const replayed = evaluate(requestFromRecord(d.request), state, rs, d.evaluatedAt).decision.data;
    report.judged++;
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
    report.byCode[codes] = (report.byCode[codes] ?? 0) + 1;
    const n = report.changes.total++;
    if (n >= offset && n < offset + limit) {
      report.changes.items.push({
        requestId: d.request.requestId,
        srv: d.request.srv,
        recorded: { outcome: d.outcome, responseCode: d.responseCode },
        replayed: { outcome: replayed.outcome, responseCode: replayed.responseCode },
      });
    }
  }
}

/** A stream's fold as the what-if holds it: its state, at which revision, and when it was last placed (see remember). */
interface Fold {
  state: unknown;
  revision: bigint;
  placed: number;
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
