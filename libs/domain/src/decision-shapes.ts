import { DomainError } from './identifiers';

/**
 * Shapes of a check's evidence in the stored form of a decision (decision-record.ts): which pieces
 * are stored, which derive, and how they are packed into and unpacked from a template's values.
 */

/** A piece of evidence held in the record. */
export const STORED = Symbol('stored');
/** A piece held in the record when present (never null when present): null in a record's values when absent. */
export const OPTIONAL = Symbol('optional');
/** An instant held in the record, whole seconds written without `.000`. */
export const INSTANT = Symbol('instant');
/** A piece derived from the pieces before it in the same object. */
export class From {
  constructor(readonly derive: (built: Record<string, unknown>) => unknown) {}
}
/** An object whose keys, in this order, have shapes of their own. */
export class Nested {
  constructor(readonly keys: Record<string, Shape>) {}
}
/** Anything else in a shape is the value itself, derived from the decision (undefined: the key is absent). */
export type Shape = typeof STORED | typeof OPTIONAL | typeof INSTANT | From | Nested | unknown;

/** Whole seconds without `.000`; decoded back to the normalised form. */
export const shortInstant = (t: string) => t.replace(/\.000Z$/, 'Z');
export const longInstant = (t: string) => {
  if (typeof t === 'string' && t.length === 20 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(t)) return `${t.slice(0, 19)}.000Z`;
  const ms = Date.parse(t);
  if (typeof t !== 'string' || Number.isNaN(ms)) throw new DomainError('ServiceRequestEvaluated', `'${String(t)}' is not an instant`);
  return new Date(ms).toISOString();
};
/**
 * A plain object of `entries` whose keys are names of no fixed set (stream names: a decision's
 * revisionsRead), its keys in the order given. V8 gives an object built with keys it has not met
 * before a hidden class of its own, which at one per device and meter point cost ~6-9 us an
 * object (more than the rest of a decision's decode); one kept as a dictionary does not. An
 * object with a property deleted that is not its last is made a dictionary, with Object's
 * prototype (~0.45-0.75 us, measured); one begun with no prototype and given Object's after
 * (~1 us) is made only where a key is `__proto__`, which on the first would set the prototype.
 */
export function byName<V>(entries: ReadonlyArray<readonly [string, V]>): Record<string, V> {
  if (entries.some(([k]) => k === '__proto__')) {
    const o: Record<string, V> = Object.create(null);
    for (const [k, v] of entries) o[k] = v;
    return Object.setPrototypeOf(o, Object.prototype);
  }
  const o: Record<string, unknown> = { dictionary: true, mode: true };
  delete o.dictionary;
  delete o.mode;
  for (const [k, v] of entries) o[k] = v;
  return o as Record<string, V>;
}
/** Whether two JSON values are the same JSON text: equal values, and object keys in the same order (a key whose value is undefined is no key). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  // The keys of each whose value is not undefined, walked side by side (no filtered copies: a decision's encode compares hundreds of objects).
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  const ka = Object.keys(oa);
  const kb = Object.keys(ob);
  for (let i = 0, j = 0; ; i++, j++) {
    while (i < ka.length && oa[ka[i]] === undefined) i++;
    while (j < kb.length && ob[kb[j]] === undefined) j++;
    if (i === ka.length || j === kb.length) return i === ka.length && j === kb.length;
    if (ka[i] !== kb[j] || !same(oa[ka[i]], ob[kb[j]])) return false;
  }
}
export const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
export const present = (keys: Record<string, Shape>) => Object.keys(keys).filter((k) => keys[k] !== undefined);

/** Pushes onto `out` the evidence's pieces that do not derive, in order; false when the evidence is not of this shape. */
export function pack(value: unknown, shape: Shape, out: unknown[], built: Record<string, unknown>, has = true): boolean {
  if (shape === STORED) return has && (out.push(value), true);
  if (shape === INSTANT) return has && typeof value === 'string' && (out.push(shortInstant(value)), true);
  if (shape === OPTIONAL) return has ? value !== null && (out.push(value), true) : (out.push(null), true);
  if (!has) return false;
  if (shape instanceof From) return same(value, shape.derive(built));
  if (shape instanceof Nested) {
    if (!isObject(value)) return false;
    // The value's keys are the shape's (those not undefined) in the shape's order, less optional ones it lacks.
    const keys = Object.keys(shape.keys);
    const own = Object.keys(value);
    let j = 0;
    for (const k of keys) {
      const s = shape.keys[k];
      if (s === undefined) continue;
      if (k in value) {
        if (own[j] !== k) return false;
        j++;
      } else if (s !== OPTIONAL) return false;
    }
    if (j !== own.length) return false;
    for (const k of keys) if (shape.keys[k] !== undefined && !pack(value[k], shape.keys[k], out, value, k in value)) return false;
    return true;
  }
  return same(value, shape);
}

export function unpack(values: unknown[], shape: Shape, at: { i: number }, built: Record<string, unknown>): unknown {
  if (shape === STORED) return values[at.i++] ?? null;
  if (shape === INSTANT) return longInstant(values[at.i++] as string);
  if (shape === OPTIONAL) return values[at.i++] ?? undefined;
  if (shape instanceof From) return shape.derive(built);
  if (shape instanceof Nested) {
    const o: Record<string, unknown> = {};
    for (const k of present(shape.keys)) {
      const v = unpack(values, shape.keys[k], at, o);
      if (v !== undefined) o[k] = v;
    }
    return o;
  }
  return copy(shape);
}

/** A derived value, copied so that no decision shares an object with another (or with the catalogue). */
export const copy = (v: unknown): unknown => (v !== null && typeof v === 'object' ? JSON.parse(JSON.stringify(v)) : v);

/** The evidence from the pieces kept as an object (those that differ from, or are missing in, the shape). */
export function merge(kept: Record<string, unknown>, shape: Record<string, Shape>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of present(shape)) {
    const s = shape[k];
    if (k in kept) o[k] = kept[k];
    else if (s !== STORED && s !== OPTIONAL && s !== INSTANT && !(s instanceof Nested)) {
      const v = s instanceof From ? s.derive(o) : copy(s);
      if (v !== undefined) o[k] = v;
    }
  }
  for (const [k, v] of Object.entries(kept)) if (!(k in o)) o[k] = v;
  return o;
}

