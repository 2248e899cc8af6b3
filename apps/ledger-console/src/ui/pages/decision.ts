/**
 * A decision: the request, the rule set, every check in order with its outcome and evidence, the
 * stream revisions it read; replay it (identical, or the differences side by side) and see it
 * under each other rule set.
 */
import { api, enc } from '../api.js';
import { badge, dl, fmtInstant, h, link, outcomeBadge, replace, table, type Child } from '../dom.js';
import type { Route } from '../route.js';
import { differencePath, evidenceRows, replayChoices } from '../../view/report.js';

interface Check {
  step: number;
  check: string;
  outcome: 'pass' | 'fail' | 'skipped';
  code?: string;
  reason: string;
  evidence: Record<string, unknown>;
}
interface Evaluated {
  request: Record<string, unknown> & { requestId: string; originator: string; target: string; srv: string; certificates: Array<Record<string, string>> };
  ruleSet: { id: string; version: number };
  senderRole: string | null;
  checks: Check[];
  outcome: string;
  responseCode: string;
  evaluatedAt: string;
  revisionsRead: Record<string, string | null>;
}
interface Replay {
  requestId: string;
  ruleSet: { id: string; version: number };
  identical: boolean;
  recorded: Evaluated;
  replayed: Evaluated;
  differences: Array<{ path: string; recorded: unknown; replayed: unknown }>;
}

const show = (v: unknown) => (v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v));

function checks(list: Check[], other?: Check[]): HTMLOListElement {
  return h(
    'ol',
    { class: 'checks' },
    list.map((c, i) => {
      const changed = other && (other[i]?.outcome !== c.outcome || other[i]?.code !== c.code);
      return h(
        'li',
        { class: `check ${c.outcome}${changed ? ' changed' : ''}` },
        h('div', { class: 'check-head' }, h('strong', null, `${c.step}. ${c.check}`), ' ', badge(c.outcome + (c.code ? ` ${c.code}` : ''), c.outcome === 'pass' ? 'ok' : c.outcome === 'fail' ? 'bad' : 'skip')),
        h('p', null, c.reason),
        evidenceRows(c.evidence).length ? h('details', { open: c.outcome === 'fail' }, h('summary', null, 'evidence'), dl(evidenceRows(c.evidence).map((r) => [r.key, r.value]))) : null,
      );
    }),
  );
}

function sideBySide(r: Replay, under: string): HTMLElement {
  const col = (title: string, d: Evaluated, other: Evaluated) =>
    h('section', null, h('h4', null, title), h('p', null, outcomeBadge(d.outcome, d.responseCode), ` rule set ${d.ruleSet.id}@${d.ruleSet.version}`), checks(d.checks, other.checks));
  return h(
    'div',
    { class: 'replay-result', 'data-testid': 'replay-result' },
    h('p', { class: r.identical ? 'same' : 'finding', role: 'status' }, r.identical ? `Identical: ${under} gives the same decision (${r.replayed.outcome} ${r.replayed.responseCode}).` : `Different under ${under}: ${r.recorded.outcome} ${r.recorded.responseCode} would be ${r.replayed.outcome} ${r.replayed.responseCode}.`),
    h('div', { class: 'cols even' }, col('Recorded', r.recorded, r.replayed), col(`Replayed (${r.ruleSet.id}@${r.ruleSet.version})`, r.replayed, r.recorded)),
    r.differences.length
      ? h('details', null, h('summary', null, `Every field that differs (${r.differences.length})`), table(null, ['path', 'recorded', 'replayed'], r.differences.map((d) => [h('code', null, differencePath(d.path, r.recorded.checks)), show(d.recorded), show(d.replayed)]), { class: 'differences' }))
      : null,
  );
}

export async function decisionPage(main: HTMLElement, route: Route): Promise<void> {
  const requestId = route.path[0] ?? '';
  const row = await api<{ requestId: string; deviceId: string; originator: string; decision: Evaluated; position: string; receivedAt: string; actor: string | null; actorUnknown?: true }>(`/decisions/${enc(requestId)}`, { signal: route.signal });
  const d = row.decision;
  const { certificates, ...request } = d.request;
  const result = h('div', { 'aria-live': 'polite' });
  const run = async (ruleSet: string | undefined, button: HTMLButtonElement) => {
    button.disabled = true;
    replace(result, h('p', null, 'Replaying…'));
    try {
      const r = await api<Replay>(`/decisions/${enc(row.requestId)}/replay${ruleSet ? `?ruleSet=${enc(ruleSet)}` : ''}`, { method: 'POST', signal: route.signal });
      replace(result, sideBySide(r, ruleSet ?? `its own rule set (${d.ruleSet.id}@${d.ruleSet.version})`));
    } catch (err) {
      replace(result, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    } finally {
      button.disabled = false;
    }
  };
  const buttons: Child[] = [
    h('button', { type: 'button', onclick: (e: Event) => void run(undefined, e.currentTarget as HTMLButtonElement) }, 'Replay as recorded'),
    ...replayChoices(d.ruleSet).map((rs) => h('button', { type: 'button', onclick: (e: Event) => void run(rs, e.currentTarget as HTMLButtonElement) }, `Under ${rs}`)),
  ];
  main.append(
    h('h2', null, `Decision ${row.requestId}`),
    h('p', { class: 'summary' }, outcomeBadge(d.outcome, d.responseCode), ` SRV ${d.request.srv} from `, link(`user/${enc(d.request.originator)}`, d.request.originator), ' to ', link(`device/${enc(d.request.target)}`, d.request.target), ` under rule set ${d.ruleSet.id}@${d.ruleSet.version}`),
    h(
      'div',
      { class: 'cols' },
      h(
        'section',
        null,
        h('h3', null, 'Request'),
        dl([
          ...Object.entries(request).map(([k, v]): [string, Child] => [k, k.endsWith('At') || k === 'executionDateTime' ? fmtInstant(String(v)) : show(v)]),
          ['sender role (as judged)', d.senderRole ?? 'none'],
          ['evaluated at', fmtInstant(d.evaluatedAt)],
          ['store position', row.position],
          ['recorded by', row.actorUnknown ? 'not known (projected by an earlier build: rebuild the read models)' : (row.actor ?? 'none recorded')],
        ]),
        certificates.length ? table('Certificates carried', ['serial', 'issuer', 'owner', 'role', 'key usage'], certificates.map((c) => [c.serial, c.issuer, c.ownerUserId, c.roleCode, c.keyUsage])) : h('p', null, 'No certificates carried.'),
        h('h3', null, 'Stream revisions read'),
        table(null, ['stream', 'revision'], Object.entries(d.revisionsRead).map(([s, r]) => [s, r ?? 'none (no events)'])),
      ),
      h('section', null, h('h3', null, 'Checks, in order'), checks(d.checks)),
    ),
    h('h3', null, 'Replay'),
    h('p', null, 'A replay rebuilds the state from each stream up to the revision the decision recorded and judges the recorded request again at its recorded time.'),
    h('div', { class: 'buttons' }, buttons),
    result,
  );
}
