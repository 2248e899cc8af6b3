import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditJobs, type AuditJob } from './audit-jobs';

/** A worker that answers at once with a result, standing in for an audit kind. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-jobs-'));
const worker = { file: path.join(dir, 'answers.js') };
fs.writeFileSync(worker.file, "require('node:worker_threads').parentPort.postMessage({ type: 'result', result: { file: 'built.sqlite' } });\n");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a job ends only once its end handling (the swap of a rebuild, the record) is done', () => {
  it('while onEnded runs the job shows running and cannot be cancelled; then it shows succeeded, and done() resolves', async () => {
    let release!: () => void;
    const handled = new Promise<void>((r) => (release = r));
    let handling!: (job: AuditJob) => void;
    const entered = new Promise<AuditJob>((r) => (handling = r));
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker, onEnded: async (job) => (handling(job), handled) });
    const job = jobs.start('rebuild', {}, 'auditor');
    const done = jobs.done(job.id);

    const seenByOnEnded = await entered;
    expect(seenByOnEnded).toMatchObject({ state: 'succeeded', result: { file: 'built.sqlite' } });
    expect(jobs.get(job.id)).toMatchObject({ state: 'running', endedAt: null });
    expect(await jobs.cancel(job.id)).toBe(false);

    let closed = false;
    const closing = jobs.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false); // a shutdown waits for the end handling
    release();
    await expect(done).resolves.toMatchObject({ id: job.id, state: 'succeeded', result: { file: 'built.sqlite' } });
    expect(jobs.get(job.id)).toMatchObject({ state: 'succeeded', endedAt: expect.any(String) });
    await closing;
  });

  it('an end handling that fails still ends the job, with the reason beside its result', async () => {
    const jobs = new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker, onEnded: async () => Promise.reject(new Error('the store refused the record')) });
    const job = jobs.start('verify', {}, 'auditor');
    await expect(jobs.done(job.id)).resolves.toMatchObject({ state: 'succeeded', error: 'the job ended but could not be recorded: the store refused the record' });
    await jobs.close();
  });
});
