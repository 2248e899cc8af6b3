import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A worker's entry beside `dir`: the compiled .js, or the .ts source through tsx (tests run the
 * sources). A compiled worker resolves the '@ledger/*' imports through bin/register-paths.js: a
 * worker thread inherits the `-r` flags its process started with (`npm start` gives it), but not a
 * register done in the process's own code (bin/ledger.js, the CLI, does that), so the entry asks
 * for it when the process was not started with it.
 */
export function workerEntry(dir: string, name: string): { file: string; execArgv?: string[] } {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) {
    const dist = dir.lastIndexOf(`${path.sep}dist${path.sep}`);
    const register = dist >= 0 ? path.join(dir.slice(0, dist), 'bin', 'register-paths.js') : undefined;
    const started = process.execArgv.some((a) => a.endsWith('register-paths.js'));
    // Only that flag: a worker refuses process-wide ones (--max-old-space-size, ...) given explicitly.
    return register && !started && fs.existsSync(register) ? { file: js, execArgv: ['--require', register] } : { file: js };
  }
  return { file: path.join(dir, `${name}.ts`), execArgv: ['--require', 'tsx/cjs'] };
}
