import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import Database from 'better-sqlite3';

/** How often a process renews its lease (and looks for stale ones). */
export const LEASE_HEARTBEAT_MS = 10_000;
/** A lease not renewed for this long is of a process that stopped (killed, crashed, the machine): another may take it over. */
export const LEASE_STALE_MS = 60_000;

/**
 * The API instances on one read-model file, each process a lease of its own: the id it records
 * in each job's start (AuditJobStarted.instance), renewed every LEASE_HEARTBEAT_MS in
 * `<read models>.instances` (a small SQLite file beside the read models, which a rebuild's swap
 * leaves alone). A lease not renewed for LEASE_STALE_MS is of a process that stopped; a live
 * process claims it (once: in a transaction), records that instance's unended jobs as
 * interrupted, and releases it. So a process starting while another runs on the same read models
 * (a rolling restart, two APIs on one volume) never takes the other's running jobs for its own.
 * A lease closed at shutdown is stale at once. Read models in memory: a lease in memory, never
 * shared. Until the review of 2026-11-27 the id was the read models' (`<read models>.instance`,
 * kept across restarts), shared by every process on them; such a file is taken, once, as a
 * stopped process's lease.
 */
export class InstanceLeases {
  /** This process's instance. */
  readonly id = randomUUID();
  private readonly db: Database.Database;
  /** Stale leases this process has claimed and not yet released: renewed with its own. */
  private readonly held = new Set<string>();

  constructor(
    readModelsFile: string,
    private readonly now: () => number = Date.now,
  ) {
    this.db = new Database(readModelsFile === ':memory:' ? ':memory:' : `${readModelsFile}.instances`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, heartbeat INTEGER NOT NULL)');
    if (readModelsFile !== ':memory:') this.takeLegacy(`${readModelsFile}.instance`);
    this.db.prepare('INSERT INTO leases (id, heartbeat) VALUES (?, ?)').run(this.id, this.now());
  }

  /** Renews this process's lease and those it holds. */
  beat(): void {
    const renew = this.db.prepare('UPDATE leases SET heartbeat = ? WHERE id = ?');
    const at = this.now();
    this.db.transaction(() => {
      for (const id of [this.id, ...this.held]) renew.run(at, id);
    })();
  }

  /** Claims the oldest lease not renewed for LEASE_STALE_MS (held, and renewed, until released): its id, or undefined when none is stale. */
  claimStale(): string | undefined {
    const claim = this.db.transaction(() => {
      const row = this.db.prepare('SELECT id FROM leases WHERE heartbeat < ? ORDER BY heartbeat LIMIT 1').get(this.now() - LEASE_STALE_MS) as { id: string } | undefined;
      if (row) this.db.prepare('UPDATE leases SET heartbeat = ? WHERE id = ?').run(this.now(), row.id);
      return row?.id;
    });
    const id = claim.immediate();
    if (id !== undefined) this.held.add(id);
    return id;
  }

  /** A claimed lease whose jobs are recorded: removed. */
  release(id: string): void {
    this.db.prepare('DELETE FROM leases WHERE id = ?').run(id);
    this.held.delete(id);
  }

  /** At shutdown, once this process's jobs have ended: its lease, and those it holds, stale at once (the next start records what they left unended). */
  close(): void {
    const expire = this.db.prepare('UPDATE leases SET heartbeat = 0 WHERE id = ?');
    for (const id of [this.id, ...this.held]) expire.run(id);
    this.db.close();
  }

  /** The read models' instance id of earlier code (`<read models>.instance`): a lease of a stopped process, the file removed. */
  private takeLegacy(file: string): void {
    let id: string;
    try {
      id = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (id) this.db.prepare('INSERT OR IGNORE INTO leases (id, heartbeat) VALUES (?, 0)').run(id);
    fs.rmSync(file, { force: true });
  }
}
