import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditJobs, digestAt, whatIf } from '@ledger/audit';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { jobWorker } from './jobs';

/**
 * A job's start is mostly loading code: a job's worker thread (the application's, and the audit
 * library's own) loads what its job needs only. Its imports, and a SQLite store it opens, load
 * neither Nest nor the EventStoreDB client (the event store library's index), nor rxjs's index,
 * nor the projections (a rebuild loads those when it runs).
 */
const ROOT = path.resolve(__dirname, '../../..');

function loadedBy(worker: string, opens: object): string[] {
  const imports = [...fs.readFileSync(worker, 'utf8').matchAll(/^import .* from '([^']+)';/gm)].map((m) => (m[1].startsWith('.') ? path.join(path.dirname(worker), m[1]) : m[1]));
  const script = `for (const m of ${JSON.stringify(imports)}) require(m);
require('@ledger/event-store/config').createEventStore(${JSON.stringify(opens)}).then((s) => s.dispose()).then(() => console.log(JSON.stringify(Object.keys(require.cache))));`;
  return JSON.parse(execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
}

const heavy = (loaded: string[]) => loaded.filter((f) => /@nestjs|@eventstore|[\\/]rxjs[\\/]dist[\\/]cjs[\\/]index\.js$|libs[\\/](event-store|audit)[\\/]src[\\/]index\.ts$|libs[\\/]projections[\\/]/.test(f));

describe("a job's worker thread", () => {
  it.each([
    ['the application', path.join(ROOT, 'libs/runtime/src/job-worker.ts')],
    ['the audit library', path.join(ROOT, 'libs/audit/src/jobs/job-worker.ts')],
  ])("(%s's) loads neither Nest, the EventStoreDB client, rxjs's index nor the projections for a job on SQLite", (_name, worker) => {
    const loaded = loadedBy(worker, { kind: 'sqlite', path: ':memory:' });
    expect(loaded.some((f) => f.endsWith(path.join('event-store', 'src', 'sqlite-event-store.ts')))).toBe(true);
    expect(loaded.some((f) => f.endsWith(path.join('audit', 'src', 'jobs', 'work.ts')))).toBe(true);
    expect(heavy(loaded)).toEqual([]);
  }, 60_000);

  it('loads the EventStoreDB client when the store is EventStoreDB', () => {
    const loaded = loadedBy(path.join(ROOT, 'libs/runtime/src/job-worker.ts'), { kind: 'esdb', connectionString: 'esdb://127.0.0.1:1?tls=false', timeoutMs: 100 });
    expect(loaded.some((f) => /@eventstore[\\/]db-client/.test(f))).toBe(true);
  }, 60_000);
});

describe("the application's job worker, kept for the next job", () => {
  it('answers each job on the store as it is then, job after job', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-worker-'));
    const file = path.join(dir, 'store.sqlite');
    const store = new SqliteEventStore(file);
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: file }, worker: jobWorker() });
    const run = async (kind: string, params = {}) => (await jobs.done(jobs.start(kind, params, 'auditor', false).id)).result;
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 5, seed: 3 });
      const before = await run('digest');
      expect(before).toEqual(await digestAt(store));
      const ruleSet = getRuleSet('ownership-only');
      expect(await run('what-if', { ruleSet: { id: ruleSet.id, version: ruleSet.version } })).toMatchObject({ judged: (await whatIf(store, ruleSet)).judged });
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 8, seed: 4 });
      const after = await run('digest');
      expect(after).toEqual(await digestAt(store));
      expect(after).not.toEqual(before);
      expect(await run('verify')).toMatchObject({ ok: true, position: (await store.headPosition())!.toString() });
    } finally {
      await jobs.close();
      await store.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
