import { randomUUID } from 'node:crypto';
import { chainEvents, GENESIS_HASH, type AppendResult, type EventMetadata, type EventStore } from '@ledger/event-store';

/** A decision's event as the store holds it: a real ServiceRequestEvaluated (schema version 3) event's data and metadata, without its chain links. */
export interface DecisionShape {
  data: unknown;
  metadata: EventMetadata;
}

/** The first version 3 decision of `store`'s log (a demo estate's). */
export async function decisionShape(store: EventStore): Promise<DecisionShape> {
  for await (const e of store.readAll()) {
    if (e.type !== 'ServiceRequestEvaluated' || (e.data as { schemaVersion?: unknown }).schemaVersion !== 3) continue;
    const { $hash: _hash, $prevHash: _prev, ...metadata } = e.metadata;
    return { data: e.data, metadata };
  }
  throw new Error('the log holds no version 3 ServiceRequestEvaluated event');
}

/**
 * The ceilings' one durable append: one event of a decision's size and shape, with an id and a
 * stream of its own (as each decision has its own id), chained as the ledger chains it; no
 * stream read, no domain work. Resolves once the event is on disk, as any append.
 */
export function appendDecisionShaped(store: EventStore, shape: DecisionShape): Promise<AppendResult> {
  const id = randomUUID();
  const stream = `ceiling-${id}`;
  const event = { id, type: 'ServiceRequestEvaluated', data: shape.data, metadata: { ...shape.metadata, $correlationId: id, $causationId: id } };
  return store.appendToStream(stream, chainEvents(stream, 0n, GENESIS_HASH, [event]), { expectedRevision: 'no_stream' });
}
