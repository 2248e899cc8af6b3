/** SVG drawing: timelines of bands on one time axis, and bar charts. What to draw comes from ../view. */
import { partyColour, scale, ticks, timeSpan, type Band, type Interval } from '../view/timeline.js';
import { h, s } from './dom.js';

export type TimelineRow =
  | { label: string; kind: 'bands'; bands: Band[]; sub?: boolean }
  | { label: string; kind: 'intervals'; intervals: Interval[]; cls: string }
  | { label: string; kind: 'marks'; marks: Array<{ at: string; colour: string; href: string; title: string }> }
  | { label: string; kind: 'heading' };

const WIDTH = 1120;
const LABEL = 230;
const ROW = 24;
const AXIS = 28;

/** Every instant the rows mention, for the span of the axis. */
function instantsOf(rows: TimelineRow[]): string[] {
  return rows.flatMap((r) =>
    r.kind === 'bands' ? r.bands.flatMap((b) => [b.start, ...(b.end ? [b.end] : [])]) : r.kind === 'intervals' ? r.intervals.map((i) => i.start) : r.kind === 'marks' ? r.marks.map((m) => m.at) : [],
  );
}

export function timelineSvg(title: string, rows: TimelineRow[], now: string, extra: Array<{ at: string; label: string; cls: string }> = []): SVGSVGElement {
  const span = timeSpan([...instantsOf(rows), ...extra.map((e) => e.at)], now);
  const x = scale(span, LABEL, WIDTH - 10);
  const height = AXIS + rows.length * ROW + 8;
  const svg = s('svg', { class: 'timeline', viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, role: 'img', 'aria-label': title });
  svg.append(s('title', null, title));
  for (const t of ticks(span)) {
    svg.append(s('line', { x1: x(t.at), x2: x(t.at), y1: AXIS - 6, y2: height, class: 'tick' }));
    if (x(t.at) + 8 * t.label.length < WIDTH) svg.append(s('text', { x: x(t.at) + 3, y: AXIS - 10, class: 'tick-label' }, t.label));
  }
  rows.forEach((r, i) => {
    const y = AXIS + i * ROW;
    svg.append(s('text', { x: r.kind === 'bands' && r.sub ? 18 : 4, y: y + ROW / 2 + 4, class: r.kind === 'heading' ? 'row-heading' : 'row-label' }, r.label));
    if (r.kind === 'heading') return;
    svg.append(s('line', { x1: LABEL, x2: WIDTH - 10, y1: y + ROW - 1, y2: y + ROW - 1, class: 'row-rule' }));
    if (r.kind === 'bands') {
      for (const b of r.bands) {
        const x0 = x(b.start);
        const w = Math.max(x(b.end) - x0, 2);
        const g = s('g', { class: b.pending ? 'band pending' : 'band' });
        const rect = s('rect', { x: x0, y: y + 3, width: w, height: ROW - 7, rx: 3, fill: partyColour(b.party) });
        g.append(rect, s('title', null, `${b.pending ? 'PENDING (future-dated): ' : ''}${b.detail}`));
        if (w > 90) g.append(s('text', { x: x0 + 4, y: y + ROW / 2 + 3, class: 'band-label' }, b.pending ? `pending: ${b.party}` : b.party));
        svg.append(g);
      }
    } else if (r.kind === 'intervals') {
      for (const iv of r.intervals) {
        const x0 = x(iv.start);
        svg.append(s('g', { class: `interval ${r.cls}` }, s('rect', { x: x0, y: y + 6, width: Math.max(x(iv.end) - x0, 2), height: ROW - 13 }), s('title', null, `${iv.detail} (from ${iv.start}${iv.end ? ` to ${iv.end}` : ''})`)));
      }
    } else {
      for (const m of r.marks) {
        const cx = x(m.at);
        svg.append(
          s('a', { href: m.href, class: 'mark', 'aria-label': m.title }, s('title', null, m.title), s('circle', { cx, cy: y + ROW / 2, r: 6, fill: m.colour })),
        );
      }
    }
  });
  const nowX = x(now);
  svg.append(s('line', { x1: nowX, x2: nowX, y1: AXIS - 4, y2: height, class: 'now' }), s('text', { x: nowX - 24, y: 10, class: 'now-label' }, 'now'));
  for (const e of extra) {
    const ex = x(e.at);
    svg.append(s('line', { x1: ex, x2: ex, y1: AXIS - 4, y2: height, class: e.cls }), s('text', { x: ex + 3, y: 10, class: `${e.cls}-label` }, e.label));
  }
  return svg;
}

/** A horizontal bar chart of labelled counts, one group per heading. */
export function barChart(title: string, groups: Array<{ heading: string; bars: Array<{ label: string; value: number; cls?: string }> }>): SVGSVGElement {
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const rows = groups.reduce((n, g) => n + 1 + Math.max(g.bars.length, 1), 0);
  const height = rows * 22 + 6;
  const svg = s('svg', { class: 'bars', viewBox: `0 0 760 ${height}`, width: 760, height, role: 'img', 'aria-label': title });
  svg.append(s('title', null, title));
  let y = 2;
  for (const g of groups) {
    svg.append(s('text', { x: 0, y: y + 15, class: 'row-heading' }, g.heading));
    y += 22;
    if (g.bars.length === 0) {
      svg.append(s('text', { x: 16, y: y + 15, class: 'row-label' }, 'none'));
      y += 22;
    }
    for (const b of g.bars) {
      const w = (b.value / max) * 440;
      svg.append(
        s('text', { x: 16, y: y + 15, class: 'row-label' }, b.label),
        s('rect', { x: 250, y: y + 3, width: Math.max(w, b.value > 0 ? 2 : 0), height: 16, class: `bar ${b.cls ?? ''}` }),
        s('text', { x: 256 + w, y: y + 15, class: 'bar-value' }, String(b.value)),
      );
      y += 22;
    }
  }
  return svg;
}

export function legend(items: Array<[string, string]>): HTMLElement {
  return h('ul', { class: 'legend' }, items.map(([cls, text]) => h('li', null, h('span', { class: `swatch ${cls}` }), text)));
}
