import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SqliteWriterMode } from '@ledger/event-store';
import { demoEstate, targets } from './estate';
import { openLoad, type OpenLoadResult } from './open-load';
import { tmpDir } from './util';

// autocannon has no bundled types; this is the part of its API the bench uses.
type AutocannonResult = { requests: { average: number; total: number }; latency: { p50: number; p99: number; p97_5: number; average: number }; non2xx: number; errors: number; timeouts: number };
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

/** What serves: the API, or a ceiling doing one durable append per request and nothing else (bench/ceiling-server.ts). */
export type HttpServer = 'api' | 'ceiling: bare Nest endpoint' | 'ceiling: bare Nest/Fastify endpoint' | 'ceiling: bare node:http';

export interface HttpRun {
  label: string;
  server: HttpServer;
  /** The server's SQLite writer (LEDGER_SQLITE_WRITER for the API). */
  writer: SqliteWriterMode;
  /** The 1-minute load average when the load started. */
  load: number;
  offeredRate: number | 'saturation';
  /** autocannon's connections; none for the open model (a keep-alive socket per request in flight). */
  connections?: number;
  throughput: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
  /** CPU (user + system) of the serving process, all its threads, per request completed; not given with audit jobs running (their threads are the API's). */
  cpuPerRequestUs?: number;
  /** Audit jobs that ran to their end during the load (the case with jobs). */
  jobsCompleted?: number;
  /** The open model: how late the bench sent its latest request (counted in the latencies). */
  maxSendLateMs?: number;
}

/** autocannon's figures in the shape openLoad answers. */
function autocannonRun(r: AutocannonResult) {
  return { throughput: Math.round(r.requests.average), answered: r.requests.total, p50ms: r.latency.p50, p99ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

/**
 * Keeps a what-if (over the whole log) and a full verification running on the API's worker
 * threads, each started again as soon as it ends, until stop(); answers how many completed.
 */
function keepJobsRunning(port: number): { stop(): Promise<number> } {
  let running = true;
  let completed = 0;
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers: { 'content-type': 'application/json', 'x-api-key': 'bench-auditor-key' }, body: body ? JSON.stringify(body) : undefined });
    return (await res.json()) as { id: string; state: string };
  };
  const loop = async (job: Record<string, unknown>) => {
    while (running) {
      const { id } = await call('POST', '/jobs', job);
      for (let state = 'queued'; running && (state === 'queued' || state === 'running'); ) {
        await new Promise((r) => setTimeout(r, 50));
        state = (await call('GET', `/jobs/${id}`)).state;
        if (state === 'succeeded') completed++;
      }
      if (!running) await call('DELETE', `/jobs/${id}`).catch(() => undefined);
    }
  };
  const loops = [loop({ kind: 'what-if', ruleSet: 'ownership-only' }), loop({ kind: 'verify' })];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return completed;
    },
  };
}

