import * as fs from 'node:fs';
import * as path from 'node:path';
import { whatIf } from '@ledger/audit';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { createProjections, ProjectionWriter, Projector, ReadModelDb } from '@ledger/projections';
import { REBUILD_BATCH, REBUILD_COMMIT, rebuildInto } from '@ledger/projections/processor/rebuild-into';
import type Database from 'better-sqlite3';
import { readModelBytes, storeBytes } from './bytes';
import { timed } from './util';

/**
 * One scale task in a process of its own, so that its peak RSS is its own:
 *   generate <dir> <devices> | read <dir> | rebuild <dir> [threads, default 1] | ceiling <dir> | whatif <dir> [threads, default 1]
 * Prints one JSON line; generate and rebuild add the bytes per decision of the store and of the read
 * models. `read` is the raw read of the log (every event through the store's readAll, nothing
 * parsed beyond what the store gives): the ceiling rebuild and what-if are measured against.
 * `ceiling` is the rebuild with the least a read model needs: the same Projector (its reads of the
 * log, a rebuild job's batches (REBUILD_BATCH), the read models' file, pragmas and bulk mode, and
 * its commits: a transaction the batches share, committed every REBUILD_COMMIT events, with the
 * journal in memory meanwhile), writing one small row per event (position, stream, type) and the
 * checkpoint, with nothing decoded, folded or chained.
 */
class OneRowPerEvent extends ProjectionWriter {
  private readonly insert: Database.Statement<[bigint, string, string]>;
  private uncommittedRows = 0;

  constructor(db: ReadModelDb) {
    super(db, createProjections(db)); // installs the checkpoint (and the read models' tables, left empty)
    db.db.exec('CREATE TABLE event_rows (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, type TEXT NOT NULL)');
    this.insert = db.db.prepare('INSERT INTO event_rows (position, stream, type) VALUES (?, ?, ?)');
  }

  override applyBatch(events: readonly RecordedEvent[]): void {
    if (!this.db.db.inTransaction) {
      this.db.db.exec('BEGIN IMMEDIATE');
      this.uncommittedRows = 0;
    }
    this.db.db.transaction(() => {
      for (const e of events) this.insert.run(e.position, e.stream, e.type);
      this.checkpoint.set(events[events.length - 1].position, this.checkpoint.get().applied + events.length);
    })();
    if ((this.uncommittedRows += events.length) >= REBUILD_COMMIT) this.db.db.exec('COMMIT');
  }

  override finish(): void {
    if (this.db.db.inTransaction) this.db.db.exec('COMMIT');
  }

  override reset(): void {
    super.reset();
    this.db.db.exec('DELETE FROM event_rows');
  }
}

async function main(): Promise<void> {
  const [task, dir, arg] = process.argv.slice(2);
  const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
  let result: Record<string, unknown>;
  if (task === 'generate') {
    const t = await timed(() => runDemo(new Ledger(store, getRuleSet('baseline')), { devices: Number(arg), concurrency: 64 }));
    await store.dispose();
    result = { events: t.value.events, decisions: t.value.requests, seconds: t.seconds, bytes: storeBytes(path.join(dir, 'ledger.sqlite')) };
  } else if (task === 'read') {
    const t = await timed(async () => {
      let n = 0;
      for await (const _ of store.readAll()) n++;
      return n;
    });
    result = { events: t.value, seconds: t.seconds, cpuSeconds: t.cpuSeconds };
  } else if (task === 'rebuild') {
    // As a rebuild job builds it (the API's POST /admin/rebuild): into a file of its own.
    const file = path.join(dir, `readmodels-${process.pid}.sqlite`);
    const t = await timed(() => rebuildInto(store, file, undefined, { threads: Number(arg ?? 1) }));
    result = { events: t.value.events, seconds: t.seconds, cpuSeconds: t.cpuSeconds, bytes: readModelBytes(file, t.value.events) };
    removeSqlite(file);
  } else if (task === 'ceiling') {
    const file = path.join(dir, `ceiling-${process.pid}.sqlite`);
    const writer = new OneRowPerEvent(new ReadModelDb(file));
    const t = await timed(() =>
      writer.db.bulk(
        async () => {
          const n = await new Projector(store, writer, { batchSize: REBUILD_BATCH }).catchUp();
          writer.finish();
          return n;
        },
        { memoryJournal: true },
      ),
    );
    writer.db.closeCheckpointed();
    result = { events: t.value, seconds: t.seconds, cpuSeconds: t.cpuSeconds };
    removeSqlite(file);
  } else if (task === 'whatif') {
    let scanned = 0;
    const threads = Number(arg ?? 1);
    const t = await timed(() => whatIf(store, getRuleSet('ownership-only'), {}, {}, (n) => (scanned = n), { threads, store: { kind: 'sqlite', path: path.join(dir, 'ledger.sqlite') } }));
    result = { decisions: t.value.judged, events: scanned, changed: t.value.changes.total, seconds: t.seconds, cpuSeconds: t.cpuSeconds };
  } else throw new Error(`unknown task ${task}`);
  await store.dispose(); // a second dispose (after generate) does nothing
  process.stdout.write(`${JSON.stringify({ ...result, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
}

/** A measured read-model file is removed once measured: with `scale.js --dir` the log's directory is the caller's, kept (a run there left a ~600 MB file per step). */
function removeSqlite(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
