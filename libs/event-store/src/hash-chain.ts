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
  for (const k of Object.keys(v).sort()) out[k] = sortedCopy((v as Record<string, unknown>)[k], k);
  return out;
}

export function eventHash(
  prevHash: string,
  event: { id: string; type: string; stream: string; revision: bigint; data: unknown; metadata: EventMetadata },
): string {
  const { $hash: _omitted, ...metadata } = event.metadata;
  const body = canonicalJson({
    id: event.id,
    type: event.type,
    stream: event.stream,
    revision: event.revision.toString(),
    data: event.data,
    metadata,
  });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/**
 * Adds `$prevHash`/`$hash` to a batch about to be appended at `firstRevision` of `stream`, chained
 * to `prevHash` (the `$hash` of the event at firstRevision - 1, or GENESIS_HASH).
 */
export function chainEvents(stream: string, firstRevision: bigint, prevHash: string, events: NewEvent[]): NewEvent[] {
  let prev = prevHash;
  return events.map((e, i) => {
    const metadata: EventMetadata = { ...(e.metadata ?? {}), $prevHash: prev };
    const $hash = eventHash(prev, { ...e, stream, revision: firstRevision + BigInt(i), metadata });
    prev = $hash;
    return { ...e, metadata: { ...metadata, $hash } };
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

/**
 * eventHash computed over the event's stored JSON text (RecordedEvent.dataText and metadataText)
 * instead of over a sorted copy of its parsed data and metadata: the body is put together from
 * that text as canonicalJson puts it together from the parsed event, so the hash is the same
 * when the stored text is canonical JSON. A `$hash` the ledger wrote (over canonical JSON) is
 * matched by this hash only if it is by eventHash's (but for a SHA-256 collision); a `$hash`
 * rewritten by a forger is no more caught by one than by the other (the next link or a digest
 * catches that). Undefined for an event read without its text.
 */
export function storedTextHash(prevHash: string, event: RecordedEvent): string | undefined {
  const { dataText, metadataText } = event;
  if (dataText === undefined || metadataText === undefined || typeof event.metadata.$hash !== 'string') return undefined;
  // The metadata text less its "$hash" member (and one comma beside it).
  const member = `"$hash":${JSON.stringify(event.metadata.$hash)}`;
  const at = metadataText.indexOf(member);
  if (at < 0) return undefined;
  const end = at + member.length;
  const metadata =
    metadataText[at - 1] === ','
      ? metadataText.slice(0, at - 1) + metadataText.slice(end)
      : metadataText.slice(0, at) + metadataText.slice(metadataText[end] === ',' ? end + 1 : end);
  const body = `{"data":${dataText},"id":${JSON.stringify(event.id)},"metadata":${metadata},"revision":"${event.revision}","stream":${JSON.stringify(event.stream)},"type":${JSON.stringify(event.type)}}`;
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/** Whether an event's `$hash` is the hash of its `$prevHash` and content. */
export type OwnHashCheck = (event: RecordedEvent, prevHash: string, hash: string) => boolean;

const canonicalCheck: OwnHashCheck = (event, prevHash, hash) => eventHash(prevHash, event) === hash;

/**
 * An OwnHashCheck for a walk over events read with their text (a rebuild of the read models):
 * it hashes the stored text (storedTextHash), which saves the sorted copy and its serialisation
 * when the store wrote canonical text, and on a miss hashes the parsed event as eventHash does,
 * which decides. Events written as other text (by earlier versions) miss, so after a miss it
 * hashes the parsed event first and tries the text again only every `probeEvery` events.
 * Either order gives the same answer.
 */
export function storedTextFirst(probeEvery = 64): OwnHashCheck {
  let textFirst = true;
  let sinceProbe = 0;
  return (event, prevHash, hash) => {
    if (event.dataText !== undefined && (textFirst || ++sinceProbe >= probeEvery)) {
      sinceProbe = 0;
      textFirst = storedTextHash(prevHash, event) === hash;
      if (textFirst) return true;
    }
    return canonicalCheck(event, prevHash, hash);
  };
}

/**
 * Checks one stream's events, given in revision order. Returns the first broken link, or undefined.
 * `ownHash` checks the event's own hash (by default over its canonical JSON).
 */
export function verifyLink(prev: { hash: string; revision: bigint } | undefined, event: RecordedEvent, ownHash: OwnHashCheck = canonicalCheck): ChainBreak | undefined {
  const expectedRevision = prev ? prev.revision + 1n : 0n;
  const at = { stream: event.stream, revision: event.revision, position: event.position };
  if (event.revision !== expectedRevision) return { ...at, kind: 'revision-gap', expectedRevision };
  const { $hash, $prevHash } = event.metadata;
  if (typeof $hash !== 'string' || typeof $prevHash !== 'string') return { ...at, kind: 'missing-hash' };
  if ($prevHash !== (prev ? prev.hash : GENESIS_HASH)) return { ...at, kind: 'prev-hash-mismatch' };
  if (!ownHash(event, $prevHash, $hash)) return { ...at, kind: 'hash-mismatch' };
  return undefined;
}
