/** Integrity: the last verification of the hash chains, a button to run one, and the current digest to copy. */
import { api, ApiError } from '../api.js';
import { badge, dl, fmtInstant, h, replace, table } from '../dom.js';
import type { Route } from '../route.js';
import { walkDamaged } from '../../view/report.js';

interface Verification {
  ok: boolean;
  eventsChecked: number;
  streamsChecked: number;
  breaks: Array<{ stream: string; kind: string; revision: string; position: string; expectedRevision?: string; reason?: string }>;
  unreadable?: Array<{ stream: string; revision: string; position: string; reason: string }>;
  missing?: Array<{ from: string; to: string }>;
  /** A verification (/audit/verify, and one recorded earlier: /audit/verify/last) lists the first 20 of each: these count them all. */
  breakCount?: number;
  /** The streams broken, counted by the walk (a verification recorded before 2026-11-27, fifteenth session, lacks it: the listed breaks' are counted). */
  streamsBroken?: number;
  unreadableCount?: number;
  missingCount?: number;
  at?: string;
  seconds?: number;
  /** Damage to the store's file that ended the walk, or was found after it (since 2026-11-28): the findings above are of the log through `checkedThrough`. */
  damaged?: { message: string; after: string | null; checkedThrough: string | null };
  /** The position the walk read through, the head at its start (GET /audit/verify; not kept in a verification's record). */
  position?: string | null;
}
interface Digest {
  position: string;
  streams: number;
  events: number;
  digest: string;
}

function verificationView(v: Verification | null): HTMLElement {
  if (!v) return h('p', null, 'No verification has run since the API started.');
  const unreadable = v.unreadable ?? [];
  const missing = v.missing ?? [];
  const broken = v.streamsBroken ?? new Set(v.breaks.map((b) => b.stream)).size;
  const unreadableCount = v.unreadableCount ?? unreadable.length;
  const missingCount = v.missingCount ?? missing.length;
  const more = v.breakCount !== undefined && v.breakCount > v.breaks.length;
  const brokenText = v.streamsBroken !== undefined ? `${broken} stream(s) broken${more ? ` (${v.breakCount} break(s), the first ${v.breaks.length} listed)` : ''}` : more ? `${v.breakCount} break(s), the first ${v.breaks.length} listed` : `${broken} stream(s) broken`;
  const found = [broken ? brokenText : '', unreadableCount ? `${unreadableCount} event(s) unreadable` : '', missingCount ? `${missingCount} run(s) of positions missing` : ''].filter(Boolean).join(', ');
  // Damage met: what it found before it, how far it read, and the damage (until 2026-11-28 the damage alone, and after a reload an
  // older verification, or none; until that day's eighteenth session "damage ended the walk" also when every event had been read).
  const result = v.damaged ? `${found ? `${found}, ` : ''}${walkDamaged(v.damaged, v.position)}` : v.ok ? 'every link holds' : found || 'not every link holds';
  return h(
    'div',
    null,
    dl([
      ['result', badge(result, v.ok ? 'ok' : 'bad')],
      ['when', v.at ? fmtInstant(v.at) : 'just now'],
      ['events checked', v.eventsChecked.toLocaleString('en-GB')],
      ['streams checked', v.streamsChecked.toLocaleString('en-GB')],
      ...(v.seconds !== undefined ? ([['took', `${v.seconds.toFixed(1)} s`]] as Array<[string, string]>) : []),
    ]),
    v.damaged ? h('p', { class: 'error', role: 'alert' }, v.damaged.message) : null,
    v.breaks.length
      ? table('What broke (the first 20 in log order): the first broken link of each stream, and each event whose stored text is not what the ledger wrote', ['stream', 'kind', 'revision', 'position', 'reason'], v.breaks.map((b) => [b.stream, b.kind, b.revision, b.position, b.reason ?? '']))
      : null,
    unreadable.length ? table('Events the ledger cannot read', ['stream', 'revision', 'position', 'reason'], unreadable.map((u) => [u.stream, u.revision, u.position, u.reason])) : null,
    missing.length ? table('Positions missing from the log: events deleted', ['from', 'to'], missing.map((m) => [m.from, m.to])) : null,
  );
}

export async function integrityPage(main: HTMLElement, route: Route): Promise<void> {
  const last = h('div', { 'aria-live': 'polite' }, 'Loading…');
  const digestBox = h('div', { 'aria-live': 'polite' }, h('p', null, 'A digest reads the whole log (seconds on a large store), so it is taken when asked for.'));
  const verify = h('button', { type: 'button' }, 'Run a verification');
  const redigest = h('button', { type: 'button' }, 'Take the current digest');
  main.append(
    h('h2', null, 'Integrity'),
    h('p', null, 'Every event carries a hash chained to the previous event of its stream. A verification walks the whole store and reports the first broken link of each stream (the first 20 findings of each kind listed, all of them counted); a digest of every stream head, kept by an auditor, shows later whether anything at or before its position changed (ledger verify --digest D --at P).'),
    h('section', null, h('h3', null, 'Last verification'), last, verify),
    h('section', null, h('h3', null, 'Current digest'), digestBox, redigest),
  );
  verify.onclick = async () => {
    verify.disabled = true;
    replace(last, 'Verifying every link…');
    try {
      const v = await api<Verification>('/audit/verify', { signal: route.signal });
      const kept = await api<Verification | { none: true }>('/audit/verify/last', { signal: route.signal });
      replace(last, verificationView('none' in kept ? v : kept));
    } catch (err) {
      // A verification that met damage failed, giving what it found before it with the damage (`damaged`): shown whole.
      const found = err instanceof ApiError ? (err.result as Verification | undefined) : undefined;
      replace(last, found?.damaged ? verificationView(found) : h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    } finally {
      verify.disabled = false;
    }
  };
  const takeDigest = async () => {
    redigest.disabled = true;
    replace(digestBox, h('p', null, 'Taking the digest…'));
    try {
      const d = await api<Digest>('/audit/digest', { signal: route.signal });
      const value = h('input', { readonly: true, value: d.digest, id: 'digest', class: 'digest', 'aria-label': 'digest', size: 70 });
      const copied = h('span', { role: 'status' });
      replace(
        digestBox,
        dl([
          ['position', d.position],
          ['streams', d.streams.toLocaleString('en-GB')],
          ['events', d.events.toLocaleString('en-GB')],
        ]),
        h('div', { class: 'copy' }, value, h('button', {
          type: 'button',
          onclick: async () => {
            value.select();
            try {
              await navigator.clipboard.writeText(d.digest);
              copied.textContent = 'copied';
            } catch {
              copied.textContent = 'selected: press Ctrl+C to copy';
            }
          },
        }, 'Copy'), copied),
        h('p', null, h('small', null, `To check it later: ledger verify --digest ${d.digest} --at ${d.position}`)),
      );
    } catch (err) {
      replace(digestBox, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    } finally {
      redigest.disabled = false;
    }
  };
  redigest.onclick = () => void takeDigest();
  const v = await api<Verification | { none: true }>('/audit/verify/last', { signal: route.signal });
  replace(last, verificationView('none' in v ? null : v));
}
