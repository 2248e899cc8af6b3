import type { EventStore, RecordedEvent, Subscription } from '@ledger/event-store';
import { LogRewrittenError, StoreUnavailableError, UnreadableEventError } from '@ledger/event-store/errors'; // not the index: a rebuild's worker loads this (see rebuild-into.ts)
import { pagesOf } from '@ledger/event-store/sqlite-event-store';
import type { CheckpointValue } from './checkpoint';
import { CheckpointMovedBackError, type ProjectionWriter } from './projection-writer';
import { LIVE_LOCK_WAIT_MS, ReadModelsGoneError, ReadModelsNotFollowedError } from '../read-model-db';

export { LIVE_LOCK_WAIT_MS } from '../read-model-db';

export interface ProjectorOptions {
  /** Events per transaction during a catch-up or rebuild. */
  batchSize?: number;
  /** How long to wait before resubscribing after the store dropped the subscription (ms). */
  retryDelayMs?: number;
  /** How often a live projector looks whether another process moved the read models' checkpoint back (ms): see follow. */
  checkpointWatchMs?: number;
  onError?: (err: unknown) => void;
  /** Another process put another file at the read models' path (its rebuild job's swap): this one reopened it, its projector going on from that file's checkpoint. */
  onReplaced?: (file: string, checkpoint: bigint | undefined) => void;
}

/** Where and why the projector stopped: a stored event it cannot read (its stream and revision), or read models this store's log did not make (ReadModelsNotOfStoreError: at their checkpoint). */
export interface ProjectorHalt {
  position: string;
  stream?: string;
  revision?: string;
  reason: string;
}

/** When this process last found its read-model file replaced by another process's (a rebuild job's swap) and reopened it, and the checkpoint of the file it opened. */
export interface ProjectorReplaced {
  at: string;
  checkpoint: string | null;
}

/** Failed attempts in a row before the projector counts as failing (`failing`, /health's projector-failing). */
export const FAILING_AFTER_ATTEMPTS = 2;

/** A projector whose attempts fail (it retries every retryDelayMs): since when, the last one's reason, and which part of it failed. */
export interface ProjectorFailing {
  since: string;
  reason: string;
  /** `catch-up`: reading the log from the checkpoint and applying it; `subscription`: following it live once caught up (its look at the checkpoint included). */
  during: 'catch-up' | 'subscription';
}

/**
 * The read models were projected from a log this store does not hold: the store has no event, or
 * another one, at their checkpoint (a store restored from an older backup beside newer read
 * models, or read models of another store). Projecting on would apply new events on top of
 * another log's, or none at all (those at positions up to the checkpoint): a halt until a rebuild.
 */
export class ReadModelsNotOfStoreError extends Error {
  override readonly name = 'ReadModelsNotOfStoreError';
  constructor(
    readonly checkpoint: bigint,
    readonly applied: string | undefined,
    readonly held: RecordedEvent | undefined,
    readonly head: bigint | undefined,
  ) {
    // The head as it was when checked: a halt keeps this message while appends move the head on (until
    // 2026-11-28, twentieth session, it said "past the head of the store (position N)" after the head had passed N).
    const there = !held || held.position !== checkpoint ? (head === undefined || head < checkpoint ? `past the head of the store when checked (${head === undefined ? 'the store was empty' : `position ${head}`})` : 'where the store holds no event') : `where they applied event ${applied} and the store holds event ${held.id}`;
    super(`the read models were projected through position ${checkpoint}, ${there}: they were made from another log (a store restored from an older backup?); rebuild the read models (ledger rebuild, or POST /admin/rebuild)`);
    this.there = there;
  }

  /** Where the checkpoint stands against the store, as the message says it. */
  readonly there: string;
}

/** The live projector reopened its read-model file, which another process replaced (followReplaced): the loop goes on from a catch-up. */
class ReadModelsReopenedError extends Error {
  override readonly name = 'ReadModelsReopenedError';
}

