import { createHash } from 'node:crypto';
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

export interface ChainLink {
  $prevHash: string;
  $hash: string;
}

/**
 * JSON with object keys sorted at every depth, so the same content always hashes the same: what
 * `JSON.stringify(value, replacer)` gives with a replacer that sorts each object's keys, built as
 * a sorted copy that the native `JSON.stringify` then writes without calling back into JavaScript
 * for every value (a quarter less time on the ledger's decision events, measured). Only what is
 * not canonical already is copied: a plain object whose keys are in order, and an array, whose
 * members need no change, are written as they are (what was read from canonical text, and most
 * of a decision record, is copied not at all).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value, ''));
}

/**
 * `value` after its toJSON (as JSON.stringify applies it), with the keys of every object in sorted
 * order: `value` itself where nothing in it needs to change (a plain array, or a plain object with
 * its keys in order, no toJSON, and the same holds for each member), else a copy of what does.
 */
function sortedCopy(value: unknown, key: string): unknown {
  let v = value;
  if (v === null || (typeof v !== 'object' && typeof v !== 'bigint')) return v;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    v = toJSON.call(v, key);
    if (v === null || typeof v !== 'object') return v;
  }
  if (typeof v !== 'object') return v; // a bigint: JSON.stringify refuses it, as it would have
  // Kept as it is only when no toJSON was applied and it is plain (a subclass or a wrapped primitive is copied, as always).
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    let out = v === value && proto === Array.prototype ? undefined : new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const member: unknown = v[i];
      const copy = sortedCopy(member, String(i));
      if (!out && copy !== member) out = v.slice(0, i);
      if (out) out[i] = copy;
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  // '__proto__' is never kept: the copy, setting it, drops it (as canonical JSON always has).
  let inOrder = v === value && (proto === Object.prototype || proto === null);
  for (let i = 0; inOrder && i < keys.length; i++) inOrder = (i === 0 || keys[i - 1] < keys[i]) && keys[i] !== '__proto__';
  if (inOrder) {
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const member = o[keys[i]];
      const copy = sortedCopy(member, keys[i]);
      if (!out && copy !== member) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]] = o[keys[j]];
      }
      if (out) out[keys[i]] = copy;
    }
    return out ?? v;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys.sort()) out[k] = sortedCopy(o[k], k);
  return out;
}

export function eventHash(
  prevHash: string,
  event: { id: string; type: string; stream: string; revision: bigint; data: unknown; metadata: EventMetadata },
): string {
  const { $hash: _omitted, ...metadata } = event.metadata;
  return linkHash(prevHash, event, member(event.data, 'data'), member(metadata, 'metadata'));
}

/** A member's canonical JSON as `canonicalJson` writes it inside the object that holds it (toJSON gets its key), or undefined where it leaves the member out. */
function member(value: unknown, key: string): string | undefined {
  return JSON.stringify(sortedCopy(value, key));
}

/**
 * The hash of a link, from the canonical JSON of the event's data and of its metadata without
 * `$hash`: the bytes hashed are `canonicalJson({ data, id, metadata, revision, stream, type })`
 * (the members in that sorted order, one left out where JSON leaves it out), written from pieces so
 * that the data's text, the largest, is serialised once and also stored (chainEvents).
 */
function linkHash(prevHash: string, e: { id: string; type: string; stream: string; revision: bigint }, data: string | undefined, metadata: string | undefined): string {
  const members: Array<[string, string | undefined]> = [
    ['data', data],
    ['id', member(e.id, 'id')],
    ['metadata', metadata],
    ['revision', JSON.stringify(e.revision.toString())],
    ['stream', member(e.stream, 'stream')],
    ['type', member(e.type, 'type')],
  ];
  let body = '';
  for (const [key, json] of members) if (json !== undefined) body += `${body ? ',' : ''}"${key}":${json}`;
  return createHash('sha256').update(prevHash).update('\n').update(`{${body}}`).digest('hex');
}

/** The canonical JSON text of a chained event's data and metadata, as chainEvents made it (see canonicalTextOf). */
export interface CanonicalText {
  data: string;
  metadata: string;
}

/**
 * An event as chainEvents returns it: with the canonical JSON of its data and metadata, which the
 * store writes as it is (a class with a private field rather than a WeakMap from the event: the
 * WeakMap's entries cost the garbage collector a third more time in chaining, measured). A copy
 * (a spread) is a plain object and carries no text.
 */
class ChainedEvent implements NewEvent {
  readonly #text: CanonicalText;
  constructor(
    readonly id: string,
    readonly type: string,
    readonly data: unknown,
    readonly metadata: EventMetadata,
    text: CanonicalText,
  ) {
    this.#text = text;
  }

  static textOf(event: NewEvent): CanonicalText | undefined {
    return event instanceof ChainedEvent ? event.#text : undefined;
  }
}

/**
 * The canonical JSON of the data and metadata of an event chainEvents returned (the data's is the
 * text its hash covers), for the store to write as it is; undefined for any other object (a copy
 * included), which the store serialises itself.
 */
export function canonicalTextOf(event: NewEvent): CanonicalText | undefined {
  return ChainedEvent.textOf(event);
}

/**
 * Adds `$prevHash`/`$hash` to a batch about to be appended at `firstRevision` of `stream`, chained
 * to `prevHash` (the `$hash` of the event at firstRevision - 1, or GENESIS_HASH).
 */
export function chainEvents(stream: string, firstRevision: bigint, prevHash: string, events: NewEvent[]): NewEvent[] {
  let prev = prevHash;
  return events.map((e, i) => {
    const { $hash: _replaced, ...linked } = e.metadata ?? {};
    linked.$prevHash = prev;
    const data = member(e.data, 'data');
    const $hash = linkHash(prev, { id: e.id, type: e.type, stream, revision: firstRevision + BigInt(i) }, data, member(linked, 'metadata'));
    prev = $hash;
    const metadata: EventMetadata = { ...linked, $hash };
    return new ChainedEvent(e.id, e.type, e.data, metadata, { data: data ?? 'null', metadata: member(metadata, 'metadata')! });
  });
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
