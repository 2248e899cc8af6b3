import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InstanceLeases, LEASE_STALE_MS } from './instance-leases';

/** Processes on one read-model file, each a lease of its own: a stopped one's taken over once, a live one's never. */
describe('the API instance leases on one read-model file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'instance-leases-'));
  const file = path.join(dir, 'readmodels.sqlite');
  let now = 1_795_000_000_000;
  const clock = () => now;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('given one process running, when another starts, then it has an id of its own and claims nothing while the first renews its lease', () => {
    const first = new InstanceLeases(file, clock);
    const second = new InstanceLeases(file, clock);
    try {
      expect(second.id).not.toBe(first.id);
      now += LEASE_STALE_MS - 1;
      first.beat();
      second.beat();
      now += LEASE_STALE_MS - 1;
      expect(second.claimStale()).toBeUndefined();
    } finally {
      first.close();
      second.close();
    }
  });

  it('given a process that stopped without closing (killed), when its lease goes stale, then one process claims it, once, and holds it until it releases it', () => {
    const killed = new InstanceLeases(path.join(dir, 'b.sqlite'), clock); // never closed: its heartbeat stops
    const a = new InstanceLeases(path.join(dir, 'b.sqlite'), clock);
    const b = new InstanceLeases(path.join(dir, 'b.sqlite'), clock);
    try {
      expect(a.claimStale()).toBeUndefined();
      now += LEASE_STALE_MS + 1;
      a.beat();
      b.beat();
      expect(a.claimStale()).toBe(killed.id);
      expect(b.claimStale()).toBeUndefined();
      now += LEASE_STALE_MS + 1;
      a.beat();
      b.beat();
      expect(b.claimStale()).toBeUndefined(); // renewed by its claimer
      a.release(killed.id);
      now += LEASE_STALE_MS + 1;
      b.beat();
      expect(b.claimStale()).toBe(a.id); // a stopped renewing too
    } finally {
      a.close();
      b.close();
      killed.close();
    }
  });

  it("given a process closed at shutdown, then its lease is stale at once; the read models' id of earlier code is taken as a stopped process's lease, its file removed", () => {
    fs.writeFileSync(path.join(dir, 'c.sqlite.instance'), 'earlier-instance\n');
    const closed = new InstanceLeases(path.join(dir, 'c.sqlite'), clock);
    expect(fs.existsSync(path.join(dir, 'c.sqlite.instance'))).toBe(false);
    closed.close();
    const next = new InstanceLeases(path.join(dir, 'c.sqlite'), clock);
    try {
      expect([next.claimStale(), next.claimStale(), next.claimStale()].sort()).toEqual([closed.id, 'earlier-instance', undefined].sort());
    } finally {
      next.close();
    }
  });

  it('given a process paused past LEASE_STALE_MS (SIGSTOP, a VM stall) whose lease another claimed, when it beats again, then it says which lease it lost and runs on under a new one, live to the others; the claimed one it no longer renews', () => {
    const paused = new InstanceLeases(path.join(dir, 'd.sqlite'), clock);
    const claimer = new InstanceLeases(path.join(dir, 'd.sqlite'), clock);
    const other = new InstanceLeases(path.join(dir, 'd.sqlite'), clock);
    try {
      const before = paused.id;
      expect(paused.startJob('job-before')).toBe(before);
      now += LEASE_STALE_MS + 1;
      claimer.beat();
      other.beat();
      expect(claimer.claimStale()).toBe(before); // held by the claimer, recording its jobs
      expect(paused.beat()).toBe(before);
      expect(paused.id).not.toBe(before);
      expect(paused.beat()).toBeUndefined();
      expect(paused.startJob('job-after')).toBe(paused.id);
      expect(paused.endJob('job-before')).toBe(before);
      expect(paused.endJob('job-after')).toBeUndefined();
      now += LEASE_STALE_MS + 1;
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
});
