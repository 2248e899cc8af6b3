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
});
