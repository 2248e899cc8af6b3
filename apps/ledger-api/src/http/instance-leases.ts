import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { isBusy } from '@ledger/event-store/errors';

/** The leases file locked by another connection past the wait (unlessLocked). */
export class LeasesLockedError extends Error {
  override readonly name = 'LeasesLockedError';
}

/** How often a process renews its lease (and looks for stale ones). */
export const LEASE_HEARTBEAT_MS = 10_000;
/** A lease another process has seen not renewed for this long (its own monotonic time) is of a process that stopped (killed, crashed, the machine): it may take it over. */
export const LEASE_STALE_MS = 60_000;
/**
 * How long a renewal or a claim waits for another connection's lock on the leases file (an sqlite3
 * shell, a backup): it blocks the API's event loop meanwhile, and a missed renewal is made 10 s
 * later, well within LEASE_STALE_MS. Opening the file at start-up waits OPEN_BUSY_MS.
 */
export const LEASE_BUSY_MS = 100;
/** How long opening the file at start-up, and expiring the leases at shutdown (close), wait for another connection's lock: no request is served meanwhile. */
export const OPEN_BUSY_MS = 5_000;

/**
 * The API instances on one read-model file, each process a lease of its own: the id it records
 * in each job's start (AuditJobStarted.instance), renewed every LEASE_HEARTBEAT_MS in
 * `<read models>.instances` (a small SQLite file beside the read models, which a rebuild's swap
 * leaves alone). A lease whose heartbeat a live process has seen unchanged for LEASE_STALE_MS of
 * its own monotonic time (performance.now(): no wall clock, its steps or the skew between
 * machines, decides) is of a process that stopped; that process claims it (once: only while its
 * heartbeat is still the one seen), records that instance's unended jobs as interrupted, and
 * releases it. A heartbeat is the wall clock's ms, and always more than the one before (so code of
 * earlier versions, which compares it to its clock, reads it as before). So a process starting while another runs on the same read models
 * (a rolling restart, two APIs on one volume) never takes the other's running jobs for its own.
 * A lease closed at shutdown is stale at once. Read models in memory: a lease in memory, never
 * shared.
 */
export class InstanceLeases {
  /** This process, as the holder of its leases (its own, and those it claimed): a lease claimed by another is no longer renewed by it. */
  private readonly holder = randomUUID();
  private current = randomUUID();
  private readonly db: Database.Database;
  private readonly file: string;
  /** Stale leases this process has claimed and not yet released: renewed with its own. */
  private readonly held = new Set<string>();
  /** This process's leases that another claimed while it was paused (SIGSTOP, a VM stall): their jobs were recorded interrupted by the claimer. */
  private readonly lost = new Set<string>();
  /** The lease each running job of this process started under. */
  private readonly jobs = new Map<string, string>();
  /** Each other lease's heartbeat as this process last saw it change, and when (its monotonic time). */
  private readonly seen = new Map<string, { heartbeat: number; since: number }>();
  /** When this process last renewed its lease (its monotonic time). */
  private lastBeat: number;
  /** A lease of its own found lost by a renewal made at a job's start, for the next beat() to report. */
  private lostSinceBeat: string | undefined;

