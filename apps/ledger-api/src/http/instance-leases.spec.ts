import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { InstanceLeases, LEASE_BUSY_MS, LEASE_HEARTBEAT_MS, LEASE_STALE_MS, LeasesLockedError, OPEN_BUSY_MS, recordStaleLeases } from './instance-leases';

/** Processes on one read-model file, each a lease of its own: a stopped one's taken over once, a live one's never. */
describe('the API instance leases on one read-model file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'instance-leases-'));
  const file = path.join(dir, 'readmodels.sqlite');
  let now = 1_795_000_000_000; // the wall clock
  let mono = 0; // the processes' monotonic clock
  const clock = () => now;
  const monotonic = () => mono;
  /** Time passes: both clocks move on. */
  const pass = (ms: number) => {
    now += ms;
    mono += ms;
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('given one process running, when another starts, then it has an id of its own and claims nothing while the first renews its lease', () => {
    const first = new InstanceLeases(file, clock, monotonic);
    const second = new InstanceLeases(file, clock, monotonic);
    try {
      expect(second.id).not.toBe(first.id);
      expect(second.claimStale()).toBeUndefined();
      pass(LEASE_STALE_MS - 1);
      first.beat();
      second.beat();
      pass(LEASE_STALE_MS - 1);
      expect(second.claimStale()).toBeUndefined();
    } finally {
      first.close();
      second.close();
    }
  });

  it('given a process that stopped without closing (killed), when its lease goes stale, then one process claims it, once, and holds it until it releases it', () => {
    const killed = new InstanceLeases(path.join(dir, 'b.sqlite'), clock, monotonic); // never closed: its heartbeat stops
    const a = new InstanceLeases(path.join(dir, 'b.sqlite'), clock, monotonic);
    const b = new InstanceLeases(path.join(dir, 'b.sqlite'), clock, monotonic);
    try {
      expect(a.claimStale()).toBeUndefined();
      pass(LEASE_STALE_MS + 1);
      a.beat();
      b.beat();
      expect(a.claimStale()).toBe(killed.id);
      expect(b.claimStale()).toBeUndefined();
      pass(LEASE_STALE_MS + 1);
      a.beat();
      b.beat();
      expect(b.claimStale()).toBeUndefined(); // renewed by its claimer
      a.release(killed.id);
      pass(LEASE_STALE_MS + 1);
      b.beat();
      expect(b.claimStale()).toBe(a.id); // a stopped renewing too
    } finally {
      a.close();
      b.close();
      killed.close();
    }
  });

  it('given a process closed at shutdown, then its lease is stale at once', () => {
    const closed = new InstanceLeases(path.join(dir, 'c.sqlite'), clock, monotonic);
    closed.close();
    const next = new InstanceLeases(path.join(dir, 'c.sqlite'), clock, monotonic);
    try {
      expect([next.claimStale(), next.claimStale()]).toEqual([closed.id, undefined]);
    } finally {
      next.close();
    }
  });

  it('given the leases file locked by another connection when a job starts more than a heartbeat after the last renewal, then the job starts under the lease it has (the renewal gives up, typed: LeasesLockedError), and the heartbeat tries again', () => {
    const leases = new InstanceLeases(path.join(dir, 'locked.sqlite'), clock, monotonic);
    const lock = new Database(path.join(dir, 'locked.sqlite.instances'));
    try {
      pass(LEASE_HEARTBEAT_MS + 1);
      lock.exec('BEGIN EXCLUSIVE');
      expect(() => leases.beat()).toThrow(LeasesLockedError);
      expect(leases.startJob('job-locked')).toBe(leases.id);
      lock.exec('COMMIT');
      expect(leases.beat()).toBeUndefined();
    } finally {
      if (lock.inTransaction) lock.exec('ROLLBACK');
      lock.close();
      leases.close();
    }
  });

  it('given a process paused past LEASE_STALE_MS (SIGSTOP, a VM stall) whose lease another claimed, when it beats again, then it says which lease it lost and runs on under a new one, live to the others; the claimed one it no longer renews', () => {
    const paused = new InstanceLeases(path.join(dir, 'd.sqlite'), clock, monotonic);
    const claimer = new InstanceLeases(path.join(dir, 'd.sqlite'), clock, monotonic);
    const other = new InstanceLeases(path.join(dir, 'd.sqlite'), clock, monotonic);
    try {
      const before = paused.id;
      expect(paused.startJob('job-before')).toBe(before);
      expect(claimer.claimStale()).toBeUndefined();
      pass(LEASE_STALE_MS + 1);
      claimer.beat();
      other.beat();
      expect(claimer.claimStale()).toBe(before); // held by the claimer, recording its jobs
      expect(paused.beat()).toBe(before);
      expect(paused.id).not.toBe(before);
      expect(paused.beat()).toBeUndefined();
      expect(paused.startJob('job-after')).toBe(paused.id);
      expect(paused.endJob('job-before')).toBe(before);
      expect(paused.endJob('job-after')).toBeUndefined();
      expect(other.claimStale()).toBeUndefined();
      pass(LEASE_STALE_MS + 1);
      paused.beat();
      other.beat();
      // The claimer renewed nothing since, and the paused one no longer renews the lease it lost; its new one is live.
      expect([other.claimStale(), other.claimStale(), other.claimStale()].sort()).toEqual([claimer.id, before, undefined].sort());
    } finally {
      paused.close();
      claimer.close();
      other.close();
    }
  });

  it('given the wall clock stepping forward past LEASE_STALE_MS, or two processes whose clocks differ by more, then no live lease is stale: only a heartbeat seen unchanged that long (the claimer\'s monotonic time) is', () => {
    let behind = now - 2 * LEASE_STALE_MS; // another machine's clock, two minutes behind
    const live = new InstanceLeases(path.join(dir, 'e.sqlite'), () => behind, monotonic);
    const watcher = new InstanceLeases(path.join(dir, 'e.sqlite'), clock, monotonic);
    try {
      expect(watcher.claimStale()).toBeUndefined();
      now += LEASE_STALE_MS + 1; // an NTP step forward: no monotonic time passes
      expect(watcher.claimStale()).toBeUndefined();
      for (let beat = 0; beat < 7; beat++) {
        pass(LEASE_STALE_MS / 6);
        behind += LEASE_STALE_MS / 6;
        live.beat();
        expect(watcher.claimStale()).toBeUndefined();
      }
      pass(LEASE_STALE_MS - 1); // live's heartbeat stops
      expect(watcher.claimStale()).toBeUndefined();
      pass(1);
      expect(watcher.claimStale()).toBe(live.id);
    } finally {
      live.close();
      watcher.close();
    }
  });

  it("given another connection holding a lock on the leases file at shutdown (a backup), then close() waits for it (up to OPEN_BUSY_MS), and the lease is stale at once for the next start (until the fourteenth session of 2026-11-27 it gave up after LEASE_BUSY_MS: the next start watched it for a minute)", async () => {
    const closing = new InstanceLeases(path.join(dir, 'locked-at-close.sqlite'), clock, monotonic);
    // The lock, on another thread (close() blocks this one), held for 500 ms.
    const holder = new Worker(
      `const Database = require('better-sqlite3'); const { parentPort, workerData } = require('node:worker_threads');
       const db = new Database(workerData); db.exec('BEGIN EXCLUSIVE'); parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500); db.exec('COMMIT'); db.close();`,
      { eval: true, workerData: path.join(dir, 'locked-at-close.sqlite.instances') },
    );
    await once(holder, 'message');
    closing.close();
    await once(holder, 'exit');
    const next = new InstanceLeases(path.join(dir, 'locked-at-close.sqlite'), clock, monotonic);
    try {
      expect(next.claimStale()).toBe(closing.id);
    } finally {
      next.close();
    }
  }, 30_000);

  it('given the leases file locked past the wait, then a release gives up after LEASE_BUSY_MS, and close() after OPEN_BUSY_MS, each with an error naming the file; the lease stays held for the next sweep, and the connection is closed', () => {
    const killed = new InstanceLeases(path.join(dir, 'locked-release.sqlite'), clock, monotonic);
    const claimer = new InstanceLeases(path.join(dir, 'locked-release.sqlite'), clock, monotonic);
    killed.close();
    const stale = claimer.claimStale()!;
    const shell = new Database(path.join(dir, 'locked-release.sqlite.instances'));
    const locked = `the API's instance leases file ${path.join(dir, 'locked-release.sqlite.instances')} is locked by another connection (an sqlite3 shell, a backup?): `;
    try {
      shell.exec('BEGIN EXCLUSIVE');
      expect(() => claimer.release(stale)).toThrow(`${locked}releasing a lease whose jobs are recorded gave up after ${LEASE_BUSY_MS} ms, to try again at the next heartbeat`);
      expect(claimer.claimed()).toEqual([stale]);
      expect(() => claimer.close()).toThrow(`${locked}expiring its leases at shutdown gave up after ${OPEN_BUSY_MS} ms, their jobs are recorded once they go stale, as a killed process's`);
      expect(() => claimer.beat()).toThrow(/The database connection is not open/);
    } finally {
      shell.exec('COMMIT');
      shell.close();
    }
  }, 30_000);

  it("given another connection holding a lock on the leases file (an sqlite3 shell, a backup), then a renewal or a claim gives up after LEASE_BUSY_MS, not the 5 s a start-up waits, with an error naming the file; a start-up's error names it too", () => {
    const leases = new InstanceLeases(path.join(dir, 'f.sqlite'), clock, monotonic);
    const shell = new Database(path.join(dir, 'f.sqlite.instances'));
    try {
      shell.exec('BEGIN EXCLUSIVE');
      const locked = `the API's instance leases file ${path.join(dir, 'f.sqlite.instances')} is locked by another connection (an sqlite3 shell, a backup?): `;
      expect(() => leases.beat()).toThrow(`${locked}renewing its leases gave up after ${LEASE_BUSY_MS} ms`);
      expect(() => leases.claimStale()).toThrow(`${locked}claiming stale leases gave up after ${LEASE_BUSY_MS} ms`);
      expect(() => new InstanceLeases(path.join(dir, 'f.sqlite'), clock, monotonic)).toThrow(`the API's instance leases file ${path.join(dir, 'f.sqlite.instances')} could not be opened: locked by another connection`);
      shell.exec('COMMIT');
      expect(leases.beat()).toBeUndefined();
    } finally {
      shell.close();
      leases.close();
    }
  }, 30_000);

  it('given the leases file locked past LEASE_STALE_MS (nobody can renew), then no live lease is stale once the lock is let go: the watch starts again (until 2026-11-27 a live API\'s lease was claimed after a long lock)', () => {
    const live = new InstanceLeases(path.join(dir, 'locked-long.sqlite'), clock, monotonic);
    const watcher = new InstanceLeases(path.join(dir, 'locked-long.sqlite'), clock, monotonic);
    const shell = new Database(path.join(dir, 'locked-long.sqlite.instances'));
    try {
      expect(watcher.claimStale()).toBeUndefined();
      shell.exec('BEGIN EXCLUSIVE');
      for (let beat = 0; beat < 7; beat++) {
        pass(LEASE_STALE_MS / 6);
        expect(() => live.beat()).toThrow(/is locked by another connection/);
        expect(() => watcher.claimStale()).toThrow(/is locked by another connection/);
      }
      shell.exec('COMMIT');
      expect(watcher.claimStale()).toBeUndefined();
      live.beat();
      expect(watcher.claimStale()).toBeUndefined();
    } finally {
      shell.close();
      live.close();
      watcher.close();
    }
  });

  it('given a process paused past LEASE_STALE_MS whose lease was claimed and released (its jobs recorded), when a job starts before its next heartbeat, then the job starts under a new lease, not the released one nobody would sweep (until 2026-11-27 it took the lost id)', async () => {
    const paused = new InstanceLeases(path.join(dir, 'woken.sqlite'), clock, monotonic);
    const claimer = new InstanceLeases(path.join(dir, 'woken.sqlite'), clock, monotonic);
    try {
      const before = paused.id;
      expect(claimer.claimStale()).toBeUndefined();
      pass(LEASE_STALE_MS + 1);
      claimer.beat();
      expect(claimer.claimStale()).toBe(before);
      claimer.release(before); // its jobs recorded interrupted
      const started = paused.startJob('woken');
      expect(started).not.toBe(before);
      expect(started).toBe(paused.id);
      expect(paused.beat()).toBe(before); // the next heartbeat reports the lease lost, as when it finds it so itself
      expect(paused.beat()).toBeUndefined();
    } finally {
      paused.close();
      claimer.close();
    }
  });

  it("given a stopped process's lease whose jobs could not be recorded (the store full, busy, unreachable), then the next sweep records them again, and releases it once recorded", async () => {
    const stopped = new InstanceLeases(path.join(dir, 'g.sqlite'), clock, monotonic);
    stopped.close();
    const claimer = new InstanceLeases(path.join(dir, 'g.sqlite'), clock, monotonic);
    try {
      const tried: string[] = [];
      let full = true;
      const record = async (instance: string) => {
        tried.push(instance);
        if (full) throw new Error('database or disk is full');
        return true;
      };
      await expect(recordStaleLeases(claimer, record, () => false)).rejects.toThrow('database or disk is full');
      full = false;
      await recordStaleLeases(claimer, record, () => false);
      expect(tried).toEqual([stopped.id, stopped.id]);
      expect(claimer.claimed()).toEqual([]);
      await recordStaleLeases(claimer, record, () => false);
      expect(tried).toEqual([stopped.id, stopped.id]); // released: recorded once
    } finally {
      claimer.close();
    }
  });
});
