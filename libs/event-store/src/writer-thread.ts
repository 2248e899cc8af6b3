import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from './errors';
import { packAppends, type PendingAppend } from './sqlite-writer';
import type { FromWriter, ToWriter } from './sqlite-writer-thread';

/** The worker file beside this one: the compiled .js, or the .ts source through tsx (tests run the sources). */
function writerEntry(): { file: string; execArgv?: string[] } {
  const js = path.join(__dirname, 'sqlite-writer-thread.js');
  if (fs.existsSync(js)) return { file: js };
  return { file: path.join(__dirname, 'sqlite-writer-thread.ts'), execArgv: ['--require', 'tsx/cjs'] };
}

/** What a store hears from the writer thread: its answers, or the loss of the thread (every request it had not answered). */
export type WriterAnswer = FromWriter | { type: 'lost'; store: number; error: StoreUnavailableError };

/** How long an unused writer thread waits for a store before it stops (ms): stores opened one after another share one. */
const IDLE_MS = 2000;

/**
 * The process's one writer thread for its SQLite stores (sqlite-writer-thread.ts): each store gets
 * a connection of its own on it, opened at its first write. Started at the first append of any
 * store (a store that only reads never needs it); it holds the process open only while an answer
 * is awaited, and stops when no store has used it for a moment. If it dies, each store hears
 * `lost`, refuses what it had not been answered with StoreUnavailableError, and its next append
 * starts another thread.
 */
export class WriterThread {
  private static current: WriterThread | undefined;
  private static storeIds = 0;
  private readonly worker: Worker;
  private readonly stores = new Map<number, (a: WriterAnswer) => void>();
  /** Requests posted and not answered yet (the thread is ref'd while there are any). */
  private awaited = 0;
  private idle: NodeJS.Timeout | undefined;
  private dead = false;

  /** The running thread, or a new one. */
  static get(): WriterThread {
    if (!WriterThread.current || WriterThread.current.dead) WriterThread.current = new WriterThread();
    return WriterThread.current;
  }

  private constructor() {
    const entry = writerEntry();
    this.worker = new Worker(entry.file, entry.execArgv ? { execArgv: entry.execArgv } : {});
    this.worker.unref();
    this.worker.on('message', (m: FromWriter) => {
      this.answered(m.type === 'ok' ? 1 : m.ids.length);
      this.stores.get(m.store)?.(m);
    });
    this.worker.on('error', (err) => this.lose(`failed: ${err.message}`));
    this.worker.on('exit', (code) => this.lose(`exited (code ${code})`));
  }

  /** Whether the thread still runs. */
  get alive(): boolean {
    return !this.dead;
  }

  /** A connection for a store's file; `hear` gets every answer for it. Returns the number that names the store. */
  open(file: string, busyTimeoutMs: number, grouped: boolean, hear: (a: WriterAnswer) => void): number {
    clearTimeout(this.idle);
    const store = ++WriterThread.storeIds;
    this.stores.set(store, hear);
    this.post({ type: 'open', store, file, busyTimeoutMs, grouped }, 0);
    return store;
  }

  append(store: number, appends: Array<{ id: number; append: PendingAppend }>): void {
    this.post({ type: 'append', store, appends: packAppends(appends) }, appends.length);
  }

  maxPages(store: number, id: number, pages: number): void {
    this.post({ type: 'max-pages', store, id, pages });
  }

  /** Writes what the store's connection holds and closes it; its answer is the store's last. */
  close(store: number, id: number): void {
    this.post({ type: 'close', store, id });
  }

  /** The store has heard its last answer. */
  forget(store: number): void {
    this.stores.delete(store);
    if (this.stores.size === 0 && !this.dead) {
      this.idle = setTimeout(() => void this.stop(), IDLE_MS);
      this.idle.unref();
    }
  }

  /** Posts a message that awaits `answers` answers. */
  private post(m: ToWriter, answers = 1): void {
    if (this.dead) {
      const error = new StoreUnavailableError("the SQLite stores' writer thread is gone");
      if (answers > 0) queueMicrotask(() => this.stores.get(m.store)?.({ type: 'lost', store: m.store, error }));
      return;
    }
    if (answers > 0 && this.awaited === 0) this.worker.ref();
    this.awaited += answers;
    this.worker.postMessage(m);
  }

  private answered(n: number): void {
    this.awaited -= n;
    if (this.awaited === 0 && !this.dead) this.worker.unref();
  }

  private async stop(): Promise<void> {
    if (this.stores.size > 0 || this.dead) return;
    this.dead = true;
    if (WriterThread.current === this) WriterThread.current = undefined;
    await this.worker.terminate();
  }

  /** The thread is gone: every store hears it once. */
  private lose(why: string): void {
    if (this.dead && this.stores.size === 0) return;
    this.dead = true;
    if (WriterThread.current === this) WriterThread.current = undefined;
    const error = new StoreUnavailableError(`the SQLite stores' writer thread ${why}`);
    for (const [store, hear] of [...this.stores]) hear({ type: 'lost', store, error });
    this.stores.clear();
  }
}
