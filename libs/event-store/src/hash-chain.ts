import * as crypto from 'node:crypto';
import type { EventMetadata, NewEvent, RecordedEvent } from './event-store.port';

/**
 * Tamper evidence: every event the ledger writes carries, in its metadata, `$prevHash` (the hash
 * of the previous event of its stream, or GENESIS_HASH for revision 0) and `$hash`, the SHA-256 of
 * that previous hash and the event's own content (id, type, stream, revision, data, and metadata
 * other than `$hash`). Changing an event breaks its own hash; removing one breaks its successor's
 * `$prevHash` (and leaves a gap in revisions). Removing the last events of a stream is caught by
 * comparing stream heads with a digest kept by an auditor (see libs/audit).
 */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * How many of each kind of finding a verification lists (verify's breaks, unreadable events and
 * missing runs; the incremental verification's): the first, in log order; the counts are all it
 * found. A hostile edit can leave tens of thousands (every other event deleted).
 */
export const FINDINGS_LISTED = 20;

export interface ChainLink {
  $prevHash: string;
  $hash: string;
}

/**
 * JSON with object keys sorted at every depth, so the same content always hashes the same: what
 * `JSON.stringify(value, replacer)` gives with a replacer that sorts each object's keys, built as
 * a sorted copy that the native `JSON.stringify` then writes without calling back into JavaScript
 * for every value (a quarter less time on the ledger's decision events, measured).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value, ''));
}

/** `value` after its toJSON (as JSON.stringify applies it), with the keys of every object in sorted order. */
function sortedCopy(value: unknown, key: string): unknown {
  let v = value;
  if (v === null || (typeof v !== 'object' && typeof v !== 'bigint')) return v;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    v = toJSON.call(v, key);
    if (v === null || typeof v !== 'object') return v;
  }
  if (typeof v !== 'object') return v; // a bigint: JSON.stringify refuses it, as it would have
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = sortedCopy(v[i], String(i));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of sortedKeys(v)) put(out, k, sortedCopy((v as Record<string, unknown>)[k], k));
  return out;
}

/**
 * An object's keys in the order `Object.keys(o).sort()` gives (UTF-16 code units, which `<` on
 * strings compares): a few, as an event's objects have, sorted in place by insertion, since
 * Array.prototype.sort allocates a work array for every call (a twentieth of the bytes a decision
 * allocated on the main thread, measured); many, by sort().
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > k) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/**
 * Sets a key of a sorted copy. A `__proto__` key (JSON.parse makes one an own key) is defined as
 * one, not assigned: an assignment would set the copy's prototype, which JSON.stringify leaves out,
 * so a `__proto__` added to a stored event would not change its hash. The ledger never writes one
 * (its intake refuses it), so no event written by the ledger hashes differently for this.
 */
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

export function eventHash(
  prevHash: string,
  event: { id: string; type: string; stream: string; revision: bigint; data: unknown; metadata: EventMetadata },
): string {
  return sha256Hex(`${prevHash}\n${hashedBody(event)}`);
}

/**
 * SHA-256 of a string, as hex: Node's one-shot `crypto.hash` where it has one (20.12 on), which
 * makes no Hash object (a third of the time of createHash/update/digest for an event's body,
 * measured); the same digest either way.
 */
const sha256Hex: (text: string) => string = typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : sha256HexByHash;

/** SHA-256 of a string, as hex, through a Hash object: Node before 20.12 (exported for the spec that holds both the same). */
export function sha256HexByHash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/**
 * The canonical JSON of what an event's hash covers: its id, type, stream, revision, data and
 * metadata but `$hash`; built as one sorted copy (the wrapper's keys written in their sorted order),
 * which is what canonicalJson gives for it. Metadata that is not a plain object's kind (not an
 * object, or with a toJSON) takes canonicalJson's own path.
 */
function hashedBody(event: { id: string; type: string; stream: string; revision: bigint; data: unknown; metadata: EventMetadata }): string {
  const md: unknown = event.metadata;
  if (typeof md !== 'object' || md === null || 'toJSON' in md) return canonicalJson({ id: event.id, type: event.type, stream: event.stream, revision: event.revision.toString(), data: event.data, metadata: withoutHash(event.metadata) });
  const metadata: Record<string, unknown> = {};
  for (const k of sortedKeys(event.metadata)) if (k !== '$hash') put(metadata, k, sortedCopy(event.metadata[k], k));
  const revision = event.revision.toString();
  return JSON.stringify({ data: sortedCopy(event.data, 'data'), id: sortedCopy(event.id, 'id'), metadata, revision, stream: sortedCopy(event.stream, 'stream'), type: sortedCopy(event.type, 'type') });
}

