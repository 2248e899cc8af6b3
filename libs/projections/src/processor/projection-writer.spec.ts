import { getRuleSet, ledgerEventOf, type LedgerEventType } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { BatchStates, createProjections, type ProjectedEvent, type Projection } from '../projections';
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
      const writer = new ProjectionWriter(rm, { all: [recorder], batchStates: new BatchStates() } as never);
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

/** Fails the batch it is given while `armed` (placed after the device and meter-point projections). */
class Failing implements Projection {
  readonly name = 'failing';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['DeviceInventoryChanged', 'CertificatePlaced', 'RegistrationChanged'] as const);
  readonly tables: string[] = [];
  readonly schema = '';
  armed = false;
  applyBatch(): void {
    if (this.armed) throw new Error('the batch fails');
  }
  reset(): void {}
}

describe('the states a batch folded are held for that batch only', () => {
  it('a rolled-back batch leaves none of them: the same events applied again give the read models of a writer that never failed', async () => {
    const store = new SqliteEventStore(':memory:');
    const failed = new ReadModelDb(':memory:');
    const clean = new ReadModelDb(':memory:');
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 60, concurrency: 4 });
      const events: RecordedEvent[] = [];
      for await (const e of store.readAll()) events.push(e);
      const failing = new Failing();
      const projections = createProjections(failed);
      const writer = new ProjectionWriter(failed, { ...projections, all: [projections.users, projections.devices, projections.meterPoints, failing, ...projections.all.slice(3)] });
      const half = events.length >> 1;

      writer.applyBatch(events.slice(0, half));
      failing.armed = true;
      expect(() => writer.applyBatch(events.slice(half))).toThrow('the batch fails');
      expect(projections.batchStates.devices.size + projections.batchStates.meterPoints.size).toBe(0);
      failing.armed = false;
      writer.applyBatch(events.slice(half));

      const reference = new ProjectionWriter(clean, createProjections(clean));
      reference.applyBatch(events.slice(0, half));
      reference.applyBatch(events.slice(half));
      const dump = writer.dump();
      expect(dump.stuck_status.length).toBeGreaterThan(0);
      expect((dump.devices as Array<{ state: string }>).some((d) => JSON.parse(d.state).placements?.length)).toBe(true);
      expect(dump).toEqual(reference.dump());
    } finally {
      failed.close();
      clean.close();
      await store.dispose();
    }
  });
});
