import { getRuleSet, ledgerEventOf, type LedgerEventType } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
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
  it('without its checks (no projection reads them), and with all else as a whole decode gives it: outcome, response code, request, revisions read', async () => {
    const store = new SqliteEventStore(':memory:');
    const rm = new ReadModelDb(':memory:');
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 60, concurrency: 4 });
      const recorder = new Recorder();
      const writer = new ProjectionWriter(rm, { all: [recorder] } as never);
      const events: RecordedEvent[] = [];
      for await (const e of store.readAll()) events.push(e);
      writer.applyBatch(events);

      expect(recorder.seen.length).toBeGreaterThan(50);
      const codes = new Set<string>();
      for (const { event, recorded } of recorder.seen) {
        const whole = ledgerEventOf(recorded.stream, recorded.type, recorded.data)!;
        if (event.type !== 'ServiceRequestEvaluated' || whole.type !== 'ServiceRequestEvaluated') throw new Error('not a decision');
        expect(whole.data.checks.length).toBeGreaterThan(0);
        expect(event.data.checks).toEqual([]);
        expect(event.data).toEqual({ ...whole.data, checks: [] });
        codes.add(event.data.responseCode);
      }
      expect(codes.size).toBeGreaterThan(2); // accepted and rejected decisions of several kinds
    } finally {
      rm.close();
      await store.dispose();
    }
  });
});
