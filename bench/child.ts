import Database from 'better-sqlite3';
import * as path from 'node:path';
import { whatIf } from '@ledger/audit';
import { getRuleSet } from '@ledger/domain';
import { canonicalJson, SqliteEventStore, type ReadAllOptions } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { openReadModels, Projector } from '@ledger/projections';
import { readModelBytes, storeBytes } from './bytes';
import { timed } from './util';

/**
 * One scale task in a process of its own, so that its peak RSS is its own:
 *   generate <dir> <devices> | canonical <dir> | read <dir> | rebuild <dir> [parsed] | whatif <dir> [threads, default 1]
 * Prints one JSON line; generate and rebuild add the bytes per decision of the store and of the read
 * models. `read` is the raw read of the log (every event through the store's readAll, nothing
 * parsed beyond what the store gives): the ceiling rebuild and what-if are measured against.
 * `rebuild <dir> parsed` reads the log without its stored text, so the chain check hashes the
 * parsed events (as before it hashed the text). `canonical` rewrites every event's stored text as
 * canonical JSON, as a store that writes canonical text holds it (the same events, the same hashes).
 */
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
  } else if (task === 'canonical') {
    await store.dispose();
    const db = new Database(path.join(dir, 'ledger.sqlite'));
    db.function('canonical', (text: string) => canonicalJson(JSON.parse(text)));
    const t = await timed(async () => db.prepare('UPDATE events SET data = canonical(data), metadata = canonical(metadata)').run().changes);
    db.close();
    result = { events: t.value, seconds: t.seconds };
  } else if (task === 'rebuild') {
    if (arg === 'parsed') {
      const readAll = store.readAll.bind(store);
      store.readAll = (o?: ReadAllOptions) => readAll({ ...o, text: false });
    }
    const file = path.join(dir, `readmodels-${process.pid}.sqlite`);
    const writer = openReadModels(file);
    const t = await timed(() => new Projector(store, writer, { batchSize: 1000 }).rebuild());
    writer.db.closeCheckpointed();
    result = { events: t.value, seconds: t.seconds, cpuSeconds: t.cpuSeconds, bytes: readModelBytes(file, t.value) };
  } else if (task === 'whatif') {
    let scanned = 0;
    const threads = Number(arg ?? 1);
    const t = await timed(() => whatIf(store, getRuleSet('ownership-only'), {}, {}, (n) => (scanned = n), { threads, store: { kind: 'sqlite', path: path.join(dir, 'ledger.sqlite') } }));
    result = { decisions: t.value.judged, events: scanned, changed: t.value.changes.total, seconds: t.seconds, cpuSeconds: t.cpuSeconds };
  } else throw new Error(`unknown task ${task}`);
  await store.dispose(); // a second dispose (after generate) does nothing
  process.stdout.write(`${JSON.stringify({ ...result, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