/** What a rebuild says of the read models it replaced when they were not of the store's log: a rebuild clears the only trace of the log's end cut (the halt). */
export interface ReplacedNotOfStore {
  /** The position the replaced read models were projected through, and the event they applied there (null when not kept). */
  checkpoint: string;
  applied: string | null;
  /** The store's head, and the event it holds at the checkpoint (null: none there). */
  storeHead: string | null;
  storeEvent: string | null;
  warning: string;
}

export function replacedNotOfStore(err: ReadModelsNotOfStoreError): ReplacedNotOfStore {
  return {
    checkpoint: err.checkpoint.toString(),
    applied: err.applied ?? null,
    storeHead: err.head?.toString() ?? null,
    storeEvent: err.held?.position === err.checkpoint ? err.held.id : null,
    warning: `the read models this rebuild replaced were projected through position ${err.checkpoint}, ${err.there}: the log was cut or rewritten since they were projected, or the store restored from an older backup`,
  };
}

/**
 * The processor's loop: follows the store from the read models' checkpoint and hands what it sees
 * to the ProjectionWriter, which applies each batch and moves the checkpoint in one transaction.
 * Events that arrive together are one batch (a batch per turn of the event loop, at most
 * `batchSize`). A dropped subscription is resumed from the checkpoint after `retryDelayMs`.
 * An event it cannot read (unknown type or schema version, broken JSON) halts it: everything
 * before that event is applied, the checkpoint stays just before it, nothing after it is applied,
 * and `halted` says where and why. It never skips an event.
 */
export class Projector {
  private subscription: Subscription | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private waiters: Array<{ position: bigint; resolve: () => void; fail: () => void }> = [];
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly checkpointWatchMs: number;
  private haltedAt: ProjectorHalt | undefined;
  /**
   * Since when, and why, the projector's attempts have failed, and how many in a row (it retries: the
   * read models cannot be written, say, on a full disk); cleared once the part that failed last
   * succeeds (recovered): a catch-up's success does not clear the subscription's failure, or a
   * subscription failing every time, each catch-up between succeeding, would never count as failing.
   */
  private failingSince: (ProjectorFailing & { attempts: number }) | undefined;
  /** The halt is a ReadModelsNotOfStoreError's, which a rebuild clears: this process's (rebuild, or a job's file put in place and start), or another's that rewrites the checkpoint (see follow). */
  private haltedOnCheckpoint = false;
  /** The checkpoint as it was when the projector halted on it. */
  private haltedCheckpoint: CheckpointValue | undefined;
  private replacedAt: ProjectorReplaced | undefined;
  /** Ends the loop's current pause at once (stop). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: EventStore,
    readonly writer: ProjectionWriter,
    private readonly options: ProjectorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.checkpointWatchMs = options.checkpointWatchMs ?? 1000;
  }

  /** Catches up to the head of the store, then keeps following it. */
  start(): void {
    if (this.running) return;
    if (this.haltedOnCheckpoint) this.haltedAt = undefined;
    this.haltedOnCheckpoint = false;
    this.running = true;
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.subscription?.unsubscribe();
    await this.loop;
    this.loop = undefined;
  }

  /** The position of the last event applied, read from the file (another process may keep it too: see ProjectionWriter). */
  get position(): bigint | undefined {
    return this.writer.checkpoint.fresh().position;
  }

  /** Set when an unreadable event stopped the projector. */
  get halted(): ProjectorHalt | undefined {
    return this.haltedAt;
  }

  /** While its attempts fail and it retries (not halted): since when, and the last attempt's reason. */
  get failing(): ProjectorFailing | undefined {
    // A single failed attempt (an SQLITE_BUSY beside a rebuild, say) is retried within a second: not yet a failing projector, which takes an instance out of a balancer.
    if (!this.failingSince || this.failingSince.attempts < FAILING_AFTER_ATTEMPTS) return undefined;
    return { since: this.failingSince.since, reason: this.failingSince.reason, during: this.failingSince.during };
  }

  /** When this process last found its read-model file replaced by another's, and reopened it (see followReplaced, reopenOnSwap). */
  get replaced(): ProjectorReplaced | undefined {
    return this.replacedAt;
  }

