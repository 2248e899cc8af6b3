import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ReadModelDb } from '../read-model-db';
import { openReadModels } from './projection-writer';
import { ORPHANED_AFTER_MS, putRebuiltInPlace, removeOrphanedRebuilds, removeRebuildFile } from './rebuild-files';

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

describe('putRebuiltInPlace past its tries', () => {
  const live = () => path.join(dir, 'readmodels.sqlite');
  const built = () => path.join(dir, 'readmodels.sqlite.rebuild-1-1795783457501-1');

  it('each refused by a reader of the live read models: says how many, for how long and why, leaves them as they were and removes the rebuilt file', async () => {
    for (const f of [live(), built()]) openReadModels(f).db.closeCheckpointed();
    const readModels = openReadModels(live());
    const reader = new Database(live());
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT * FROM checkpoint').all(); // a read snapshot ...
      readModels.db.db.exec('CREATE TABLE spec_probe (x); DROP TABLE spec_probe'); // ... behind a commit: the WAL cannot be checkpointed whole
      await expect(putRebuiltInPlace({ notOfStore: async () => undefined, followReplaced: () => readModels.db.followReplaced(), writer: readModels }, built())).rejects.toThrow(
        `the rebuilt read models could not be put in place of ${live()}, which are left as they were: the swap was refused at each of 50 tries over 5 s, the last because another connection (a ledger command?) is reading them; run the rebuild again`,
      );
      expect(fs.existsSync(built())).toBe(false);
      expect(readModels.db.db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'spec_probe'").pluck().get()).toBe(0);
    } finally {
      reader.close();
      readModels.db.close();
    }
  }, 30_000);

  it("each refused as another process's swap is not followed yet (its file locked at every look): says that, not a reader (until the seventeenth session's review the last refusal always blamed one)", async () => {
    const readModels = openReadModels(live());
    const swappedIn = path.join(dir, 'other-rebuild.sqlite');
    openReadModels(swappedIn).db.closeCheckpointed();
    openReadModels(built()).db.closeCheckpointed();
    const locker = new Database(swappedIn);
    try {
      locker.pragma('journal_mode = DELETE'); // a rollback journal: an exclusive lock keeps every other connection out, readers too
      locker.exec('BEGIN EXCLUSIVE');
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${live()}${suffix}`, { force: true });
      fs.renameSync(swappedIn, live());
      await expect(putRebuiltInPlace({ notOfStore: async () => undefined, followReplaced: () => readModels.db.followReplaced(), writer: readModels }, built())).rejects.toThrow(
        `the rebuilt read models could not be put in place of ${live()}, which are left as they were: the swap was refused at each of 50 tries over 5 s, the last because another file was put at ${live()} (another process's swap) and this connection has not followed it yet; run the rebuild again`,
      );
      expect(fs.existsSync(built())).toBe(false);
    } finally {
      locker.close();
      readModels.db.close();
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

describe("putRebuiltInPlace after another process's swap it could not follow at once", () => {
  const live = () => path.join(dir, 'readmodels.sqlite');
  const built = () => path.join(dir, 'readmodels.sqlite.rebuild-1-1795783457501-1');
  /** Read models rebuilt through position 30, to put in place. */
  const rebuilt = () => {
    const r = openReadModels(built());
    r.checkpoint.set(30n, 30, 'e30');
    r.db.closeCheckpointed();
  };

  it("read models another process swapped in, locked at the first look by its batch: the swap waits for the follow, and asks of them, not of the file they replaced (until the seventeenth session the follow's install waited 5 s and threw SQLITE_BUSY, the rebuild thrown away; a follow put off let the swap go on through the replaced file)", async () => {
    const readModels = openReadModels(live());
    readModels.checkpoint.set(10n, 10, 'e10');
    const theirs = openReadModels(path.join(dir, 'theirs.sqlite'));
    theirs.checkpoint.set(50n, 50, 'e50');
    theirs.db.db.exec('DROP TABLE stuck_status'); // as an older build's rebuild left them: back-filled at the follow, under the write lock
    theirs.db.closeCheckpointed();
    rebuilt();
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${live()}${suffix}`, { force: true });
    fs.renameSync(path.join(dir, 'theirs.sqlite'), live());
    const other = new Database(live()); // the process that swapped them in, a batch of its own under way
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('ROLLBACK'), 150);
    const asked: Array<bigint | undefined> = [];
    try {
      const notOfStore = async () => (asked.push(readModels.checkpoint.fresh().position), undefined);
      await expect(putRebuiltInPlace({ notOfStore, followReplaced: () => readModels.db.followReplaced(), writer: readModels }, built())).resolves.toBeUndefined();
      expect(asked[asked.length - 1]).toBe(50n);
      expect(readModels.checkpoint.fresh().position).toBe(30n);
      expect(fs.existsSync(built())).toBe(false);
    } finally {
      other.close();
      readModels.db.close();
    }
  });

  it("another kind of file renamed onto the path, this connection's -wal beside it (put off at the first look): refused, and left as it was (until the seventeenth session the swap went on at the first look and put the rebuilt file over it)", async () => {
    const readModels = openReadModels(live());
    rebuilt();
    const text = 'another program wrote this file\n';
    fs.writeFileSync(path.join(dir, 'other.txt'), text);
    fs.renameSync(path.join(dir, 'other.txt'), live());
    try {
      await expect(putRebuiltInPlace({ notOfStore: async () => undefined, followReplaced: () => readModels.db.followReplaced(), writer: readModels }, built())).rejects.toThrow(
        `another file was put at ${live()} in place of the read models, and is not opened`,
      );
      expect(fs.readFileSync(live(), 'utf8')).toBe(text);
      expect(fs.existsSync(built())).toBe(false);
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
