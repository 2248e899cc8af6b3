/**
 * Stuck devices: the report per rule set and instant, filtered and sorted by the API and read a
 * page at a time; each row links to its device and says who could repair it with which request.
 * The CSV export pages through the whole filtered report (1,000 rows a request).
 */
import { api, enc, qs } from '../api.js';
import { badge, field, fmtInstant, h, link, replace, select } from '../dom.js';
import type { Route } from '../route.js';
import { areaOf, copiesNote, csv, STUCK_CSV_HEADER, stuckCsvRow, type StuckDevice } from '../../view/report.js';

const AREAS: Array<[string, string]> = [
  ['10', 'Eastern'], ['11', 'East Midlands'], ['12', 'London'], ['13', 'Merseyside & N. Wales'], ['14', 'Midlands'], ['15', 'Northern'], ['16', 'North Western'],
  ['17', 'North of Scotland'], ['18', 'South of Scotland'], ['19', 'South Eastern'], ['20', 'Southern'], ['21', 'South Wales'], ['22', 'South Western'], ['23', 'Yorkshire'],
];
const COLUMNS: Array<{ key: string; title: string; sort?: string }> = [
  { key: 'deviceId', title: 'device', sort: 'deviceId' },
  { key: 'mpxn', title: 'meter point (area)', sort: 'mpxn' },
  { key: 'registeredOperator', title: 'registered NO', sort: 'registeredOperator' },
  { key: 'certificateOwner', title: 'NO certificate owner', sort: 'certificateOwner' },
  { key: 'since', title: 'stuck since', sort: 'since' },
  { key: 'repair', title: 'who could repair it, with which request' },
];
const FILTERS = ['ruleSet', 'at', 'no', 'area', 'sinceFrom', 'sinceTo', 'sort', 'order'] as const;
const PAGE = 50;

interface Page {
  at: string;
  ruleSet?: { id: string; version: number };
  count: number;
  offset: number;
  /** Of all matching rows (a report as of an instant). */
  repairable?: number;
  /** Of this page's rows (the report now, whose remedies are judged for the page asked for). */
  repairableOnPage?: number;
  devices: StuckDevice[];
  next: string | null;
}

/**
 * The rule sets offered: each id's latest version, and its @4, under which a device whose proxy copies
 * are one certificate, its issuer spelt two ways, is stuck (the API's report since 2026-11-28,
 * twenty-first session: a rollout may judge by LEDGER_RULE_SET=<id>@4, and until then the page
 * could not ask for it).
 */
const RULE_SET_CHOICES: Array<[string, string]> = ['baseline', 'ownership-only', 'registered-operator'].flatMap((id): Array<[string, string]> => [
  [id, id],
  [`${id}@4`, `${id}@4`],
]);

/** The cursors of the pages seen for one query, to go back (kept while the tab is open). */
const seen = new Map<string, string[]>();

