import { getRuleSet } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { whatIf, type WhatIfFilter, type WhatIfOptions, type WhatIfPage, type WhatIfReport } from '../what-if';
import { digestAt, verifyStore, type Digest, type FindingWait, type VerifyFinding, type VerifyReport } from '../tamper';

/** The long audit work that runs as jobs, off the API's event loop. */
export type AuditJobKind = 'verify' | 'digest' | 'what-if';

/** A what-if's page as a job carries it (JSON: positions as decimal strings). */
export type JobPage = Omit<WhatIfPage, 'fromPosition' | 'toPosition'> & { fromPosition?: string; toPosition?: string };

export interface AuditJobParams {
  /** digest: the position (default: the head). */
  at?: string;
  /** what-if: the rule set (id and version), the filter and the page of changed decisions kept. */
  ruleSet?: { id: string; version: number };
  filter?: WhatIfFilter;
  /** The page, its positions as decimal strings: a job's params are answered and recorded as JSON. */
  page?: JobPage;
  /** A rebuild (run by the runtime's worker): the file to build the read models into. */
  file?: string;
}

/** What each kind of work gives: a verification and a what-if with the position they read through (the head at their start; null: an empty log). */
export interface AuditWorkResults {
  verify: VerifyReport & { position: string | null };
  digest: Digest;
  'what-if': WhatIfReport & { position: string | null };
}

/**
 * Runs one job's work on a store; `onProgress` gets events read so far and, where the store can say,
 * the total. A what-if judges on `whatIf.threads` threads, each with a connection of its own (`whatIf.store`);
 * a verification gives every finding to `onFinding` as it is met (its result lists the first of each kind), waiting
 * for the promise it gives back, if any, before it reads on.
 */
export async function runAuditWork<K extends AuditJobKind>(
  kind: K,
  store: EventStore,
  params: AuditJobParams,
  onProgress: (done: number, total?: number) => void,
  options: { whatIf?: WhatIfOptions; onFinding?: (finding: VerifyFinding) => FindingWait } = {},
): Promise<AuditWorkResults[K]> {
  const head = await store.headPosition();
  const total = store.kind === 'sqlite' && head !== undefined ? Number(head) : undefined;
  const progress = (n: number) => onProgress(n, total);
  // Each case gives its kind's result (TypeScript does not narrow K from `kind`: the table checks each).
  const work: { [k in AuditJobKind]: () => Promise<AuditWorkResults[k]> } = {
    // Through the head as it was at the start (an empty log: nothing), the position it reports and records.
    verify: async () => ({ ...(await verifyStore(store, progress, head ?? 0n, options.onFinding)), position: head?.toString() ?? null }),
    digest: () => digestAt(store, params.at === undefined ? undefined : BigInt(params.at)),
    'what-if': async () => {
      if (!params.ruleSet) throw new Error('a what-if job needs a rule set');
      // Through the head as it was at the start (an empty log: nothing), the position it reports and records.
      const r = await whatIf(store, getRuleSet(params.ruleSet.id, params.ruleSet.version), params.filter ?? {}, whatIfPage(params.page), progress, { ...options.whatIf, through: head ?? 0n });
      return { ...r, position: head?.toString() ?? null };
    },
  };
  return work[kind]();
}

/** What a job found, in brief, for its record in the store (a verification's breaks, unreadable events and missing positions: the first FINDINGS_LISTED of each, as it lists them, and the counts; and the streams broken, since 2026-11-27, fifteenth session; and the damage that ended it, `damaged`, since 2026-11-28: its job failed, and recorded no findings). */
export function findingsOf(kind: string, result: unknown): Record<string, unknown> {
  const r = result as Record<string, unknown>;
  if (kind === 'rebuild') return { events: r.events, ...(r.checkThread === undefined ? {} : { checkThread: r.checkThread }), ...(r.replaced === undefined ? {} : { replaced: r.replaced }) };
  if (kind === 'verify') {
    const v = result as VerifyReport;
    return { ok: v.ok, eventsChecked: v.eventsChecked, streamsChecked: v.streamsChecked, breaks: v.breakCount, streamsBroken: v.streamsBroken, unreadable: v.unreadableCount, firstBreaks: v.breaks, firstUnreadable: v.unreadable, ...(v.missingCount ? { missing: v.missingCount, firstMissing: v.missing } : {}), ...(v.damaged ? { damaged: v.damaged } : {}) };
  }
  if (kind === 'digest') return { digest: r.digest, position: r.position, streams: r.streams, events: r.events };
  if (kind !== 'what-if') return {};
  return { judged: r.judged, notJudgeable: r.notJudgeable, unchanged: r.unchanged, changed: r.changed, byCode: r.byCode };
}

/** A job's page as the what-if reads it. */
export function whatIfPage(page: JobPage = {}): WhatIfPage {
  const { fromPosition, toPosition, ...rest } = page;
  return { ...rest, ...(fromPosition === undefined ? {} : { fromPosition: BigInt(fromPosition) }), ...(toPosition === undefined ? {} : { toPosition: BigInt(toPosition) }) };
}

/**
 * The store position a job's result covers: a verification that met damage, the last position its
 * walk checked (`damaged.checkedThrough`; null: none), not the head it started from (before
 * 2026-11-28, seventeenth session, such a verify failed with no result, and null was recorded).
 */
export function positionOf(result: unknown): string | null {
  const r = result as { position?: unknown; damaged?: { checkedThrough?: unknown } } | undefined;
  const p = r?.damaged === undefined ? r?.position : r.damaged.checkedThrough;
  return typeof p === 'string' ? p : null;
}
