import * as fs from 'node:fs';

/**
 * Writes a script to `file` that makes every rebuild's file find its disk full once its tables are made (ReadModelDb.bulk
 * of the module `readModelDb`, the sources' or the built one, given no page more than the file then has): SQLite's own
 * SQLITE_FULL, as on a full disk. `before` and `after`: the script's lines around it (what loads it, what it then runs).
 */
export function writeFullDiskScript(file: string, readModelDb: string, { before = '', after = '' }: { before?: string; after?: string } = {}): void {
  fs.writeFileSync(
    file,
    `${before}
const { ReadModelDb } = require(${JSON.stringify(readModelDb)});
const bulk = ReadModelDb.prototype.bulk;
ReadModelDb.prototype.bulk = function (work, options) {
  return bulk.call(this, () => {
    this.db.exec('VACUUM');
    this.db.pragma('max_page_count = ' + this.db.pragma('page_count', { simple: true }));
    return work();
  }, options);
};
${after}
`,
  );
}
