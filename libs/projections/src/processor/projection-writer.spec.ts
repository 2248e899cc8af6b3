import { getRuleSet, ledgerEventOf, type LedgerEventType } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import { UnreadableEventError } from '@ledger/event-store/errors';
import { Ledger, runDemo } from '@ledger/ledger';
import type { ProjectedEvent, Projection } from '../projections';
import { ReadModelDb } from '../read-model-db';
import { ProjectionWriter } from './projection-writer';

/** What the projections are given of each event, recorded. */
class Recorder implements Projection {
  readonly name = 'recorder';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['ServiceRequestEvaluated'] as const);
  readonly tables: string[] = [];
  readonly schema = '';
  readonly seen: ProjectedEvent[] = [];
  applyBatch(batch: readonly ProjectedEvent[]): void {
    this.seen.push(...batch);
  }
  reset(): void {}
}

describe('the projection writer reads each stored decision once, for every projection', () => {
  let store: SqliteEventStore;
  let rm: ReadModelDb;
  const events: RecordedEvent[] = [];
  beforeAll(async () => {
    store = new SqliteEventStore(':memory:');
    rm = new ReadModelDb(':memory:');
    await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 60, concurrency: 4 });
    for await (const e of store.readAll()) events.push(e);
  });
  afterAll(async () => {
    rm.close();
    await store.dispose();
  });

  it('whole, its checks decoded, their reasons not rendered and its revisionsRead not made (no projection reads them)', () => {
    const recorder = new Recorder();
    new ProjectionWriter(rm, { all: [recorder] } as never).applyBatch(events, { after: undefined });
    expect(recorder.seen.length).toBeGreaterThan(50);
    const codes = new Set<string>();
    for (const { event, recorded } of recorder.seen) {
      const whole = ledgerEventOf(recorded.stream, recorded.type, recorded.data)!;
      if (event.type !== 'ServiceRequestEvaluated' || whole.type !== 'ServiceRequestEvaluated') throw new Error('not a decision');
      expect(whole.data.checks.length).toBeGreaterThan(0);
      const { revisionsRead, reads: _reads, ...given } = event.data as typeof event.data & { reads?: unknown };
      const { revisionsRead: _all, ...rest } = whole.data;
      expect(given).toEqual({ ...rest, checks: whole.data.checks.map((c) => ({ ...c, reason: '' })) });
      expect(revisionsRead).toEqual({});
      codes.add(event.data.responseCode);
    }
    expect(codes.size).toBeGreaterThan(2); // accepted and rejected decisions of several kinds
  });

  it('a stored decision whose checks alone do not decode (a damaged record) is an unreadable event: the batch is refused, nothing of it applied', () => {
    const at = events.findIndex((e) => e.type === 'ServiceRequestEvaluated');
    const data = structuredClone(events[at].data) as { checks: unknown[] };
    data.checks[3] = ['pass', 'garbage', 'garbage'];
    const damaged = [...events.slice(0, at), { ...events[at], data }];
    const empty = new ReadModelDb(':memory:');
    try {
      const writer = new ProjectionWriter(empty, { all: [new Recorder()] } as never);
      expect(() => writer.applyBatch(damaged, { after: undefined })).toThrow(UnreadableEventError);
      expect(writer.checkpoint.get().position).toBeUndefined();
    } finally {
      empty.close();
    }
  });
});
