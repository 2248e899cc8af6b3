/**
 * A device: its inventory and the four notified certificate slots now or as of an instant, and one
 * time axis with each slot's placements (DSP and S1SP copies), the meter point's Registration Data
 * supplier and NO, where the NO certificate's owner is not the registered NO, and the decisions.
 */
import { api, ApiError, enc } from '../api.js';
import { legend, timelineSvg, type TimelineRow } from '../chart.js';
import { badge, dl, fmtInstant, h, link, outcomeBadge, table } from '../dom.js';
import type { Route } from '../route.js';
import { copyDisagreements, mismatches, outcomeColour, registrationBands, slotBands, SLOTS, type DecisionEntry, type RegistrationEntry, type Slot } from '../../view/timeline.js';

interface Held {
  certificate: { serial: string; issuer: string; ownerUserId: string; roleCode: string; keyUsage: string };
  via: { kind: string; requestId?: string; reference?: string | null; srv?: string };
  placedAt: string;
}
interface Device {
  deviceId: string;
  deviceType?: string;
  smetsGeneration?: number;
  status?: string;
  mpxn?: string | null;
  inInventory: boolean;
  slots: Partial<Record<Slot, { DSP?: Held; S1SP?: Held }>>;
  /** The slots whose copies are not one certificate, as the server compares them (serial and issuer name). */
  copiesDisagree?: Slot[];
  /** The slots whose copies are one certificate, its issuer spelt two ways (a disagreement under rule sets @1 to @4). */
  issuerSpeltTwoWays?: Slot[];
  asOf?: string;
}
type HistoryEntry = { kind: string } & Record<string, unknown>;

const SLOT_NAMES: Record<Slot, string> = {
  'supplier.critical': 'Supplier, critical',
  'supplier.nonCritical': 'Supplier, non-critical',
  'networkOperator.critical': 'NO, critical',
  'networkOperator.nonCritical': 'NO, non-critical',
};

function viaText(v: Held['via']): string {
  return v.kind === 'request' ? `request ${v.requestId ?? ''}` : `${v.kind}${v.reference ? ` ${v.reference}` : ''}`;
}

function heldCell(held: Held | undefined): HTMLElement | string {
  if (!held) return 'none';
  return h('span', null, link(`user/${enc(held.certificate.ownerUserId)}`, held.certificate.ownerUserId), ` serial ${held.certificate.serial}`, h('br'), h('small', null, `via ${viaText(held.via)}, ${fmtInstant(held.placedAt)}`));
}

