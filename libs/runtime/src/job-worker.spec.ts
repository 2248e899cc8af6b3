import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditJobs, digestAt, whatIf } from '@ledger/audit';
import { watched } from '@ledger/audit/testing/watched-worker';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { openReadModels } from '@ledger/projections';
import { rebuildInto } from '@ledger/projections/processor/rebuild-into';
import { jobWorker } from './jobs';

/**
 * A job's start is mostly loading code: a job's worker thread (the application's, and the audit
 * library's own) loads what its job needs only. Having run its jobs on a SQLite store, its thread
 * has loaded neither Nest nor the EventStoreDB client (the event store library's index), nor
 * rxjs's index, nor the projections (a rebuild loads those when it runs), nor the application's
 * configuration (class-validator: the job is given its store's).
 */
const ROOT = path.resolve(__dirname, '../../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-worker-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const heavy = (loaded: string[]) =>
  loaded.filter((f) => /@nestjs|@eventstore|[\\/]rxjs[\\/]dist[\\/]cjs[\\/]index\.js$|libs[\\/](event-store|audit)[\\/]src[\\/]index\.ts$|libs[\\/]projections[\\/]|[\\/]class-validator[\\/]|libs[\\/]runtime[\\/]src[\\/]config\.ts$/.test(f));

describe("a job's worker thread", () => {
  it.each([
    ['the application', path.join(ROOT, 'libs/runtime/src/job-worker.ts')],
    ['the audit library', path.join(ROOT, 'libs/audit/src/jobs/job-worker.ts')],
  ])("(%s's), having run a digest, a verification and a what-if on SQLite, has loaded neither Nest, the EventStoreDB client, rxjs's index nor the projections", async (_name, worker) => {
    const w = watched(worker);
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: w.entry });
    try {
      const ruleSet = { id: 'ownership-only', version: getRuleSet('ownership-only').version };
      for (const [kind, params] of [['digest', {}], ['verify', {}], ['what-if', { ruleSet }]] as const) expect(await jobs.done(jobs.start(kind, params, 'auditor', false).id)).toMatchObject({ state: 'succeeded' });
      const { loaded, answer } = await w.told(3);
      expect(answer).toBe('result');
      expect(loaded.some((f) => f.endsWith(path.join('event-store', 'src', 'sqlite-event-store.ts')))).toBe(true);
      expect(loaded.some((f) => f.endsWith(path.join('audit', 'src', 'what-if.ts')))).toBe(true);
      expect(heavy(loaded)).toEqual([]);
    } finally {
      await jobs.close();
      w.close();
    }
  }, 60_000);

  it('loads the EventStoreDB client when the store is EventStoreDB', async () => {
    const w = watched(path.join(ROOT, 'libs/runtime/src/job-worker.ts'));
    const jobs = new AuditJobs({ store: { kind: 'esdb', connectionString: 'esdb://127.0.0.1:1?tls=false', timeoutMs: 100 }, worker: w.entry });
    try {
      expect(await jobs.done(jobs.start('digest', {}, 'auditor', false).id)).toMatchObject({ state: 'failed' }); // nothing listens there
      expect((await w.told(1)).loaded.some((f) => /@eventstore[\\/]db-client/.test(f))).toBe(true);
    } finally {
      await jobs.close();
      w.close();
    }
  }, 60_000);
});

describe("the application's job worker, kept for the next job", () => {
  it('answers each job on the store as it is then, job after job, on one thread', async () => {
    const file = path.join(dir, 'store.sqlite');
    const store = new SqliteEventStore(file);
    const w = watched(jobWorker().file);
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: file }, worker: w.entry });
    const run = async (kind: string, params = {}) => (await jobs.done(jobs.start(kind, params, 'auditor', false).id)).result;
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 5, seed: 3 });
      const before = await run('digest');
      expect(before).toEqual(await digestAt(store));
      const ruleSet = getRuleSet('ownership-only');
      expect(await run('what-if', { ruleSet: { id: ruleSet.id, version: ruleSet.version } })).toMatchObject({ judged: (await whatIf(store, ruleSet)).judged });
      // The same estate grown to 8 devices: the first 5 devices' facts and requests again (retries), 3 new devices.
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 8, seed: 3 });
      const after = await run('digest');
      expect(after).toEqual(await digestAt(store));
      expect(after).not.toEqual(before);
      expect(await run('verify')).toMatchObject({ ok: true, position: (await store.headPosition())!.toString() });
      const threads = await Promise.all([1, 2, 3, 4].map(async (n) => (await w.told(n)).threadId));
      expect(new Set(threads).size).toBe(1);
    } finally {
      await jobs.close();
      w.close();
      await store.dispose();
    }
  }, 60_000);
});

describe('a rebuild job on two threads (its chain check on the second)', () => {
  const onLinux = process.platform === 'linux' ? it : it.skip; // it counts the process's threads in /proc
  onLinux('builds the read models one thread builds; cancelled while it runs, it leaves no thread behind (Linux)', async () => {
    const file = path.join(dir, 'rebuild-store.sqlite');
    const store = new SqliteEventStore(file);
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: file }, worker: jobWorker(), whatIfThreads: 2 });
    const osThreads = () => fs.readdirSync('/proc/self/task').length;
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 600, seed: 5 });
      const head = Number(await store.headPosition());
      expect(head).toBeGreaterThan(3000); // batches of 1,000: the cancel below lands while it runs
      const one = path.join(dir, 'rebuilt-one.sqlite');
      const two = path.join(dir, 'rebuilt-two.sqlite');
      await rebuildInto(store, one);
      expect(await jobs.done(jobs.start('rebuild', { file: two }, 'admin', false).id)).toMatchObject({ state: 'succeeded', result: { events: head } });
      const dumpOf = (f: string) => {
        const w = openReadModels(f);
        const d = w.dump();
        w.db.close();
        return d;
      };
      expect(dumpOf(two)).toEqual(dumpOf(one));

      const idle = osThreads(); // the job's worker, kept for the next job
      const job = jobs.start('rebuild', { file: path.join(dir, 'cancelled.sqlite') }, 'admin', false);
      for (let i = 0; i < 2000 && jobs.get(job.id)!.progress.done === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(jobs.get(job.id)!.state).toBe('running');
      await jobs.cancel(job.id);
      for (let i = 0; i < 200 && osThreads() > idle - 1; i++) await new Promise((r) => setTimeout(r, 10));
      expect(osThreads()).toBeLessThanOrEqual(idle - 1); // the job's thread and its chain thread are gone
    } finally {
      await jobs.close();
      await store.dispose();
    }
  }, 120_000);
});
