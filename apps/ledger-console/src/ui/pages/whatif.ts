/**
 * What-if: re-judge recorded decisions under a rule set. The browser asks the API for one window
 * of the log at a time (POST /replays with fromPosition and maxEvents), so a long run shows its
 * progress and Cancel simply stops asking for more; the counts are summed window by window, drawn
 * as a chart, and the changed decisions are paged by asking for them window by window again.
 */
import { api, enc, qs } from '../api.js';
import { barChart } from '../chart.js';
import { field, h, link, outcomeBadge, replace, select, table } from '../dom.js';
import type { Route } from '../route.js';
import { addWindow, changedTotal, emptyTotals, pagePlan, progress, type ChangedDecision, type WhatIfReply, type WhatIfTotals } from '../../view/report.js';

const PAGE = 25;
const FIELDS = ['ruleSet', 'from', 'to', 'srv', 'device', 'user', 'window'] as const;

export function whatIfPage(main: HTMLElement, route: Route): void {
  const p = route.params;
  const query: Record<string, string> = {};
  for (const k of FIELDS) query[k] = p.get(k) ?? '';
  if (!query.ruleSet) query.ruleSet = 'ownership-only';
  if (!query.window) query.window = '20000';
  const input = (name: string, placeholder = '') => h('input', { name, value: query[name], placeholder, spellcheck: 'false' });
  const run = h('button', { type: 'submit' }, 'Run');
  const cancel = h('button', { type: 'button', disabled: true }, 'Cancel');
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'what-if progress' });
  const status = h('p', { role: 'status', class: 'count' });
  const out = h('div');
  let stop: AbortController | undefined;

  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        for (const k of FIELDS) query[k] = String(data.get(k) ?? '').trim();
        history.replaceState(null, '', `#/what-if${qs(query)}`);
        void start();
      },
    },
    field('Rule set', select('ruleSet', [['baseline', 'baseline'], ['ownership-only', 'ownership-only'], ['registered-operator', 'registered-operator']], query.ruleSet)),
    field('Received from', input('from', '2024-01-01T00:00:00Z')),
    field('Received to', input('to', '2024-12-31T23:59:59Z')),
    field('SRV', input('srv', '6.15.1')),
    field('Device', input('device', 'EUI-64')),
    field('User', input('user', 'EUI-64')),
    field('Events per request', input('window'), 'the size of each window of the log'),
    run,
    cancel,
  );
  main.append(
    h('h2', null, 'What-if'),
    h('p', null, 'Re-judges every recorded decision in range under the chosen rule set, on the state each decision read. The run goes through the log one window at a time: Cancel stops after the window in progress, and the counts then cover the windows read.'),
    form,
    h('div', { class: 'progress' }, bar, status),
    out,
  );

  async function start(): Promise<void> {
    stop?.abort();
    const controller = new AbortController();
    stop = controller;
    route.signal.addEventListener('abort', () => controller.abort());
    run.disabled = true;
    cancel.disabled = false;
    cancel.onclick = () => {
      controller.abort();
      cancel.disabled = true;
    };
    replace(out);
    let totals = emptyTotals();
    let from = '0';
    let head: string | null = null;
    const body = { ruleSet: query.ruleSet, from: query.from || undefined, to: query.to || undefined, srv: query.srv || undefined, device: query.device || undefined, user: query.user || undefined };
    const size = Math.max(1, Math.min(1_000_000, Number(query.window) || 20000));
    try {
      for (;;) {
        const r = await api<WhatIfReply>('/replays', { method: 'POST', body: { ...body, fromPosition: from, maxEvents: size, limit: 1 }, signal: controller.signal });
        totals = addWindow(totals, r);
        head ??= r.window?.head ?? null;
        const done = r.window?.nextPosition === null || r.window?.nextPosition === undefined;
        bar.value = done ? 1 : progress('1', r.window?.lastPosition ?? null, head);
        status.textContent = `${done ? 'Done' : 'Running'}: ${totals.eventsRead} events read${head ? ` of ${head}` : ''}, ${totals.judged} decisions judged, ${changedTotal(totals)} changed.`;
        draw(totals, !done);
        if (done) break;
        from = r.window!.nextPosition!;
      }
    } catch (err) {
      if (controller.signal.aborted) {
        status.textContent = `Cancelled after ${totals.eventsRead} events${head ? ` of ${head}` : ''}: the counts cover the log up to position ${totals.windows[totals.windows.length - 1]?.toPosition ?? 'none'} only.`;
        draw(totals, false);
      } else {
        status.textContent = '';
        out.prepend(h('p', { class: 'error', role: 'alert' }, (err as Error).message));
      }
    } finally {
      run.disabled = false;
      cancel.disabled = true;
    }
  }

  function draw(t: WhatIfTotals, running: boolean): void {
    const srvs = Object.entries(t.bySrv).sort((a, b) => b[1].changed - a[1].changed || b[1].judged - a[1].judged);
    const chart = barChart(`What-if under ${query.ruleSet}: changed decisions`, [
      {
        heading: `By direction (${t.judged} judged, ${t.unchanged} unchanged)`,
        bars: [
          { label: 'refused → accepted', value: t.changed.rejectedToAccepted, cls: 'ok' },
          { label: 'accepted → refused', value: t.changed.acceptedToRejected, cls: 'bad' },
          { label: 'other code, same outcome', value: t.changed.codeOnly, cls: 'skip' },
        ],
      },
      { heading: 'By code (recorded → replayed)', bars: Object.entries(t.byCode).sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ label: k, value: v })) },
      { heading: 'Changed, by SRV (of judged)', bars: srvs.filter(([, v]) => v.changed > 0).map(([k, v]) => ({ label: `${k} (of ${v.judged})`, value: v.changed })) },
    ]);
    const list = h('div', { class: 'changes' });
    replace(out, chart, h('h3', null, 'Changed decisions'), list);
    if (!running) void showPage(t, 0, list);
    else list.append(h('p', null, 'The list appears when the run is complete.'));
  }

  async function showPage(t: WhatIfTotals, index: number, list: HTMLElement): Promise<void> {
    const total = changedTotal(t);
    const items: ChangedDecision[] = [];
    try {
      for (const part of pagePlan(t.windows, index * PAGE, PAGE)) {
        const r = await api<WhatIfReply>('/replays', {
          method: 'POST',
          body: { ruleSet: query.ruleSet, from: query.from || undefined, to: query.to || undefined, srv: query.srv || undefined, device: query.device || undefined, user: query.user || undefined, ...part },
          signal: route.signal,
        });
        items.push(...r.changes.items);
      }
    } catch (err) {
      replace(list, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
      return;
    }
    const pages = Math.max(1, Math.ceil(total / PAGE));
    replace(
      list,
      total === 0
        ? h('p', null, 'No decision changes under this rule set.')
        : table(
            `Changed decisions ${index * PAGE + 1}-${index * PAGE + items.length} of ${total}`,
            ['RequestID', 'SRV', 'recorded', `under ${query.ruleSet}`],
            items.map((c) => [link(`decision/${enc(c.requestId)}`, c.requestId), c.srv, outcomeBadge(c.recorded.outcome, c.recorded.responseCode), outcomeBadge(c.replayed.outcome, c.replayed.responseCode)]),
          ),
      h(
        'div',
        { class: 'pager' },
        h('button', { type: 'button', disabled: index === 0, onclick: () => void showPage(t, index - 1, list) }, 'Previous'),
        h('span', null, ` page ${index + 1} of ${pages} `),
        h('button', { type: 'button', disabled: index + 1 >= pages, onclick: () => void showPage(t, index + 1, list) }, 'Next'),
      ),
    );
  }

  if (p.has('run')) void start();
}
