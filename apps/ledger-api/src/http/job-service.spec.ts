import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditJobs } from '@ledger/audit';
import { JobService } from './jobs.controller';

/** The API's jobs at shutdown: closed before the HTTP server stops, so what waits on them is answered, not held. */
describe("the API's audit jobs at shutdown", () => {
  it('a synchronous route waiting on a job is answered JobsClosedError (503 SHUTTING_DOWN) once shutdown closes the jobs, and a job asked for after is refused the same way', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-service-'));
    try {
      const never = { file: path.join(dir, 'never-answers.js') };
      fs.writeFileSync(never.file, 'setInterval(() => {}, 1000);\n');
      const service = new JobService(new AuditJobs({ store: { kind: 'sqlite', path: ':memory:' }, worker: never }));
      const answered = service.run('verify', {}, 'api:auditor').then(
        () => 'succeeded',
        (err: Error) => err,
      );
      await service.beforeApplicationShutdown();
      expect(await answered).toMatchObject({ name: 'JobsClosedError', message: expect.stringMatching(/^the verify job .* was cancelled: the API is shutting down$/) });
      await expect(service.run('verify', {}, 'api:auditor')).rejects.toMatchObject({ name: 'JobsClosedError' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