function withoutHash(metadata: EventMetadata): EventMetadata {
  const { $hash: _omitted, ...rest } = metadata;
  return rest;
}

/**
 * Adds `$prevHash`/`$hash` to a batch about to be appended at `firstRevision` of `stream`, chained
 * to `prevHash` (the `$hash` of the event at firstRevision - 1, or GENESIS_HASH).
 */
export function chainEvents(stream: string, firstRevision: bigint, prevHash: string, events: NewEvent[]): NewEvent[] {
  let prev = prevHash;
  return events.map((e, i) => {
    const metadata: EventMetadata = withKeys(e.metadata ?? {}, { $prevHash: prev });
    const $hash = eventHash(prev, { id: e.id, type: e.type, stream, revision: firstRevision + BigInt(i), data: e.data, metadata });
    prev = $hash;
    return { ...e, metadata: withKeys(metadata, { $hash }) };
  });
}

/**
 * `{ ...o, ...keys }`: the same keys in the same order, made with Object.assign onto a new object
 * where the spread that gains keys costs ~2-4 us on Node 20 once optimised (~0.1 us: measured),
 * twice an event here. An object with an own `__proto__` key (metadata parsed from JSON),
 * which Object.assign would make the copy's prototype, is spread as before.
 */
function withKeys<T extends object>(o: T, keys: Record<string, unknown>): T {
  return Object.hasOwn(o, '__proto__') ? { ...o, ...keys } : Object.assign({}, o, keys);
}

/** The `$hash` of a recorded event, or undefined for an event written without a chain. */
export function hashOf(event: RecordedEvent | undefined): string | undefined {
  const h = event?.metadata.$hash;
  return typeof h === 'string' ? h : undefined;
}

export type ChainBreak =
  | { stream: string; revision: bigint; position: bigint; kind: 'hash-mismatch' | 'prev-hash-mismatch' | 'missing-hash' }
  | { stream: string; revision: bigint; position: bigint; kind: 'revision-gap'; expectedRevision: bigint };

/** Checks one stream's events, given in revision order. Returns the first broken link, or undefined. */
export function verifyLink(prev: { hash: string; revision: bigint } | undefined, event: RecordedEvent): ChainBreak | undefined {
  const expectedRevision = prev ? prev.revision + 1n : 0n;
  const at = { stream: event.stream, revision: event.revision, position: event.position };
  if (event.revision !== expectedRevision) return { ...at, kind: 'revision-gap', expectedRevision };
  const { $hash, $prevHash } = event.metadata;
  if (typeof $hash !== 'string' || typeof $prevHash !== 'string') return { ...at, kind: 'missing-hash' };
  if ($prevHash !== (prev ? prev.hash : GENESIS_HASH)) return { ...at, kind: 'prev-hash-mismatch' };
  if (eventHash($prevHash, event) !== $hash) return { ...at, kind: 'hash-mismatch' };
  return undefined;
}

/**
 * Why an event's stored text (data, metadata) is not the JSON of what it parses to: a key written
 * twice in one object (keyWrittenTwice), named by its path (`data.role`); undefined when none is.
 * What `ledger verify` and the projector's chain check (the incremental verification) both report
 * as a `stored-text-mismatch`.
 */
export function keyTwiceInStored(stored: { data: string; metadata: string }): string | undefined {
  if (!mayGiveKeyTwice(stored.data) && !mayGiveKeyTwice(stored.metadata)) return undefined;
  const data = keyWrittenTwice(stored.data);
  const twice = data !== undefined ? `data.${data}` : ((m) => (m === undefined ? undefined : `metadata.${m}`))(keyWrittenTwice(stored.metadata));
  return twice === undefined ? undefined : `its stored text gives key '${twice}' twice in one object: the text is not the JSON of what it parses to (the ledger reads the last, SQLite's json_extract the first)`;
}

/**
 * The path of the first key written twice in one object of a JSON text (`checks[2].evidence.owner`;
 * undefined for none), which the text's parse hides: JSON.parse keeps the last, SQLite's json_extract
 * reads the first, so the hash (over the content as parsed) covers one reading and an auditor's
 * `sqlite3` query shows the other. The ledger never writes a key twice. Keys are compared as
 * decoded (`"r\u006fle"` is `role`). For text that parses (the caller parsed it).
 */
