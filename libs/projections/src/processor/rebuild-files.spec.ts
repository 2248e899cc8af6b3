import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeRebuildFile } from './rebuild-files';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rebuild-files-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('removeRebuildFile', () => {
  it('removes a rebuild file with its -wal and -shm, and a -journal (SQLite\'s rollback journal), nothing else beside it', () => {
    const file = path.join(dir, 'readmodels.sqlite.rebuild-1-1795783457501-1');
    const other = path.join(dir, 'readmodels.sqlite');
    for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`, other]) fs.writeFileSync(f, 'x');
    removeRebuildFile(file);
    expect(fs.readdirSync(dir)).toEqual(['readmodels.sqlite']);
    removeRebuildFile(file); // none there: nothing to do
  });
});
