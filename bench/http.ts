import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { demoEstate, targets } from './estate';
import { tmpDir } from './util';

// autocannon has no bundled types; this is the part of its API the bench uses.
type AutocannonResult = { requests: { average: number; total: number }; latency: { p50: number; p99: number; p97_5: number; average: number }; non2xx: number; errors: number; timeouts: number };
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

export interface HttpRun {
  label: string;
  offeredRate: number | 'saturation';
  connections: number;
  throughput: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

const ROOT = path.join(__dirname, '..', '..');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Case 3: the API (its own process, as `npm start` runs it) on a demo estate, loaded by
 * autocannon from this process over 127.0.0.1: POST /service-requests (4.1.1 reads, each with a
 * RequestID of its own) at a fixed rate, then at saturation.
 */
export async function http(devices: number, seconds: number, fixedRate: number): Promise<HttpRun[]> {
  const dir = tmpDir('http');
  const estate = await demoEstate(dir, devices);
  const ts = targets(estate.readModels, new Date().toISOString());
  estate.readModels.close();
  await estate.store.dispose();
  const port = await freePort();
  const server = spawn(process.execPath, ['-r', path.join(ROOT, 'bin', 'register-paths.js'), path.join(ROOT, 'dist', 'apps', 'ledger-api', 'src', 'main.js')], {
    env: { ...process.env, PORT: String(port), LEDGER_SQLITE_PATH: estate.file, LEDGER_READMODEL_PATH: path.join(dir, 'readmodels.sqlite'), LEDGER_API_KEYS: 'bench-intake-key:intake' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (b: Buffer) => /listening on/.test(b.toString()) && resolve());
    server.on('exit', (code) => reject(new Error(`the API exited (${code}) before listening`)));
  });
  let counter = 5_000_000;
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
    for (const [label, opts] of [
      [`${fixedRate} req/s offered`, { connections: 32, overallRate: fixedRate }],
      ['saturation, 64 connections', { connections: 64 }],
    ] as const) {
      const r = await load(opts);
      runs.push({
        label,
        offeredRate: 'overallRate' in opts ? opts.overallRate : 'saturation',
        connections: opts.connections,
        throughput: Math.round(r.requests.average),
        p50ms: r.latency.p50,
        p99ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
      });
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
  }
  return runs;
}