export function keyWrittenTwice(text: string): string | undefined {
  // Per open object: its keys so far and its last; per array: its index. An object's keys are a list
  // searched for each new key while they are few (an event's objects have a handful: a Set for each cost a
  // third more time over a log's events, measured), and a Set past that (a hand-edited row may hold an
  // object of 100,000 keys, which a list took 13 s over). A string is skipped to its closing quote by
  // indexOf (most of an event's text is in its strings' values).
  const open: Array<OpenObject | { index: number }> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      i = text.indexOf('"', i + 1);
      while (i > 0 && escapedAt(text, i)) i = text.indexOf('"', i + 1);
      if (i < 0) return undefined;
      if (!expectKey) continue;
      expectKey = false;
      const key = keyAt(text, start, i);
      const object = open[open.length - 1] as OpenObject;
      if (object.many ? object.many.has(key) : object.keys.includes(key)) return pathOf(open, key);
      if (object.many) object.many.add(key);
      else if (object.keys.push(key) > FEW_KEYS) object.many = new Set(object.keys);
      object.last = key;
    } else if (c === 0x7b) {
      open.push({ keys: [], many: undefined, last: '' });
      expectKey = true;
    } else if (c === 0x5b) {
      open.push({ index: 0 });
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const container = open[open.length - 1];
      if (!container) return undefined;
      if ('keys' in container) expectKey = true;
      else container.index++;
    }
  }
  return undefined;
}

/**
 * keyWrittenTwice's exact pre-test, which makes no string nor object (the projector's chain check
 * scans every event it projects: the keys keyWrittenTwice slices out were garbage enough to cost a
 * catch-up ~5% more CPU, measured): false when no object of the text gives a key twice; true when
 * one does, or when it cannot tell cheaply (a key with an escape, an object of more than FEW_KEYS
 * keys), for keyWrittenTwice to say. Keys are compared as written, each against those before it
 * in its object; the keys of the open objects are kept as [start, end) pairs in KEYS.
 */
function mayGiveKeyTwice(text: string): boolean {
  let depth = 0; // open containers
  let keys = 0; // pairs in KEYS
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i + 1;
      i = text.indexOf('"', start);
      while (i > 0 && escapedAt(text, i)) i = text.indexOf('"', i + 1);
      if (i < 0) return true;
      if (!expectKey) continue;
      expectKey = false;
      const first = OBJECT_START[depth - 1];
      if (keys - first >= FEW_KEYS * 2 || keys + 2 > KEYS.length) return true;
      for (let k = first; k < keys; k += 2) if (sameText(text, KEYS[k], KEYS[k + 1], start, i)) return true;
      for (let j = start; j < i; j++) if (text.charCodeAt(j) === 0x5c) return true;
      KEYS[keys++] = start;
      KEYS[keys++] = i;
    } else if (c === 0x7b || c === 0x5b) {
      if (depth === OBJECT_START.length) return true;
      IS_OBJECT[depth] = c === 0x7b ? 1 : 0;
      OBJECT_START[depth++] = keys;
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return true;
      keys = OBJECT_START[--depth];
      expectKey = false;
    } else if (c === 0x2c) {
      if (depth === 0) return true;
      expectKey = IS_OBJECT[depth - 1] === 1;
    }
  }
  return false;
}
/** An object open in keyWrittenTwice's scan: its keys (a list; a Set too once there are more than FEW_KEYS), and its last. */
interface OpenObject {
  keys: string[];
  many: Set<string> | undefined;
  last: string;
}
const FEW_KEYS = 16;
/** mayGiveKeyTwice's memory, made once: per open container (up to 64 deep), where its keys start in KEYS and whether it is an object. */
const OBJECT_START = new Int32Array(64);
const IS_OBJECT = new Uint8Array(64);
const KEYS = new Int32Array(64 * FEW_KEYS * 2);

/** Whether text[a, aEnd) and text[b, bEnd) are the same characters. */
function sameText(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let k = 0; k < aEnd - a; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escapedAt(text: string, at: number): boolean {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === 0x5c) n++;
  return n % 2 === 1;
}

/** The key whose quotes stand at `start` and `end`, decoded (`"r\u006fle"` is `role`). */
function keyAt(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end + 1)) as string) : raw;
}

/** The path of `key` in the innermost open object: each enclosing container's current key or index. */
function pathOf(open: Array<OpenObject | { index: number }>, key: string): string {
  let path = '';
  for (let j = 0; j < open.length - 1; j++) {
    const container = open[j];
    path += 'index' in container ? `[${container.index}]` : `${path ? '.' : ''}${container.last}`;
  }
  return path ? `${path}.${key}` : key;
}