export async function stuckPage(main: HTMLElement, route: Route): Promise<void> {
  const p = route.params;
  const query: Record<string, string> = {};
  for (const k of FILTERS) query[k] = p.get(k) ?? '';
  if (!p.has('ruleSet')) query.ruleSet = 'registered-operator';
  // An instant fixed on first load, so that paging and export read one report.
  if (!query.at) query.at = new Date().toISOString();
  const after = p.get('after') ?? '';
  const key = JSON.stringify(query);
  const route0 = (extra: Record<string, string>) => `#/stuck${qs({ ...query, ...extra })}`;

  const input = (name: string, placeholder = '') => h('input', { name, value: query[name], placeholder, spellcheck: 'false' });
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget as HTMLFormElement);
        const next: Record<string, string> = {};
        for (const k of FILTERS) next[k] = String(data.get(k) ?? query[k] ?? '').trim();
        next.sort = query.sort;
        next.order = query.order;
        location.hash = `#/stuck${qs(next)}`;
      },
    },
    field('Rule set', select('ruleSet', [['', 'none (who is stuck only)'], ...RULE_SET_CHOICES], query.ruleSet), 'an @4 judges the proxy copies as rule sets before @5 do (their issuers compared as text)'),
    field('At', input('at', 'ISO-8601 instant'), 'the report as of this instant'),
    field('Network operator', input('no', '90-B3-D5-1F-30-03-00-14'), 'registered NO or owner of either proxy copy'),
    field('Area', select('area', [['', 'any'], ...AREAS.map(([id, name]): [string, string] => [id, `${id} ${name}`])], query.area)),
    field('Stuck since, from', input('sinceFrom', '2020-01-01')),
    field('Stuck since, to', input('sinceTo', '2024-12-31')),
    h('button', { type: 'submit' }, 'Apply'),
  );

  main.append(h('h2', null, 'Stuck devices'), h('p', null, 'SMETS1 devices whose NO certificate belongs to someone other than the NO registered for their meter point. With a rule set: who could repair each, judged by the rules themselves.'), form);
  const status = h('p', { role: 'status', class: 'count' }, 'Loading…');
  main.append(status);
  let page: Page;
  try {
    page = await api<Page>(`/reports/stuck-devices${qs({ ...query, limit: PAGE, after })}`, { signal: route.signal });
  } catch (err) {
    // A filter the API refuses (a malformed instant or User ID) is said where the count would be.
    replace(status, h('span', { class: 'error', role: 'alert' }, (err as Error).message));
    return;
  }

  // The cursors of the pages seen, for Previous (a page reached by a bookmarked cursor goes back to the first).
  const cursors = seen.get(key) ?? [''];
  seen.set(key, cursors);
  if (!cursors.includes(after)) cursors.push(after);
  const index = cursors.indexOf(after);
  if (page.next && cursors[index + 1] !== page.next) cursors.splice(index + 1, cursors.length, page.next);

  replace(status, `${page.count} stuck at ${fmtInstant(page.at)}`, page.ruleSet
      ? page.repairable !== undefined
        ? `; ${page.repairable} repairable under ${page.ruleSet.id}@${page.ruleSet.version}`
        : `; ${page.repairableOnPage ?? 0} of this page's ${page.devices.length} repairable under ${page.ruleSet.id}@${page.ruleSet.version}`
      : '', `. Rows ${page.devices.length ? page.offset + 1 : 0}-${page.offset + page.devices.length}.`);

  const header = h(
    'tr',
    null,
    COLUMNS.map((c) => {
      if (!c.sort) return h('th', { scope: 'col' }, c.title);
      const active = (query.sort || 'deviceId') === c.sort;
      const order = active && query.order !== 'desc' ? 'desc' : 'asc';
      return h(
        'th',
        { scope: 'col', 'aria-sort': active ? (query.order === 'desc' ? 'descending' : 'ascending') : 'none' },
        h('a', { href: route0({ sort: c.sort, order, after: '' }), class: 'sort' }, c.title, active ? (query.order === 'desc' ? ' ▼' : ' ▲') : ''),
      );
    }),
  );
  const rows = page.devices.map((d) =>
    h(
      'tr',
      null,
      h('td', null, link(`device/${enc(d.deviceId)}`, d.deviceId)),
      h('td', null, d.mpxn ? link(`meter-point/${enc(d.mpxn)}`, d.mpxn) : 'none', areaOf(d.mpxn) ? ` (${areaOf(d.mpxn)})` : ''),
      h('td', null, d.registeredOperator ? link(`user/${enc(d.registeredOperator)}`, d.registeredOperator) : ''),
      h('td', null, d.certificateOwner ? link(`user/${enc(d.certificateOwner)}`, d.certificateOwner) : '', copiesNote(d) ? ` (${copiesNote(d)})` : ''),
      h('td', null, fmtInstant(d.since)),
      h(
        'td',
        null,
        d.repairs
          ? h('ul', { class: 'repairs' }, d.repairs.map((r) => h('li', null, r.accepted ? badge('can', 'ok') : badge(`refused ${r.responseCode}`, 'bad'), ` ${r.who} ${r.userId} as ${r.role}: ${r.srv} carrying ${r.carrying}`)))
          : 'choose a rule set',
      ),
    ),
  );
  const exportStatus = h('span', { role: 'status', class: 'export-status' });
  const exportButton = h('button', { type: 'button', onclick: () => void exportCsv() }, `Export CSV (${page.count} rows)`);
  async function exportCsv(): Promise<void> {
    exportButton.disabled = true;
    const all: unknown[][] = [];
    let cursor = '';
    try {
      do {
        const part = await api<Page>(`/reports/stuck-devices${qs({ ...query, limit: 1000, after: cursor })}`, { signal: route.signal });
        all.push(...part.devices.map(stuckCsvRow));
        exportStatus.textContent = `exported ${all.length} of ${part.count} rows`;
        cursor = part.next ?? '';
      } while (cursor);
      const blob = new Blob([csv(STUCK_CSV_HEADER, all)], { type: 'text/csv' });
      const a = h('a', { href: URL.createObjectURL(blob), download: `stuck-devices-${query.ruleSet || 'none'}-${query.at.replace(/[:.]/g, '')}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      exportStatus.textContent = `exported ${all.length} rows`;
    } catch (err) {
      exportStatus.textContent = `export failed: ${(err as Error).message}`;
    } finally {
      exportButton.disabled = false;
    }
  }
  main.append(
    h('div', { class: 'buttons' }, exportButton, exportStatus),
    h('table', { class: 'stuck' }, h('caption', null, 'Stuck devices (choose a column heading to sort)'), h('thead', null, header), h('tbody', null, rows)),
    h(
      'div',
      { class: 'pager' },
      h('a', { class: 'button', href: route0({ after: cursors[index - 1] ?? '' }), 'aria-disabled': index === 0 ? 'true' : undefined, hidden: index === 0 }, 'Previous page'),
      h('a', { class: 'button', href: route0({ after: page.next ?? '' }), hidden: !page.next }, 'Next page'),
    ),
  );
}
