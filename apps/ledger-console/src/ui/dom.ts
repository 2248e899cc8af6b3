/** A few DOM helpers: elements from a tag, attributes and children; no framework. */

export type Child = Node | string | number | null | undefined | false | Child[];
type Attr = string | number | boolean | null | undefined | ((e: Event) => void);
export type Attrs = Record<string, Attr>;

function apply(el: Element, attrs: Attrs | null | undefined, children: Child[]): void {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
}

export function append(el: Node, children: Child[]): void {
  for (const c of children.flat(Infinity as 1) as Child[]) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : (c as Node));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs, children);
  return el;
}

export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  apply(el, attrs, children);
  return el;
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A link inside the console (hash routes). */
export function link(route: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href: `#/${route}` }, ...children);
}

export function badge(text: string, kind: string): HTMLSpanElement {
  return h('span', { class: `badge ${kind}` }, text);
}

export function outcomeBadge(outcome: string, code: string): HTMLSpanElement {
  return badge(`${outcome} ${code}`, code === 'I99' ? 'future' : outcome === 'accepted' ? 'ok' : 'bad');
}

/** A table from a header and rows of cells. */
export function table(caption: string | null, header: Child[], rows: Child[][], attrs?: Attrs): HTMLTableElement {
  return h(
    'table',
    attrs ?? null,
    caption ? h('caption', null, caption) : null,
    h('thead', null, h('tr', null, header.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
  );
}

/** A definition list of key/value rows. */
export function dl(rows: Array<[string, Child]>): HTMLDListElement {
  return h('dl', null, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function fmtInstant(t: string | null | undefined): string {
  if (!t) return '';
  return t.replace('T', ' ').replace(/\.000Z$|Z$/, ' UTC').replace(/\.(\d{3})Z$/, '.$1 UTC');
}

export function field(label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', null, label), input, hint ? h('small', null, hint) : null);
}

export function select(name: string, options: Array<[string, string]>, value: string): HTMLSelectElement {
  return h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}
