import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decisions } from './decisions';
import { esdbCase } from './esdb';
import { http } from './http';
import { scale, scaleTable } from './scale';
import { ceiling, ours, peer } from './store';
import { fmt } from './util';

/**
 * `npm run bench [-- --quick]`: prints a table and writes bench/results.json. Benchmarks are not
 * tests: nothing here passes or fails on a figure.
 */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const size = quick
    ? { singles: 2_000, batched: 20_000, estate: 300, requests: 2_000, httpSeconds: 3, scale: [10_000, 100_000] }
    : { singles: 10_000, batched: 100_000, estate: 2_000, requests: 20_000, httpSeconds: 10, scale: [10_000, 100_000, 1_000_000] };
  const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
  const started = new Date();

  log('store: ours, peer (Emmett SQLite), ceiling (raw better-sqlite3)');
  const store = { ours: await ours(size.singles, size.batched), peer: await peer(size.singles, size.batched), ceiling: await ceiling(size.singles, size.batched) };
  log('decisions end to end');
  const dec = await decisions(size.estate, size.requests);
  log('HTTP');
  const web = await http(size.estate, size.httpSeconds, 1000);
  log('decisions and rebuild through the EventStoreDB adapter (protocol test server)');
  const esdb = await esdbCase(size.estate, size.requests);
  log('rebuild and what-if scale');
  const sc = scale(size.scale, log);

  const root = path.join(__dirname, '..', '..');
  const version = (pkg: string) => (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const results = {
    date: started.toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    versions: Object.fromEntries(['better-sqlite3', 'sqlite3', '@event-driven-io/emmett-sqlite', '@nestjs/core', 'autocannon'].map((p) => [p, version(p)])),
    sizes: size,
    store: {
      eventsPerSecond: store,
      ratios: Object.fromEntries((['single', 'batch100', 'readAll'] as const).map((k) => [k, { oursOverPeer: +(store.ours[k] / store.peer[k]).toFixed(2), oursOverCeiling: +(store.ours[k] / store.ceiling[k]).toFixed(2) }])),
    },
    decisions: dec,
    esdb,
    http: web,
    scale: sc,
  };
  const out = path.join(root, 'bench', 'results.json');
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  const lines: string[] = [];
  lines.push(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGB} GiB, ${results.machine.node}; ${results.mode} run, ${results.date}`);
  lines.push('', '1. store (events/s, file, WAL, synchronous=FULL)', '| case | ours | peer (Emmett SQLite) | ceiling (raw better-sqlite3) | ours/peer | ours/ceiling |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const k of ['single', 'batch100', 'readAll'] as const) {
    const label = { single: 'one event per append, expected revision', batch100: 'batches of 100', readAll: 'read the whole log' }[k];
    lines.push(`| ${label} | ${fmt(store.ours[k])} | ${fmt(store.peer[k])} | ${fmt(store.ceiling[k])} | ${results.store.ratios[k].oursOverPeer} | ${results.store.ratios[k].oursOverCeiling} |`);
  }
  lines.push('', `2. decisions end to end (evaluate + durable append), ${fmt(dec.requests)} requests on a ${fmt(dec.estateDevices)}-device estate`, '| in flight | decisions/s |', '| --- | ---: |');
  for (const [k, v] of Object.entries(dec.perSecond)) lines.push(`| ${k} | ${fmt(v)} |`);
  lines.push(
    '',
    `2b. through the EventStoreDB adapter, against the in-process protocol test server (gRPC over 127.0.0.1, store in memory): the adapter's cost, not a node's; ${fmt(esdb.requests)} requests on the same ${fmt(esdb.estateDevices)}-device estate (${fmt(esdb.estateEvents)} events)`,
    '| case | SQLite | EventStoreDB adapter |',
    '| --- | ---: | ---: |',
  );
  for (const [k, v] of Object.entries(esdb.decisionsPerSecond)) lines.push(`| decisions/s, ${k} | ${fmt(dec.perSecond[k] ?? NaN)} | ${fmt(v)} |`);
  lines.push(`| rebuild events/s | ${fmt(esdb.rebuildEventsPerSecond.sqlite)} | ${fmt(esdb.rebuildEventsPerSecond.esdbProtocolServer)} |`);
  lines.push('', '3. HTTP POST /service-requests (API in its own process, autocannon over 127.0.0.1)', '| load | throughput req/s | p50 ms | p99 ms | non-2xx | errors |', '| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of web) lines.push(`| ${r.label}${r.jobsCompleted !== undefined ? ` (${r.jobsCompleted} jobs completed)` : ''} | ${fmt(r.throughput)} | ${r.p50ms} | ${r.p99ms} | ${r.non2xx} | ${r.errors} |`);
  const [plain, withJobs] = web;
  if (plain && withJobs?.jobsCompleted !== undefined) lines.push(`p99 with audit jobs running / without: ${(withJobs.p99ms / plain.p99ms).toFixed(2)} (target: at most 2)`);
  lines.push('', ...scaleTable(sc));
  lines.push(
    '',
    '5. bytes per decision (ServiceRequestEvaluated) by size: as stored (data + metadata), the store file and the read models\' decisions table with its indexes',
    '| events | decisions | data | metadata | stored | store file per decision | read models per decision | store file per event | read models file per event | state per device |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of sc) {
    const { store: s, readModels: m } = r.bytes;
    lines.push(`| ${[r.events, s.decisions, s.dataPerDecision, s.metadataPerDecision, s.perDecision, s.filePerDecision, m.perDecision, s.filePerEvent, m.filePerEvent, m.statePerRow.devices].map(fmt).join(' | ')} |`);
  }
  lines.push('', `written to ${path.relative(process.cwd(), out)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
