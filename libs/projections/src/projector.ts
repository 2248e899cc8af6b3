import type { EventStore, RecordedEvent, Subscription } from '@ledger/event-store';
import type { ReadModels } from './read-models';

export interface ProjectorOptions {
  /** Events per transaction during a catch-up or rebuild. */
  batchSize?: number;
  /** How long to wait before resubscribing after the store dropped the subscription (ms). */
  retryDelayMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * Follows the store from the read models' checkpoint and applies what it sees. Events that arrive
 * together are applied in one transaction (a batch per turn of the event loop, at most
 * `batchSize`). A dropped subscription is resumed from the checkpoint after `retryDelayMs`.
 */
export class Projector {
  private subscription: Subscription | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private waiters: Array<{ position: bigint; resolve: () => void }> = [];
  private readonly batchSize: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly store: EventStore,
    readonly readModels: ReadModels,
    private readonly options: ProjectorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** Catches up to the head of the store, then keeps following it. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.subscription?.unsubscribe();
    await this.loop;
    this.loop = undefined;
  }

  /** The position of the last event applied. */
  get position(): bigint | undefined {
    return this.readModels.checkpoint().position;
  }

  /** Resolves once the read models include `position` (or after `timeoutMs`, answering false). */
  async waitFor(position: bigint, timeoutMs = 5000): Promise<boolean> {
    const current = this.position;
    if (current !== undefined && current >= position) return true;
    return new Promise<boolean>((resolve) => {
      const waiter = { position, resolve: () => (clearTimeout(timer), resolve(true)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Applies everything after the checkpoint, in batches; returns the number of events applied. */
  async catchUp(onProgress?: (applied: number) => void): Promise<number> {
    let applied = 0;
    for (;;) {
      const from = this.position;
      const batch: RecordedEvent[] = [];
      for await (const e of this.store.readAll({ fromPosition: from ?? 'start', maxCount: this.batchSize + 1 })) {
        if (from !== undefined && e.position <= from) continue; // readAll is inclusive of its start
        batch.push(e);
        if (batch.length >= this.batchSize) break;
      }
      if (batch.length === 0) return applied;
      this.readModels.applyBatch(batch);
      applied += batch.length;
      onProgress?.(applied);
      this.release();
      // Reading SQLite settles in microtasks only: yield a turn of the event loop between batches,
      // so that timers (a caller's deadline, Jest's timeouts) can fire during a long catch-up.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Drops the read models and builds them again from the start of the store. */
  async rebuild(onProgress?: (applied: number) => void): Promise<number> {
    const wasRunning = this.running;
    await this.stop();
    const n = await this.readModels.bulk(() => {
      this.readModels.reset();
      return this.catchUp(onProgress);
    });
    if (wasRunning) this.start();
    return n;
  }

  private async follow(): Promise<void> {
    while (this.running) {
      try {
        await this.catchUp();
        const sub = this.store.subscribeToAll({ fromPosition: this.position ?? 'start' });
        this.subscription = sub;
        if (!this.running) await sub.unsubscribe();
        let pending: RecordedEvent[] = [];
        let scheduled = false;
        const flush = () => {
          const batch = pending;
          pending = [];
          this.readModels.applyBatch(batch);
          this.release();
        };
        for await (const e of sub) {
          pending.push(e);
          if (pending.length >= this.batchSize) flush();
          else if (!scheduled) {
            // Events delivered in the same turn of the event loop go into one transaction.
            scheduled = true;
            setImmediate(() => {
              scheduled = false;
              if (pending.length) flush();
            });
          }
        }
        if (pending.length) flush();
      } catch (err) {
        this.options.onError?.(err);
        if (this.running) await new Promise((r) => setTimeout(r, this.retryDelayMs));
      }
    }
  }

  private release(): void {
    const at = this.position;
    if (at === undefined) return;
    const ready = this.waiters.filter((w) => w.position <= at);
    this.waiters = this.waiters.filter((w) => w.position > at);
    for (const w of ready) w.resolve();
  }
}
