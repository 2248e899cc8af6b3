/**
 * What the device page draws, as pure functions of the API's answers: bands (who held what from
 * when to when) per certificate slot and proxy copy, per Registration Data responsibility, where
 * two timelines disagree, and where on the time axis each instant falls. No DOM here, so that it
 * can be unit-tested; instants are ISO-8601 UTC strings as the API gives them.
 */

export const SLOTS = ['supplier.critical', 'supplier.nonCritical', 'networkOperator.critical', 'networkOperator.nonCritical'] as const;
export type Slot = (typeof SLOTS)[number];
export type Copy = 'DSP' | 'S1SP';

/** A certificate placement as GET /devices/:id/history lists it (kind 'certificate'). */
export interface PlacementEntry {
  kind: 'certificate';
  slot: string;
  heldBy: string[];
  serial: string;
  issuer: string;
  /** The serial and issuer name as the server compares them (the same certificate, the same identity). The console is served by the API itself, so every reply has it. */
  identity: string;
  owner: string;
  keyUsage?: string;
  via: string;
  reference: string | null;
  placedAt: string;
}

/** A decision as the history lists it (kind 'decision'). */
export interface DecisionEntry {
  kind: 'decision';
  requestId: string;
  srv: string;
  originator: string;
  outcome: string;
  responseCode: string;
  receivedAt: string;
}

/** One entry of a Registration Data timeline (GET /meter-points/:mpxn/registrations). */
export interface RegistrationEntry {
  partyUserId: string;
  effectiveFrom: string;
  recordId: string;
}

/** Who held something from `start` (inclusive) to `end` (exclusive; null: still holds it). */
export interface Band {
  start: string;
  end: string | null;
  party: string;
  /** What identifies the thing held: a certificate's serial and issuer, a registration's party. */
  key: string;
  label: string;
  /** Starts after `now`: a future-dated change not yet in force. */
  pending: boolean;
  detail: string;
}

/** A stretch of time in which two timelines disagree. */
export interface Interval {
  start: string;
  end: string | null;
  detail: string;
}

/** The bands of one proxy copy of one slot, in time order; each placement ends the one before. */
export function slotBands(history: ReadonlyArray<{ kind: string }>, slot: Slot, copy: Copy, now: string): Band[] {
  const placements = history
    .filter((e): e is PlacementEntry => e.kind === 'certificate' && (e as PlacementEntry).slot === slot && (e as PlacementEntry).heldBy.includes(copy))
    .slice()
    .sort((a, b) => (a.placedAt < b.placedAt ? -1 : a.placedAt > b.placedAt ? 1 : 0));
  return placements.map((p, i) => ({
    start: p.placedAt,
    end: i + 1 < placements.length ? placements[i + 1].placedAt : null,
    party: p.owner,
    key: p.identity,
    label: `${p.owner} (serial ${p.serial})`,
    pending: p.placedAt > now,
    detail: `serial ${p.serial}, issuer ${p.issuer}, owner ${p.owner}, via ${p.via}${p.reference ? ` ${p.reference}` : ''}, placed ${p.placedAt}`,
  }));
}

/** The bands of a Registration Data timeline (already in effective-date order from the API). */
export function registrationBands(entries: readonly RegistrationEntry[], now: string): Band[] {
  const sorted = entries.slice().sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : 0));
  return sorted.map((e, i) => ({
    start: e.effectiveFrom,
    end: i + 1 < sorted.length ? sorted[i + 1].effectiveFrom : null,
    party: e.partyUserId,
    key: e.partyUserId,
    label: e.partyUserId,
    pending: e.effectiveFrom > now,
    detail: `${e.partyUserId} from ${e.effectiveFrom} (RDP record ${e.recordId})`,
  }));
}

/** Every instant at which either timeline changes, in order. */
function boundaries(a: readonly Band[], b: readonly Band[]): string[] {
  const set = new Set<string>();
  for (const x of [...a, ...b]) {
    set.add(x.start);
    if (x.end) set.add(x.end);
  }
  return [...set].sort();
}

function bandAt(bands: readonly Band[], t: string): Band | undefined {
  return bands.find((b) => b.start <= t && (b.end === null || t < b.end));
}

