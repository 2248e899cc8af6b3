import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { storeBytes, type ReadModelBytes, type StoreBytes } from './bytes';
import { fmt, rate, tmpDir } from './util';

/**
 * The 1-minute load average when a step ended, and the step's CPU seconds (user + system) beside its
 * wall-clock seconds: the machine may be shared, so figures are compared within a run.
 */
type Load = { load1: number; cpuSeconds: number };

export interface ScaleRow {
  targetEvents: number;
  events: number;
  decisions: number;
  /** Absent for a log already generated (`--dir`). */
  generate?: { eventsPerSecond: number };
  /** The raw read of the same log (every event through the store's readAll): what rebuild and what-if are compared with. */
  read: { eventsPerSecond: number; seconds: number; maxRssMB: number } & Load;
  rebuild: RebuildRow;
  /** The same rebuild on two threads (a rebuild job's, when it gets both: the second reads and checks the events ahead). */
  rebuildThreads: RebuildRow;
  /** The ceiling: the rebuild's reads and batches writing one small row per event and nothing else (bench/child.ts `ceiling`); rebuild / ceiling beside. */
  ceiling: { eventsPerSecond: number; seconds: number; maxRssMB: number; overRead: number; rebuildOverCeiling: number } & Load;
  /** What-if (ownership-only) over the whole log on one thread: decisions judged per second, and events scanned per second. */
  whatIf: WhatIfRow;
  /** The same what-if on as many threads as the machine has cores (LEDGER_WHATIF_THREADS's default). */
  whatIfThreads: WhatIfRow & { threads: number };
  /** Bytes per decision in the store and in the read models (see bench/bytes.ts). */
  bytes: { store: StoreBytes; readModels: ReadModelBytes };
}

type Generated = { events: number; seconds: number; bytes: StoreBytes };

type RebuildRow = { eventsPerSecond: number; seconds: number; maxRssMB: number; overRead: number } & Load;

type WhatIfRow = { decisionsPerSecond: number; eventsScannedPerSecond: number; seconds: number; maxRssMB: number; overRead: number } & Load;

const ROOT = path.join(__dirname, '..', '..');
const EVENTS_PER_DEVICE = 7; // what the demo estate writes per device, measured