export async function devicePage(main: HTMLElement, route: Route): Promise<void> {
  const deviceId = route.path[0] ?? '';
  const asOf = route.params.get('asOf') ?? '';
  const signal = route.signal;
  const [device, history] = await Promise.all([
    api<Device>(`/devices/${enc(deviceId)}${asOf ? `?asOf=${enc(asOf)}` : ''}`, { signal }),
    api<{ timeline: HistoryEntry[] }>(`/devices/${enc(deviceId)}/history`, { signal }),
  ]);
  let registrations: { timelines: { supplier: RegistrationEntry[]; networkOperator: RegistrationEntry[] } } | undefined;
  let registrationNote = '';
  const mpxn = device.mpxn ?? (history.timeline.filter((e) => e.kind === 'inventory').map((e) => e.mpxn as string | null).pop() ?? null);
  if (mpxn) {
    try {
      registrations = await api(`/meter-points/${enc(mpxn)}/registrations`, { signal });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status === 401 || err.status === 403) throw err;
      registrationNote = err.message;
    }
  }
  const now = new Date().toISOString();

  const asOfInput = h('input', { id: 'as-of', name: 'asOf', value: asOf, placeholder: '2024-06-01T00:00:00Z', spellcheck: 'false' });
  const asOfForm = h(
    'form',
    {
      class: 'inline',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const v = asOfInput.value.trim();
        location.hash = `#/device/${enc(deviceId)}${v ? `?asOf=${enc(v)}` : ''}`;
      },
    },
    h('label', { for: 'as-of' }, 'As of (ISO-8601 instant; empty: now)'),
    asOfInput,
    h('button', { type: 'submit' }, 'Show'),
  );

  const slotRows = SLOTS.map((slot) => {
    const held = device.slots[slot];
    const copies = device.copiesDisagree?.includes(slot)
      ? badge('copies disagree', 'bad')
      : device.issuerSpeltTwoWays?.includes(slot)
        ? badge('one certificate, issuer spelt two ways (disagree under rule sets @1-@4)', 'future')
        : badge('agree', 'ok');
    return [SLOT_NAMES[slot], heldCell(held?.DSP), heldCell(held?.S1SP), copies];
  });

  // The timeline: each slot's two copies, the Registration Data, where they do not match, the decisions.
  const rows: TimelineRow[] = [];
  for (const slot of SLOTS) {
    const dsp = slotBands(history.timeline, slot, 'DSP', now);
    const s1sp = slotBands(history.timeline, slot, 'S1SP', now);
    rows.push({ label: SLOT_NAMES[slot], kind: 'heading' });
    rows.push({ label: 'DSP copy', kind: 'bands', bands: dsp, sub: true });
    rows.push({ label: 'S1SP copy', kind: 'bands', bands: s1sp, sub: true });
    const apart = copyDisagreements(device.smetsGeneration, dsp, s1sp);
    if (apart.length) rows.push({ label: 'copies disagree', kind: 'intervals', intervals: apart, cls: 'disagree' });
  }
  // As the domain's stuck rule reads it: the DSP copy of the NO critical certificate (the S1SP
  // copy where no DSP copy was ever held), on a SMETS1 device only (a SMETS2 meter checks itself).
  const dspNo = slotBands(history.timeline, 'networkOperator.critical', 'DSP', now);
  const noBands = dspNo.length ? dspNo : slotBands(history.timeline, 'networkOperator.critical', 'S1SP', now);
  const regNo = registrationBands(registrations?.timelines.networkOperator ?? [], now);
  rows.push({ label: `Registration Data${mpxn ? ` (${mpxn})` : ''}`, kind: 'heading' });
  rows.push({ label: 'Registered supplier', kind: 'bands', bands: registrationBands(registrations?.timelines.supplier ?? [], now), sub: true });
  rows.push({ label: 'Registered NO', kind: 'bands', bands: regNo, sub: true });
  const wrong = device.smetsGeneration === 1 ? mismatches(noBands, regNo) : [];
  if (device.smetsGeneration === 1) rows.push({ label: 'NO cert. ≠ registered NO', kind: 'intervals', intervals: wrong, cls: 'mismatch' });
  const decisions = history.timeline.filter((e): e is HistoryEntry & DecisionEntry => e.kind === 'decision');
  rows.push({
    label: `Decisions (${decisions.length})`,
    kind: 'marks',
    marks: decisions.map((d) => ({ at: d.receivedAt, colour: outcomeColour(d.outcome, d.responseCode), href: `#/decision/${enc(d.requestId)}`, title: `${d.srv} by ${d.originator}: ${d.outcome} ${d.responseCode} (${d.requestId})` })),
  });

  main.append(
    h('h2', null, `Device ${device.deviceId}`),
    asOfForm,
    h('h3', null, 'Timeline'),
    wrong.length
      ? h('p', { class: 'finding' }, `The NO certificate's owner is not the registered NO: ${wrong.map((w) => `${w.detail} from ${fmtInstant(w.start)}${w.end ? ` to ${fmtInstant(w.end)}` : ' on'}`).join('; ')}.`)
      : '',
    registrationNote ? h('p', { class: 'note' }, `Registration Data: ${registrationNote}`) : '',
    h('div', { class: 'scroll' }, timelineSvg(`Timeline of ${device.deviceId}`, rows, now, asOf ? [{ at: device.asOf ?? asOf, label: 'as of', cls: 'as-of' }] : [])),
    legend([
      ['band', 'a certificate or registration held from one instant to the next (colour: its party; hover for serial and via)'],
      ['pending', 'a future-dated change, not yet in force'],
      ['mismatch', 'NO certificate owner ≠ registered NO (stuck)'],
      ['disagree', 'DSP and S1SP copies disagree'],
      ['accepted', 'decision accepted'],
      ['rejected', 'decision refused'],
      ['future', 'future-dated (I99)'],
    ]),
    h(
      'div',
      { class: 'cols' },
      h(
        'section',
        null,
        h('h3', null, asOf ? `Inventory as of ${fmtInstant(device.asOf ?? asOf)}` : 'Inventory now'),
        dl([
          ['type', device.deviceType ?? 'unknown'],
          ['SMETS generation', String(device.smetsGeneration ?? 'unknown')],
          ['status', device.status ?? 'unknown'],
          ['meter point', device.mpxn ? link(`meter-point/${enc(device.mpxn)}`, device.mpxn) : 'none'],
          ['in the inventory', device.inInventory ? 'yes' : 'no (only certificates are known)'],
        ]),
      ),
      h('section', null, h('h3', null, asOf ? 'Notified certificate records as of then' : 'Notified certificate records now'), table(null, ['slot', 'DSP copy', 'S1SP copy', ''], slotRows, { class: 'slots' })),
    ),
    h('h3', null, 'History'),
    table(
      `Every recorded change to ${device.deviceId}, in the order recorded`,
      ['kind', 'when', 'what'],
      history.timeline.map((e) => {
        if (e.kind === 'decision') {
          const d = e as unknown as DecisionEntry;
          return ['decision', fmtInstant(d.receivedAt), h('span', null, link(`decision/${enc(d.requestId)}`, d.requestId), ' ', d.srv, ' ', outcomeBadge(d.outcome, d.responseCode))];
        }
        if (e.kind === 'certificate') {
          const pending = String(e.placedAt) > now;
          return ['certificate', fmtInstant(String(e.placedAt)), h('span', null, `${String(e.slot)} in ${(e.heldBy as string[]).join(' and ')}: owner `, link(`user/${enc(String(e.owner))}`, String(e.owner)), ` serial ${String(e.serial)} via ${String(e.via)}${e.reference ? ` ${String(e.reference)}` : ''}`, pending ? [' ', badge('pending', 'future')] : null)];
        }
        return ['inventory', fmtInstant(String(e.changedAt)), `${String(e.deviceType)} SMETS${String(e.smetsGeneration)} ${String(e.status)}, meter point ${String(e.mpxn ?? 'none')}`];
      }),
      { class: 'history' },
    ),
  );
}