  /** `part` succeeded: a failure it made last is over (see failingSince). */
  private recovered(part: ProjectorFailing['during']): void {
    if (this.failingSince?.during === part) this.failingSince = undefined;
  }

  /**
   * Resolves once the read models include `position` (or after `timeoutMs`, or at once when halted
   * before it, answering false). A checkpoint at or past `position` answers true only while the
   * store still holds the checkpoint's event at its position (heldAtCheckpoint): a log rewritten
   * under the running projector leaves the checkpoint past writes it never projected.
   */
  async waitFor(position: bigint, timeoutMs = 5000): Promise<boolean> {
    if (this.haltedOnCheckpoint) return false; // the checkpoint is another log's: no position of this one is projected
    const current = this.writer.checkpoint.get(); // as last read (every reply asks): a batch of this process's reads it again, and release() follows
    if (current.position !== undefined && current.position >= position) return this.heldAtCheckpoint(current.position, current.event);
    if (this.haltedAt && BigInt(this.haltedAt.position) <= position) return false;
    return new Promise<boolean>((resolve) => {
      const waiter = { position, resolve: () => (clearTimeout(timer), resolve(true)), fail: () => (clearTimeout(timer), resolve(false)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Whether the store (SQLite: eventIdAt) holds the checkpoint's event at its position (by position
   * only when its id is not kept): one lookup by position. When it does not, the log was rewritten
   * under the read models (rows removed, others written at their positions): the subscription's
   * look ends it at its next read, and the catch-up that follows halts the projector, a turn or more
   * after this answer. A miss is looked at again in a new read snapshot (the next turn), which
   * another process's append, projected since this turn's snapshot began, may postdate.
   */
  private async heldAtCheckpoint(position: bigint, event: string | undefined): Promise<boolean> {
    if (!this.store.eventIdAt) return true; // EventStoreDB: its log is not rewritten under a running server
    for (let look = 1; ; look++) {
      let held: string | undefined;
      try {
        held = this.store.eventIdAt(position);
      } catch (err) {
        if (err instanceof StoreUnavailableError) return false; // closed (shutting down): not known to be projected
        throw err;
      }
      if (held !== undefined && (event === undefined || held === event)) return true;
      if (look === 2) return false;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Applies everything after the checkpoint, in batches; returns the number of events applied. */
  async catchUp(onProgress?: (applied: number) => void): Promise<number> {
    await this.checkCheckpoint();
    let applied = 0;
    for (;;) {
      const from = this.position;
      const batch: RecordedEvent[] = [];
      try {
        // A page of events at a time (SQLite's rows as arrays, one await a page), not one by one; each with what a check of its stored text found, which the chain check records (not the text: see ReadAllOptions.stored).
        reading: for await (const page of pagesOf(this.store, { fromPosition: from ?? 'start', maxCount: this.batchSize + 1, stored: 'checked' })) {
          for (const e of page) {
            if (from !== undefined && e.position <= from) continue; // readAll is inclusive of its start
            batch.push(e);
            if (batch.length >= this.batchSize) break reading;
          }
        }
      } catch (err) {
        if (err instanceof UnreadableEventError) {
          try {
            this.apply(batch, from); // what came before it
          } catch (moved) {
            if (moved instanceof CheckpointMovedBackError) continue; // another process rebuilds them: read again from the checkpoint
            throw moved;
          }
        }
        throw this.haltOn(err);
      }
      if (batch.length === 0) return applied;
      try {
        this.apply(batch, from);
      } catch (err) {
        if (err instanceof CheckpointMovedBackError) continue; // another process rebuilds them: read again from the checkpoint
        throw err;
      }
      this.recovered('catch-up');
      applied += batch.length;
      onProgress?.(applied);
      // Reading SQLite settles in microtasks only: yield a turn of the event loop between batches,
      // so that timers (a caller's deadline, Jest's timeouts) can fire during a long catch-up.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Halts unless the store holds, at the read models' checkpoint, the event they applied there (ReadModelsNotOfStoreError). */
  private async checkCheckpoint(): Promise<void> {
    const found = await this.checkpointNotInStore();
    if (!found) return;
    if (!this.haltedAt) this.haltedCheckpoint = found.checkpoint;
    throw this.haltOn(found.err);
  }

  /**
   * Whether the read models were projected through a position past the store's head, or hold at
   * their checkpoint another event than the store holds there (the log cut or rewritten since, or
   * the store restored from an older backup): what a rebuild that replaces them says (it clears
   * the only trace of it). Undefined when the store holds their checkpoint's event.
   */
  async notOfStore(): Promise<ReadModelsNotOfStoreError | undefined> {
    return (await this.checkpointNotInStore())?.err;
  }

  private async checkpointNotInStore(): Promise<{ err: ReadModelsNotOfStoreError; checkpoint: CheckpointValue } | undefined> {
    for (let look = 1; ; look++) {
      const checkpoint = this.writer.checkpoint.fresh();
      const { position, event } = checkpoint;
      if (position === undefined) return undefined;
      let held: RecordedEvent | undefined;
      try {
        for await (const e of this.store.readAll({ fromPosition: position, maxCount: 1, metadata: false })) {
          held = e;
          break;
        }
      } catch (err) {
        if (err instanceof UnreadableEventError && err.position === position) return undefined; // there, but edited since it was applied: verify's finding, not this check's
        throw err;
      }
      if (held?.position === position && (event === undefined || held.id === event)) return undefined;
      // A SQLite store's reads of a turn share a snapshot, which may have begun before another process
      // appended the events this checkpoint (read afresh) stands at and projected them: look again in a new one.
      if (look === 1) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      return { err: new ReadModelsNotOfStoreError(position, event, held, await this.store.headPosition()), checkpoint };
    }
  }

  /**
   * Applies a batch read after the checkpoint `after` in one transaction, but for what another
   * process applied meanwhile (ProjectionWriter's guard); at an unreadable event, applies what
   * precedes it and halts.
   */
  private apply(batch: RecordedEvent[], after: bigint | undefined): void {
    if (batch.length === 0) return;
    if (this.loop) this.reopenOnSwap();
    try {
      const write = () => this.writer.applyBatch(batch, { after, gapless: this.store.kind === 'sqlite' });
      // A live projector (started: follow) runs on an API's event loop: it waits on another connection's lock (an sqlite3 shell's, or a `ledger rebuild` in place
      // by code before the fifteenth session, held for the whole rebuild) LIVE_LOCK_WAIT_MS at most, and tries again after retryDelayMs; busy_timeout's 5 s froze every request.
      if (this.loop) this.writer.db.waitAtMost(LIVE_LOCK_WAIT_MS, write);
      else write();
    } catch (err) {
      if (err instanceof UnreadableEventError) this.apply(batch.filter((e) => e.position < err.position), after);
      throw this.haltOn(err);
    }
    this.release();
  }

  /** Records the halt when `err` is an unreadable event (and wakes every waiter that can no longer be served). */
  private haltOn(err: unknown): unknown {
    if (err instanceof ReadModelsNotOfStoreError && !this.haltedAt) {
      this.haltedAt = { position: err.checkpoint.toString(), reason: err.message };
      this.haltedOnCheckpoint = true; // running on: follow waits for a rebuild to rewrite the checkpoint
      for (const w of this.waiters) w.fail();
      this.waiters = [];
    }
    if (err instanceof UnreadableEventError && !this.haltedAt) {
      this.haltedAt = { position: err.position.toString(), stream: err.stream, revision: err.revision.toString(), reason: err.reason };
      this.running = false;
      const stuck = this.waiters.filter((w) => w.position >= err.position);
      this.waiters = this.waiters.filter((w) => w.position < err.position);
      for (const w of stuck) w.fail();
    }
    return err;
  }

  /**
   * Drops the read models and builds them again from the start of the store, in place, in one
   * transaction of their file (each batch a savepoint of it): a rebuild that fails (a damaged page
   * of the store, a full disk) or is killed leaves them as they were, and other connections read
   * them as they were until it commits.
   */
  async rebuild(onProgress?: (applied: number) => void): Promise<number> {
    const wasRunning = this.running || this.haltedAt !== undefined;
    await this.stop();
    this.haltedAt = undefined;
    this.haltedOnCheckpoint = false;
    const n = await this.writer.db.bulk(() => this.writer.allOrNothing(() => {
      this.writer.reset();
      return this.catchUp(onProgress);
    }));
    if (wasRunning) this.start();
    return n;
  }

  private async follow(): Promise<void> {
    while (this.running) {
      let part: ProjectorFailing['during'] = 'catch-up';
      try {
        await this.catchUp();
        this.recovered('catch-up');
        part = 'subscription';
        const { position: from, event } = this.writer.checkpoint.fresh();
        // fromEvent: the subscription looks, at each read of a SQLite log, that the last event it reached is still there (LogRewrittenError).
        const sub = this.store.subscribeToAll({ fromPosition: from ?? 'start', fromEvent: event, stored: 'checked' }); // stored: the chain check reads what a check of each event's text found (a key written twice)
        this.subscription = sub;
        if (!this.running) await sub.unsubscribe();
        let pending: RecordedEvent[] = [];
        let scheduled = false;
        let failure: { err: unknown } | undefined;
        let after = from;
        // Another process that rebuilds the read models in place moves the checkpoint back; one that
        // stops before the end (killed) leaves it there. A batch meets that, but with no event coming
        // the read models would stay as it left them (empty, or part of the log) with /health saying
        // ok: so the checkpoint is looked at now and then, and the loop goes on from it at once.
        const watch = setInterval(() => {
          try {
            const at = this.watchCheckpoint().position;
            if (after !== undefined && (at === undefined || at < after)) throw new CheckpointMovedBackError(after, at);
            // A look that holds: this subscription has followed for a while (a batch it applied does not say so: a look failing
            // every time, events coming between, would never count as failing).
            this.recovered('subscription');
          } catch (err) {
            failure ??= { err }; // a read that failed (the file locked, closed) is the loop's to retry, not an uncaught exception
            void sub.unsubscribe();
          }
        }, this.checkpointWatchMs).unref();
        const flush = () => {
          const batch = pending;
          pending = [];
          this.apply(batch, after);
          after = this.writer.checkpoint.get().position; // as the batch left it (read once after its commit, kept for release() and the replies)
        };
        try {
          for await (const e of sub) {
            pending.push(e);
            if (pending.length >= this.batchSize) flush();
            else if (!scheduled) {
              // Events delivered in the same turn of the event loop go into one transaction.
              scheduled = true;
              setImmediate(() => {
                scheduled = false;
                try {
                  if (pending.length) flush();
                } catch (err) {
                  failure = { err }; // ends the subscription; the error is met below, outside this callback
                  void sub.unsubscribe();
                }
              });
            }
          }
        } finally {
          clearInterval(watch);
        }
        if (failure) throw failure.err;
        if (pending.length) flush();
      } catch (err) {
        if (err instanceof CheckpointMovedBackError) continue; // another process rebuilt them in place (code before the fifteenth session's `ledger rebuild`, or read models reset): on from the checkpoint at once
        if (err instanceof ReadModelsReopenedError) continue; // another process's swap: a catch-up checks the new file's checkpoint against the store
        // The log was rewritten under the subscription (rows removed and written again): a catch-up checks the checkpoint against
        // it (halting when the read models hold what the store no longer does; a miss looked at again in a new snapshot first).
        if (err instanceof LogRewrittenError) continue;
        // An unreadable event met by the subscription: catch up to it, which applies what precedes it and halts.
        if (err instanceof UnreadableEventError && !this.haltedAt) await this.catchUp().catch(() => undefined);
        this.options.onError?.(err);
        if (!this.haltedAt) this.failingSince = { since: this.failingSince?.since ?? new Date().toISOString(), reason: err instanceof Error ? err.message : String(err), during: part, attempts: (this.failingSince?.attempts ?? 0) + 1 };
        if (this.haltedOnCheckpoint) await this.untilCheckpointRewritten();
        else if (this.haltedAt) break;
        else if (this.running) await this.pause(this.retryDelayMs);
      }
    }
  }

  /** The checkpoint as it is now, read without waiting on a lock another connection holds (busy_timeout would hold this event loop up to 5 s). */
  private watchCheckpoint(): CheckpointValue {
    this.reopenOnSwap();
    return this.writer.db.noWait(() => this.writer.checkpoint.fresh());
  }

  /**
   * A live projector's look, before each batch and at each look at the checkpoint (one stat): another
   * process's rebuild job put its file at the read models' path (its swap). The file there is opened
   * in place of the replaced one (every query follows), and no batch is applied to it before the loop
   * starts again from a catch-up (ReadModelsReopenedError), which checks the new file's checkpoint
   * against the store as at start-up (read models of another store halt it: found in review,
   * 2026-11-27, fifteenth session, they were projected on, every event up to their checkpoint
   * skipped) and reads on from it. A batch applied to the replaced file between the swap and this
   * look is lost with it, and projected again into the new file. No file at the path:
   * ReadModelsGoneError; another that is not a rebuild's (this connection's -wal beside it at two
   * looks, or not read models) is not opened: ReadModelsNotFollowedError, the projector failing.
   */
  private reopenOnSwap(): void {
    if (this.followReplaced()) throw new ReadModelsReopenedError(); // the loop goes on through a catch-up, whose checkCheckpoint halts on read models not of this store
  }

  /**
   * Follows another process's swap of the read-model file (ReadModelDb.followReplaced: the same
   * answers and errors) and keeps when (`replaced`, for /health, and onReplaced): the one place it
   * is followed, a live look (reopenOnSwap) or a rebuild's end (putRebuiltInPlace, the projector
   * stopped). Until 2026-11-27 (sixteenth session) a rebuild's end followed it unkept.
   */
  followReplaced(): boolean {
    if (!this.writer.db.followReplaced()) return false;
    const at = this.writer.checkpoint.get().position;
    this.replacedAt = { at: new Date().toISOString(), checkpoint: at?.toString() ?? null };
    this.options.onReplaced?.(this.writer.db.file, at);
    return true;
  }

  /**
   * Halted on ReadModelsNotOfStoreError: looks at the checkpoint every `checkpointWatchMs` until
   * another process (`ledger rebuild` beside the API) resets or rewrites it, then lifts the halt,
   * and the loop checks the checkpoint against the store again.
   */
  private async untilCheckpointRewritten(): Promise<void> {
    const was = this.haltedCheckpoint;
    let refused: string | undefined;
    while (this.running) {
      await this.pause(this.checkpointWatchMs);
      let now: CheckpointValue;
      try {
        now = this.watchCheckpoint();
      } catch (err) {
        // Locked or being replaced: look again at the next tick. Another file at the path not followed (gone, or not a rebuild's) is said,
        // once while it stands (until the fifteenth session's review, silent: the halt's reason stayed the only word).
        if (err instanceof ReadModelsGoneError || err instanceof ReadModelsNotFollowedError) {
          if (err.message !== refused) this.options.onError?.(err);
          refused = err.message;
        }
        continue;
      }
      if (now.position !== was?.position || now.applied !== was?.applied || now.event !== was?.event) {
        this.haltedAt = undefined;
        this.haltedOnCheckpoint = false;
        return;
      }
    }
  }

  /** Waits `ms`, or until stop. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => (this.wake = undefined, resolve()), ms);
      timer.unref(); // the loop alone (halted, watching the checkpoint) keeps no process alive: whoever serves it does
      this.wake = () => (clearTimeout(timer), (this.wake = undefined), resolve());
    });
  }

  /** Wakes the waiters the batch just applied (or another process's, which the batch read under the lock) has reached. */
  private release(): void {
    const at = this.writer.checkpoint.get().position;
    if (at === undefined) return;
    const ready = this.waiters.filter((w) => w.position <= at);
    this.waiters = this.waiters.filter((w) => w.position > at);
    for (const w of ready) w.resolve();
  }
}
