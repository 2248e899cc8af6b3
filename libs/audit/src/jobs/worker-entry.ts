import * as fs from 'node:fs';
import * as path from 'node:path';

/** A worker's entry beside `dir`: the compiled .js, or the .ts source through tsx (tests run the sources). */
export function workerEntry(dir: string, name: string): { file: string; execArgv?: string[] } {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return { file: js };
  return { file: path.join(dir, `${name}.ts`), execArgv: ['--require', 'tsx/cjs'] };
}
