import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerEntry } from './worker-entry';

describe("a worker's entry", () => {
  let root: string;
  let dir: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-entry-'));
    dir = path.join(root, 'dist', 'libs', 'event-store', 'src');
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(root, 'bin'));
    fs.writeFileSync(path.join(dir, 'compiled.js'), '');
    fs.writeFileSync(path.join(root, 'bin', 'register-paths.js'), '');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("compiled, in a process that registered the '@ledger/*' paths in its own code (the CLI): the worker is asked to register them, and a worker starts with it", async () => {
    // Node refuses process-wide flags (the CLI run with --max-old-space-size) in a worker's execArgv.
    process.execArgv.push('--max-old-space-size=512');
    let entry: ReturnType<typeof workerEntry>;
    try {
      entry = workerEntry(dir, 'compiled');
    } finally {
      process.execArgv.pop();
    }
    expect(entry).toEqual({ file: path.join(dir, 'compiled.js'), execArgv: ['--require', path.join(root, 'bin', 'register-paths.js')] });
    const worker = new Worker(entry.file, { execArgv: entry.execArgv });
    const exit = await new Promise<number>((resolve, reject) => worker.on('exit', resolve).on('error', reject));
    expect(exit).toBe(0);
  });

  it('compiled, in a process started with -r bin/register-paths.js (npm start): the worker inherits it', () => {
    process.execArgv.push('-r', './bin/register-paths.js');
    try {
      expect(workerEntry(dir, 'compiled')).toEqual({ file: path.join(dir, 'compiled.js') });
    } finally {
      process.execArgv.splice(-2, 2);
    }
  });

  it('the sources, through tsx (the tests)', () => {
    expect(workerEntry(dir, 'source')).toEqual({ file: path.join(dir, 'source.ts'), execArgv: ['--require', 'tsx/cjs'] });
  });
});