  constructor(
    readModelsFile: string,
    private readonly now: () => number = Date.now,
    private readonly monotonic: () => number = () => performance.now(),
  ) {
    this.file = readModelsFile === ':memory:' ? ':memory:' : `${readModelsFile}.instances`;
    this.db = new Database(this.file);
    try {
      this.db.pragma(`busy_timeout = ${OPEN_BUSY_MS}`);
      this.db.exec('CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, heartbeat INTEGER NOT NULL, holder TEXT)');
      this.take(this.current);
    } catch (err) {
      this.db.close();
      throw new Error(`the API's instance leases file ${this.file} could not be opened${isBusy(err) ? `: locked by another connection (an sqlite3 shell, a backup?) for over ${OPEN_BUSY_MS} ms` : ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.db.pragma(`busy_timeout = ${LEASE_BUSY_MS}`);
    this.lastBeat = this.monotonic();
  }

  /** This process's instance: the lease its jobs start under now. */
  get id(): string {
    return this.current;
  }

  /**
   * Renews this process's lease and those it holds. A lease of its own that another claimed (this
   * process paused past LEASE_STALE_MS) is not renewed: a new one is taken, for the jobs it starts
   * from then on; answers the lost one's id (undefined when none was lost). A claimed lease
   * another took over is dropped.
   */
  beat(): string | undefined {
    const renew = this.db.prepare('UPDATE leases SET heartbeat = MAX(heartbeat + 1, ?) WHERE id = ? AND holder = ?');
    const at = this.now();
    const earlier = this.lostSinceBeat;
    this.lostSinceBeat = undefined;
    const lost = this.unlessLocked('renewing its leases', this.db.transaction(() => {
      for (const id of this.held) if (renew.run(at, id, this.holder).changes === 0) this.held.delete(id);
      if (renew.run(at, this.current, this.holder).changes === 1) return undefined;
      const lost = this.current;
      const next = randomUUID();
      this.take(next);
      this.current = next;
      this.lost.add(lost);
      return lost;
    }));
    this.lastBeat = this.monotonic();
    return lost ?? earlier;
  }

  /**
   * A job starts under this process's lease: its id, for the job's start record. Its last renewal
   * older than a heartbeat (this process was paused: its lease may have been claimed and released
   * meanwhile), it renews first: a job must not start under a lease nobody will sweep. A lease
   * lost so is reported by the next beat() (`lostSinceBeat`).
   */
  startJob(jobId: string): string {
    if (this.monotonic() - this.lastBeat > LEASE_HEARTBEAT_MS) {
      try {
        const lost = this.beat();
        if (lost) this.lostSinceBeat = lost;
      } catch (err) {
        if (!(err instanceof LeasesLockedError)) throw err;
        // the file locked: the job starts under the lease it has, as before this look; the heartbeat tries again
      }
    }
    this.jobs.set(jobId, this.current);
    return this.current;
  }

  /** A job has ended: the lease it started under when that lease was lost (its jobs recorded interrupted by another), else undefined. */
  endJob(jobId: string): string | undefined {
    const lease = this.jobs.get(jobId);
    this.jobs.delete(jobId);
    return lease !== undefined && this.lost.has(lease) ? lease : undefined;
  }

  /**
   * Claims a lease closed at shutdown, or one this process has seen unchanged for LEASE_STALE_MS
   * of its monotonic time, the longest first (held, and renewed, until released): its id, or
   * undefined when none is stale. Each call notes the heartbeats it sees: a process sees no lease
   * as stale until it has watched it that long.
   */
  claimStale(): string | undefined {
    return this.unlessLocked('claiming stale leases', () => this.claim());
  }

  private claim(): string | undefined {
    const at = this.monotonic();
    const rows = this.db.prepare('SELECT id, heartbeat FROM leases').all() as { id: string; heartbeat: number }[];
    const seen = new Map<string, { heartbeat: number; since: number }>();
    for (const { id, heartbeat } of rows) {
      if (id === this.current || this.held.has(id)) continue;
      const before = this.seen.get(id);
      seen.set(id, before?.heartbeat === heartbeat ? before : { heartbeat, since: heartbeat === 0 ? -Number.MAX_VALUE : at });
    }
    this.seen.clear();
    for (const [id, s] of seen) this.seen.set(id, s);
    const stale = [...seen].filter(([, s]) => at - s.since >= LEASE_STALE_MS).sort(([, a], [, b]) => a.since - b.since);
    const claim = this.db.prepare('UPDATE leases SET heartbeat = MAX(heartbeat + 1, ?), holder = ? WHERE id = ? AND heartbeat = ?');
    for (const [id, s] of stale) {
      // Renewed meanwhile, or claimed by another: not this one's.
      if (claim.run(this.now(), this.holder, id, s.heartbeat).changes === 0) continue;
      this.seen.delete(id);
      this.held.add(id);
      return id;
    }
    return undefined;
  }

  /** The leases this process claimed and has not released: their jobs' recording failed (or is under way). */
  claimed(): string[] {
    return [...this.held];
  }

  /** A claimed lease whose jobs are recorded: removed (the file locked past LEASE_BUSY_MS: an error naming it, the lease still held, released by the next sweep). */
  release(id: string): void {
    this.unlessLocked('releasing a lease whose jobs are recorded', () => this.db.prepare('DELETE FROM leases WHERE id = ? AND holder = ?').run(id, this.holder));
    this.held.delete(id);
  }

  /**
   * At shutdown, once this process's jobs have ended: its lease, and those it holds, stale at once
   * (the next start records what they left unended). The file locked by another connection is
   * waited for OPEN_BUSY_MS (nothing is served by then), then given up with an error naming it (the
   * leases then go stale after LEASE_STALE_MS, as a killed process's); the connection is closed
   * either way. Until the fourteenth session of 2026-11-27 it gave up after LEASE_BUSY_MS with
   * SQLite's bare "database is locked", and left the connection open.
   */
  close(): void {
    try {
      this.db.pragma(`busy_timeout = ${OPEN_BUSY_MS}`);
      const expire = this.db.prepare('UPDATE leases SET heartbeat = 0 WHERE id = ? AND holder = ?');
      this.unlessLocked('expiring its leases at shutdown', () => this.db.transaction(() => [this.current, ...this.held].forEach((id) => expire.run(id, this.holder)))(), 'their jobs are recorded once they go stale, as a killed process\'s');
    } finally {
      this.db.close();
    }
  }

  /** Runs `run`; the leases file locked by another connection past the wait: an error that says so, and names the file. */
  private unlessLocked<T>(what: string, run: () => T, then = 'to try again at the next heartbeat'): T {
    try {
      return run();
    } catch (err) {
      if (!isBusy(err)) throw err;
      // Nobody could renew while the file was locked: a heartbeat seen unchanged meanwhile says nothing of its process.
      this.seen.clear();
      throw new LeasesLockedError(`the API's instance leases file ${this.file} is locked by another connection (an sqlite3 shell, a backup?): ${what} gave up after ${this.db.pragma('busy_timeout', { simple: true })} ms, ${then}`);
    }
  }

  private take(id: string): void {
    this.db.prepare('INSERT INTO leases (id, heartbeat, holder) VALUES (?, ?, ?)').run(id, this.now(), this.holder);
  }

}

/**
 * One sweep of the leases of processes that stopped: those claimed before whose jobs could not be
 * recorded (the store full, busy, unreachable: `record` threw) first, then each newly stale one;
 * each released once `record` has recorded its jobs. `record` answering false (the read models could
 * not catch up), or `closed()`, ends the sweep with the lease held: closed with this process's, it
 * goes stale for the next to claim. The first error ends the sweep, its lease held for the next.
 */
export async function recordStaleLeases(leases: InstanceLeases, record: (instance: string) => Promise<boolean>, closed: () => boolean): Promise<void> {
  const pending = leases.claimed();
  while (!closed()) {
    const instance = pending.shift() ?? leases.claimStale();
    if (instance === undefined || !(await record(instance))) return;
    if (!closed()) leases.release(instance);
  }
}