const ROOT = path.join(__dirname, '..', '..');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The CPU seconds (user + system, every thread) a process has used so far, from /proc. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Case 3: the API (its own process, as `npm start` runs it) on a demo estate, loaded by
 * autocannon from this process over 127.0.0.1: POST /service-requests (4.1.1 reads, each with a
 * RequestID of its own) at a fixed rate, the same with audit jobs running, then the same rate at
 * even intervals (the open model, bench/open-load.ts: autocannon's rate comes in bursts), then
 * at saturation.
 * Then the ceilings, each in its own process on its own copy of the store and under the same
 * loads (without the jobs): a bare Nest endpoint (on Express, as the API; and on Fastify) and a bare node:http server, each doing one
 * durable append of a decision-shaped event per request (bench/ceiling-server.ts). Once per SQLite
 * writer, each server on its own copy of the estate, one after the other.
 */
export async function http(devices: number, seconds: number, fixedRate: number, writers: SqliteWriterMode[] = ['thread', 'inline']): Promise<HttpRun[]> {
  const dir = tmpDir('http');
  const estate = await demoEstate(dir, devices);
  const ts = targets(estate.readModels, new Date().toISOString());
  estate.readModels.close();
  await estate.store.dispose();
  const runs: HttpRun[] = [];
  try {
    for (const writer of writers) {
      for (const [server, args] of [
        ['api', [path.join(ROOT, 'dist', 'apps', 'ledger-api', 'src', 'main.js')]],
        ['ceiling: bare Nest endpoint', [path.join(__dirname, 'ceiling-server.js'), 'nest']],
        ['ceiling: bare Nest/Fastify endpoint', [path.join(__dirname, 'ceiling-server.js'), 'nest-fastify']],
        ['ceiling: bare node:http', [path.join(__dirname, 'ceiling-server.js'), 'node']],
      ] as const) {
        const copy = fs.mkdtempSync(path.join(dir, `${writer}-`));
        fs.copyFileSync(estate.file, path.join(copy, 'ledger.sqlite'));
        if (server === 'api') fs.copyFileSync(path.join(dir, 'readmodels.sqlite'), path.join(copy, 'readmodels.sqlite'));
        runs.push(...(await loadServer(server, [...args], copy, writer, ts, seconds, fixedRate)));
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return runs;
}

async function loadServer(kind: HttpServer, args: string[], dir: string, writer: SqliteWriterMode, ts: ReturnType<typeof targets>, seconds: number, fixedRate: number): Promise<HttpRun[]> {
  const port = await freePort();
  const server = spawn(process.execPath, ['-r', path.join(ROOT, 'bin', 'register-paths.js'), ...args], {
    env: {
      ...process.env,
      PORT: String(port),
      LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite'),
      LEDGER_READMODEL_PATH: path.join(dir, 'readmodels.sqlite'),
      LEDGER_SQLITE_WRITER: writer,
      LEDGER_API_KEYS: 'bench-intake-key:intake,bench-auditor-key:auditor',
      LEDGER_JOBS_MAX_RUNNING: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (b: Buffer) => /listening on/.test(b.toString()) && resolve());
    server.on('exit', (code) => reject(new Error(`${kind} exited (${code}) before listening`)));
  });
  let counter = writer === 'thread' ? 5_000_000 : 7_000_000;
  const body = () => {
    const t = ts[counter % ts.length];
    return JSON.stringify({ requestId: `${t.supplier}:${t.deviceId}:${counter++}`, srv: '4.1.1' });
  };
  const load = (opts: Record<string, unknown>) =>
    autocannon({
      url: `http://127.0.0.1:${port}/service-requests`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'bench-intake-key' },
      duration: seconds,
      requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
      ...opts,
    });
  const runs: HttpRun[] = [];
  try {
    await load({ connections: 8, duration: 1 }); // warm-up
    for (const [label, opts, withJobs] of [
      [`${fixedRate} req/s offered`, { connections: 32, overallRate: fixedRate }, false],
      [`${fixedRate} req/s offered, a what-if and a verify job running back to back`, { connections: 32, overallRate: fixedRate }, true],
      [`${fixedRate} req/s offered at even intervals (open model)`, { open: true }, false],
      ['saturation, 64 connections', { connections: 64 }, false],
    ] as const) {
      if (withJobs && kind !== 'api') continue;
      const jobs = withJobs ? keepJobsRunning(port) : undefined;
      const started = os.loadavg()[0];
      const cpu = cpuSeconds(server.pid!);
      const r: Omit<OpenLoadResult, 'offered' | 'maxSendLateMs'> & { maxSendLateMs?: number } =
        'open' in opts
          ? await openLoad({ port, path: '/service-requests', headers: { 'content-type': 'application/json', 'x-api-key': 'bench-intake-key' }, body, rate: fixedRate, seconds })
          : autocannonRun(await load(opts));
      const cpuUsed = cpuSeconds(server.pid!) - cpu;
      const ran = await jobs?.stop();
      runs.push({
        label,
        server: kind,
        writer,
        load: +started.toFixed(2),
        offeredRate: 'connections' in opts && !('overallRate' in opts) ? 'saturation' : fixedRate,
        connections: 'connections' in opts ? opts.connections : undefined,
        throughput: r.throughput,
        p50ms: r.p50ms,
        p99ms: r.p99ms,
        non2xx: r.non2xx,
        errors: r.errors,
        ...(withJobs ? {} : { cpuPerRequestUs: Math.round((cpuUsed / Math.max(r.answered, 1)) * 1e6) }),
        ...(ran ? { jobsCompleted: ran } : {}),
        ...(r.maxSendLateMs !== undefined ? { maxSendLateMs: r.maxSendLateMs } : {}),
      });
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
  }
  return runs;
}
