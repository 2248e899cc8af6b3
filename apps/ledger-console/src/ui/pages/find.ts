/** Find a device, a meter point, a decision or a User; and the User and meter-point pages. */
import { api, ApiError, enc, qs } from '../api.js';
import { timelineSvg } from '../chart.js';
import { fmtInstant, h, link, outcomeBadge, replace, table } from '../dom.js';
import type { Route } from '../route.js';
import { registrationBands, type RegistrationEntry } from '../../view/timeline.js';

interface Finder {
  id: string;
  label: string;
  hint: string;
  /** Asks the API, so an unknown or malformed identifier is said as the API says it; returns the route. */
  find: (value: string) => Promise<string>;
}

const FINDERS: Finder[] = [
  { id: 'device', label: 'Device (EUI-64)', hint: 'e.g. 00-DB-00-00-00-1F-00-01', find: async (v) => (await api(`/devices/${enc(v)}`), `device/${enc(v)}`) },
  { id: 'mpxn', label: 'Meter point (MPAN or MPRN)', hint: 'e.g. 1412345678901', find: async (v) => (await api(`/meter-points/${enc(v)}/registrations`), `meter-point/${enc(v)}`) },
  { id: 'decision', label: 'Decision (RequestID)', hint: 'originator:target:counter', find: async (v) => (await api(`/decisions/${enc(v)}`), `decision/${enc(v)}`) },
  { id: 'user', label: 'User (User ID)', hint: 'e.g. 90-B3-D5-1F-30-03-00-14', find: async (v) => (await api(`/users/${enc(v)}`), `user/${enc(v)}`) },
];

export function findPage(main: HTMLElement): void {
  main.append(h('h2', null, 'Find'));
  for (const f of FINDERS) {
    const input = h('input', { id: `find-${f.id}`, name: f.id, required: true, spellcheck: 'false', 'aria-describedby': `find-${f.id}-hint find-${f.id}-message` });
    const message = h('p', { id: `find-${f.id}-message`, class: 'error', role: 'alert' });
    const button = h('button', { type: 'submit' }, 'Find');
    main.append(
      h(
        'form',
        {
          class: 'finder',
          onsubmit: async (e: Event) => {
            e.preventDefault();
            message.textContent = '';
            button.disabled = true;
            try {
              location.hash = `#/${await f.find(input.value.trim())}`;
            } catch (err) {
              message.textContent = err instanceof ApiError ? err.message : String(err);
              input.focus();
            } finally {
              button.disabled = false;
            }
          },
        },
        h('label', { for: `find-${f.id}` }, f.label),
        input,
        button,
        h('small', { id: `find-${f.id}-hint` }, f.hint),
        message,
      ),
    );
  }
}

interface DecisionRow {
  requestId: string;
  deviceId: string;
  originator: string;
  srv: string;
  outcome: string;
  responseCode: string;
  ruleSet: string;
  receivedAt: string;
}

/**
 * A paged list of decisions (GET /decisions with `after`), with Next and Previous; `filter` is the
 * query (device, user...). The cursors of the pages seen are kept to go back.
 */
export function decisionList(filter: Record<string, string>, signal: AbortSignal, pageSize = 25): HTMLElement {
  const box = h('section', { class: 'decisions', 'aria-live': 'polite' });
  const cursors: Array<number | undefined> = [undefined];
  const load = async (index: number) => {
    const page = await api<{ items: DecisionRow[]; next: number | null }>(`/decisions${qs({ ...filter, limit: pageSize, after: cursors[index] })}`, { signal });
    cursors[index + 1] = page.next ?? undefined;
    const rows = page.items.map((d) => [link(`decision/${enc(d.requestId)}`, d.requestId), d.srv, outcomeBadge(d.outcome, d.responseCode), d.ruleSet, fmtInstant(d.receivedAt)]);
    replace(
      box,
      rows.length ? table(`Decisions, page ${index + 1}`, ['RequestID', 'SRV', 'outcome', 'rule set', 'received'], rows) : h('p', null, 'No decisions.'),
      h(
        'div',
        { class: 'pager' },
        h('button', { type: 'button', disabled: index === 0, onclick: () => void load(index - 1) }, 'Previous'),
        h('button', { type: 'button', disabled: page.next === null, onclick: () => void load(index + 1) }, 'Next'),
      ),
    );
  };
  void load(0).catch((err: Error) => replace(box, h('p', { class: 'error', role: 'alert' }, err.message)));
  return box;
}

export async function userPage(main: HTMLElement, route: Route): Promise<void> {
  const userId = route.path[0] ?? '';
  const user = await api<{ userId: string; roles: Record<string, { status: string; marketIds: string[]; effectiveFrom: string }> }>(`/users/${enc(userId)}`, { signal: route.signal });
  main.append(
    h('h2', null, `User ${user.userId}`),
    table('User Roles held', ['role', 'status', 'market ids', 'effective from'], Object.entries(user.roles).map(([role, r]) => [role, r.status, r.marketIds.join(', ') || 'none', fmtInstant(r.effectiveFrom)])),
    h('h3', null, 'Decisions on its requests'),
    decisionList({ user: user.userId }, route.signal),
  );
}

export async function meterPointPage(main: HTMLElement, route: Route): Promise<void> {
  const mpxn = route.path[0] ?? '';
  const [reg, devices] = await Promise.all([
    api<{ mpxn: string; timelines: { supplier: RegistrationEntry[]; networkOperator: RegistrationEntry[] } }>(`/meter-points/${enc(mpxn)}/registrations`, { signal: route.signal }),
    api<{ devices: Array<{ deviceId: string; deviceType?: string; smetsGeneration?: number; status?: string }>; next: string | null }>(`/meter-points/${enc(mpxn)}/devices`, { signal: route.signal }),
  ]);
  const now = new Date().toISOString();
  const entries = (title: string, list: RegistrationEntry[]) => table(title, ['party', 'effective from', 'RDP record'], list.map((e) => [link(`user/${enc(e.partyUserId)}`, e.partyUserId), fmtInstant(e.effectiveFrom), e.recordId]));
  main.append(
    h('h2', null, `Meter point ${reg.mpxn}`),
    timelineSvg(`Registration Data of ${reg.mpxn}`, [
      { label: 'Registered supplier', kind: 'bands', bands: registrationBands(reg.timelines.supplier, now) },
      { label: 'Registered NO', kind: 'bands', bands: registrationBands(reg.timelines.networkOperator, now) },
    ], now),
    entries('Supplier', reg.timelines.supplier),
    entries('Network operator', reg.timelines.networkOperator),
    h('h3', null, 'Devices on this meter point'),
    devices.devices.length
      ? table(null, ['device', 'type', 'SMETS', 'status'], devices.devices.map((d) => [link(`device/${enc(d.deviceId)}`, d.deviceId), d.deviceType ?? '', String(d.smetsGeneration ?? ''), d.status ?? '']))
      : h('p', null, devices.next ? 'The first devices looked at are not on it now.' : 'The inventory links no device to it.'),
    ...(devices.next ? [h('p', null, `More devices are linked to it than one page shows: the API's /meter-points/${mpxn}/devices?after=${devices.next} gives the next.`)] : []),
  );
}