function child(args: string[]): Record<string, number> & { bytes?: unknown } {
  const out = execFileSync(process.execPath, ['-r', path.join(ROOT, 'bin', 'register-paths.js'), path.join(__dirname, 'child.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return { ...JSON.parse(out.trim().split('\n').pop()!), load1: +os.loadavg()[0].toFixed(2) };
}

const ratio = (a: number, b: number) => +(a / b).toFixed(2);

/** Case 4: raw read, rebuild, its ceiling and what-if of the same log at growing sizes, each measured in a process of its own. */
export function scale(sizes: number[], onStep: (msg: string) => void): ScaleRow[] {
  return sizes.map((target) => {
    const dir = tmpDir(`scale-${target}`);
    try {
      onStep(`generating ~${target} events`);
      const gen = child(['generate', dir, String(Math.ceil(target / EVENTS_PER_DEVICE))]) as unknown as Generated;
      return measure(dir, target, gen, onStep);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Reads, rebuilds (and the rebuild's ceiling) and what-ifs the log in `dir`, one after the other, each in a process of its own. */
export function measure(dir: string, target: number, gen: Generated | undefined, onStep: (msg: string) => void): ScaleRow {
  onStep(gen ? `reading ${gen.events} events` : `reading ${dir}`);
  const rd = child(['read', dir]);
  onStep(`rebuilding from ${rd.events} events`);
  const rb = child(['rebuild', dir]);
  onStep(`rebuilding from ${rd.events} events on 2 threads`);
  const rb2 = child(['rebuild', dir, '2']);
  onStep(`ceiling: reading ${rd.events} events and writing one row per event`);
  const cl = child(['ceiling', dir]);
  const threads = os.availableParallelism();
  onStep(`what-if over ${rd.events} events, on 1 thread and on ${threads}`);
  const wi = child(['whatif', dir, '1']);
  const wiN = child(['whatif', dir, String(threads)]);
  const read = rate(rd.events, rd.seconds);
  const rebuildRow = (r: typeof rb): RebuildRow => {
    const perSecond = rate(r.events, r.seconds);
    return { eventsPerSecond: perSecond, seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssMB: r.maxRssMB, overRead: ratio(perSecond, read), load1: r.load1 };
  };
  const rebuild = rate(rb.events, rb.seconds);
  const ceiling = rate(cl.events, cl.seconds);
  const whatIfRow = (w: typeof wi): WhatIfRow => {
    const scanned = rate(w.events, w.seconds);
    return { decisionsPerSecond: rate(w.decisions, w.seconds), eventsScannedPerSecond: scanned, seconds: w.seconds, cpuSeconds: w.cpuSeconds, maxRssMB: w.maxRssMB, overRead: ratio(scanned, read), load1: w.load1 };
  };
  return {
    targetEvents: target,
    events: rd.events,
    decisions: wi.decisions,
    ...(gen && { generate: { eventsPerSecond: rate(gen.events, gen.seconds) } }),
    read: { eventsPerSecond: read, seconds: rd.seconds, cpuSeconds: rd.cpuSeconds, maxRssMB: rd.maxRssMB, load1: rd.load1 },
    rebuild: rebuildRow(rb),
    rebuildThreads: rebuildRow(rb2),
    ceiling: { eventsPerSecond: ceiling, seconds: cl.seconds, cpuSeconds: cl.cpuSeconds, maxRssMB: cl.maxRssMB, overRead: ratio(ceiling, read), rebuildOverCeiling: ratio(rebuild, ceiling), load1: cl.load1 },
    whatIf: whatIfRow(wi),
    whatIfThreads: { ...whatIfRow(wiN), threads },
    bytes: { store: gen?.bytes ?? storeBytes(path.join(dir, 'ledger.sqlite')), readModels: rb.bytes as ReadModelBytes },
  };
}

/** Table 4 of the report. */
export function scaleTable(rows: ScaleRow[]): string[] {
  const lines = [
    '4. raw read, rebuild (on 1 thread and on 2), the ceiling (the rebuild\'s reads writing one row per event) and what-if (ownership-only) of the same log by size, each in a process of its own; the what-if on 1 thread and on N (the cores) (load: 1-minute load average after each step)',
    '| events | decisions | raw read events/s | rebuild events/s | rebuild / read | rebuild events/s, 2 threads | / read | ceiling: one row per event, events/s | / read | rebuild / ceiling | what-if decisions/s, 1 thread | events scanned/s | / read | what-if decisions/s, N threads | events scanned/s | / read | peak RSS MB read, rebuild 1, 2, ceiling, what-if 1, N | load read, rebuild 1, 2, ceiling, what-if 1, N |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const [w1, wn, r2] = [r.whatIf, r.whatIfThreads, r.rebuildThreads];
    lines.push(
      `| ${fmt(r.events)} | ${fmt(r.decisions)} | ${fmt(r.read.eventsPerSecond)} | ${fmt(r.rebuild.eventsPerSecond)} | ${r.rebuild.overRead} | ${fmt(r2.eventsPerSecond)} | ${r2.overRead} | ${fmt(r.ceiling.eventsPerSecond)} | ${r.ceiling.overRead} | ${r.ceiling.rebuildOverCeiling} | ${fmt(w1.decisionsPerSecond)} | ${fmt(w1.eventsScannedPerSecond)} | ${w1.overRead} | ${fmt(wn.decisionsPerSecond)} (N=${wn.threads}) | ${fmt(wn.eventsScannedPerSecond)} | ${wn.overRead} | ${r.read.maxRssMB}, ${r.rebuild.maxRssMB}, ${r2.maxRssMB}, ${r.ceiling.maxRssMB}, ${w1.maxRssMB}, ${wn.maxRssMB} | ${r.read.load1}, ${r.rebuild.load1}, ${r2.load1}, ${r.ceiling.load1}, ${w1.load1}, ${wn.load1} |`,
    );
  }
  return lines;
}

/**
 * Case 4 alone: `node -r ./bin/register-paths.js dist/bench/scale.js [sizes...]` (default 100000),
 * or `... dist/bench/scale.js --dir <dir with ledger.sqlite>` for a log already generated.
 * Prints the table and writes bench/scale-results.json.
 */
function sizeOf(arg: string): number {
  const n = Number(arg);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`scale: a size is a whole number of events above 0, not '${arg}' (or --dir <dir>)`);
  return n;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const log = (m: string) => process.stderr.write(`scale: ${m}\n`);
  const at = args.indexOf('--dir');
  if (at >= 0 && !fs.existsSync(path.join(args[at + 1] ?? '', 'ledger.sqlite'))) throw new Error(`scale: --dir needs a directory holding ledger.sqlite, not '${args[at + 1] ?? ''}'`);
  const rows =
    at >= 0
      ? [measure(args[at + 1], 0, undefined, log)]
      : scale(args.length ? args.map(sizeOf) : [100_000], log);
  const out = path.join(ROOT, 'bench', 'scale-results.json');
  fs.writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), cores: os.cpus().length, node: process.version, scale: rows }, null, 2)}\n`);
  process.stdout.write(`${scaleTable(rows).join('\n')}\n`);
}