/**
 * Walks two timelines stretch by stretch (between consecutive instants where either changes) and
 * keeps the stretches `differ` describes (it returns undefined where they agree), merging
 * adjacent stretches with the same description.
 */
function compare(a: readonly Band[], b: readonly Band[], differ: (x: Band | undefined, y: Band | undefined) => string | undefined): Interval[] {
  const cuts = boundaries(a, b);
  const out: Interval[] = [];
  cuts.forEach((t, i) => {
    const detail = differ(bandAt(a, t), bandAt(b, t));
    if (detail === undefined) return;
    const end = i + 1 < cuts.length ? cuts[i + 1] : null;
    const last = out[out.length - 1];
    if (last && last.end === t && last.detail === detail) last.end = end;
    else out.push({ start: t, end, detail });
  });
  return out;
}

/**
 * Where both timelines hold a party and the parties differ: for the NO certificate slot against
 * the registered NO, the stretches in which the device is stuck.
 */
export function mismatches(held: readonly Band[], registered: readonly Band[]): Interval[] {
  return compare(held, registered, (h, r) => (h && r && h.party !== r.party ? `certificate owner ${h.party}, registered ${r.party}` : undefined));
}

/**
 * Where the DSP and S1SP copies of a slot do not hold the same certificate (serial and issuer), or
 * only one of them holds one: an audit finding, on a SMETS1 device only (as the server's
 * `copiesDisagree` reads them: a SMETS2 meter holds its certificates itself, with no proxy's copies).
 */
export function copyDisagreements(smetsGeneration: number | undefined, dsp: readonly Band[], s1sp: readonly Band[]): Interval[] {
  if (smetsGeneration !== 1) return [];
  return compare(dsp, s1sp, (d, s) => {
    if ((!d && !s) || (d && s && d.key === s.key)) return undefined;
    return !d ? 'only the S1SP copy is held' : !s ? 'only the DSP copy is held' : `DSP holds ${d.label}, S1SP holds ${s.label}`;
  });
}

/** The time span to draw: from the first instant to the last (and `now`), with a margin each side. */
export function timeSpan(instants: readonly string[], now: string): { start: number; end: number } {
  const ms = [...instants, now].map((t) => Date.parse(t)).filter((n) => Number.isFinite(n));
  const min = Math.min(...ms);
  const max = Math.max(...ms);
  const margin = Math.max((max - min) * 0.03, 86_400_000);
  return { start: min - margin, end: max + margin };
}

/** Maps an instant (null: open-ended, drawn to the end) to x in [x0, x1]. */
export function scale(span: { start: number; end: number }, x0: number, x1: number): (t: string | null) => number {
  return (t) => {
    const ms = t === null ? span.end : Date.parse(t);
    const f = (Math.min(Math.max(ms, span.start), span.end) - span.start) / (span.end - span.start);
    return x0 + f * (x1 - x0);
  };
}

/** Axis ticks: the first of each year in the span, or of each month when it is shorter than two years. */
export function ticks(span: { start: number; end: number }): Array<{ at: string; label: string }> {
  const out: Array<{ at: string; label: string }> = [];
  const monthly = span.end - span.start < 2 * 365 * 86_400_000;
  const d = new Date(span.start);
  let y = d.getUTCFullYear();
  let m = monthly ? d.getUTCMonth() + 1 : 12;
  for (;;) {
    if (m >= 12) {
      y += Math.floor(m / 12);
      m = m % 12;
    }
    const t = Date.UTC(y, m, 1);
    if (t > span.end) break;
    if (t >= span.start) out.push({ at: new Date(t).toISOString(), label: monthly && m !== 0 ? `${y}-${String(m + 1).padStart(2, '0')}` : String(y) });
    m += monthly ? 1 : 12;
  }
  return out;
}

/** A colour per party, the same on every row, so that two bands of one party look alike. */
export function partyColour(party: string): string {
  let h = 2166136261;
  for (let i = 0; i < party.length; i++) h = Math.imul(h ^ party.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360}, 55%, 62%)`;
}

/** The colour of a decision mark: accepted green, refused red, future-dated (I99) blue. */
export function outcomeColour(outcome: string, code: string): string {
  if (code === 'I99') return '#2f6fdf';
  return outcome === 'accepted' ? '#1d8a3a' : '#c62828';
}
