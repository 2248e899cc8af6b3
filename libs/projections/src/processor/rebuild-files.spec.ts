import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ReadModelDb } from '../read-model-db';
import { openReadModels } from './projection-writer';
import { ORPHANED_AFTER_MS, putRebuiltInPlace, removeOrphanedRebuilds, removeRebuildFile, replaceWhenFree } from './rebuild-files';

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

describe('replaceWhenFree', () => {
  it('past its tries, each refused by a reader of the live read models, says how many and for how long, and leaves both files as they were', async () => {
    const live = path.join(dir, 'readmodels.sqlite');
    const built = path.join(dir, 'readmodels.sqlite.rebuild-1-1795783457501-1');
    for (const f of [live, built]) openReadModels(f).db.closeCheckpointed();
    const readModels = new ReadModelDb(live);
    const reader = new Database(live);
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT * FROM checkpoint').all(); // a read snapshot ...
      readModels.db.exec('CREATE TABLE spec_probe (x); DROP TABLE spec_probe'); // ... behind a commit: the WAL cannot be checkpointed whole
      await expect(replaceWhenFree(readModels, built)).rejects.toThrow(
        `the rebuilt read models could not be put in place of ${live}, which are left as they were: another connection (a ledger command, an API's query) was reading them at each of 50 tries over 5 s; run the rebuild again`,
      );
      expect(fs.existsSync(built)).toBe(true);
    } finally {
      reader.close();
      readModels.close();
    }
  }, 30_000);
});

describe('putRebuiltInPlace', () => {
  it('puts the rebuilt file at the path of live read models deleted meanwhile (the swap is what mends that: until the fifteenth session\'s final read it was refused, ReadModelsGoneError, and the rebuilt file thrown away)', async () => {
    const live = path.join(dir, 'readmodels.sqlite');
    const built = path.join(dir, 'readmodels.sqlite.rebuild-1-1795783457501-1');
    const readModels = openReadModels(live);
    const rebuilt = openReadModels(built);
    rebuilt.checkpoint.set(30n, 30, 'e30');
    rebuilt.db.closeCheckpointed();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${live}${suffix}`, { force: true });
    try {
      await expect(putRebuiltInPlace({ notOfStore: async () => undefined, followReplaced: () => readModels.db.followReplaced(), writer: readModels }, built)).resolves.toBeUndefined();
      expect(readModels.checkpoint.fresh().position).toBe(30n);
      expect(fs.existsSync(built)).toBe(false);
    } finally {
      readModels.db.close();
    }
  });
});

describe('removeOrphanedRebuilds', () => {
  it("takes a file of pid 0 or 1 by its age alone (kill(0) and init always answer: such files were kept for ever, each as large as the read models; the final read of the fifteenth session)", () => {
    const live = path.join(dir, 'readmodels.sqlite');
    const old = (Date.now() - 2 * ORPHANED_AFTER_MS) / 1000;
    const names = ['readmodels.sqlite.rebuild-1-1795783457501-1', 'readmodels.sqlite.rebuild-0-1795783457501-1', 'readmodels.sqlite.rebuild-1-1795783457502-1'];
    for (const n of names) fs.writeFileSync(path.join(dir, n), 'x');
    for (const n of names.slice(0, 2)) fs.utimesSync(path.join(dir, n), old, old);
    expect(removeOrphanedRebuilds(live).sort()).toEqual(names.slice(0, 2).sort());
    expect(fs.readdirSync(dir)).toEqual([names[2]]); // touched just now: kept
  });

  it('stops at a directory of a rebuild file\'s name, naming it and what to do (until 2026-11-28 "Path is a directory: rm returned EISDIR", naming neither), and removes nothing in it', () => {
    const live = path.join(dir, 'readmodels.sqlite');
    const old = (Date.now() - 2 * ORPHANED_AFTER_MS) / 1000;
    const stray = path.join(dir, 'readmodels.sqlite.rebuild-0-1795783457501-1');
    fs.mkdirSync(stray);
    fs.writeFileSync(path.join(stray, 'kept'), 'x');
    fs.utimesSync(stray, old, old);
    expect(() => removeOrphanedRebuilds(live)).toThrow(`${stray} is a directory where a rebuild of the read models leaves its file, and none of the ledger's: move it elsewhere (or remove it), then try again`);
    expect(fs.readdirSync(stray)).toEqual(['kept']);
  });
});
